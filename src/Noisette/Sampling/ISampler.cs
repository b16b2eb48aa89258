using static TorchSharp.torch;

namespace Noisette.Sampling;

/// <summary>Progress of a sampling loop: step i of n, and the current x₀ estimate (for previews; do not keep it).</summary>
public readonly record struct SamplerProgress(int Step, int Steps, Tensor PredictedX0);

/// <summary>Options shared by every sampler.</summary>
public sealed record SamplerOptions
{
    /// <summary>Network calls; 0 means the sampler's default (T for DDPM, 50 for DDIM).</summary>
    public int Steps { get; init; }
    /// <summary>DDIM's η: 0 is deterministic, 1 is DDPM-like ancestral noise.</summary>
    public double Eta { get; init; }
    /// <summary>
    /// The exact timesteps to visit (any order; used ascending), e.g. from <see cref="Sampling.Timesteps.Space"/>;
    /// when set, <see cref="Steps"/> is ignored. Null = <see cref="Steps"/> spread evenly.
    /// </summary>
    public IReadOnlyList<int>? Timesteps { get; init; }
}

/// <summary>
/// A sampler turns initial noise into images by repeatedly asking a <see cref="Denoiser"/>. Samplers are stateless:
/// everything they need comes in through the arguments, and the random numbers come from one generator per image
/// so that an image depends only on its own seed, never on the batch it was drawn in.
/// </summary>
public interface ISampler
{
    string Name { get; }
    Tensor Sample(Denoiser denoiser, Tensor noise, SamplerOptions options, IReadOnlyList<Generator> generators,
                  Action<SamplerProgress>? progress = null);
}
