using Noisette.Data;
using Noisette.Sampling;

namespace Noisette.Pipelines;

/// <summary>What to generate: how many images, from which seeds, with which sampler.</summary>
public sealed record SampleRequest
{
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

    public IReadOnlyList<long> ResolvedSeeds => Seeds ?? Enumerable.Range(0, Count).Select(i => Seed + i).ToArray();
}

/// <summary>Sampling a loaded model into a folder of PNGs, each carrying its provenance in PNG text chunks.</summary>
public static class SamplePipeline
{
    public sealed record Result(IReadOnlyList<string> Files, string? GridPath);

    public static Result Run(LoadedModel model, SampleRequest request, string outDir, Action<int, int>? progress = null)
    {
        if (request.Seeds is null && request.Count < 1) throw new NoisetteInputException($"--n must be at least 1, got {request.Count}");
        if (request.Seeds is { Count: 0 }) throw new NoisetteInputException("no seeds given");
        if (request.Eta < 0) throw new NoisetteInputException($"--eta must not be negative, got {request.Eta}");
        if (request.Steps < 0) throw new NoisetteInputException($"--steps must not be negative, got {request.Steps}");
        if (request.BatchSize < 1) throw new NoisetteInputException($"--batch must be at least 1, got {request.BatchSize}");
        var sampler = Samplers.Get(request.Sampler);
        var seeds = request.ResolvedSeeds;
        var options = new SamplerOptions { Steps = request.Steps, Eta = request.Eta };
        int steps = Generation.ResolvedSteps(sampler, options, model.Diffusion.T);
        var images = Generation.Sample(model.Denoiser(), sampler, options, seeds, request.BatchSize, progress);
        var cfg = model.Model.Config;
        Directory.CreateDirectory(outDir);
        var files = new List<string>();
        var planar = images.Select(b => new PlanarImage(cfg.InChannels, cfg.ImageSize, cfg.ImageSize, b)).ToList();
        for (int i = 0; i < planar.Count; i++)
        {
            var path = Path.Combine(outDir, FileName(sampler.Name, model.State.Step, seeds[i]));
            PngWriter.Write(path, planar[i], (Pipelines.Provenance.For(model, Pipelines.Provenance.Sample, sampler.Name, steps, request.Eta, seeds[i])).ToText());
            files.Add(path);
        }
        string? gridPath = null;
        if (request.Grid || request.Seeds is { Count: > 1 })
        {
            gridPath = Path.Combine(outDir, $"grid-{FileSafe(sampler.Name)}-step{model.State.Step}-seeds{seeds[0]}-{seeds[^1]}.png");
            var sheet = Pipelines.Provenance.For(model, Pipelines.Provenance.ContactSheet, sampler.Name, steps, request.Eta, seeds[0])
                with { Seeds = string.Join(",", seeds) };
            PngWriter.Write(gridPath, ImageGrid.Compose(planar), sheet.ToText());
        }
        return new Result(files, gridPath);
    }

    /// <summary>The name of a sampled image: sampler, checkpoint step and seed, so favourites are easy to tell apart.</summary>
    public static string FileName(string sampler, long step, long seed) => $"{FileSafe(sampler)}-step{step}-seed{seed}.png";

    internal static string FileSafe(string name) => name.Replace("+", "p", StringComparison.Ordinal);

    /// <summary>The text chunks that let anyone regenerate an image: run, checkpoint step, sampler, steps, eta, seed.</summary>
    public static Dictionary<string, string> Provenance(LoadedModel model, SampleRequest request, string sampler, long seed)
    {
        var options = new SamplerOptions { Steps = request.Steps, Eta = request.Eta };
        int steps = Generation.ResolvedSteps(Samplers.Get(sampler), options, model.Diffusion.T);
        return Pipelines.Provenance.For(model, Pipelines.Provenance.Sample, sampler, steps, request.Eta, seed).ToText();
    }
}
