using static TorchSharp.torch;

namespace Noisette.Sampling;

/// <summary>Progress of a sampling loop: step i of n, and the current x₀ estimate (for previews; do not keep it).</summary>
public readonly record struct SamplerProgress(int Step, int Steps, Tensor PredictedX0);

/// <summary>Options shared by every sampler.</summary>
public sealed record SamplerOptions
{
    /// <summary>Network calls; 0 means the sampler's default (T for DDPM, 50 for DDIM, 50 for Euler ancestral, 20 for DPM-Solver++).</summary>
    public int Steps { get; init; }
    /// <summary>DDIM's η: 0 is deterministic, 1 is DDPM-like ancestral noise.</summary>
    public double Eta { get; init; }
    /// <summary>
    /// Explicit timesteps to visit, ascending (overrides <see cref="Steps"/>), e.g. from
    /// <see cref="Sampling.Timesteps.Space"/>. The noise handed to the sampler is x
    /// at the last (largest) of them, so a sampler can start partway, from a given x: image-to-image does this.
    /// </summary>
    public IReadOnlyList<int>? Timesteps { get; init; }
    /// <summary>
    /// Where the sampler stops: −1 (the default) is the clean image; a timestep below the visited ones returns x at
    /// that timestep, which lets a pipeline run a sampler for a single step (inpainting does this).
    /// </summary>
    public int StopAt { get; init; } = -1;

    /// <summary>
    /// The walk a sampler takes, descending: the visited timesteps from the largest down, then <see cref="StopAt"/>.
    /// Each consecutive pair (t, s) is one network call at t and a move to s.
    /// </summary>
    /// <param name="defaultSpacing">How the sampler spreads a number of steps when no timesteps are given
    /// (default: <see cref="Sampling.Timesteps.Evenly"/>).</param>
    public int[] Path(int T, int defaultSteps, Func<int, int[]>? defaultSpacing = null)
    {
        int[] steps;
        if (Timesteps is { } explicitSteps)
        {
            steps = explicitSteps.ToArray();
            if (steps.Length == 0) throw new NoisetteInputException("the sampler was given an empty list of timesteps");
            for (int i = 0; i < steps.Length; i++)
                if (steps[i] < 0 || steps[i] >= T || (i > 0 && steps[i] <= steps[i - 1]))
                    throw new NoisetteInputException($"timesteps must be ascending, distinct and within 0..{T - 1}: {string.Join(",", steps)}");
        }
        else
        {
            int count = Steps > 0 ? Steps : defaultSteps;
            steps = defaultSpacing is null || count >= T ? Sampling.Timesteps.Evenly(T, count) : defaultSpacing(count);
        }
        if (StopAt < -1 || StopAt >= steps[0])
            throw new NoisetteInputException($"a sampler must stop below its first timestep {steps[0]} (or at −1), not at {StopAt}");
        var path = new int[steps.Length + 1];
        for (int i = 0; i < steps.Length; i++) path[i] = steps[^(i + 1)];
        path[^1] = StopAt;
        return path;
    }

    /// <summary>The walk <paramref name="sampler"/> takes with these options: <see cref="Path(int, int, Func{int, int[]}?)"/> with its own spacing.</summary>
    public int[] Path(ISampler sampler, Diffusion.GaussianDiffusion diffusion) =>
        Path(diffusion.T, sampler.DefaultSteps(diffusion.T), count => sampler.Timesteps(diffusion, count));

    /// <summary>The network calls <paramref name="sampler"/> makes with these options (after duplicate timesteps merge).</summary>
    public int NetworkCalls(ISampler sampler, Diffusion.GaussianDiffusion diffusion) => Path(sampler, diffusion).Length - 1;
}

/// <summary>
/// A sampler turns initial noise into images by repeatedly asking a <see cref="Denoiser"/>. Samplers are stateless:
/// everything they need comes in through the arguments, and the random numbers come from one generator per image
/// so that an image depends only on its own seed, never on the batch it was drawn in.
/// </summary>
public interface ISampler
{
    string Name { get; }
    /// <summary>Network calls when <see cref="SamplerOptions.Steps"/> is 0.</summary>
    int DefaultSteps(int T);
    /// <summary>
    /// The timesteps the sampler visits for <paramref name="count"/> network calls when none are given, ascending:
    /// its own spacing (evenly in time, or evenly in log-SNR). Duplicates merge, so a few fewer may come back.
    /// </summary>
    int[] Timesteps(Diffusion.GaussianDiffusion diffusion, int count);
    /// <summary>
    /// Whether every step draws fresh noise whatever the options (DDPM, Euler ancestral): the initial noise alone
    /// then does not decide the image, so interpolating it does not morph the images.
    /// </summary>
    bool IsStochastic { get; }
    Tensor Sample(Denoiser denoiser, Tensor noise, SamplerOptions options, IReadOnlyList<Generator> generators,
                  Action<SamplerProgress>? progress = null);
}
