namespace Noisette.Training;

/// <summary>A progress report from the trainer (on each logging step and checkpoint).</summary>
public sealed record TrainingProgress
{
    public int Step { get; init; }
    public int TotalSteps { get; init; }
    /// <summary>Mean loss over the last logging window.</summary>
    public double Loss { get; init; }
    public double LearningRate { get; init; }
    public double ImagesPerSecond { get; init; }
    public TimeSpan Eta { get; init; }
    /// <summary>Set when this report announces a checkpoint written at <see cref="Step"/>.</summary>
    public string? CheckpointDir { get; init; }
    public string? SampleGrid { get; init; }
    /// <summary>Validation loss of the checkpoint announced by this report, when there is a validation split.</summary>
    public double? ValidationLoss { get; init; }
    /// <summary>Sample distance of the checkpoint announced by this report, when measured (<see cref="Runs.TrainingConfig.DistanceSamples"/>).</summary>
    public double? SampleDistance { get; init; }
    public string? Message { get; init; }
}

public enum TrainingOutcome { Completed, Interrupted }
