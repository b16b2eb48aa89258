namespace Noisette.Studio;

/// <summary>
/// Resolves a path that came from the browser inside a root folder. Only relative paths without `..` are taken,
/// and no symbolic link on the way may lead outside the root; anything else is a 400 naming the field.
/// </summary>
public static class SafePath
{
    public static string Resolve(string root, string? relative, string field)
    {
        if (string.IsNullOrWhiteSpace(relative)) throw StudioError.BadField(field, "is empty");
        if (relative.Contains('\0') || relative.Length > 1024) throw StudioError.BadField(field, "is not a usable path");
        if (Path.IsPathRooted(relative) || relative.StartsWith('/') || relative.StartsWith('\\') || relative.Contains(':'))
            throw StudioError.BadField(field, "must be a path inside the folder, not an absolute path");
        var parts = relative.Split('/', '\\');
        if (parts.Any(p => p == ".."))
            throw StudioError.BadField(field, "must not contain '..'");
        var rootFull = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root));
        var full = Path.GetFullPath(Path.Combine(rootFull, relative));
        if (!IsInside(rootFull, full)) throw StudioError.BadField(field, "leads outside the folder");
        var realRoot = RealRoot(rootFull);
        var current = rootFull;
        foreach (var part in parts.Where(p => p.Length > 0 && p != "."))
        {
            current = Path.Combine(current, part);
            FileSystemInfo info = Directory.Exists(current) ? new DirectoryInfo(current) : new FileInfo(current);
            if (!info.Exists && info.LinkTarget is null) break;
            if (info.LinkTarget is not null)
            {
                FileSystemInfo? target;
                try { target = info.ResolveLinkTarget(returnFinalTarget: true); }
                catch (IOException) { target = null; }
                if (target is null || !(IsInside(rootFull, target.FullName) || IsInside(realRoot, target.FullName)))
                    throw StudioError.BadField(field, "is a link that leads outside the folder");
            }
        }
        return full;
    }

    /// <summary>True when <paramref name="path"/> is <paramref name="root"/> or below it (both full paths).</summary>
    public static bool IsInside(string root, string path)
    {
        var r = Path.TrimEndingDirectorySeparator(root);
        var p = Path.TrimEndingDirectorySeparator(path);
        return p == r || p.StartsWith(r + Path.DirectorySeparatorChar, StringComparison.Ordinal);
    }

    private static string RealRoot(string root)
    {
        try
        {
            var target = new DirectoryInfo(root).ResolveLinkTarget(returnFinalTarget: true);
            return target is null ? root : Path.TrimEndingDirectorySeparator(target.FullName);
        }
        catch (IOException) { return root; }
    }
}
