using Noisette.Runs;
using Noisette.Data;
using Noisette.Diffusion;
using Noisette.Models;
using Noisette.Sampling;
using Noisette.Training;
using static TorchSharp.torch;

namespace Noisette.Pipelines;

/// <summary>
/// A preview while images are made: the batch that starts at image <see cref="FirstImage"/> of the request has had
/// <see cref="Step"/> of its <see cref="Steps"/> network calls, and <see cref="PredictedX0"/> (B, C, H, W, in [−1, 1])
/// is the current estimate of its clean images. The tensor is valid only during the call: copy what you keep.
/// </summary>
public readonly record struct GenerationPreview(int FirstImage, int Step, int Steps, Tensor PredictedX0);

/// <summary>
/// Generation: a denoiser plus a sampler plus image output. Image i of a request is drawn from seed + i alone,
/// so the same seed gives the same picture whatever the batch size, up to the last bits of the arithmetic (which
/// depend on the batch's size and the image's slot in it, <see cref="BatchSlot"/>).
/// </summary>
public static class Generation
{
    /// <summary>Samples one image per seed, in batches of at most <paramref name="batchSize"/>; returns uint8 CHW images.</summary>
    /// <param name="labels">For a class-conditional model: the class of each image (aligned with the seeds), or null.</param>
    /// <param name="preview">Called after every network call of every batch with the current x̂₀ (for previews).</param>
    public static List<byte[]> Sample(Denoiser denoiser, ISampler sampler, SamplerOptions options, IReadOnlyList<long> seeds,
                                      int batchSize = 16, Action<int, int>? onImagesDone = null, IReadOnlyList<int>? labels = null,
                                      Action<GenerationPreview>? preview = null)
    {
        if (labels is not null && labels.Count != seeds.Count) throw new ArgumentException("one label per seed");
        var cfg = denoiser.Model.Config;
        var device = denoiser.Model.parameters().First().device;
        return InBatches(denoiser, seeds, batchSize, (generators, start) =>
        {
            var noise = Noise.Normal(generators, cfg.InChannels, cfg.ImageSize, device);
            var batchDenoiser = labels is null ? denoiser
                : denoiser.WithLabels(tensor(labels.Skip(start).Take(generators.Length).Select(l => (long)l).ToArray(), dtype: int64, device: device));
            return sampler.Sample(batchDenoiser, noise, options, generators, ForBatch(preview, start));
        }, onImagesDone);
    }

    /// <summary>A sampler's progress callback that reports <paramref name="preview"/>s of the batch starting at image <paramref name="start"/>.</summary>
    public static Action<SamplerProgress>? ForBatch(Action<GenerationPreview>? preview, int start) =>
        preview is null ? null : p => preview(new GenerationPreview(start, p.Step, p.Steps, p.PredictedX0));

    /// <summary>
    /// The batching every pipeline shares: the model in eval and inference mode, seeds in batches of at most
    /// <paramref name="batchSize"/>, one generator per image, a dispose scope per batch; returns uint8 CHW images.
    /// </summary>
    public static List<byte[]> InBatches(Denoiser denoiser, IReadOnlyList<long> seeds, int batchSize,
                                         Func<Generator[], int, Tensor> makeImages, Action<int, int>? onImagesDone = null)
    {
        if (batchSize < 1) throw new NoisetteInputException($"batch size must be at least 1, got {batchSize}");
        var result = new List<byte[]>(seeds.Count);
        denoiser.Model?.eval();
        using var _ = inference_mode();
        for (int start = 0; start < seeds.Count; start += batchSize)
        {
            using var scope = NewDisposeScope();
            var generators = Noise.Generators(seeds.Skip(start).Take(batchSize));
            try { result.AddRange(ToBytes(makeImages(generators, start))); }
            finally { foreach (var g in generators) g.Dispose(); }
            onImagesDone?.Invoke(Math.Min(start + batchSize, seeds.Count), seeds.Count);
        }
        return result;
    }

    /// <summary>
    /// What every pipeline's ToFolder shares: the request's items (seeds, or frames) made in batches of
    /// <paramref name="batchSize"/>; or, given a <paramref name="slot"/>, its one item made as that slot of a batch of
    /// copies of it (<see cref="BatchSlot"/>), as regeneration needs, with progress reported as that one image.
    /// </summary>
    /// <param name="make">Makes the images of a list of items in batches of the given size, reporting progress.</param>
    public static List<byte[]> BatchedOrInSlot<T>(IReadOnlyList<T> items, int batchSize, BatchSlot? slot, Action<int, int>? progress,
                                                  Func<IReadOnlyList<T>, int, Action<int, int>?, List<byte[]>> make)
    {
        if (slot is not { } s) return make(items, batchSize, progress);
        if (items.Count != 1) throw new ArgumentException($"a batch slot makes exactly one image, not {items.Count}", nameof(items));
        Action<int, int>? asOne = progress is null ? null : (done, total) => progress(done == total ? 1 : 0, 1);
        return [make(s.Copies(items[0]), s.Size, asOne)[s.Index]];
    }

    /// <summary>
    /// The number of steps asked of a sampler with these options (its default when Steps is 0): what provenance
    /// records as <c>steps</c>. The network calls can be a few fewer where its spacing merges duplicate timesteps
    /// (<see cref="SamplerOptions.NetworkCalls"/>).
    /// </summary>
    public static int ResolvedSteps(ISampler sampler, SamplerOptions options, int T) =>
        options.Timesteps?.Count ?? Math.Min(options.Steps > 0 ? options.Steps : sampler.DefaultSteps(T), T);

    /// <summary>A uint8 CHW image as a (1, C, H, W) tensor in [−1, 1]: the inverse of <see cref="ToBytes"/>.</summary>
    public static Tensor FromBytes(byte[] chw, int channels, int size, Device? device = null)
    {
        using var scope = NewDisposeScope();
        var x = tensor(chw, dtype: ScalarType.Byte).reshape(1, channels, size, size).to(float32).div(127.5).sub(1);
        if (device is not null) x = x.to(device);
        return x.MoveToOuterDisposeScope();
    }

    /// <summary>Converts images in [−1, 1] (B, C, H, W) to uint8 CHW arrays, rounding to the nearest level.</summary>
    public static List<byte[]> ToBytes(Tensor images)
    {
        using var scope = NewDisposeScope();
        var u8 = images.detach().to(float32).cpu().add(1).mul(127.5).round().clamp(0, 255).to(ScalarType.Byte).contiguous();
        var all = u8.data<byte>().ToArray();
        int n = (int)u8.shape[0], per = all.Length / Math.Max(n, 1);
        var list = new List<byte[]>(n);
        for (int i = 0; i < n; i++) list.Add(all.AsSpan(i * per, per).ToArray());
        return list;
    }

    /// <summary>The grid written at each checkpoint: the EMA weights, the run's fixed sample seed, its sampler settings.</summary>
    public static PlanarImage WriteCheckpointGrid(UNet ema, GaussianDiffusion diffusion, TrainingConfig config, string path, long step)
    {
        var cfg = ema.Config;
        long[] seeds;
        int[]? labels = null;
        int? columns = null;
        if (ema.IsConditional)
        {
            // One row per class (the first 8), the same seeds in every row so that rows compare.
            int rows = Math.Min(cfg.NumClasses, 8), per = Math.Max(1, config.SampleCount / rows);
            seeds = Enumerable.Range(0, rows * per).Select(i => config.SampleSeed + i % per).ToArray();
            labels = Enumerable.Range(0, rows * per).Select(i => i / per).ToArray();
            columns = per;
        }
        else seeds = Enumerable.Range(0, config.SampleCount).Select(i => config.SampleSeed + i).ToArray();
        var denoiser = new Denoiser(ema, diffusion) { GuidanceScale = ema.IsConditional ? config.SampleGuidance : 1.0 };
        var images = Sample(denoiser, Samplers.Get(config.SampleSampler), new SamplerOptions { Steps = config.SampleSteps }, seeds, labels: labels);
        var grid = ImageGrid.Compose(images.Select(b => new PlanarImage(cfg.InChannels, cfg.ImageSize, cfg.ImageSize, b)).ToList(), columns);
        PngWriter.Write(path, grid, new Dictionary<string, string>
        {
            ["noisette:kind"] = "checkpoint-grid",
            ["noisette:step"] = step.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["noisette:sampler"] = config.SampleSampler,
            ["noisette:steps"] = config.SampleSteps.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["noisette:seed"] = config.SampleSeed.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        return grid;
    }
}
