using System.IO.Compression;
using Noisette.Data;

namespace Noisette.Studio;

/// <summary>
/// Turns uploaded images and zips into a new dataset under workspace/datasets/. Every image is decoded before it is
/// kept; the files go to a staging folder and become a dataset in one rename, so a failure (a full disk included)
/// leaves no half-written dataset behind.
/// </summary>
public sealed class DatasetUpload(Workspace workspace)
{
    public const int MaxFiles = 20_000;
    public const long MaxImageBytes = 64L << 20;
    public const long MaxUnpackedBytes = 2L << 30;

    public sealed record Rejected(string File, string Reason);
    public sealed record Result(string Name, int Kept, IReadOnlyList<Rejected> Rejected);

    /// <summary>Writes one accepted file; replaceable so tests can fill the disk.</summary>
    internal Action<string, byte[]> WriteFile { get; set; } = File.WriteAllBytes;
    /// <summary>The most a zip may unpack to, counted in bytes actually read (an entry's declared size can lie).</summary>
    internal long MaxUnpacked { get; set; } = MaxUnpackedBytes;

    public Result Save(string name, IReadOnlyList<(string FileName, Func<Stream> Open)> files, long declaredBytes)
    {
        if (files.Count == 0) throw StudioError.BadField("files", "no file was uploaded");
        var target = Path.Combine(workspace.DatasetsDir, name);
        if (Directory.Exists(target) || File.Exists(target)) throw StudioError.BadField("name", $"a dataset named '{name}' already exists");
        Directory.CreateDirectory(workspace.StagingDir);
        CheckFreeSpace(declaredBytes);
        var staging = Path.Combine(workspace.StagingDir, "upload-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(staging);
        var rejected = new List<Rejected>();
        int kept = 0;
        long unpacked = 0;
        var used = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        try
        {
            void Take(string displayName, string relative, byte[] bytes)
            {
                if (!ImageDecoder.TryDecode(bytes, Path.GetExtension(relative), out _, out var reason))
                {
                    rejected.Add(new Rejected(displayName, reason));
                    return;
                }
                if (!ImageFormats.IsImageExtension(relative))
                    relative += ".png";   // decodable but oddly named: keep it where the folder scan will find it
                var rel = Unique(relative, used);
                var dest = Path.Combine(staging, rel);
                Directory.CreateDirectory(Path.GetDirectoryName(dest)!);
                WriteFile(dest, bytes);
                kept++;
            }

            foreach (var (fileName, open) in files)
            {
                var safeName = Path.GetFileName(fileName.Replace('\\', '/'));
                if (safeName.Length == 0) { rejected.Add(new Rejected(fileName, "no file name")); continue; }
                using var stream = open();
                if (safeName.EndsWith(".zip", StringComparison.OrdinalIgnoreCase))
                {
                    ZipArchive zip;
                    try { zip = new ZipArchive(stream, ZipArchiveMode.Read); }
                    catch (InvalidDataException) { rejected.Add(new Rejected(safeName, "not a readable zip file")); continue; }
                    using (zip)
                    {
                        if (zip.Entries.Count > MaxFiles) throw StudioError.BadField("files", $"{safeName} holds more than {MaxFiles} files");
                        foreach (var entry in zip.Entries)
                        {
                            if (entry.FullName.EndsWith('/') || entry.Length == 0 && entry.Name.Length == 0) continue;
                            var parts = entry.FullName.Replace('\\', '/').Split('/', StringSplitOptions.RemoveEmptyEntries);
                            var display = $"{safeName}: {entry.FullName}";
                            if (parts.Length == 0 || parts.Any(p => p == ".." || p.Contains(':')) || entry.FullName.StartsWith('/'))
                            { rejected.Add(new Rejected(display, "unsafe path inside the zip")); continue; }
                            if (parts.Any(p => p.StartsWith('.') || p == "__MACOSX")) continue;   // system clutter, not pictures
                            // What counts is what comes out of the entry, not the size it declares: each read stops at the
                            // per-picture limit or where the zip's total would be passed, whichever comes first.
                            long room = MaxUnpacked - unpacked;
                            byte[] bytes;
                            try
                            {
                                using var entryStream = entry.Open();
                                bytes = ReadLimited(entryStream, Math.Min(MaxImageBytes, room + 1));
                            }
                            catch (TooLargeException) when (room < MaxImageBytes) { throw UnpacksTooLarge(); }
                            catch (TooLargeException) { rejected.Add(new Rejected(display, $"larger than {MaxImageBytes >> 20} MB")); continue; }
                            catch (InvalidDataException) { rejected.Add(new Rejected(display, "damaged inside the zip")); continue; }
                            unpacked += bytes.Length;
                            if (unpacked > MaxUnpacked) throw UnpacksTooLarge();
                            if (bytes.Length == 0) { rejected.Add(new Rejected(display, "zero-byte file")); continue; }
                            Take(display, string.Join('/', parts), bytes);
                        }
                    }
                }
                else
                {
                    byte[] bytes;
                    try { bytes = ReadLimited(stream, MaxImageBytes); }
                    catch (TooLargeException e) { rejected.Add(new Rejected(safeName, e.Message)); continue; }
                    if (bytes.Length == 0) { rejected.Add(new Rejected(safeName, "zero-byte file")); continue; }
                    Take(safeName, safeName, bytes);
                }
                if (kept + rejected.Count > MaxFiles) throw StudioError.BadField("files", $"more than {MaxFiles} files in one upload");
            }
            if (kept == 0)
                throw new StudioError(StatusCodes.Status400BadRequest,
                    "files: no usable image in the upload — " + string.Join("; ", rejected.Take(10).Select(r => $"{r.File}: {r.Reason}")), "files");
            try { Directory.Move(staging, target); }
            catch (IOException) when (Directory.Exists(target) || File.Exists(target))
            {
                // Another upload took the same name between the check above and now; this one is not kept.
                throw StudioError.BadField("name", $"a dataset named '{name}' was just created by another upload; choose another name");
            }
            return new Result(name, kept, rejected);
        }
        catch (IOException e) when (IsDiskFull(e))
        {
            throw new StudioError(StatusCodes.Status507InsufficientStorage,
                "the disk is full: the upload was not kept and nothing was written. Free some space and try again.");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new StudioError(StatusCodes.Status400BadRequest,
                $"files: the upload could not be saved ({e.Message.Trim()}); nothing of it was kept", "files");
        }
        finally
        {
            try { if (Directory.Exists(staging)) Directory.Delete(staging, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    private void CheckFreeSpace(long declaredBytes)
    {
        try
        {
            var free = new DriveInfo(workspace.StagingDir).AvailableFreeSpace;
            if (declaredBytes > 0 && free < declaredBytes * 2)
                throw new StudioError(StatusCodes.Status507InsufficientStorage,
                    $"the disk is nearly full ({free >> 20} MB free) and the upload needs about {declaredBytes * 2 >> 20} MB; nothing was written");
        }
        catch (ArgumentException) { }
        catch (IOException) { }
    }

    internal static bool IsDiskFull(IOException e) =>
        e.HResult is 28 or unchecked((int)0x80070070) or unchecked((int)0x80070027) || e.Message.Contains("No space left", StringComparison.OrdinalIgnoreCase);

    private StudioError UnpacksTooLarge() => StudioError.BadField("files",
        MaxUnpacked >= 1L << 30 ? $"the zip unpacks to more than {MaxUnpacked >> 30} GB" : $"the zip unpacks to more than {MaxUnpacked >> 10} KB");

    private sealed class TooLargeException(string message) : Exception(message);

    /// <summary>Reads at most <paramref name="limit"/> bytes; a stream holding more is a <see cref="TooLargeException"/>.</summary>
    private static byte[] ReadLimited(Stream s, long limit)
    {
        using var ms = new MemoryStream();
        var buffer = new byte[81920];
        int n;
        while ((n = s.Read(buffer)) > 0)
        {
            if (ms.Length + n > limit) throw new TooLargeException($"larger than {Math.Max(1, limit >> 20)} MB");
            ms.Write(buffer, 0, n);
        }
        return ms.ToArray();
    }

    private static string Unique(string relative, HashSet<string> used)
    {
        var candidate = relative;
        for (int i = 2; !used.Add(candidate); i++)
            candidate = Path.Combine(Path.GetDirectoryName(relative) ?? "", $"{Path.GetFileNameWithoutExtension(relative)}-{i}{Path.GetExtension(relative)}");
        return candidate;
    }
}
