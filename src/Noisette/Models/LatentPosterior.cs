using TorchSharp;
using static TorchSharp.torch;

namespace Noisette.Models;

/// <summary>
/// The autoencoder's posterior over latents: a diagonal Gaussian per latent element, whose mean and log-variance are
/// the two halves of the encoder's moments along the channels. The log-variance is clamped to [−30, 20] as latent
/// diffusion clamps it. It owns the tensors it derives (dispose it, or let a dispose scope do it).
/// </summary>
public sealed class LatentPosterior : IDisposable
{
    /// <summary>Lower and upper clamp of the log-variance.</summary>
    public const double MinLogVariance = -30, MaxLogVariance = 20;

    public Tensor Mean { get; }
    public Tensor LogVariance { get; }

    /// <summary>From moments (B, 2·c, h, w): the mean's channels first, then the log-variance's.</summary>
    public LatentPosterior(Tensor moments)
    {
        if (moments.dim() != 4 || moments.shape[1] % 2 != 0)
            throw new ArgumentException("moments must be (B, 2·c, h, w)", nameof(moments));
        long c = moments.shape[1] / 2;
        Mean = moments.narrow(1, 0, c);
        LogVariance = moments.narrow(1, c, c).clamp(MinLogVariance, MaxLogVariance);
    }

    /// <summary>From a mean and an (unclamped) log-variance, such as a latent cache holds.</summary>
    public LatentPosterior(Tensor mean, Tensor logVariance)
    {
        Mean = mean.alias();
        LogVariance = logVariance.clamp(MinLogVariance, MaxLogVariance);
    }

    public Tensor StandardDeviation() => (0.5 * LogVariance).exp();

    /// <summary>A draw: mean + σ·ε with ε from <paramref name="generator"/> (libtorch's process-wide one when null).</summary>
    public Tensor Sample(Generator? generator = null) =>
        Mean + StandardDeviation() * randn(Mean.shape, dtype: Mean.dtype, device: Mean.device, generator: generator);

    /// <summary>KL(posterior ‖ N(0, I)) per image, summed over the latent's elements: ½ Σ (μ² + σ² − 1 − log σ²).</summary>
    public Tensor KlDivergence() =>
        0.5 * (Mean.square() + LogVariance.exp() - 1.0 - LogVariance).sum([1, 2, 3]);

    public void Dispose()
    {
        Mean.Dispose();
        LogVariance.Dispose();
    }
}
