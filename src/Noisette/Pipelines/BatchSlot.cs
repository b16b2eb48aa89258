namespace Noisette.Pipelines;

/// <summary>
/// Where an image sat when it was made: slot <see cref="Index"/> of a batch of <see cref="Size"/> images.
/// <para>
/// An image's pixels depend on the seed, and also, in the last bits, on the batch: the CPU's convolution and matrix
/// kernels split their sums differently for a batch of one than for a batch of four, and for the last slots of a
/// batch of seven. Those differences are about 1e-7, which now and then moves a pixel across a rounding boundary, one
/// gray level. The other images of the batch do not matter: only the batch's size and the image's slot. So an image is
/// made again byte for byte by computing a batch of its size with copies of it, and keeping its slot.
/// </para>
/// </summary>
public readonly record struct BatchSlot(int Size, int Index)
{
    /// <summary>A single image, computed alone.</summary>
    public static readonly BatchSlot Alone = new(1, 0);

    /// <summary>The slot of image <paramref name="image"/> of <paramref name="count"/> made in batches of <paramref name="batchSize"/>.</summary>
    public static BatchSlot Of(int image, int count, int batchSize)
    {
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "at least 1");
        if (image < 0 || image >= count) throw new ArgumentOutOfRangeException(nameof(image), image, $"within 0..{count - 1}");
        int start = image / batchSize * batchSize;
        return new BatchSlot(Math.Min(batchSize, count - start), image - start);
    }

    /// <summary>Checks a slot read from a file; a bad one is an input error.</summary>
    public void Check(string source)
    {
        if (Size < 1 || Index < 0 || Index >= Size)
            throw new NoisetteInputException($"'{source}': provenance batch slot {Index} of a batch of {Size} is impossible");
    }

    /// <summary>
    /// The list a pipeline computes to make only this slot: <paramref name="item"/> repeated <see cref="Size"/> times,
    /// in one batch of <see cref="Size"/>; keep result <see cref="Index"/>.
    /// </summary>
    public T[] Copies<T>(T item) => Enumerable.Repeat(item, Size).ToArray();
}
