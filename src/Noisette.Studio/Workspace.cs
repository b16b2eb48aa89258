using System.Globalization;
using System.Text.RegularExpressions;

namespace Noisette.Studio;

/// <summary>
/// The studio's folder: <c>datasets/</c> (uploaded images), <c>runs/</c> (run folders, CLI runs included),
/// <c>trash/</c> (what was deleted), <c>.staging/</c> (uploads being received and checked) and <c>studio-datasets.json</c>
/// (folders elsewhere on the machine that were added by path).
/// </summary>
public sealed partial class Workspace
{
    public string Root { get; }
    public string DatasetsDir => Path.Combine(Root, "datasets");
    public string RunsDir => Path.Combine(Root, "runs");
    public string TrashDir => Path.Combine(Root, "trash");
    public string StagingDir => Path.Combine(Root, ".staging");
    public string RegistryPath => Path.Combine(Root, "studio-datasets.json");

    public Workspace(StudioOptions options)
    {
        Root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(options.Workspace));
        Directory.CreateDirectory(DatasetsDir);
        Directory.CreateDirectory(RunsDir);
        // Leftovers of uploads cut off by a crash are never a dataset.
        if (Directory.Exists(StagingDir))
        {
            foreach (var d in Directory.EnumerateDirectories(StagingDir))
                try { Directory.Delete(d, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            foreach (var f in Directory.EnumerateFiles(StagingDir, "spool-*.part"))
                try { File.Delete(f); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$")]
    private static partial Regex NamePattern();

    /// <summary>A dataset or run name: letters, digits, space, dot, dash, underscore; at most 64; not ending in a dot or space.</summary>
    public static string CheckName(string? value, string field)
    {
        var name = (value ?? "").Trim();
        if (name.Length == 0) throw StudioError.BadField(field, "is empty");
        if (!NamePattern().IsMatch(name) || name.EndsWith('.') || name.Contains(".."))
            throw StudioError.BadField(field, "may hold letters, digits, spaces, '.', '-' and '_' (up to 64, starting with a letter or digit)");
        return name;
    }

    /// <summary>The folder of a run named by the browser; 400 for a bad name, 404 when there is none.</summary>
    public string RunPath(string? name, string field = "run")
    {
        var n = CheckName(name, field);
        var path = SafePath.Resolve(RunsDir, n, field);
        if (!Directory.Exists(path)) throw StudioError.NotFound($"there is no run named '{n}'");
        return path;
    }

    /// <summary>Moves a file or folder into trash/ under a dated name; nothing is deleted.</summary>
    public string MoveToTrash(string path, string kind)
    {
        Directory.CreateDirectory(TrashDir);
        var stamp = DateTimeOffset.UtcNow.ToString("yyyyMMdd-HHmmss-fff", CultureInfo.InvariantCulture);
        var target = Path.Combine(TrashDir, $"{kind}-{Path.GetFileName(Path.TrimEndingDirectorySeparator(path))}-{stamp}");
        if (Directory.Exists(path)) Directory.Move(path, target); else File.Move(path, target);
        return target;
    }
}
