using System.Globalization;
using Noisette.Data;
using Noisette.Sampling;

namespace Noisette.Pipelines;

/// <summary>What to generate: how many images, from which seeds, with which sampler.</summary>
public sealed record SampleRequest
{
    public int Count { get; init; } = 16;
    public long Seed { get; init; } = 0;
    public string Sampler { get; init; } = "ddim";
    /// <summary>0 = the sampler's default.</summary>
    public int Steps { get; init; } = 0;
    public double Eta { get; init; } = 0;
    public bool Grid { get; init; } = false;
    public int BatchSize { get; init; } = 16;
}

/// <summary>Sampling a loaded model into a folder of PNGs, each carrying its provenance in PNG text chunks.</summary>
public static class SamplePipeline
{
    public sealed record Result(IReadOnlyList<string> Files, string? GridPath);

    public static Result Run(LoadedModel model, SampleRequest request, string outDir, Action<int, int>? progress = null)
    {
        if (request.Count < 1) throw new NoisetteInputException($"--n must be at least 1, got {request.Count}");
        if (request.Eta < 0) throw new NoisetteInputException($"--eta must not be negative, got {request.Eta}");
        var sampler = Samplers.Get(request.Sampler);
        var seeds = Enumerable.Range(0, request.Count).Select(i => request.Seed + i).ToArray();
        var options = new SamplerOptions { Steps = request.Steps, Eta = request.Eta };
        var images = Generation.Sample(model.Denoiser(), sampler, options, seeds, request.BatchSize, progress);
        var cfg = model.Model.Config;
        Directory.CreateDirectory(outDir);
        var files = new List<string>();
        var planar = images.Select(b => new PlanarImage(cfg.InChannels, cfg.ImageSize, cfg.ImageSize, b)).ToList();
        for (int i = 0; i < planar.Count; i++)
        {
            var path = Path.Combine(outDir, $"{sampler.Name}-step{model.State.Step}-seed{seeds[i]}.png");
            PngWriter.Write(path, planar[i], Provenance(model, request, sampler.Name, seeds[i]));
            files.Add(path);
        }
        string? gridPath = null;
        if (request.Grid)
        {
            gridPath = Path.Combine(outDir, $"grid-{sampler.Name}-step{model.State.Step}-seed{request.Seed}.png");
            PngWriter.Write(gridPath, ImageGrid.Compose(planar), Provenance(model, request, sampler.Name, request.Seed));
        }
        return new Result(files, gridPath);
    }

    /// <summary>The text chunks that let anyone regenerate an image: run, checkpoint step, sampler, steps, seed.</summary>
    public static Dictionary<string, string> Provenance(LoadedModel model, SampleRequest request, string sampler, long seed) => new()
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
}
