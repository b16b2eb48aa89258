namespace Noisette.Runs;

/// <summary>The contents of RUN/config.json: the full resolved configuration, where the run came from, and its model's components.</summary>
public sealed record RunConfig
{
    public TrainingConfig Training { get; init; } = new();
    public RunInfo Run { get; init; } = new();
    /// <summary>The model's components; null in a run written before runs recorded them (see <see cref="ComponentsOrImplied"/>).</summary>
    public RunComponents? Components { get; init; }

    /// <summary>The recorded components, or those implied by the configuration for a run that does not record them.</summary>
    public RunComponents ComponentsOrImplied() => Components ?? RunComponents.Implied(Training);
}
