using Noisette.Data;
using Noisette.Sampling;
using static TorchSharp.torch;

namespace Noisette.Pipelines;

/// <summary>A walk between two seeds: how many frames, with which deterministic sampler.</summary>
public sealed record InterpolateRequest
{
    public required long SeedA { get; init; }
    public required long SeedB { get; init; }
    public int Frames { get; init; } = 8;
    /// <summary>A deterministic sampler: DDIM with η = 0 (the default) or DPM-Solver++.</summary>
    public string Sampler { get; init; } = "ddim";
    public int Steps { get; init; }
    public int BatchSize { get; init; } = 16;
}

/// <summary>
/// Interpolation: the initial noise of two seeds is blended spherically and every blend is sampled
/// deterministically, so the frames morph from seed A's image (the first frame) to seed B's (the last).
/// </summary>
public static class Interpolate
{
    public static void Check(ISampler sampler, int frames)
    {
        if (frames < 2) throw new NoisetteInputException($"--frames must be at least 2, got {frames}");
        if (sampler is DdpmSampler) throw new NoisetteInputException("interpolation needs a deterministic sampler (ddim or dpm++), not ddpm");
    }

    /// <summary>The frames, uint8 CHW: frame k is sampled from slerp(noise(A), noise(B), k/(frames−1)) with η = 0.</summary>
    public static List<byte[]> Images(Denoiser denoiser, ISampler sampler, SamplerOptions options, long seedA, long seedB, int frames,
                                      int batchSize = 16, Action<int, int>? onImagesDone = null)
    {
        Check(sampler, frames);
        var cfg = denoiser.Model.Config;
        var device = denoiser.Model.parameters().First().device;
        options = options with { Eta = 0 };
        using var ends = NewDisposeScope();
        var pair = Noise.Generators([seedA, seedB]);
        var a = Noise.Normal([pair[0]], cfg.InChannels, cfg.ImageSize, device);
        var b = Noise.Normal([pair[1]], cfg.InChannels, cfg.ImageSize, device);
        foreach (var g in pair) g.Dispose();
        var frameSeeds = Enumerable.Repeat(seedA, frames).ToArray();   // η = 0: the generators are never drawn from
        int next = 0;
        return Generation.InBatches(denoiser, frameSeeds, batchSize, (generators, _) =>
        {
            var noise = cat(generators.Select(_ => Noise.Slerp(a, b, (double)next++ / (frames - 1))).ToArray(), 0);
            return sampler.Sample(denoiser, noise, options, generators);
        }, onImagesDone);
    }

    public sealed record Result(IReadOnlyList<string> Frames, string StripPath);

    /// <summary>Writes the frames and a strip of them side by side, each PNG with its provenance.</summary>
    public static Result ToFolder(LoadedModel model, InterpolateRequest request, string outDir, Action<int, int>? progress = null)
    {
        var sampler = Samplers.Get(request.Sampler);
        Check(sampler, request.Frames);
        if (request.Steps < 0) throw new NoisetteInputException($"--steps must not be negative, got {request.Steps}");
        var options = new SamplerOptions { Steps = request.Steps };
        int steps = Generation.ResolvedSteps(sampler, options, model.Diffusion.T);
        var images = Images(model.Denoiser(), sampler, options with { Steps = steps }, request.SeedA, request.SeedB, request.Frames,
                            request.BatchSize, progress);
        var cfg = model.Model.Config;
        Directory.CreateDirectory(outDir);
        var common = Provenance.For(model, Provenance.Interpolate, sampler.Name, steps, 0, request.SeedA) with
        {
            Seeds = $"{request.SeedA},{request.SeedB}",
            Frames = request.Frames,
        };
        var stem = $"interp-{SamplePipeline.FileSafe(sampler.Name)}-step{model.State.Step}-seeds{request.SeedA}-{request.SeedB}";
        var planar = images.Select(px => new PlanarImage(cfg.InChannels, cfg.ImageSize, cfg.ImageSize, px)).ToList();
        var files = new List<string>();
        for (int k = 0; k < planar.Count; k++)
        {
            var path = Path.Combine(outDir, $"{stem}-frame{k:D3}.png");
            PngWriter.Write(path, planar[k], (common with { Frame = k }).ToText());
            files.Add(path);
        }
        var strip = Path.Combine(outDir, $"{stem}-strip.png");
        PngWriter.Write(strip, ImageGrid.Compose(planar, columns: planar.Count), common.ToText());
        return new Result(files, strip);
    }
}
