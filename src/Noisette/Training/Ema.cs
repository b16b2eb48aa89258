using Noisette.Models;
using static TorchSharp.torch;

namespace Noisette.Training;

/// <summary>
/// An exponential moving average of the model's weights, kept in its own <see cref="UNet"/> so that it samples
/// directly. With warm-up the decay after n updates is min(decay, (1+n)/(10+n)), so early averages are not
/// dominated by the random initialisation.
/// </summary>
public sealed class Ema : IDisposable
{
    private readonly (Tensor Ema, Tensor Live)[] pairs;
    public UNet Model { get; }
    public double Decay { get; }
    public bool Warmup { get; }
    public long Updates { get; set; }

    public Ema(UNet live, UNet emaModel, double decay, bool warmup)
    {
        Model = emaModel;
        Decay = decay;
        Warmup = warmup;
        var livePs = live.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        pairs = emaModel.named_parameters().Select(p => ((Tensor)p.parameter, (Tensor)livePs[p.name])).ToArray();
        foreach (var p in emaModel.parameters()) p.requires_grad = false;
        CopyFrom();
    }

    /// <summary>Sets the average to the live weights.</summary>
    public void CopyFrom()
    {
        using var _ = no_grad();
        foreach (var (e, l) in pairs) e.copy_(l);
    }

    public double CurrentDecay => Warmup ? Math.Min(Decay, (1.0 + Updates) / (10.0 + Updates)) : Decay;

    public void Update()
    {
        double d = CurrentDecay;
        using var _ = no_grad();
        foreach (var (e, l) in pairs) e.mul_(d).add_(l, alpha: 1 - d);
        Updates++;
    }

    public void Dispose() => Model.Dispose();
}
