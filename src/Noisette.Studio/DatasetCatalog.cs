using System.Collections.Concurrent;
using Noisette.Data;
using Noisette.IO;

namespace Noisette.Studio;

/// <summary>A dataset the studio knows: a folder under workspace/datasets/, or a folder elsewhere that was added by its path.</summary>
public sealed record DatasetEntry(string Name, string Path, bool InWorkspace);

/// <summary>The datasets of a workspace, their health reports (computed once, then cached) and adding or removing them.</summary>
public sealed class DatasetCatalog(Workspace workspace)
{
    private sealed record Registry
    {
        public List<DatasetEntry> Datasets { get; init; } = [];
    }

    private readonly Lock gate = new();
    private readonly ConcurrentDictionary<string, Lazy<Task<DatasetReport>>> reports = new(StringComparer.Ordinal);

    public IReadOnlyList<DatasetEntry> List()
    {
        var list = new List<DatasetEntry>();
        foreach (var dir in Directory.EnumerateDirectories(workspace.DatasetsDir).Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(dir);
            if (name.StartsWith('.')) continue;
            list.Add(new DatasetEntry(name, dir, true));
        }
        foreach (var e in ReadRegistry().Datasets)
            if (!list.Any(d => d.Name == e.Name)) list.Add(e);
        return list;
    }

    public DatasetEntry Get(string? name, string field = "dataset")
    {
        var n = Workspace.CheckName(name, field);
        return List().FirstOrDefault(d => d.Name == n) ?? throw StudioError.NotFound($"there is no dataset named '{n}'");
    }

    /// <summary>Every folder a browser path may point into: the workspace and the added dataset folders.</summary>
    public IEnumerable<string> AllowedRoots() => List().Select(d => d.Path).Prepend(workspace.Root);

    /// <summary>Registers a folder elsewhere on this machine. This is the one place an absolute path from the browser is taken.</summary>
    public DatasetEntry Add(string? path, string? name)
    {
        if (string.IsNullOrWhiteSpace(path)) throw StudioError.BadField("path", "is empty");
        var p = path.Trim();
        if (p.StartsWith("~/", StringComparison.Ordinal))
            p = System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), p[2..]);
        if (!System.IO.Path.IsPathRooted(p)) throw StudioError.BadField("path", "must be the full path of a folder, such as /home/you/pictures/letters");
        var full = System.IO.Path.TrimEndingDirectorySeparator(System.IO.Path.GetFullPath(p));
        if (!Directory.Exists(full)) throw StudioError.BadField("path", $"there is no folder {full}");
        if (PathContainment.IsSameOrInside(workspace.Root, full)) throw StudioError.BadField("path", "holds the studio's workspace; choose the folder of the pictures themselves");
        if (PathContainment.IsSameOrInside(full, workspace.RunsDir) || PathContainment.IsSameOrInside(full, workspace.TrashDir))
            throw StudioError.BadField("path", "is inside the workspace's runs or trash; choose a folder of pictures");
        var n = Workspace.CheckName(name ?? SuggestName(System.IO.Path.GetFileName(full)), "name");
        lock (gate)
        {
            var existing = List();
            var same = existing.FirstOrDefault(d => d.Path == full);
            if (same is not null) return same;
            if (existing.Any(d => d.Name == n)) throw StudioError.BadField("name", $"a dataset named '{n}' already exists");
            var registry = ReadRegistry();
            var entry = new DatasetEntry(n, full, false);
            Json.Write(workspace.RegistryPath, registry with { Datasets = [.. registry.Datasets, entry] });
            return entry;
        }
    }

    /// <summary>An uploaded dataset goes to trash/; an added folder is only forgotten, never touched.</summary>
    public string Remove(string? name, string? confirm)
    {
        var entry = Get(name);
        if (confirm != entry.Name) throw StudioError.BadField("confirm", $"type the dataset's name '{entry.Name}' to confirm");
        lock (gate)
        {
            reports.TryRemove(entry.Name, out _);
            if (entry.InWorkspace) return "moved to " + workspace.MoveToTrash(entry.Path, "dataset");
            var registry = ReadRegistry();
            Json.Write(workspace.RegistryPath, registry with { Datasets = registry.Datasets.Where(d => d.Name != entry.Name).ToList() });
            return $"forgotten; the folder {entry.Path} is untouched";
        }
    }

    /// <summary>The health check of `noisette check`, computed on first request and cached until <paramref name="refresh"/>.</summary>
    public Task<DatasetReport> ReportAsync(DatasetEntry entry, bool refresh = false)
    {
        if (refresh) reports.TryRemove(entry.Name, out _);
        var lazy = reports.GetOrAdd(entry.Name, _ => new Lazy<Task<DatasetReport>>(() => Task.Run(() => DatasetReport.Run(entry.Path, CheckOptions))));
        var task = lazy.Value;
        if (task.IsFaulted) reports.TryRemove(entry.Name, out _);
        return task;
    }

    /// <summary>Checked at 32 px, the size of the presets a first training uses, so 32 px pictures are not all called small.</summary>
    private static readonly DatasetCheckOptions CheckOptions = new() { Config = new DataConfig { ImageSize = 32 } };

    public bool Exists(string name) => List().Any(d => d.Name == name);

    public static string SuggestName(string folderName)
    {
        var chars = folderName.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '-').ToArray();
        var s = new string(chars).Trim('-', '.');
        if (s.Length == 0) s = "dataset";
        return s.Length > 64 ? s[..64] : s;
    }

    private Registry ReadRegistry()
    {
        if (!File.Exists(workspace.RegistryPath)) return new Registry();
        try { return Json.Read<Registry>(workspace.RegistryPath); }
        catch (NoisetteInputException) { return new Registry(); }
    }
}
