using System.Globalization;
using Noisette.Bundles;
using Noisette.Runtime;
using Noisette.Sampling;

namespace Noisette.Pipelines;

/// <summary>
/// The settings every generation shares, sample, edit, inpaint and interpolate alike, in the CLI and the studio: the
/// sampler and its steps and η, the seeds, the batch, the class and its guidance, and the precision. Each request
/// holds one beside what is its own (an edit's strength, an inpainting's mask...), and <see cref="Validate"/> checks
/// them, once, for all of them.
/// </summary>
public sealed record GenerationSettings
{
    public string Sampler { get; init; } = Samplers.Default;
    /// <summary>Network calls; 0 = the sampler's default.</summary>
    public int Steps { get; init; }
    /// <summary>DDIM's η: 0 deterministic, 1 ancestral.</summary>
    public double Eta { get; init; }
    /// <summary>The seed of the first image: image i is drawn from Seed + i (unless <see cref="Seeds"/> are given).</summary>
    public long Seed { get; init; }
    /// <summary>The number of images, from seeds Seed, Seed + 1, ...</summary>
    public int Count { get; init; } = 1;
    /// <summary>Explicit seeds, one image each (instead of <see cref="Seed"/> and <see cref="Count"/>).</summary>
    public IReadOnlyList<long>? Seeds { get; init; }
    /// <summary>Images per network call (they do not depend on it in fp32, but for the last bits: <see cref="BatchSlot"/>).</summary>
    public int BatchSize { get; init; } = 16;
    /// <summary>
    /// Regeneration: make the one image of the request as slot <see cref="BatchSlot.Index"/> of a batch of
    /// <see cref="BatchSlot.Size"/> copies of it (<see cref="BatchSize"/> is then unused), so that it comes out byte
    /// for byte as it did in its original batch.
    /// </summary>
    public BatchSlot? Slot { get; init; }
    /// <summary>
    /// The classes to generate: names ("all" = every class, one grid row each), or indices for a model whose classes
    /// have no names (an import); empty = no class (the null class). Edits and inpaintings take at most one.
    /// </summary>
    public IReadOnlyList<string> Classes { get; init; } = [];
    /// <summary>
    /// Classifier-free guidance for a class; null = the model's default (<see cref="ModelBundle.DefaultGuidance"/>: 2, or
    /// 1 for a model without a null class, which takes only 1).
    /// </summary>
    public double? Guidance { get; init; }
    /// <summary>
    /// The precision the faces load the model in for these settings. The pipelines compute in the loaded model's own
    /// (<see cref="LoadedModel.Precision"/>: what the machine supports of it), which provenance records.
    /// </summary>
    public Precision Precision { get; init; } = Precision.Fp32;

    /// <summary>The seeds of the images, in order.</summary>
    public IReadOnlyList<long> ResolvedSeeds => Seeds ?? Enumerable.Range(0, Count).Select(i => Seed + i).ToArray();

    /// <summary>The one class of an edit or inpainting, or null.</summary>
    public string? Class => Classes.Count switch
    {
        0 => null,
        1 => Classes[0],
        _ => throw new NoisetteInputException($"an edit or inpainting takes one class, not {Classes.Count}"),
    };

    /// <summary>The guidance to sample a class of <paramref name="bundle"/> with: the one asked for, or its default.</summary>
    public double GuidanceFor(ModelBundle bundle) => Guidance ?? bundle.DefaultGuidance;

    /// <summary>The sampler's options: its steps and η.</summary>
    public SamplerOptions SamplerOptions => new() { Steps = Steps, Eta = Eta };

    /// <summary>
    /// Checks every setting and returns the sampler they name. A bad one is a <see cref="NoisetteInputException"/>
    /// that names it as a person would.
    /// </summary>
    public ISampler Validate()
    {
        static string F(double v) => v.ToString(CultureInfo.InvariantCulture);
        if (Seeds is null && Count < 1) throw new NoisetteInputException($"the number of images must be at least 1, got {Count}");
        if (Seeds is { Count: 0 }) throw new NoisetteInputException("no seeds given");
        if (Steps < 0) throw new NoisetteInputException($"the number of steps must not be negative, got {Steps}");
        if (Eta < 0) throw new NoisetteInputException($"eta must not be negative, got {F(Eta)}");
        if (BatchSize < 1) throw new NoisetteInputException($"the batch size must be at least 1, got {BatchSize}");
        if (Guidance < 0) throw new NoisetteInputException($"guidance must not be negative, got {F(Guidance.Value)}");
        return Samplers.Get(Sampler);
    }
}
