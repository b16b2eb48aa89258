using Noisette.IO;

namespace Noisette.Studio;

/// <summary>
/// Resolves a path that came from the browser inside a root folder. Only relative paths without `..` are taken
/// (checked on the text, for a message that says what is wrong), and the result must lie inside the root on the
/// real paths (<see cref="PathContainment"/>, every link of every component resolved), so that no link, however
/// nested, leads outside; anything else is a 400 naming the field.
/// </summary>
public static class SafePath
{
    public static string Resolve(string root, string? relative, string field)
    {
        if (string.IsNullOrWhiteSpace(relative)) throw StudioError.BadField(field, "is empty");
        if (relative.Contains('\0') || relative.Length > 1024) throw StudioError.BadField(field, "is not a usable path");
        if (Path.IsPathRooted(relative) || relative.StartsWith('/') || relative.StartsWith('\\') || relative.Contains(':'))
            throw StudioError.BadField(field, "must be a path inside the folder, not an absolute path");
        if (relative.Split('/', '\\').Any(p => p == ".."))
            throw StudioError.BadField(field, "must not contain '..'");
        var rootFull = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root));
        var full = Path.GetFullPath(Path.Combine(rootFull, relative));
        if (!PathContainment.IsSameOrInside(full, rootFull))
            throw StudioError.BadField(field, PathContainment.IsSameOrInside(full, rootFull, resolveLinks: false)
                ? "is a link that leads outside the folder" : "leads outside the folder");
        return full;
    }
}
