using Noisette.Bundles;
using Noisette.Data;
using Noisette.Sampling;
using static TorchSharp.torch;

namespace Noisette.Pipelines;

/// <summary>A walk between two seeds: how many frames, and the generation settings (the two seeds, a deterministic sampler).</summary>
public sealed record InterpolateRequest
{
    /// <summary>
    /// <see cref="GenerationSettings.Seeds"/> are the two seeds, A then B; the sampler must be deterministic: DDIM
    /// (the default, always with η = 0) or DPM-Solver++.
    /// </summary>
    public required GenerationSettings Settings { get; init; }
    public int Frames { get; init; } = 8;
    /// <summary>Only this frame (0-based), without the strip: how a frame is made again from its provenance.</summary>
    public int? Frame { get; init; }

    /// <summary>The settings of a walk from <paramref name="seedA"/> to <paramref name="seedB"/> with DDIM.</summary>
    public static GenerationSettings Between(long seedA, long seedB) => new() { Seeds = [seedA, seedB], Sampler = "ddim" };
}

/// <summary>
/// Interpolation: the initial noise of two seeds is blended spherically and every blend is sampled
/// deterministically, so the frames morph from seed A's image (the first frame) to seed B's (the last).
/// </summary>
public static class Interpolate
{
    public static void Check(ISampler sampler, int frames)
    {
        if (frames < 2) throw new NoisetteInputException($"the number of frames must be at least 2, got {frames}");
        if (sampler.IsStochastic)
            throw new NoisetteInputException($"interpolation needs a deterministic sampler (ddim or dpm++), not {sampler.Name}: " +
                                             $"{sampler.Name} draws fresh noise at every step, so the frames would not morph from one image to the other");
    }

    /// <summary>
    /// The frames, uint8 CHW: frame k is sampled from slerp(noise(A), noise(B), k/(frames−1)) with η = 0.
    /// <paramref name="only"/> makes just those frames (the same bytes as in the whole walk).
    /// </summary>
    public static List<byte[]> Images(Denoiser denoiser, ISampler sampler, SamplerOptions options, long seedA, long seedB, int frames,
                                      int batchSize = 16, Action<int, int>? onImagesDone = null, Action<GenerationPreview>? preview = null,
                                      IReadOnlyList<int>? only = null, IAutoencoder? autoencoder = null)
    {
        Check(sampler, frames);
        var indices = only ?? Enumerable.Range(0, frames).ToArray();
        if (indices.Any(k => k < 0 || k >= frames)) throw new NoisetteInputException($"a frame must be within 0..{frames - 1}");
        var cfg = denoiser.Model.Config;
        var device = denoiser.Model.parameters().First().device;
        options = options with { Eta = 0 };
        using var ends = NewDisposeScope();
        var pair = Noise.Generators([seedA, seedB]);
        var a = Noise.Normal([pair[0]], cfg.InChannels, cfg.ImageSize, device);
        var b = Noise.Normal([pair[1]], cfg.InChannels, cfg.ImageSize, device);
        foreach (var g in pair) g.Dispose();
        var frameSeeds = indices.Select(_ => seedA).ToArray();   // η = 0: the generators are never drawn from
        return ImageBatches.InBatches(denoiser, frameSeeds, batchSize, (generators, start) =>
        {
            var noise = cat(generators.Select((_, j) => Noise.Slerp(a, b, (double)indices[start + j] / (frames - 1))).ToArray(), 0);
            return sampler.Sample(denoiser, noise, options, generators, ImageBatches.ForBatch(preview, start));
        }, onImagesDone, autoencoder);
    }

    /// <summary>The frames written, and the strip (null when only one frame was made).</summary>
    public sealed record Result(IReadOnlyList<string> Frames, string? StripPath);

    /// <summary>The file name of a frame, as the whole walk and its regeneration both write it.</summary>
    public static string FrameFileName(string sampler, long step, long seedA, long seedB, int frame) =>
        $"{Stem(sampler, step, seedA, seedB)}-frame{frame:D3}.png";

    private static string Stem(string sampler, long step, long seedA, long seedB) =>
        $"interp-{SamplePipeline.FileSafe(sampler)}-step{step}-seeds{seedA}-{seedB}";

    /// <summary>Writes the frames and a strip of them side by side, each PNG with its provenance (or only <see cref="InterpolateRequest.Frame"/>).</summary>
    public static Result ToFolder(LoadedModel model, InterpolateRequest request, string outDir, Action<int, int>? progress = null,
                                  Action<GenerationPreview>? preview = null)
    {
        var s = request.Settings;
        var sampler = s.Validate();
        Check(sampler, request.Frames);
        if (s.Seeds is not { Count: 2 } pair)
            throw new NoisetteInputException($"an interpolation walks between two seeds, not {s.ResolvedSeeds.Count}");
        long seedA = pair[0], seedB = pair[1];
        var bundle = model.Bundle;
        var options = new SamplerOptions { Steps = s.Steps };
        int steps = Generation.ResolvedSteps(sampler, options, bundle.Diffusion.T);
        var indices = request.Frame is { } only ? [only] : Enumerable.Range(0, request.Frames).ToArray();
        var images = Generation.BatchedOrInSlot(indices, s.BatchSize, s.Slot, progress, (items, batch, report) =>
            Images(bundle.Denoiser(), sampler, options with { Steps = steps }, seedA, seedB, request.Frames,
                   batch, report, preview, items, bundle.Autoencoder));
        Directory.CreateDirectory(outDir);
        var common = Provenance.For(model, Provenance.Interpolate, sampler.Name, steps, 0, seedA) with
        {
            NetworkCalls = (options with { Steps = steps }).NetworkCalls(sampler, bundle.Diffusion),
            Seeds = $"{seedA},{seedB}",
            Frames = request.Frames,
        };
        var planar = images.Select(px => Generation.Image(bundle, px)).ToList();
        var files = new List<string>();
        for (int i = 0; i < planar.Count; i++)
        {
            var path = Path.Combine(outDir, FrameFileName(sampler.Name, model.State.Step, seedA, seedB, indices[i]));
            var batch = s.Slot ?? BatchSlot.Of(i, indices.Length, s.BatchSize);
            PngWriter.Write(path, planar[i], (common with { Frame = indices[i], Batch = batch }).ToText());
            files.Add(path);
        }
        if (request.Frame is not null) return new Result(files, null);
        var strip = Path.Combine(outDir, $"{Stem(sampler.Name, model.State.Step, seedA, seedB)}-strip.png");
        PngWriter.Write(strip, ImageGrid.Compose(planar, columns: planar.Count), common.ToText());
        return new Result(files, strip);
    }
}
