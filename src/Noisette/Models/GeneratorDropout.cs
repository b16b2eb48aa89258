using TorchSharp;
using static TorchSharp.torch;

namespace Noisette.Models;

/// <summary>
/// Dropout that draws its masks from a generator it is given (<see cref="UNet.DrawFrom"/>) rather than from libtorch's
/// process-wide one: a training's masks then follow from its own seed, whatever else the process computes at the same
/// time (a time estimate or a second training in the studio, a neighbouring test). Without a generator it draws from
/// the process-wide one. Each element is zeroed with probability p and the rest are scaled by 1/(1−p), in training
/// mode only; it holds no weights, so checkpoints are as with nn.Dropout.
/// </summary>
public sealed class GeneratorDropout : nn.Module<Tensor, Tensor>
{
    private readonly double p;

    public GeneratorDropout(double p) : base("Dropout")
    {
        if (p is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(p), p, "dropout must be in [0, 1)");
        this.p = p;
    }

    /// <summary>The generator the masks are drawn from; null = libtorch's process-wide one.</summary>
    public Generator? Generator { get; set; }

    public override Tensor forward(Tensor x)
    {
        if (!training || p == 0) return x;
        // Uniform draws in float32 (in bf16 they would be too coarse), turned in place into the scaled mask.
        using var mask = rand(x.shape, generator: Generator, dtype: float32, device: x.device).ge_(p).mul_(1 / (1 - p));
        return mask.dtype == x.dtype ? x * mask : x * mask.to(x.dtype);
    }
}
