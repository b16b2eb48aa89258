using Noisette.Models;
using static TorchSharp.torch;

namespace Noisette.Training;

/// <summary>
/// An exponential moving average of the model's weights, kept in its own <see cref="UNet"/> so that it samples
/// directly. With warm-up the decay after n updates is min(decay, (1+n)/(10+n)), so early averages are not
/// dominated by the random initialisation. Both weight sets are flat buffers, so an update is two operations.
/// </summary>
public sealed class Ema : IDisposable
{
    private readonly FlatParameters live, average;
    public UNet Model { get; }
    public double Decay { get; }
    public bool Warmup { get; }
    public long Updates { get; set; }

    /// <param name="live">The trained model's flat parameters.</param>
    /// <param name="emaModel">A model of the same configuration, which becomes the average.</param>
    public Ema(FlatParameters live, UNet emaModel, double decay, bool warmup)
    {
        Model = emaModel;
        Decay = decay;
        Warmup = warmup;
        this.live = live;
        foreach (var p in emaModel.parameters()) p.requires_grad = false;
        average = new FlatParameters(emaModel, withGrad: false);
        if (!average.Parameters.Select(p => p.Name).SequenceEqual(live.Parameters.Select(p => p.Name)) || average.Count != live.Count)
            throw new ArgumentException("the EMA model must have the live model's configuration", nameof(emaModel));
        CopyFrom();
    }

    /// <summary>Sets the average to the live weights.</summary>
    public void CopyFrom()
    {
        using var _ = no_grad();
        average.Data.copy_(live.Data);
    }

    public double CurrentDecay => Warmup ? Math.Min(Decay, (1.0 + Updates) / (10.0 + Updates)) : Decay;

    public void Update()
    {
        double d = CurrentDecay;
        using var _ = no_grad();
        average.Data.mul_(d).add_(live.Data, alpha: 1 - d);
        Updates++;
    }

    public void Dispose()
    {
        average.Dispose();
        Model.Dispose();
    }
}
