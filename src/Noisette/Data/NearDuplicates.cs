namespace Noisette.Data;

/// <summary>
/// Finds near-identical images: the same picture re-saved (as JPEG, with a slightly different brightness),
/// resized, or moved by a few pixels. Two images are near-duplicates when their ink-centred 16×16 thumbnails
/// (<see cref="ImageMeasurement.Thumbnail"/>), each normalised to zero mean and unit standard deviation, differ by at
/// most a threshold on average (<see cref="Difference"/>, in % of the contrast): brightness and contrast changes and
/// shifts do not count, a different drawing does. Near-duplicates are joined into groups transitively.
/// <para>
/// The search is exact and does not compare every pair. For any weights w with |wᵢ| ≤ 1, the weighted mean
/// (1/N)·Σ wᵢ·zᵢ of a normalised thumbnail z changes by at most the mean absolute difference between two thumbnails,
/// so two images within threshold τ are within τ on every such feature. The features are low-frequency cosine
/// patterns; the three that vary most over the folder span a grid with cells τ wide (the lossy threshold only when the
/// folder holds lossy files), each image is looked up only among the images of its own and the 26 neighbouring cells,
/// and a candidate is compared pixel by pixel only when all its features are within the pair's threshold. Different drawings spread over many cells, so the work
/// grows with the number of images times the few that share a neighbourhood, not with the square of the number.
/// </para>
/// </summary>
public static class NearDuplicates
{
    private const int Side = ImageMeasurement.ThumbnailSide;

    /// <summary>Groups of near-identical images among <paramref name="images"/> (one per content; blank images excluded by the caller).</summary>
    public static List<DuplicateGroup> Find(IReadOnlyList<ImageMeasurement> images, DatasetCheckOptions options)
    {
        int count = images.Count;
        var normalised = new Normalised[count];
        for (int i = 0; i < count; i++) normalised[i] = Normalise(images[i].Thumbnail);
        bool anyLossy = images.Any(IsLossy);
        double widest = anyLossy ? Math.Max(options.NearDuplicateDifference, options.NearDuplicateLossyDifference) : options.NearDuplicateDifference;
        double cell = widest / 100;
        var axes = Axes(normalised);
        var grid = new Dictionary<(int, int, int), List<int>>();
        var parent = Enumerable.Range(0, count).ToArray();
        int Root(int i) { while (parent[i] != i) i = parent[i] = parent[parent[i]]; return i; }
        var maxDifference = new Dictionary<int, double>();
        for (int i = 0; i < count; i++)
        {
            var f = normalised[i].Features;
            if (f is null) continue; // flat thumbnail: nothing to compare
            var key = ((int)Math.Floor(f[axes[0]] / cell), (int)Math.Floor(f[axes[1]] / cell), (int)Math.Floor(f[axes[2]] / cell));
            bool lossyI = IsLossy(images[i]);
            for (int dx = -1; dx <= 1; dx++)
                for (int dy = -1; dy <= 1; dy++)
                    for (int dz = -1; dz <= 1; dz++)
                    {
                        if (!grid.TryGetValue((key.Item1 + dx, key.Item2 + dy, key.Item3 + dz), out var members)) continue;
                        foreach (int j in members)
                        {
                            int ri = Root(i), rj = Root(j);
                            if (ri == rj) continue;
                            double limit = lossyI || IsLossy(images[j]) ? options.NearDuplicateLossyDifference : options.NearDuplicateDifference;
                            if (!FeaturesWithin(normalised[i].Features!, normalised[j].Features!, limit / 100)) continue;
                            double d = Difference(normalised[i], normalised[j], limit);
                            if (d > limit) continue;
                            double md = Math.Max(d, Math.Max(maxDifference.GetValueOrDefault(ri), maxDifference.GetValueOrDefault(rj)));
                            parent[Math.Max(ri, rj)] = Math.Min(ri, rj);
                            maxDifference[Math.Min(ri, rj)] = md;
                        }
                    }
            if (!grid.TryGetValue(key, out var list)) grid[key] = list = [];
            list.Add(i);
        }
        return Enumerable.Range(0, count).GroupBy(Root).Where(g => g.Count() > 1)
            .Select(g => new DuplicateGroup(g.Select(i => images[i].RelativePath).ToList(), Math.Round(maxDifference.GetValueOrDefault(g.Key), 3)))
            .OrderBy(g => g.Files[0], StringComparer.Ordinal).ToList();
    }

    /// <summary>
    /// Mean absolute difference of two thumbnails after normalising each to zero mean and unit standard deviation,
    /// in % of that deviation (0 for the same picture at any brightness and contrast; two capital As of different
    /// typefaces that look alike are typically 1 or more).
    /// </summary>
    public static double Difference(byte[] a, byte[] b) => Difference(Normalise(a, features: false), Normalise(b, features: false), double.PositiveInfinity);

    /// <summary>True for formats that store images with loss (JPEG, WebP): their copies differ by compression noise.</summary>
    public static bool IsLossy(ImageMeasurement m) => m.Source.Format is ImageFormat.Jpeg or ImageFormat.WebP;

    private sealed record Normalised(double Mean, double InverseDeviation, byte[] Pixels, double[]? Features);

    /// <summary>Cosine patterns cos(π(2x+1)u/2S)·cos(π(2y+1)v/2S) for 0 ≤ u, v &lt; 4 except the constant one, row-major.</summary>
    private static readonly double[][] Patterns = BuildPatterns();

    private static double[][] BuildPatterns()
    {
        var list = new List<double[]>();
        for (int v = 0; v < 4; v++)
            for (int u = 0; u < 4; u++)
            {
                if (u == 0 && v == 0) continue;
                var p = new double[Side * Side];
                for (int y = 0; y < Side; y++)
                    for (int x = 0; x < Side; x++)
                        p[y * Side + x] = Math.Cos(Math.PI * (2 * x + 1) * u / (2 * Side)) * Math.Cos(Math.PI * (2 * y + 1) * v / (2 * Side));
                list.Add(p);
            }
        return list.ToArray();
    }

    /// <summary>The three features with the largest variance over the images (the grid's axes).</summary>
    private static int[] Axes(Normalised[] images)
    {
        var sum = new double[Patterns.Length];
        var sumSq = new double[Patterns.Length];
        int n = 0;
        foreach (var im in images)
        {
            if (im.Features is null) continue;
            n++;
            for (int k = 0; k < Patterns.Length; k++) { sum[k] += im.Features[k]; sumSq[k] += im.Features[k] * im.Features[k]; }
        }
        return Enumerable.Range(0, Patterns.Length)
            .OrderByDescending(k => n == 0 ? 0 : sumSq[k] / n - (sum[k] / n) * (sum[k] / n)).ThenBy(k => k).Take(3).ToArray();
    }

    private static Normalised Normalise(byte[] t, bool features = true)
    {
        double mean = 0;
        foreach (var v in t) mean += v;
        mean /= t.Length;
        double var = 0;
        foreach (var v in t) var += (v - mean) * (v - mean);
        double sd = Math.Sqrt(var / t.Length);
        if (sd < 0.5) return new Normalised(mean, 0, t, null);
        if (!features) return new Normalised(mean, 1 / sd, t, []);
        var f = new double[Patterns.Length];
        for (int k = 0; k < Patterns.Length; k++)
        {
            double sum = 0;
            var p = Patterns[k];
            for (int i = 0; i < t.Length; i++) sum += (t[i] - mean) / sd * p[i];
            f[k] = sum / t.Length;
        }
        return new Normalised(mean, 1 / sd, t, f);
    }

    /// <summary>Every feature within <paramref name="limit"/>: necessary for a difference within 100 × limit (a cheap, exact filter).</summary>
    private static bool FeaturesWithin(double[] a, double[] b, double limit)
    {
        for (int k = 0; k < a.Length; k++)
            if (Math.Abs(a[k] - b[k]) > limit) return false;
        return true;
    }

    private static double Difference(Normalised a, Normalised b, double limit)
    {
        if (a.Features is null || b.Features is null) return double.PositiveInfinity;
        double s = 0, stop = limit / 100 * a.Pixels.Length;
        for (int i = 0; i < a.Pixels.Length; i++)
        {
            s += Math.Abs((a.Pixels[i] - a.Mean) * a.InverseDeviation - (b.Pixels[i] - b.Mean) * b.InverseDeviation);
            if (s > stop) return double.PositiveInfinity;
        }
        return 100 * s / a.Pixels.Length;
    }
}
