using Noisette.Data;
using Noisette.Diffusion;
using Noisette.Models;
using Noisette.Sampling;
using Noisette.Training;
using static TorchSharp.torch;

namespace Noisette.Pipelines;

/// <summary>
/// Generation: a denoiser plus a sampler plus image output. Image i of a request is drawn from seed + i alone,
/// so the same seed gives the same picture whatever the batch size.
/// </summary>
public static class Generation
{
    /// <summary>Samples one image per seed, in batches of at most <paramref name="batchSize"/>; returns uint8 CHW images.</summary>
    public static List<byte[]> Sample(Denoiser denoiser, ISampler sampler, SamplerOptions options, IReadOnlyList<long> seeds,
                                      int batchSize = 16, Action<int, int>? onImagesDone = null)
    {
        var cfg = denoiser.Model.Config;
        var device = denoiser.Model.parameters().First().device;
        var result = new List<byte[]>(seeds.Count);
        denoiser.Model.eval();
        using var _ = inference_mode();
        for (int start = 0; start < seeds.Count; start += batchSize)
        {
            using var scope = NewDisposeScope();
            var batchSeeds = seeds.Skip(start).Take(batchSize).ToArray();
            var generators = Noise.Generators(batchSeeds);
            var noise = Noise.Normal(generators, cfg.InChannels, cfg.ImageSize, device);
            var images = sampler.Sample(denoiser, noise, options, generators);
            result.AddRange(ToBytes(images));
            foreach (var g in generators) g.Dispose();
            onImagesDone?.Invoke(Math.Min(start + batchSize, seeds.Count), seeds.Count);
        }
        return result;
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
        var seeds = Enumerable.Range(0, config.SampleCount).Select(i => config.SampleSeed + i).ToArray();
        var images = Sample(new Denoiser(ema, diffusion), Samplers.Get(config.SampleSampler),
                            new SamplerOptions { Steps = config.SampleSteps }, seeds);
        var cfg = ema.Config;
        var grid = ImageGrid.Compose(images.Select(b => new PlanarImage(cfg.InChannels, cfg.ImageSize, cfg.ImageSize, b)).ToList());
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
