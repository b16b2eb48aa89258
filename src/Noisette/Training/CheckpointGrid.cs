using System.Globalization;
using Noisette.Bundles;
using Noisette.Data;
using Noisette.Runs;
using Noisette.Sampling;

namespace Noisette.Training;

/// <summary>
/// The grid of samples written at each checkpoint: the averaged (EMA) weights, the run's fixed sample seed and its
/// sampler settings, so that grids compare over time. A class-conditional run's grid has one row per class (the
/// first 8), the same seeds in every row. The pictures of the sample distance come from here too, with the same
/// seeds, so an unconditional run's grid is the first of them and costs nothing more.
/// </summary>
public static class CheckpointGrid
{
    /// <summary>
    /// <paramref name="count"/> pictures for the sample distance, decoded to pixels: seeds from the grid's seed on, with
    /// the grid's sampler and steps; a class-conditional run's go through its classes in turn, with the grid's guidance.
    /// </summary>
    public static List<byte[]> Sample(ModelBundle bundle, TrainingConfig config, int count)
    {
        var seeds = Enumerable.Range(0, count).Select(i => config.SampleSeed + i).ToArray();
        var classes = bundle.Classes;
        int[]? labels = classes is null ? null : Enumerable.Range(0, count).Select(i => i % classes.Count).ToArray();
        return ImageBatches.Sample(Guided(bundle, config), Samplers.Get(config.SampleSampler), new SamplerOptions { Steps = config.SampleSteps }, seeds,
                                   labels: labels, autoencoder: bundle.Autoencoder);
    }

    /// <summary>
    /// Samples the grid with <paramref name="bundle"/>, decoded to pixels by its autoencoder, and writes it to
    /// <paramref name="path"/>. An unconditional run's grid reuses <paramref name="sampled"/> (from <see cref="Sample"/>)
    /// when there are enough of them: they are the same seeds.
    /// </summary>
    public static PlanarImage Write(ModelBundle bundle, TrainingConfig config, string path, long step, IReadOnlyList<byte[]>? sampled = null)
    {
        long[] seeds;
        int[]? labels = null;
        int? columns = null;
        var classes = bundle.Classes;
        if (classes is not null)
        {
            // One row per class (the first 8), the same seeds in every row so that rows compare.
            int rows = Math.Min(classes.Count, 8), per = Math.Max(1, config.SampleCount / rows);
            seeds = Enumerable.Range(0, rows * per).Select(i => config.SampleSeed + i % per).ToArray();
            labels = Enumerable.Range(0, rows * per).Select(i => i / per).ToArray();
            columns = per;
        }
        else seeds = Enumerable.Range(0, config.SampleCount).Select(i => config.SampleSeed + i).ToArray();
        var images = classes is null && sampled is not null && sampled.Count >= seeds.Length
            ? sampled.Take(seeds.Length).ToList()
            : ImageBatches.Sample(Guided(bundle, config), Samplers.Get(config.SampleSampler), new SamplerOptions { Steps = config.SampleSteps }, seeds,
                                  labels: labels, autoencoder: bundle.Autoencoder);
        var shape = bundle.ImageShape;
        var grid = ImageGrid.Compose(images.Select(b => new PlanarImage(shape.Channels, shape.Size, shape.Size, b)).ToList(), columns);
        PngWriter.Write(path, grid, new Dictionary<string, string>
        {
            ["noisette:kind"] = "checkpoint-grid",
            ["noisette:step"] = step.ToString(CultureInfo.InvariantCulture),
            ["noisette:sampler"] = config.SampleSampler,
            ["noisette:steps"] = config.SampleSteps.ToString(CultureInfo.InvariantCulture),
            ["noisette:seed"] = config.SampleSeed.ToString(CultureInfo.InvariantCulture),
        });
        return grid;
    }

    private static Denoiser Guided(ModelBundle bundle, TrainingConfig config) =>
        new(bundle.Network, bundle.Diffusion) { ClipDenoised = bundle.ClipDenoised, GuidanceScale = bundle.Classes is not null ? config.SampleGuidance : 1.0 };
}
