using static TorchSharp.torch;

namespace Noisette.Evaluation;

/// <summary>
/// Fréchet Inception Distance (Heusel et al.): the Fréchet distance between Gaussians fitted to the features of two
/// image sets, d² = ‖μ₁ − μ₂‖² + tr Σ₁ + tr Σ₂ − 2 tr (Σ₁^½ Σ₂ Σ₁^½)^½. All in float64; the matrix square roots
/// come from symmetric eigendecompositions, with the tiny negative eigenvalues of rounding clamped to 0.
/// </summary>
public static class Fid
{
    /// <summary>Mean (D) and unbiased covariance (D×D) of N×D features, float64.</summary>
    public static (Tensor Mean, Tensor Covariance) Statistics(Tensor features)
    {
        if (features.dim() != 2 || features.shape[0] < 2) throw new ArgumentException("need at least two feature rows (N×D)", nameof(features));
        using var scope = NewDisposeScope();
        var f = features.to(float64);
        var mean = f.mean([0]);
        var centred = f - mean;
        var cov = centred.t().matmul(centred) / (f.shape[0] - 1);
        return (mean.MoveToOuterDisposeScope(), cov.MoveToOuterDisposeScope());
    }

    /// <summary>The Fréchet distance between N(mean1, cov1) and N(mean2, cov2).</summary>
    public static double FrechetDistance(Tensor mean1, Tensor cov1, Tensor mean2, Tensor cov2)
    {
        using var scope = NewDisposeScope();
        var m1 = mean1.to(float64); var m2 = mean2.to(float64);
        var s1 = Symmetric(cov1.to(float64)); var s2 = Symmetric(cov2.to(float64));
        var root1 = SqrtPsd(s1);
        var inner = Symmetric(root1.matmul(s2).matmul(root1));
        var eig = linalg.eigvalsh(inner).clamp_min(0);
        double traceSqrt = eig.sqrt().sum().item<double>();
        double meanTerm = (m1 - m2).square().sum().item<double>();
        double d = meanTerm + s1.trace().item<double>() + s2.trace().item<double>() - 2 * traceSqrt;
        return Math.Max(d, 0);
    }

    /// <summary>FID between two N×D feature sets.</summary>
    public static double Compute(Tensor features1, Tensor features2)
    {
        var (m1, c1) = Statistics(features1);
        var (m2, c2) = Statistics(features2);
        using (m1) using (c1) using (m2) using (c2)
            return FrechetDistance(m1, c1, m2, c2);
    }

    /// <summary>The symmetric positive semi-definite square root, from an eigendecomposition.</summary>
    private static Tensor SqrtPsd(Tensor a)
    {
        var (values, vectors) = linalg.eigh(a);
        return (vectors * values.clamp_min(0).sqrt().unsqueeze(0)).matmul(vectors.t());
    }

    private static Tensor Symmetric(Tensor a) => (a + a.t()) * 0.5;
}
