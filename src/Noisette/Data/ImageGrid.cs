namespace Noisette.Data;

/// <summary>Lays out same-size planar images in rows and columns on a background, with a small gap between them.</summary>
public static class ImageGrid
{
    /// <summary>
    /// One image holding <paramref name="images"/> left to right, top to bottom, in <paramref name="columns"/> columns
    /// (default ⌈√N⌉), separated and framed by <paramref name="gap"/> pixels of <paramref name="background"/> (#RRGGBB).
    /// </summary>
    public static PlanarImage Compose(IReadOnlyList<PlanarImage> images, int? columns = null, int gap = 2, string background = "#FFFFFF")
    {
        if (images.Count == 0) throw new ArgumentException("A grid needs at least one image.", nameof(images));
        var first = images[0];
        foreach (var im in images)
            if (im.Channels != first.Channels || im.Width != first.Width || im.Height != first.Height)
                throw new ArgumentException("Grid images must all have the same channels and size.", nameof(images));
        ArgumentOutOfRangeException.ThrowIfNegative(gap);
        int n = images.Count;
        int cols = Math.Clamp(columns ?? (int)Math.Ceiling(Math.Sqrt(n)), 1, n);
        int rows = (n + cols - 1) / cols;
        int c = first.Channels, w = first.Width, h = first.Height;
        int gw = cols * w + (cols + 1) * gap, gh = rows * h + (rows + 1) * gap;
        var bg = DataConfig.ParseColor(background);
        var fill = c switch
        {
            1 => new[] { ImageResampler.ToByte(ImagePreprocessor.Luma(bg.R, bg.G, bg.B)) },
            3 => [bg.R, bg.G, bg.B],
            _ => [bg.R, bg.G, bg.B, (byte)255],
        };
        var pixels = new byte[c * gw * gh];
        for (int ch = 0; ch < c; ch++) pixels.AsSpan(ch * gw * gh, gw * gh).Fill(fill[ch]);
        for (int k = 0; k < n; k++)
        {
            int ox = gap + (k % cols) * (w + gap), oy = gap + (k / cols) * (h + gap);
            var src = images[k].Pixels;
            for (int ch = 0; ch < c; ch++)
                for (int y = 0; y < h; y++)
                    src.AsSpan((ch * h + y) * w, w).CopyTo(pixels.AsSpan((ch * gh + oy + y) * gw + ox));
        }
        return new PlanarImage(c, gw, gh, pixels);
    }

    /// <summary>The same from images stored back to back (N × C×H×W bytes), as a dataset or a sampler gives them.</summary>
    public static PlanarImage Compose(ReadOnlySpan<byte> images, int count, int channels, int width, int height,
        int? columns = null, int gap = 2, string background = "#FFFFFF")
    {
        int size = channels * width * height;
        if (images.Length < (long)count * size) throw new ArgumentException("Buffer is shorter than count images.", nameof(images));
        var list = new PlanarImage[count];
        for (int i = 0; i < count; i++) list[i] = new PlanarImage(channels, width, height, images.Slice(i * size, size).ToArray());
        return Compose(list, columns, gap, background);
    }
}
