namespace Noisette.Runs;

/// <summary>The contents of RUN/config.json: the full resolved configuration and where the run came from.</summary>
public sealed record RunConfig
{
    public TrainingConfig Training { get; init; } = new();
    public RunInfo Run { get; init; } = new();
}
