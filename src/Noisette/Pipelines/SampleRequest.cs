using System.Globalization;
using Noisette.Data;
using Noisette.Sampling;

namespace Noisette.Pipelines;

/// <summary>What to generate: how many images, from which seeds, with which sampler, of which classes.</summary>
public sealed record SampleRequest
{
    /// <summary>Images (per class, for a class-conditional model).</summary>
    public int Count { get; init; } = 16;
    public long Seed { get; init; } = 0;
    public string Sampler { get; init; } = "ddim";
    /// <summary>0 = the sampler's default.</summary>
    public int Steps { get; init; } = 0;
    public double Eta { get; init; } = 0;
    public bool Grid { get; init; } = false;
    public int BatchSize { get; init; } = 16;
    /// <summary>Class names to generate ("all" = every class); empty = unconditional (the null class).</summary>
    public IReadOnlyList<string> Classes { get; init; } = [];
    /// <summary>Classifier-free guidance scale for class-conditional models.</summary>
    public double Guidance { get; init; } = 2.0;
}

/// <summary>Sampling a loaded model into a folder of PNGs, each carrying its provenance in PNG text chunks.</summary>
public static class SamplePipeline
{
    public sealed record Result(IReadOnlyList<string> Files, string? GridPath);

    public static Result Run(LoadedModel model, SampleRequest request, string outDir, Action<int, int>? progress = null)
    {
        if (request.Count < 1) throw new NoisetteInputException($"--n must be at least 1, got {request.Count}");
        if (request.Eta < 0) throw new NoisetteInputException($"--eta must not be negative, got {request.Eta}");
        if (request.Guidance < 0) throw new NoisetteInputException($"--guidance must not be negative, got {request.Guidance}");
        var sampler = Samplers.Get(request.Sampler);
        var classes = ResolveClasses(model, request.Classes);
        int groups = Math.Max(1, classes.Count);
        var seeds = Enumerable.Range(0, request.Count * groups).Select(i => request.Seed + i % request.Count).ToArray();
        int[]? labels = classes.Count == 0 ? null : Enumerable.Range(0, seeds.Length).Select(i => classes[i / request.Count]).ToArray();
        var options = new SamplerOptions { Steps = request.Steps, Eta = request.Eta };
        var denoiser = new Denoiser(model.Model, model.Diffusion) { GuidanceScale = model.Model.IsConditional ? request.Guidance : 1.0 };
        var images = Generation.Sample(denoiser, sampler, options, seeds, request.BatchSize, progress, labels);
        var cfg = model.Model.Config;
        Directory.CreateDirectory(outDir);
        var files = new List<string>();
        var planar = images.Select(b => new PlanarImage(cfg.InChannels, cfg.ImageSize, cfg.ImageSize, b)).ToList();
        var names = model.Config.Training.ClassNames;
        for (int i = 0; i < planar.Count; i++)
        {
            string? cls = labels is null ? null : names![labels[i]];
            var path = Path.Combine(outDir, $"{sampler.Name}-step{model.State.Step}{(cls is null ? "" : "-class" + Safe(cls))}-seed{seeds[i]}.png");
            PngWriter.Write(path, planar[i], Provenance(model, request, sampler.Name, seeds[i], cls));
            files.Add(path);
        }
        string? gridPath = null;
        if (request.Grid)
        {
            gridPath = Path.Combine(outDir, $"grid-{sampler.Name}-step{model.State.Step}-seed{request.Seed}.png");
            PngWriter.Write(gridPath, ImageGrid.Compose(planar, classes.Count > 0 ? request.Count : null),
                            Provenance(model, request, sampler.Name, request.Seed, null));
        }
        return new Result(files, gridPath);
    }

    /// <summary>Class names to labels; "all" means every class, one grid row each.</summary>
    public static IReadOnlyList<int> ResolveClasses(LoadedModel model, IReadOnlyList<string> requested)
    {
        if (requested.Count == 0) return [];
        var names = model.Config.Training.ClassNames;
        if (names is null || !model.Model.IsConditional)
            throw new NoisetteInputException("--class: this model was trained without classes");
        if (requested.Any(r => string.Equals(r, "all", StringComparison.OrdinalIgnoreCase)))
            return Enumerable.Range(0, names.Length).ToArray();
        return requested.Select(r => ClassLabels.Resolve(names, r)).ToArray();
    }

    private static string Safe(string s) => string.Concat(s.Select(c => char.IsLetterOrDigit(c) || c is '-' or '_' ? c : '_'));

    /// <summary>The text chunks that let anyone regenerate an image: run, checkpoint step, sampler, steps, seed, class.</summary>
    public static Dictionary<string, string> Provenance(LoadedModel model, SampleRequest request, string sampler, long seed, string? className)
    {
        var d = new Dictionary<string, string>
        {
            ["noisette:run"] = model.Run.Root,
            ["noisette:checkpoint_step"] = model.State.Step.ToString(CultureInfo.InvariantCulture),
            ["noisette:weights"] = model.UsesEma ? "ema" : "model",
            ["noisette:sampler"] = sampler,
            ["noisette:steps"] = request.Steps.ToString(CultureInfo.InvariantCulture),
            ["noisette:eta"] = request.Eta.ToString("R", CultureInfo.InvariantCulture),
            ["noisette:seed"] = seed.ToString(CultureInfo.InvariantCulture),
            ["noisette:version"] = Noisette.Version.Current,
        };
        if (className is not null)
        {
            d["noisette:class"] = className;
            d["noisette:guidance"] = request.Guidance.ToString("R", CultureInfo.InvariantCulture);
        }
        return d;
    }
}
