using Noisette.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Noisette.Training;

/// <summary>
/// Mixed precision: the network that runs forward and backward in bf16 (or fp16), while the float32 master weights,
/// AdamW's moments and the EMA stay where they are. Its weights are one flat low-precision buffer, refreshed from
/// the master's flat buffer by a single cast after every optimizer step; its gradients are one flat buffer too,
/// added into the master's float32 gradient by a single cast after every backward pass.
/// GroupNorm runs on the bf16 activations with bf16 affine weights: libtorch's CPU kernel accumulates its
/// statistics in float32 either way, and casting the activations to float32 around it measured slower.
/// </summary>
public sealed class LowPrecisionCopy : IDisposable
{
    private readonly FlatParameters master, working;
    public UNet Model { get; }
    public ScalarType Type { get; }

    public LowPrecisionCopy(UNet masterModel, FlatParameters master, ScalarType type, Device device)
    {
        this.master = master;
        Type = type;
        Model = new UNet(masterModel.Config);
        try
        {
            Model.to(device);
            Model.to(type);
            working = new FlatParameters(Model, withGrad: true);
            if (working.Count != master.Count) throw new ArgumentException("the master model's configuration differs", nameof(masterModel));
        }
        catch
        {
            Model.Dispose();
            throw;
        }
        Refresh();
    }

    /// <summary>Sets the working weights to the master weights, rounded to the low precision.</summary>
    public void Refresh()
    {
        using var _ = no_grad();
        working.Data.copy_(master.Data);
    }

    /// <summary>Adds the working gradient (from the backward passes since the last call) into the master's float32 gradient, and clears it.</summary>
    public void MoveGradients()
    {
        using var _ = no_grad();
        master.Grad!.add_(working.Grad!);
        working.Grad!.zero_();
    }

    public void Dispose()
    {
        working.Dispose();
        Model.Dispose();
    }
}
