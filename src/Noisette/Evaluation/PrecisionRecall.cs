using static TorchSharp.torch;

namespace Noisette.Evaluation;

/// <summary>k-NN precision and recall of generated samples against real images, in some feature space.</summary>
public sealed record PrecisionRecallResult(double Precision, double Recall, int Neighbours);

/// <summary>
/// Improved precision and recall (Kynkäänniemi et al. 2019, "Improved precision and recall metric for assessing
/// generative models"). Each set's manifold is the union of balls around its points, each ball's radius the
/// distance to that point's k-th nearest neighbour in its own set (itself not counted). Precision is the fraction
/// of samples inside the real manifold (are the samples realistic?); recall the fraction of real points inside the
/// samples' manifold (do the samples cover the variety of the real images?). Distances are Euclidean, in float64,
/// from one matrix product per pair of sets; a point on a ball's edge counts as inside.
/// </summary>
public static class PrecisionRecall
{
    public const int DefaultNeighbours = 3;

    /// <param name="real">N×D features of real images (N &gt; k).</param>
    /// <param name="fake">M×D features of samples (M &gt; k).</param>
    public static PrecisionRecallResult Compute(Tensor real, Tensor fake, int neighbours = DefaultNeighbours)
    {
        if (neighbours < 1) throw new ArgumentOutOfRangeException(nameof(neighbours), "k must be at least 1");
        if (real.dim() != 2 || fake.dim() != 2 || real.shape[1] != fake.shape[1])
            throw new ArgumentException("real and fake must be N×D and M×D features with the same D");
        if (real.shape[0] <= neighbours || fake.shape[0] <= neighbours)
            throw new ArgumentException($"each set needs more than k = {neighbours} points (real {real.shape[0]}, fake {fake.shape[0]})");
        using var scope = NewDisposeScope();
        var r = real.to(float64);
        var f = fake.to(float64);
        var realRadii = KthNeighbourSquaredDistance(r, neighbours);
        var fakeRadii = KthNeighbourSquaredDistance(f, neighbours);
        var crossed = SquaredDistances(f, r);                                                   // M×N
        double precision = crossed.le(realRadii.unsqueeze(0)).any(1).to(float64).mean().item<double>();
        double recall = crossed.t().le(fakeRadii.unsqueeze(0)).any(1).to(float64).mean().item<double>();
        return new PrecisionRecallResult(precision, recall, neighbours);
    }

    /// <summary>Squared distance from each point to its k-th nearest other point of the same set.</summary>
    public static Tensor KthNeighbourSquaredDistance(Tensor points, int neighbours)
    {
        using var scope = NewDisposeScope();
        var d = SquaredDistances(points, points);
        // The k+1 smallest include the point itself (distance 0), so the k-th neighbour is the last of them.
        var (values, _) = d.topk(neighbours + 1, dim: 1, largest: false, sorted: true);
        return values.select(1, neighbours).MoveToOuterDisposeScope();
    }

    /// <summary>A×B squared Euclidean distances between the rows of a and of b.</summary>
    public static Tensor SquaredDistances(Tensor a, Tensor b)
    {
        using var scope = NewDisposeScope();
        var d = a.square().sum(1, keepdim: true) + b.square().sum(1).unsqueeze(0) - 2 * a.matmul(b.t());
        return d.clamp_min(0).MoveToOuterDisposeScope();
    }
}
