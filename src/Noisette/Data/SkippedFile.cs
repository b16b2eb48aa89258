namespace Noisette.Data;

/// <summary>A file of the data folder that was not used, and why (forward-slash path relative to the folder).</summary>
public sealed record SkippedFile(string RelativePath, string Reason);
