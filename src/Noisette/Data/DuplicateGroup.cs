namespace Noisette.Data;

/// <summary>Files that are the same image: byte for byte (distance 0), or by perceptual hash within <see cref="MaxDistance"/> bits.</summary>
public sealed record DuplicateGroup(IReadOnlyList<string> Files, int MaxDistance);
