namespace Noisette.Runs;

/// <summary>What <see cref="TrainingConfigResolver.Resolve"/> gives: a configuration, or the problems that prevent one.</summary>
/// <param name="Notes">Sentences worth telling the person (the classes found, what a fine-tune does with the class embedding).</param>
public sealed record ConfigResolution(TrainingConfig? Config, IReadOnlyList<ConfigProblem> Problems, IReadOnlyList<string> Notes)
{
    public bool Ok => Config is not null;

    /// <summary>The configuration, or a <see cref="NoisetteInputException"/> whose message is <see cref="ConfigProblem.Describe"/>.</summary>
    public TrainingConfig OrThrow() => Config ?? throw new NoisetteInputException(ConfigProblem.Describe(Problems));
}
