namespace Noisette.Runs;

/// <summary>
/// One reason a training request cannot become a configuration: a sentence for a person (no command-line flag in it)
/// and the setting's machine key (<c>learning_rate</c>, <c>preset</c>, ...), which the studio maps to its form field.
/// </summary>
public sealed record ConfigProblem(string Key, string Message)
{
    /// <summary>The problems as one message, the same in every face: the sentences joined by "; ".</summary>
    public static string Describe(IEnumerable<ConfigProblem> problems) => string.Join("; ", problems.Select(p => p.Message));
}
