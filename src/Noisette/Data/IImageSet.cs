namespace Noisette.Data;

/// <summary>A fixed, indexable set of same-size uint8 images in CHW order: what the trainer reads from.</summary>
public interface IImageSet
{
    int Count { get; }
    int Channels { get; }
    int ImageSize { get; }
    /// <summary>Copies image <paramref name="index"/> (Channels × ImageSize × ImageSize bytes) into <paramref name="destination"/>.</summary>
    void CopyImage(int index, Span<byte> destination);
    /// <summary>Class label of image <paramref name="index"/>, or −1 for an unlabelled set.</summary>
    int LabelOf(int index) => -1;
}

/// <summary>An image set held in one byte array (tests, small synthetic sets, and subsets of a loaded folder).</summary>
public sealed class InMemoryImageSet : IImageSet
{
    private readonly byte[] pixels;
    public int Count { get; }
    public int Channels { get; }
    public int ImageSize { get; }

    private readonly int[]? labels;

    public InMemoryImageSet(byte[] pixels, int count, int channels, int imageSize, int[]? labels = null)
    {
        if (labels is not null && labels.Length != count) throw new ArgumentException("one label per image");
        this.labels = labels;
        if (pixels.Length != (long)count * channels * imageSize * imageSize)
            throw new ArgumentException("pixel buffer size does not match count × channels × size²");
        this.pixels = pixels;
        Count = count; Channels = channels; ImageSize = imageSize;
    }

    public void CopyImage(int index, Span<byte> destination)
    {
        int n = Channels * ImageSize * ImageSize;
        pixels.AsSpan(index * n, n).CopyTo(destination);
    }

    public int LabelOf(int index) => labels?[index] ?? -1;
}
