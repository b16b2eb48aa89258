namespace Noisette.Data;

/// <summary>A remark about a file that was used anyway (an animation of which only the first frame is used, a wrong extension).</summary>
public sealed record FileNote(string RelativePath, string Note);
