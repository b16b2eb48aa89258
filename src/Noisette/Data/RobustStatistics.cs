namespace Noisette.Data;

/// <summary>Median, median absolute deviation and the robust z-score built on them (Iglewicz and Hoaglin).</summary>
public static class RobustStatistics
{
    /// <summary>The median; NaN for an empty list.</summary>
    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0) return double.NaN;
        int m = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[m] : (sorted[m - 1] + sorted[m]) / 2;
    }

    /// <summary>Median of |x - median|.</summary>
    public static double MedianAbsoluteDeviation(IEnumerable<double> values, double median) =>
        Median(values.Select(v => Math.Abs(v - median)));

    /// <summary>
    /// 0.6745 (x - median) / MAD, with the MAD raised to <paramref name="madFloor"/> so that a set where most values
    /// are identical does not turn every small difference into an outlier.
    /// </summary>
    public static double RobustZ(double x, double median, double mad, double madFloor) =>
        0.6745 * (x - median) / Math.Max(mad, madFloor);
}
