namespace Noisette.Runs;

/// <summary>Where a run's data came from and how it started; stored in config.json beside the configuration.</summary>
public sealed record RunInfo
{
    public string NoisetteVersion { get; init; } = Noisette.Version.Current;
    public DateTimeOffset Created { get; init; } = DateTimeOffset.UtcNow;
    /// <summary>The data folder, as an absolute path.</summary>
    public string DataPath { get; init; } = "";
    public string DatasetFingerprint { get; init; } = "";
    public int TrainImages { get; init; }
    public int ValidationImages { get; init; }
    /// <summary>The checkpoint the weights were initialised from (fine-tuning), if any.</summary>
    public string? InitFrom { get; init; }
}
