using Noisette.Sampling;
using static TorchSharp.torch;

namespace Noisette.Bundles;

/// <summary>
/// Images made in batches from a denoiser, as every pipeline and the training's checkpoint grid make them: the
/// network in eval and inference mode, one generator per image (image i drawn from its own seed alone), a dispose
/// scope per batch, and each batch decoded to pixels by the autoencoder before it becomes uint8 CHW images. The same
/// seed gives the same picture whatever the batch size, up to the last bits of the arithmetic (which depend on the
/// batch's size and the image's slot in it).
/// </summary>
public static class ImageBatches
{
    /// <summary>Samples one image per seed, in batches of at most <paramref name="batchSize"/>; returns uint8 CHW images.</summary>
    /// <param name="labels">For a class-conditional network: the class of each image (aligned with the seeds), or null.</param>
    /// <param name="preview">Called after every network call of every batch with the current x̂₀ (for previews).</param>
    /// <param name="autoencoder">Decodes the denoiser's space to pixels (default: the identity, for a pixel model).</param>
    public static List<byte[]> Sample(Denoiser denoiser, ISampler sampler, SamplerOptions options, IReadOnlyList<long> seeds,
                                      int batchSize = 16, Action<int, int>? onImagesDone = null, IReadOnlyList<int>? labels = null,
                                      Action<GenerationPreview>? preview = null, IAutoencoder? autoencoder = null)
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
        }, onImagesDone, autoencoder);
    }

    /// <summary>A sampler's progress callback that reports <paramref name="preview"/>s of the batch starting at image <paramref name="start"/>.</summary>
    public static Action<SamplerProgress>? ForBatch(Action<GenerationPreview>? preview, int start) =>
        preview is null ? null : p => preview(new GenerationPreview(start, p.Step, p.Steps, p.PredictedX0));

    /// <summary>
    /// The batching every generation shares: seeds in batches of at most <paramref name="batchSize"/>, one generator
    /// per image; <paramref name="makeImages"/> returns a batch in the denoiser's space, which is decoded to pixels.
    /// </summary>
    public static List<byte[]> InBatches(Denoiser denoiser, IReadOnlyList<long> seeds, int batchSize,
                                         Func<Generator[], int, Tensor> makeImages, Action<int, int>? onImagesDone = null,
                                         IAutoencoder? autoencoder = null)
    {
        if (batchSize < 1) throw new NoisetteInputException($"the batch size must be at least 1, got {batchSize}");
        var decoder = autoencoder ?? IdentityAutoencoder.Instance;
        var result = new List<byte[]>(seeds.Count);
        denoiser.Model?.eval();
        using var _ = inference_mode();
        for (int start = 0; start < seeds.Count; start += batchSize)
        {
            using var scope = NewDisposeScope();
            var generators = Noise.Generators(seeds.Skip(start).Take(batchSize));
            try { result.AddRange(Pixels.ToBytes(decoder.Decode(makeImages(generators, start)))); }
            finally { foreach (var g in generators) g.Dispose(); }
            onImagesDone?.Invoke(Math.Min(start + batchSize, seeds.Count), seeds.Count);
        }
        return result;
    }
}
