using static TorchSharp.torch;

namespace Noisette.Evaluation;

/// <summary>KID's value: the mean of the subset estimates and their standard deviation.</summary>
public readonly record struct KidResult(double Mean, double StandardDeviation, int Subsets, int SubsetSize);

/// <summary>
/// Kernel Inception Distance (Bińkowski et al.): the unbiased estimate of the squared maximum mean discrepancy
/// between two feature sets under the cubic polynomial kernel k(x, y) = (x·y/D + 1)³, averaged over random subsets
/// (seeded) of equal size drawn from each set. Unlike FID it has no bias from the sample size, so it is the
/// better number for small sets; it can come out slightly negative when the sets match.
/// </summary>
public static class Kid
{
    public static KidResult Compute(Tensor features1, Tensor features2, int subsets = 100, int subsetSize = 1000, long seed = 0)
    {
        if (features1.dim() != 2 || features2.dim() != 2 || features1.shape[1] != features2.shape[1])
            throw new ArgumentException("features must be N×D and M×D with the same D");
        int n1 = (int)features1.shape[0], n2 = (int)features2.shape[0];
        int m = Math.Min(subsetSize, Math.Min(n1, n2));
        if (m < 2) throw new NoisetteInputException($"KID needs at least 2 images in each set, got {n1} and {n2}");
        if (subsets < 1) throw new ArgumentOutOfRangeException(nameof(subsets));
        double d = features1.shape[1];
        var rng = new Random(unchecked((int)(seed ^ (seed >> 32))));
        var values = new double[subsets];
        for (int s = 0; s < subsets; s++)
        {
            using var scope = NewDisposeScope();
            var x = features1.index_select(0, tensor(Pick(rng, n1, m))).to(float64);
            var y = features2.index_select(0, tensor(Pick(rng, n2, m))).to(float64);
            var kxx = (x.matmul(x.t()) / d + 1).pow(3);
            var kyy = (y.matmul(y.t()) / d + 1).pow(3);
            var kxy = (x.matmul(y.t()) / d + 1).pow(3);
            double offXX = kxx.sum().item<double>() - kxx.diagonal().sum().item<double>();
            double offYY = kyy.sum().item<double>() - kyy.diagonal().sum().item<double>();
            values[s] = (offXX + offYY) / ((double)m * (m - 1)) - 2 * kxy.sum().item<double>() / ((double)m * m);
        }
        double mean = values.Average();
        double sd = subsets > 1 ? Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (subsets - 1)) : 0;
        return new KidResult(mean, sd, subsets, m);
    }

    /// <summary>m distinct indices out of n, uniformly (a partial Fisher–Yates shuffle).</summary>
    private static long[] Pick(Random rng, int n, int m)
    {
        var idx = Enumerable.Range(0, n).ToArray();
        for (int i = 0; i < m; i++)
        {
            int j = i + rng.Next(n - i);
            (idx[i], idx[j]) = (idx[j], idx[i]);
        }
        return idx.Take(m).Select(i => (long)i).ToArray();
    }
}
