namespace Noisette.Studio;

/// <summary>
/// Copies a multipart request body into the workspace (<c>.staging/spool-*.part</c>, deleted when the request ends)
/// before the form is parsed, so that the parser reads that copy instead of writing temp files of its own elsewhere.
/// The copy is where a full disk shows first; it is counted against the upload limit as it is written.
/// </summary>
public sealed class UploadSpool(Workspace workspace, StudioOptions options)
{
    /// <summary>Bodies up to this size are kept in memory.</summary>
    public const int MemoryThreshold = 64 * 1024;
    private const string ItemKey = "noisette.spool";

    /// <summary>Opens the file that receives a spooled body; replaceable so tests can fill the disk.</summary>
    internal Func<string, Stream> CreateFile { get; set; } = OpenSpoolFile;

    internal static Stream OpenSpoolFile(string path) =>
        new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16, FileOptions.DeleteOnClose);

    /// <summary>Replaces the request body by a seekable copy; an I/O failure on the way (a full disk) comes out as an IOException.</summary>
    public async Task SpoolAsync(HttpRequest request, CancellationToken cancel)
    {
        Stream copy;
        if (request.ContentLength is { } declared && declared <= MemoryThreshold) copy = new MemoryStream((int)declared);
        else
        {
            Directory.CreateDirectory(workspace.StagingDir);
            copy = CreateFile(Path.Combine(workspace.StagingDir, $"spool-{Guid.NewGuid():N}.part"));
        }
        request.HttpContext.Items[ItemKey] = copy;
        var buffer = new byte[81920];
        long total = 0;
        int n;
        while ((n = await request.Body.ReadAsync(buffer, cancel)) > 0)
        {
            total += n;
            if (total > options.MaxUploadBytes)
                throw new StudioError(StatusCodes.Status413PayloadTooLarge, $"files: the upload is larger than the studio accepts ({options.MaxUploadBytes >> 20} MB)", "files");
            await copy.WriteAsync(buffer.AsMemory(0, n), cancel);
        }
        await copy.FlushAsync(cancel);
        copy.Position = 0;
        request.Body = copy;
    }

    /// <summary>Closes (and so deletes) the copy of this request's body, if one was made.</summary>
    public static async ValueTask ReleaseAsync(HttpContext context)
    {
        if (context.Items.Remove(ItemKey, out var item) && item is Stream s) await s.DisposeAsync();
    }
}
