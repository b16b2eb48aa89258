namespace Noisette.Data;

/// <summary>How much a problem matters: Fatal stops training (unless forced), Warning deserves a look, Info is for the record.</summary>
public enum ProblemSeverity { Info, Warning, Fatal }

/// <summary>One finding of a dataset check: a kind ("unreadable", "exact-duplicates", ...), a sentence, and the files concerned.</summary>
public sealed record DatasetProblem(ProblemSeverity Severity, string Kind, string Message, IReadOnlyList<string> Files);
