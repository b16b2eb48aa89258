namespace Noisette.Data;

/// <summary>
/// The bounding box of the foreground ("ink") of an image drawn on a plain background, to a fraction of a pixel:
/// <see cref="Top"/> and <see cref="Left"/> are the first inked coordinates, <see cref="Bottom"/> and <see cref="Right"/>
/// the coordinates just past the ink (for glyphs, <see cref="Bottom"/> is the baseline). An edge pixel that is
/// half covered moves the edge by half a pixel.
/// </summary>
public readonly record struct InkBox(double Top, double Bottom, double Left, double Right)
{
    public double Height => Bottom - Top;
    public double Width => Right - Left;
    public double CenterX => (Left + Right) / 2;
    public double CenterY => (Top + Bottom) / 2;

    /// <summary>Level difference from the background below which a pixel counts as background (noise, JPEG ringing).</summary>
    public const double NoiseLevel = 12;

    /// <summary>
    /// Finds the plain background of a gray plane (the median of its border, when at least 90% of the border
    /// is within <see cref="NoiseLevel"/> of it) and the box of everything that differs from it.
    /// Returns null when the background is not plain or nothing is drawn.
    /// </summary>
    public static InkBox? Measure(ReadOnlySpan<double> gray, int width, int height, out double background)
    {
        var border = new List<double>(2 * (width + height));
        for (int x = 0; x < width; x++) { border.Add(gray[x]); border.Add(gray[(height - 1) * width + x]); }
        for (int y = 1; y < height - 1; y++) { border.Add(gray[y * width]); border.Add(gray[y * width + width - 1]); }
        background = RobustStatistics.Median(border);
        double bg = background;
        if (border.Count(v => Math.Abs(v - bg) <= NoiseLevel) < 0.9 * border.Count) return null;
        double full = 0;
        foreach (var v in gray) full = Math.Max(full, Math.Abs(v - bg));
        if (full <= NoiseLevel * 2) return null;

        // Coverage of a pixel: how far it is from the background, relative to the strongest ink.
        var rowMax = new double[height];
        var colMax = new double[width];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                double d = Math.Abs(gray[y * width + x] - bg);
                double c = d <= NoiseLevel ? 0 : Math.Min(1, d / full);
                if (c > rowMax[y]) rowMax[y] = c;
                if (c > colMax[x]) colMax[x] = c;
            }
        var (top, bottom) = Edges(rowMax);
        var (left, right) = Edges(colMax);
        return new InkBox(top, bottom, left, right);
    }

    private static (double Start, double End) Edges(double[] profile)
    {
        int first = Array.FindIndex(profile, c => c > 0);
        int last = Array.FindLastIndex(profile, c => c > 0);
        return (first + 1 - profile[first], last + profile[last]);
    }
}
