namespace Noisette.Data;

/// <summary>
/// Files that are the same image: byte for byte (<see cref="MaxDifference"/> 0), or near-identical, with the largest
/// thumbnail difference (<see cref="NearDuplicates.Difference"/>, % of the images' contrast) between two files joined.
/// </summary>
public sealed record DuplicateGroup(IReadOnlyList<string> Files, double MaxDifference);
