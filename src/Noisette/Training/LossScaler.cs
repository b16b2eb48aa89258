using static TorchSharp.torch;

namespace Noisette.Training;

/// <summary>
/// Dynamic loss scaling for fp16 training: the loss is multiplied by a scale before backward so that small
/// gradients do not underflow float16, and the gradient divided by it afterwards. A step whose gradient overflowed
/// (inf or NaN) is skipped and the scale halved; after <see cref="GrowthInterval"/> good steps in a row it doubles.
/// The finiteness check reads one boolean back from the device per step: fp16 is for GPUs, where that is cheap.
/// </summary>
public sealed class LossScaler
{
    public double Scale { get; private set; }
    public int GrowthInterval { get; }
    private int goodSteps;
    /// <summary>Good steps since the scale last changed.</summary>
    public int GoodSteps => goodSteps;

    public LossScaler(double initialScale = 65536, int growthInterval = 2000)
    {
        Scale = initialScale;
        GrowthInterval = growthInterval;
    }

    /// <summary>Divides the flat gradient by the scale; returns false (and backs off) when it is not finite, in which case the step must be skipped.</summary>
    public bool Unscale(Tensor grad)
    {
        using var _ = no_grad();
        grad.mul_(1.0 / Scale);
        using var finite = grad.isfinite().all();
        if (!finite.item<bool>())
        {
            Scale = Math.Max(Scale / 2, 1);
            goodSteps = 0;
            return false;
        }
        if (++goodSteps >= GrowthInterval)
        {
            Scale *= 2;
            goodSteps = 0;
        }
        return true;
    }

    /// <summary>Restores the scale recorded in a checkpoint.</summary>
    public void Restore(double scale, int good) { Scale = scale; goodSteps = good; }
}
