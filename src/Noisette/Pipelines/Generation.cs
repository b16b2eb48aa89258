using Noisette.Bundles;
using Noisette.Data;
using Noisette.Sampling;

namespace Noisette.Pipelines;

/// <summary>
/// What the pipelines' ToFolder methods share beyond the batching itself (<see cref="ImageBatches"/>): a request's
/// items made in batches or in one slot of a batch, the steps provenance records, and images as files hold them.
/// </summary>
public static class Generation
{
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

    /// <summary>A uint8 CHW image of <paramref name="bundle"/>'s pixel shape, as a file holds it.</summary>
    public static PlanarImage Image(ModelBundle bundle, byte[] chw)
    {
        var shape = bundle.ImageShape;
        return new PlanarImage(shape.Channels, shape.Size, shape.Size, chw);
    }
}
