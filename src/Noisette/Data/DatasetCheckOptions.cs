namespace Noisette.Data;

/// <summary>Settings of a dataset check. The defaults keep a clean glyph set quiet and catch real problems.</summary>
public sealed record DatasetCheckOptions
{
    /// <summary>Training size and preprocessing the statistics are measured at (and the split).</summary>
    public DataConfig Config { get; init; } = new() { ImageSize = 64 };
    /// <summary>
    /// Largest thumbnail difference (<see cref="NearDuplicates.Difference"/>, % of the contrast) at which two lossless
    /// images are near-duplicates. Catches shifted copies and brightness changes of a few gray levels; kept small
    /// because the capital A of two different typefaces can be within 1%.
    /// </summary>
    public double NearDuplicateDifference { get; init; } = 0.6;
    /// <summary>The same when either image is a JPEG or WebP, whose compression noise alone is about 1% (quality 85).</summary>
    public double NearDuplicateLossyDifference { get; init; } = 2.0;
    /// <summary>Robust z-score beyond which a statistic makes an image an outlier.</summary>
    public double OutlierZ { get; init; } = 8;
    /// <summary>Smallest ink-height deviation, as a fraction of the median height, that flags an image (see <see cref="FramingSpreadFactor"/>).</summary>
    public double HeightTolerance { get; init; } = 0.17;
    /// <summary>Smallest baseline (bottom) deviation, as a fraction of the image size, that flags an image (3.84 px at 64).</summary>
    public double BaselineTolerance { get; init; } = 0.06;
    /// <summary>
    /// A set that is loosely framed throughout (different fonts shrunk to fit, script faces whose capitals dip below
    /// the baseline) widens the two tolerances above to this many times its own spread: the deviation that all but the
    /// most extreme <see cref="FramingTail"/> of its images (and at least 5 of them) stay within.
    /// </summary>
    public double FramingSpreadFactor { get; init; } = 3.25;
    /// <summary>Share of the most deviating images left out of the spread of <see cref="FramingSpreadFactor"/>.</summary>
    public double FramingTail { get; init; } = 0.03;
    /// <summary>Images decoded at a time; bounds memory.</summary>
    public int BatchSize { get; init; } = 256;
}
