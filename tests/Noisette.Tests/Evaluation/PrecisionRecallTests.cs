using Noisette.Evaluation;
using static TorchSharp.torch;

namespace Noisette.Tests.Evaluation;

public class PrecisionRecallTests
{
    /// <summary>Points on the x axis, embedded in 3-D by a random rotation and shift (distances unchanged).</summary>
    private static Tensor OnALine(double[] xs, int seed)
    {
        var g = new Generator((ulong)seed);
        var (q, _) = linalg.qr(randn(3, 3, dtype: float64, generator: g));
        var shift = randn(3, dtype: float64, generator: g) * 10;
        var points = zeros(xs.Length, 3, dtype: float64);
        points.select(1, 0).copy_(tensor(xs));
        return points.matmul(q.t()) + shift;
    }

    [Fact]
    public void PrecisionAndRecallCountPointsInsideTheOtherSetsKNearestNeighbourBalls()
    {
        // Real points at 0..9: with k = 3 the radius is 3 at the ends (0, 9) and 2 elsewhere.
        // Samples: 0, 1, 2, 3.4 lie in the real manifold; the cluster at 100..103.4 does not: precision 4/8.
        // The samples' radii: 0 → 3.4, 1 → 2.4, 2 → 2, 3.4 → 3.4 (covering up to 6.8), so reals 0..6 are covered
        // and 7, 8, 9 are not: recall 7/10. The far cluster covers no real point.
        var real = OnALine(Enumerable.Range(0, 10).Select(i => (double)i).ToArray(), seed: 1);
        var fake = OnALine([0, 1, 2, 3.4, 100, 101, 102, 103.4], seed: 1);
        var result = PrecisionRecall.Compute(real, fake, neighbours: 3);
        Assert.Equal(0.5, result.Precision, 12);
        Assert.Equal(0.7, result.Recall, 12);
        Assert.Equal(3, result.Neighbours);

        // The roles swap exactly: the samples' recall is the reals' precision.
        var swapped = PrecisionRecall.Compute(fake, real, neighbours: 3);
        Assert.Equal(result.Recall, swapped.Precision, 12);
        Assert.Equal(result.Precision, swapped.Recall, 12);

        // With k = 1 the real radius is 1 everywhere: 3.4 is 0.4 from 3, still inside; the samples' radii are 1, 1, 1
        // and 1.4, so reals 0..4 are covered (4 is 0.6 from 3.4) and 5 is not (1.6 away).
        var k1 = PrecisionRecall.Compute(real, fake, neighbours: 1);
        Assert.Equal(0.5, k1.Precision, 12);
        Assert.Equal(0.5, k1.Recall, 12);
    }

    [Fact]
    public void IdenticalSetsScoreOneAndDistantSetsZero()
    {
        var real = randn(50, 8, dtype: float64, generator: new Generator(7));
        var same = PrecisionRecall.Compute(real, real.clone());
        Assert.Equal(1.0, same.Precision);
        Assert.Equal(1.0, same.Recall);
        var far = PrecisionRecall.Compute(real, real + 100);
        Assert.Equal(0.0, far.Precision);
        Assert.Equal(0.0, far.Recall);
    }

    [Fact]
    public void KthNeighbourDistanceSkipsThePointItself()
    {
        var points = tensor(new double[] { 0, 1, 3, 7 }).unsqueeze(1);
        var radii = PrecisionRecall.KthNeighbourSquaredDistance(points, 2).data<double>().ToArray();
        Assert.Equal(new double[] { 9, 4, 9, 36 }, radii);
    }

    [Fact]
    public void SetsTooSmallForKOrOfDifferentWidthsAreRefused()
    {
        var three = randn(3, 4, dtype: float64);
        Assert.Throws<ArgumentException>(() => PrecisionRecall.Compute(three, randn(10, 4, dtype: float64), neighbours: 3));
        Assert.Throws<ArgumentException>(() => PrecisionRecall.Compute(randn(10, 4, dtype: float64), randn(10, 5, dtype: float64)));
        Assert.Throws<ArgumentOutOfRangeException>(() => PrecisionRecall.Compute(three, three, neighbours: 0));
    }
}
