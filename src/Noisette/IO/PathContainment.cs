namespace Noisette.IO;

/// <summary>
/// Whether one path is, or lies inside, another, judged on the real paths (symbolic links resolved) so that a link
/// cannot hide the user's data folder inside an output folder, or the other way round.
/// </summary>
public static class PathContainment
{
    /// <summary>
    /// True when <paramref name="path"/> is <paramref name="folder"/> or lies inside it, links resolved (the only
    /// judgement that counts); <paramref name="resolveLinks"/> false compares the full paths' text, which only serves
    /// to tell a user whether a link was what led outside.
    /// </summary>
    public static bool IsSameOrInside(string path, string folder, bool resolveLinks = true)
    {
        var p = Path.TrimEndingDirectorySeparator(Full(path, resolveLinks)) + Path.DirectorySeparatorChar;
        var f = Path.TrimEndingDirectorySeparator(Full(folder, resolveLinks)) + Path.DirectorySeparatorChar;
        return p.StartsWith(f, Comparison);
    }

    /// <summary>True when the two paths name the same file or folder once links are resolved.</summary>
    public static bool IsSame(string a, string b) =>
        string.Equals(Path.TrimEndingDirectorySeparator(RealPath(a)), Path.TrimEndingDirectorySeparator(RealPath(b)), Comparison);

    private static StringComparison Comparison =>
        OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;

    private static string Full(string path, bool resolveLinks) => resolveLinks ? RealPath(path) : Path.GetFullPath(path);

    /// <summary>
    /// The full path with every symbolic link among its existing components resolved, the links' targets included
    /// (a target whose own parents are links is resolved too); the components that do not exist are kept as they are.
    /// </summary>
    public static string RealPath(string path) => Resolve(Path.GetFullPath(path), depth: 0);

    private const int MaxLinkDepth = 40;

    private static string Resolve(string full, int depth)
    {
        var root = Path.GetPathRoot(full)!;
        var current = root;
        foreach (var part in full[root.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries))
        {
            var next = Path.Combine(current, part);
            try
            {
                FileSystemInfo info = Directory.Exists(next) ? new DirectoryInfo(next) : new FileInfo(next);
                if (depth < MaxLinkDepth && info.Exists && info.LinkTarget is not null && info.ResolveLinkTarget(returnFinalTarget: true) is { } target)
                    next = Resolve(Path.GetFullPath(target.FullName), depth + 1);
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
            current = next;
        }
        return Path.TrimEndingDirectorySeparator(current);
    }
}
