namespace Noisette.Data;

/// <summary>Settings of a dataset check. The defaults keep a clean glyph set quiet and catch real problems.</summary>
public sealed record DatasetCheckOptions
{
    /// <summary>Training size and preprocessing the statistics are measured at (and the split).</summary>
    public DataConfig Config { get; init; } = new() { ImageSize = 64 };
    /// <summary>Largest perceptual-hash distance (of 64 bits) at which two images are candidate near-duplicates.</summary>
    public int NearDuplicateBits { get; init; } = 6;
    /// <summary>
    /// Largest mean difference (gray levels, after removing each one's mean brightness) of the 16×16 thumbnails for
    /// candidates to be near-duplicates. Kept small: the capital A of two different typefaces is often within 1 level.
    /// </summary>
    public double NearDuplicateMeanDifference { get; init; } = 0.35;
    /// <summary>Robust z-score beyond which a statistic makes an image an outlier.</summary>
    public double OutlierZ { get; init; } = 8;
    /// <summary>Ink height deviation, as a fraction of the median height, beyond which an image is flagged.</summary>
    public double HeightTolerance { get; init; } = 0.4;
    /// <summary>Baseline (bottom) deviation, as a fraction of the image size, beyond which an image is flagged.</summary>
    public double BaselineTolerance { get; init; } = 0.15;
    /// <summary>Images decoded at a time; bounds memory.</summary>
    public int BatchSize { get; init; } = 256;
}
