using Noisette.Data;
using Noisette.Sampling;

namespace Noisette.Pipelines;

/// <summary>What to generate: how many images, from which seeds, with which sampler, of which classes.</summary>
public sealed record SampleRequest
{
    /// <summary>Images (per class, for a class-conditional model).</summary>
    public int Count { get; init; } = 16;
    public long Seed { get; init; } = 0;
    /// <summary>Explicit seeds, one image each (overrides <see cref="Count"/> and <see cref="Seed"/>).</summary>
    public IReadOnlyList<long>? Seeds { get; init; }
    public string Sampler { get; init; } = Samplers.Default;
    /// <summary>0 = the sampler's default.</summary>
    public int Steps { get; init; } = 0;
    public double Eta { get; init; } = 0;
    /// <summary>Also write a grid (a contact sheet) of all images; always done for more than one explicit seed.</summary>
    public bool Grid { get; init; } = false;
    public int BatchSize { get; init; } = 16;
    /// <summary>
    /// Class names to generate ("all" = every class, one grid row each), or class indices for a model whose classes
    /// have no names (an import); empty = unconditional (the null class).
    /// </summary>
    public IReadOnlyList<string> Classes { get; init; } = [];
    /// <summary>
    /// Classifier-free guidance scale for class-conditional models; a model without a null class takes only 1
    /// (<see cref="LoadedModel.DefaultGuidance"/> is the right default for each model).
    /// </summary>
    public double Guidance { get; init; } = 2.0;
    /// <summary>
    /// Regeneration: make the one image of this request as slot <see cref="BatchSlot.Index"/> of a batch of
    /// <see cref="BatchSlot.Size"/> copies of it (<see cref="BatchSize"/> is then unused), so that it comes out byte
    /// for byte as it did in its original batch.
    /// </summary>
    public BatchSlot? Slot { get; init; }

    public IReadOnlyList<long> ResolvedSeeds => Seeds ?? Enumerable.Range(0, Count).Select(i => Seed + i).ToArray();
}

/// <summary>Sampling a loaded model into a folder of PNGs, each carrying its provenance in PNG text chunks.</summary>
public static class SamplePipeline
{
    public sealed record Result(IReadOnlyList<string> Files, string? GridPath);

    /// <param name="preview">Called after every network call of every batch with the current x̂₀ (for previews).</param>
    public static Result Run(LoadedModel model, SampleRequest request, string outDir, Action<int, int>? progress = null,
                             Action<GenerationPreview>? preview = null)
    {
        if (request.Seeds is null && request.Count < 1) throw new NoisetteInputException($"--n must be at least 1, got {request.Count}");
        if (request.Seeds is { Count: 0 }) throw new NoisetteInputException("no seeds given");
        if (request.Eta < 0) throw new NoisetteInputException($"--eta must not be negative, got {request.Eta}");
        if (request.Steps < 0) throw new NoisetteInputException($"--steps must not be negative, got {request.Steps}");
        if (request.BatchSize < 1) throw new NoisetteInputException($"--batch must be at least 1, got {request.BatchSize}");
        if (request.Guidance < 0) throw new NoisetteInputException($"--guidance must not be negative, got {request.Guidance}");
        var sampler = Samplers.Get(request.Sampler);
        var classes = ResolveClasses(model, request.Classes);
        var perClass = request.ResolvedSeeds;
        // Every class gets the same seeds, so the rows of a grid compare.
        var seeds = classes.Count == 0 ? perClass : classes.SelectMany(_ => perClass).ToArray();
        int[]? labels = classes.Count == 0 ? null : classes.SelectMany(c => perClass.Select(_ => c)).ToArray();
        var options = new SamplerOptions { Steps = request.Steps, Eta = request.Eta };
        int steps = Generation.ResolvedSteps(sampler, options, model.Diffusion.T), calls = options.NetworkCalls(sampler, model.Diffusion);
        if (classes.Count == 0) model.CheckUnconditional();
        double guidance = model.Model.IsConditional ? (classes.Count > 0 ? model.CheckGuidance(request.Guidance) : request.Guidance) : 1.0;
        var denoiser = new Denoiser(model.Model, model.Diffusion) { GuidanceScale = guidance };
        var images = Generation.BatchedOrInSlot(Enumerable.Range(0, seeds.Count).ToArray(), request.BatchSize, request.Slot, progress,
            (items, batch, report) => Generation.Sample(denoiser, sampler, options, items.Select(i => seeds[i]).ToArray(), batch, report,
                                                        labels is null ? null : items.Select(i => labels[i]).ToArray(), preview));
        var cfg = model.Model.Config;
        Directory.CreateDirectory(outDir);
        var files = new List<string>();
        var planar = images.Select(b => new PlanarImage(cfg.InChannels, cfg.ImageSize, cfg.ImageSize, b)).ToList();
        for (int i = 0; i < planar.Count; i++)
        {
            string? cls = labels is null ? null : model.ClassName(labels[i]);
            var path = Path.Combine(outDir, FileName(sampler.Name, model.State.Step, seeds[i], cls));
            var p = Pipelines.Provenance.For(model, Pipelines.Provenance.Sample, sampler.Name, steps, request.Eta, seeds[i])
                with { NetworkCalls = calls, Class = cls, Guidance = cls is null ? null : guidance,
                       Batch = request.Slot ?? BatchSlot.Of(i, seeds.Count, request.BatchSize) };
            PngWriter.Write(path, planar[i], p.ToText());
            files.Add(path);
        }
        string? gridPath = null;
        if (request.Grid || request.Seeds is { Count: > 1 } || classes.Count > 1)
        {
            gridPath = Path.Combine(outDir, $"grid-{FileSafe(sampler.Name)}-step{model.State.Step}-seeds{perClass[0]}-{perClass[^1]}.png");
            var sheet = Pipelines.Provenance.For(model, Pipelines.Provenance.ContactSheet, sampler.Name, steps, request.Eta, perClass[0])
                with { NetworkCalls = calls, Seeds = string.Join(",", perClass), Classes = classes.Count == 0 ? null : string.Join(",", classes.Select(model.ClassName)) };
            PngWriter.Write(gridPath, ImageGrid.Compose(planar, classes.Count > 0 ? perClass.Count : null), sheet.ToText());
        }
        return new Result(files, gridPath);
    }

    /// <summary>Class names (or indices, for unnamed classes) to labels; "all" means every named class.</summary>
    public static IReadOnlyList<int> ResolveClasses(LoadedModel model, IReadOnlyList<string> requested)
    {
        if (requested.Count == 0) return [];
        if (!model.Model.IsConditional) throw new NoisetteInputException("--class: this model was trained without classes");
        if (requested.Any(r => string.Equals(r, "all", StringComparison.OrdinalIgnoreCase)))
            return model.Config.Training.ClassNames is { } names
                ? Enumerable.Range(0, names.Length).ToArray()
                : throw new NoisetteInputException($"--class all: this model's {model.Model.Config.NumClasses} classes have no names; give class indices (0 to {model.Model.Config.NumClasses - 1})");
        return requested.Select(model.ClassLabel).ToArray();
    }

    /// <summary>The name of a sampled image: sampler, checkpoint step, class and seed, so favourites are easy to tell apart.</summary>
    public static string FileName(string sampler, long step, long seed, string? className = null) =>
        $"{FileSafe(sampler)}-step{step}{(className is null ? "" : "-class-" + FileSafe(className))}-seed{seed}.png";

    internal static string FileSafe(string name) =>
        string.Concat(name.Replace("+", "p", StringComparison.Ordinal).Select(c => char.IsLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_'));

    /// <summary>The text chunks that let anyone regenerate an image: run, checkpoint step, sampler, steps, eta, seed.</summary>
    public static Dictionary<string, string> Provenance(LoadedModel model, SampleRequest request, string sampler, long seed)
    {
        var options = new SamplerOptions { Steps = request.Steps, Eta = request.Eta };
        var s = Samplers.Get(sampler);
        int steps = Generation.ResolvedSteps(s, options, model.Diffusion.T);
        return (Pipelines.Provenance.For(model, Pipelines.Provenance.Sample, sampler, steps, request.Eta, seed)
                with { NetworkCalls = options.NetworkCalls(s, model.Diffusion) }).ToText();
    }
}
