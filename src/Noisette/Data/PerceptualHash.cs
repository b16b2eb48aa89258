namespace Noisette.Data;

/// <summary>
/// A 64-bit perceptual hash of an image: the signs of the lowest 8×8 frequencies of the 2-D DCT of a 32×32
/// gray thumbnail, relative to their median. Similar-looking images have hashes a small Hamming distance apart.
/// </summary>
public static class PerceptualHash
{
    private const int N = 32;
    private static readonly double[,] Cosines = BuildCosines();

    private static double[,] BuildCosines()
    {
        var c = new double[8, N];
        for (int u = 0; u < 8; u++)
            for (int x = 0; x < N; x++) c[u, x] = Math.Cos((2 * x + 1) * u * Math.PI / (2 * N));
        return c;
    }

    /// <summary>Hash of a gray plane of any size (it is resampled to 32×32 first).</summary>
    public static ulong Compute(ReadOnlySpan<double> gray, int width, int height)
    {
        var t = ImageResampler.Resample(gray, width, height, 0, 0, width, height, N, N);
        // Rows first, then columns, keeping only the 8 lowest frequencies each way.
        var rows = new double[N, 8];
        for (int y = 0; y < N; y++)
            for (int u = 0; u < 8; u++)
            {
                double s = 0;
                for (int x = 0; x < N; x++) s += t[y * N + x] * Cosines[u, x];
                rows[y, u] = s;
            }
        var coef = new double[64];
        for (int v = 0; v < 8; v++)
            for (int u = 0; u < 8; u++)
            {
                double s = 0;
                for (int y = 0; y < N; y++) s += rows[y, u] * Cosines[v, y];
                coef[v * 8 + u] = s;
            }
        var median = RobustStatistics.Median(coef.Skip(1).Select(x => x));
        ulong hash = 0;
        for (int i = 0; i < 64; i++)
            if (coef[i] > median) hash |= 1UL << i;
        return hash;
    }

    public static int Distance(ulong a, ulong b) => System.Numerics.BitOperations.PopCount(a ^ b);
}
