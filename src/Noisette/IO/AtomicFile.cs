namespace Noisette.IO;

/// <summary>
/// Writes files so that a reader never sees a half-written one: the bytes go to a temp file beside the
/// target, are flushed to disk, and the temp file is renamed over the target in one step.
/// Temp files carry the <see cref="TempSuffix"/> suffix so that readers (resume, listings) can ignore leftovers.
/// </summary>
public static partial class AtomicFile
{
    public const string TempSuffix = ".partial";

    public static void Write(string path, Action<Stream> write)
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var tmp = $"{full}.{Environment.ProcessId}.{Guid.NewGuid():N}{TempSuffix}";
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                write(fs);
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
        }
        catch
        {
            TryDelete(tmp);
            throw;
        }
    }

    public static void WriteAllBytes(string path, ReadOnlySpan<byte> bytes)
    {
        var copy = bytes.ToArray();
        Write(path, s => s.Write(copy));
    }

    public static void WriteAllText(string path, string text) =>
        WriteAllBytes(path, System.Text.Encoding.UTF8.GetBytes(text));

    /// <summary>
    /// Renames a fully written directory into place. An existing target is never deleted first: it is renamed aside
    /// (<see cref="AsideSuffix"/>), the new one is renamed in, and only then is the old one deleted, so at every
    /// moment one complete copy exists under a name that <see cref="RecoverDirectories"/> understands.
    /// </summary>
    public static void PublishDirectory(string tempDir, string finalDir)
    {
        finalDir = Path.TrimEndingDirectorySeparator(Path.GetFullPath(finalDir));
        if (!Directory.Exists(finalDir))
        {
            Directory.Move(tempDir, finalDir);
            return;
        }
        var aside = LeftoverPath(finalDir, AsideSuffix);
        Directory.Move(finalDir, aside);
        try
        {
            Directory.Move(tempDir, finalDir);
        }
        catch
        {
            // The old one goes back, and the caller sees the failure; if even that fails, RecoverDirectories does it.
            try { Directory.Move(aside, finalDir); } catch (IOException) { }
            throw;
        }
        TryDeleteDirectory(aside);             // a leftover is removed by RecoverDirectories on the next start
    }

    /// <summary>Suffix of a folder set aside while <see cref="PublishDirectory"/> replaces it.</summary>
    public const string AsideSuffix = ".replaced";

    /// <summary>A fresh name beside <paramref name="finalDir"/> for a temp (<see cref="TempSuffix"/>) or set-aside copy of it.</summary>
    public static string LeftoverPath(string finalDir, string suffix)
    {
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(finalDir));
        return Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}{suffix}");
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^\.(?<final>.+)\.[0-9a-f]{32}(?<suffix>\.partial|\.replaced)$")]
    private static partial System.Text.RegularExpressions.Regex LeftoverPattern();

    /// <summary>
    /// The folder a temp or set-aside folder name made by <see cref="LeftoverPath"/> stands for, and whether it is a
    /// set-aside copy; null for any other name.
    /// </summary>
    public static (string FinalName, bool SetAside)? ParseLeftover(string name)
    {
        var m = LeftoverPattern().Match(name);
        return m.Success ? (m.Groups["final"].Value, m.Groups["suffix"].Value == AsideSuffix) : null;
    }

    /// <summary>
    /// Cleans up after a <see cref="PublishDirectory"/> or a directory write that a crash interrupted, among the
    /// sub-folders of <paramref name="parent"/> whose final name <paramref name="ours"/> accepts: a set-aside copy
    /// whose folder is missing (the crash came between the two renames) is renamed back; every other leftover (a
    /// half-written temp folder, a set-aside copy already replaced) is deleted. Each action is reported, with whether
    /// it restored a folder.
    /// </summary>
    public static void RecoverDirectories(string parent, Func<string, bool> ours, Action<string, bool>? report = null)
    {
        if (!Directory.Exists(parent)) return;
        var leftovers = Directory.EnumerateDirectories(parent)
            .Select(d => (Dir: d, Parsed: ParseLeftover(Path.GetFileName(d))))
            .Where(l => l.Parsed is { } p && ours(p.FinalName))
            .OrderBy(l => l.Parsed!.Value.SetAside ? 0 : 1)      // set-aside copies first: they may need restoring
            .ToList();
        foreach (var (dir, parsed) in leftovers)
        {
            var (finalName, setAside) = parsed!.Value;
            var final = Path.Combine(parent, finalName);
            if (setAside && !Directory.Exists(final))
            {
                Directory.Move(dir, final);
                report?.Invoke($"restored {finalName} from {Path.GetFileName(dir)}, set aside by a replacement that was interrupted", true);
            }
            else
            {
                Directory.Delete(dir, recursive: true);
                report?.Invoke($"removed {Path.GetFileName(dir)}, left by an interrupted write", false);
            }
        }
    }

    public static bool IsTemp(string path) => path.EndsWith(TempSuffix, StringComparison.Ordinal);

    private static void TryDeleteDirectory(string path)
    {
        try { if (Directory.Exists(path)) Directory.Delete(path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private static void TryDelete(string path)
    {
        try { if (File.Exists(path)) File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
