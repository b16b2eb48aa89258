namespace Noisette.IO;

/// <summary>
/// Writes files so that a reader never sees a half-written one: the bytes go to a temp file beside the
/// target, are flushed to disk, and the temp file is renamed over the target in one step.
/// Temp files carry the <see cref="TempSuffix"/> suffix so that readers (resume, listings) can ignore leftovers.
/// </summary>
public static class AtomicFile
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

    /// <summary>Renames a fully written directory into place; the target must not exist yet.</summary>
    public static void PublishDirectory(string tempDir, string finalDir)
    {
        if (Directory.Exists(finalDir)) Directory.Delete(finalDir, recursive: true);
        Directory.Move(tempDir, finalDir);
    }

    public static bool IsTemp(string path) => path.EndsWith(TempSuffix, StringComparison.Ordinal);

    private static void TryDelete(string path)
    {
        try { if (File.Exists(path)) File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
