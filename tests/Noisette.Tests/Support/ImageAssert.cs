namespace Noisette.Tests;

/// <summary>Comparisons of uint8 images.</summary>
public static class ImageAssert
{
    /// <summary>The decoded pixels of a PNG file.</summary>
    public static byte[] Pixels(string png)
    {
        using var bitmap = SkiaSharp.SKBitmap.Decode(png) ?? throw new InvalidDataException($"cannot decode {png}");
        return bitmap.Bytes;
    }

    /// <summary>
    /// The same picture computed in batches of different sizes: every byte within one gray level and at most 1% of
    /// them off by one (the CPU kernels' sums differ in their last bits between batch sizes; see BatchSlot). A wrong
    /// seed, noise or class changes far more.
    /// </summary>
    public static void Alike(byte[] expected, byte[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        int off = 0, worst = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            int d = Math.Abs(expected[i] - actual[i]);
            if (d > 0) off++;
            worst = Math.Max(worst, d);
        }
        Assert.True(worst <= 1 && off <= expected.Length / 100,
                    $"{off} of {expected.Length} bytes differ, by up to {worst} levels; the same image in another batch differs by at most one level in at most 1%");
    }
}
