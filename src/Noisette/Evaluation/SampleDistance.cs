using Noisette.Data;
using static TorchSharp.torch;

namespace Noisette.Evaluation;

/// <summary>
/// A checkpoint's <b>sample distance</b>: the Fréchet distance between pictures the model samples and the training
/// pictures, measured on the pixels themselves brought down to <see cref="Side"/>×<see cref="Side"/> (area means of
/// every channel, values in [−1, 1]; D = channels × 256 numbers per picture). Lower is closer.
/// <para>
/// No feature network is involved, so every run can measure it: the tool ships none (FID's Inception is a separate
/// download), and a network trained on photographs is no judge of glyphs anyway. At this coarse scale the distance
/// sees what goes wrong with a diffusion model's samples: dark or grey grounds, blobs, strokes where no picture has
/// them, a lack of variety. On the letters benchmark it ranks 27 sets of samples (different samplers, checkpoints
/// and probes of one model) nearly as the letter classifier's own Fréchet distance does: Spearman 0.93 with 200
/// samples per set, 0.89 with 64 (docs/quality.md). It compares checkpoints of one run, or runs on the same
/// pictures; its scale depends on the pictures, so it does not compare runs on different data.
/// </para>
/// The Gaussian statistics of the reference pictures are computed once; <see cref="Of"/> fits the samples' and
/// returns the distance (<see cref="Fid.FrechetDistance"/>, float64).
/// </summary>
public sealed class SampleDistance : IDisposable
{
    /// <summary>Side of the coarse pictures compared, in pixels (smaller pictures are compared at their own size).</summary>
    public const int Side = 16;
    /// <summary>Reference pictures used at most; a larger set is thinned evenly.</summary>
    public const int MaxReference = 2000;
    /// <summary>Fewest pictures on either side: a covariance needs a few.</summary>
    public const int MinPictures = 8;

    private readonly Tensor mean, covariance;

    public int Channels { get; }
    public int ImageSize { get; }
    /// <summary>How many reference pictures the statistics come from.</summary>
    public int ReferenceCount { get; }

    private SampleDistance(Tensor mean, Tensor covariance, int channels, int imageSize, int referenceCount)
    {
        this.mean = mean;
        this.covariance = covariance;
        Channels = channels;
        ImageSize = imageSize;
        ReferenceCount = referenceCount;
    }

    /// <summary>The reference statistics of <paramref name="pictures"/> (at most <see cref="MaxReference"/> of them, evenly spaced).</summary>
    public static SampleDistance To(IImageSet pictures)
    {
        if (pictures.Count < MinPictures)
            throw new NoisetteInputException($"the sample distance needs at least {MinPictures} reference pictures, there are {pictures.Count}");
        int n = Math.Min(pictures.Count, MaxReference), size = pictures.Channels * pictures.ImageSize * pictures.ImageSize;
        var chosen = new List<byte[]>(n);
        for (int i = 0; i < n; i++)
        {
            var bytes = new byte[size];
            pictures.CopyImage((int)((long)i * pictures.Count / n), bytes);
            chosen.Add(bytes);
        }
        using var scope = NewDisposeScope();
        var (m, c) = Fid.Statistics(Features(chosen, pictures.Channels, pictures.ImageSize));
        return new SampleDistance(m.MoveToOuterDisposeScope(), c.MoveToOuterDisposeScope(), pictures.Channels, pictures.ImageSize, n);
    }

    /// <summary>The distance of these pictures (Channels × ImageSize × ImageSize bytes each, CHW) to the reference.</summary>
    public double Of(IReadOnlyList<byte[]> pictures)
    {
        if (pictures.Count < MinPictures)
            throw new NoisetteInputException($"the sample distance needs at least {MinPictures} sampled pictures, got {pictures.Count}");
        using var scope = NewDisposeScope();
        var (m, c) = Fid.Statistics(Features(pictures, Channels, ImageSize));
        return Fid.FrechetDistance(m, c, mean, covariance);
    }

    /// <summary>N × (channels · s · s) float64: each picture's area means at s = min(<see cref="Side"/>, size), in [−1, 1].</summary>
    public static Tensor Features(IReadOnlyList<byte[]> pictures, int channels, int size)
    {
        int per = channels * size * size;
        var all = new byte[(long)pictures.Count * per];
        for (int i = 0; i < pictures.Count; i++)
        {
            if (pictures[i].Length != per)
                throw new ArgumentException($"picture {i} has {pictures[i].Length} bytes, expected {channels}×{size}×{size}", nameof(pictures));
            pictures[i].CopyTo(all, (long)i * per);
        }
        using var scope = NewDisposeScope();
        var x = tensor(all, [pictures.Count, channels, size, size]).to(float64) / 127.5 - 1;
        int s = Math.Min(Side, size);
        var pooled = nn.functional.adaptive_avg_pool2d(x, [s, s]);
        return pooled.reshape(pictures.Count, -1).MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        mean.Dispose();
        covariance.Dispose();
    }
}
