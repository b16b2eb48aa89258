namespace Noisette.Data;

/// <summary>An image far from the rest in one statistic: its value, the set's median and the robust z-score.</summary>
public sealed record Outlier(string RelativePath, string Statistic, double Value, double Median, double RobustZ, string Reason);
