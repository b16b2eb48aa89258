using Noisette.Data;
using static TorchSharp.torch;

namespace Noisette.Evaluation;

/// <summary>One sample's nearest training image and how it compares to its other near neighbours.</summary>
public sealed record CopyMatch
{
    public int Sample { get; init; }
    /// <summary>Index of the nearest image in the training set.</summary>
    public int NearestTraining { get; init; }
    /// <summary>L2 distance to the nearest training image, over pixels in [−1, 1].</summary>
    public double NearestDistance { get; init; }
    /// <summary>Mean L2 distance to the k nearest training images (the nearest included).</summary>
    public double MeanNeighbourDistance { get; init; }
    /// <summary>NearestDistance / MeanNeighbourDistance: small means one training image is much closer than the rest.</summary>
    public double Ratio { get; init; }
    public bool IsNearCopy { get; init; }
}

/// <summary>The copy check's findings, worst (smallest ratio) first.</summary>
public sealed record CopyCheckResult
{
    public IReadOnlyList<CopyMatch> Matches { get; init; } = [];
    /// <summary>k: how many nearest training images the mean distance is taken over.</summary>
    public int Neighbours { get; init; }
    public double Threshold { get; init; }
    public int TrainingImages { get; init; }
    public int NearCopies => Matches.Count(m => m.IsNearCopy);
    /// <summary>Fraction of samples flagged as near-copies.</summary>
    public double Rate => Matches.Count == 0 ? 0 : (double)NearCopies / Matches.Count;
}

/// <summary>
/// Does the model copy its training images? For each sample, the distances to every training image are computed
/// in pixel space (L2 over pixels mapped to [−1, 1], with batched matrix products over the training set), and the
/// sample is flagged as a near-copy when its nearest distance is below <c>threshold</c> (0.5) times its mean
/// distance to its k = min(50, training count) nearest training images, after Carlini et al. (2023), "Extracting
/// training data from diffusion models". A sample that is merely similar in style has many training images at
/// about the same distance; a copy has one far closer than the rest.
/// </summary>
public static class CopyCheck
{
    public const int DefaultNeighbours = 50;
    public const double DefaultThreshold = 0.5;

    public static CopyCheckResult Run(IReadOnlyList<byte[]> samples, IImageSet training,
                                      int neighbours = DefaultNeighbours, double threshold = DefaultThreshold, int chunk = 512)
    {
        if (training.Count == 0) throw new NoisetteInputException("the training split is empty: there is nothing to compare the samples with");
        if (neighbours < 1) throw new NoisetteInputException($"neighbours must be at least 1, got {neighbours}");
        int dims = training.Channels * training.ImageSize * training.ImageSize;
        foreach (var s in samples)
            if (s.Length != dims) throw new NoisetteInputException($"samples have {s.Length} values but the training images have {dims}; they must be the same size");
        int k = Math.Min(neighbours, training.Count);
        var matches = new List<CopyMatch>(samples.Count);
        if (samples.Count == 0) return new CopyCheckResult { Neighbours = k, Threshold = threshold, TrainingImages = training.Count };

        using var _ = inference_mode();
        using var scope = NewDisposeScope();
        var x = ToUnit(samples.SelectMany(b => b).ToArray(), samples.Count, dims);   // S×D
        var xNorm = x.square().sum(1, keepdim: true);                                   // S×1
        Tensor? bestDist = null, bestIndex = null;                                       // S×k squared distances and indices
        var buffer = new byte[dims];
        for (int start = 0; start < training.Count; start += chunk)
        {
            using var chunkScope = NewDisposeScope();
            int count = Math.Min(chunk, training.Count - start);
            var pixels = new byte[count * dims];
            for (int j = 0; j < count; j++)
            {
                training.CopyImage(start + j, buffer);
                buffer.CopyTo(pixels, j * dims);
            }
            var y = ToUnit(pixels, count, dims);                                          // C×D
            var d2 = (xNorm + y.square().sum(1).unsqueeze(0) - 2 * x.matmul(y.t())).clamp_min(0);
            var idx = arange(start, start + count, dtype: int64).unsqueeze(0).expand(samples.Count, count);
            if (bestDist is not null)
            {
                d2 = cat([bestDist, d2], 1);
                idx = cat([bestIndex!, idx], 1);
            }
            int keep = Math.Min(k, (int)d2.shape[1]);
            var (values, positions) = d2.topk(keep, dim: 1, largest: false, sorted: true);
            bestDist = values.MoveToOuterDisposeScope();
            bestIndex = idx.gather(1, positions).MoveToOuterDisposeScope();
        }

        var dist = bestDist!.sqrt();
        var nearest = dist.select(1, 0).data<double>().ToArray();
        var meanK = dist.mean([1]).data<double>().ToArray();
        var nearestIndex = bestIndex!.select(1, 0).data<long>().ToArray();
        for (int i = 0; i < samples.Count; i++)
        {
            double ratio = meanK[i] > 0 ? nearest[i] / meanK[i] : 0;    // all k at distance 0: an exact copy
            matches.Add(new CopyMatch
            {
                Sample = i,
                NearestTraining = (int)nearestIndex[i],
                NearestDistance = nearest[i],
                MeanNeighbourDistance = meanK[i],
                Ratio = ratio,
                IsNearCopy = ratio < threshold,
            });
        }
        matches.Sort((a, b) => a.Ratio != b.Ratio ? a.Ratio.CompareTo(b.Ratio) : a.Sample.CompareTo(b.Sample));
        return new CopyCheckResult { Matches = matches, Neighbours = k, Threshold = threshold, TrainingImages = training.Count };
    }

    /// <summary>
    /// The pixels as float64 in [−1, 1], converted here rather than by tensor arithmetic with scalar operands: the
    /// quality benchmark crashed three times in libtorch's scalar checks inside that arithmetic (issue 16's notes).
    /// </summary>
    private static Tensor ToUnit(byte[] pixels, int count, int dims)
    {
        var values = new double[pixels.Length];
        for (int i = 0; i < values.Length; i++) values[i] = pixels[i] / 127.5 - 1;
        return tensor(values, [count, dims], dtype: float64);
    }
}
