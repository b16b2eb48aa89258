namespace Noisette.Data;

/// <summary>Median, spread (max - min) and middle-90% range of one ink-box measure, in training-size pixels.</summary>
public sealed record FramingMeasure(string Name, double Median, double Min, double Max, double P5, double P95)
{
    public double Spread => Max - Min;
}

/// <summary>An image whose ink height or baseline (or another edge) is far from the set's.</summary>
public sealed record FramingDeviation(string RelativePath, string Measure, double Value, double Median);

/// <summary>
/// Framing consistency of the images that have a foreground on a plain background: where their ink box sits
/// (top, bottom = baseline, left, right, height, horizontal centre) and which images deviate.
/// </summary>
public sealed record FramingReport(int Measured, int ImageSize, IReadOnlyList<FramingMeasure> Measures, IReadOnlyList<FramingDeviation> Deviations)
{
    /// <summary>Ink-height deviation from the median (px) beyond which an image was flagged.</summary>
    public double HeightTolerance { get; init; }
    /// <summary>Baseline deviation from the median (px) beyond which an image was flagged.</summary>
    public double BaselineTolerance { get; init; }
}
