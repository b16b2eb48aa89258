namespace Noisette.Data;

/// <summary>One file found in a data folder: its path relative to the folder (forward slashes) and its full path.</summary>
public sealed record FolderEntry(string RelativePath, string FullPath);

/// <summary>
/// The files of a data folder, found recursively and sorted by relative path (ordinal, forward slashes) so that
/// every run sees the same order. Image files are those with a supported extension (any case);
/// everything else is listed apart. Symbolic links are followed, but each real directory is visited once,
/// so link loops end. Only reads: nothing is ever written into the folder.
/// </summary>
public sealed class ImageFolder
{
    private ImageFolder(string root, List<FolderEntry> images, List<FolderEntry> others, List<SkippedFile> unreadable)
    {
        Root = root;
        Images = images;
        OtherFiles = others;
        UnreadableFolders = unreadable;
    }

    /// <summary>Full path of the scanned folder.</summary>
    public string Root { get; }
    /// <summary>Files with an image extension (.png .jpg .jpeg .webp .bmp .gif), in order.</summary>
    public IReadOnlyList<FolderEntry> Images { get; }
    /// <summary>All other files, in order.</summary>
    public IReadOnlyList<FolderEntry> OtherFiles { get; }
    /// <summary>Sub-folders that could not be listed, and why.</summary>
    public IReadOnlyList<SkippedFile> UnreadableFolders { get; }

    /// <summary>Scans <paramref name="folder"/>; throws <see cref="NoisetteInputException"/> when it does not exist.</summary>
    public static ImageFolder Scan(string folder)
    {
        if (string.IsNullOrWhiteSpace(folder)) throw new NoisetteInputException("No data folder was given.");
        var root = Path.GetFullPath(folder);
        if (File.Exists(root)) throw new NoisetteInputException($"Data folder '{folder}' is a file, not a folder.");
        if (!Directory.Exists(root)) throw new NoisetteInputException($"Data folder '{folder}' does not exist.");

        var images = new List<FolderEntry>();
        var others = new List<FolderEntry>();
        var unreadable = new List<SkippedFile>();
        var visited = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Stack<(string Dir, string Rel)>();
        pending.Push((root, ""));
        visited.Add(RealPath(new DirectoryInfo(root)));
        while (pending.Count > 0)
        {
            var (dir, rel) = pending.Pop();
            FileSystemInfo[] entries;
            try
            {
                entries = new DirectoryInfo(dir).GetFileSystemInfos();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                unreadable.Add(new SkippedFile(rel.Length == 0 ? "." : rel, $"cannot list folder ({e.Message})"));
                continue;
            }
            foreach (var entry in entries)
            {
                var entryRel = rel.Length == 0 ? entry.Name : rel + "/" + entry.Name;
                if (entry is DirectoryInfo sub)
                {
                    string real;
                    try { real = RealPath(sub); }
                    catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                    {
                        unreadable.Add(new SkippedFile(entryRel, $"cannot follow link ({e.Message})"));
                        continue;
                    }
                    if (visited.Add(real)) pending.Push((sub.FullName, entryRel));
                }
                else if (entry is FileInfo file)
                {
                    if (file.LinkTarget is not null && !File.Exists(file.FullName))
                    {
                        // A link to nothing, or a link to a folder reported as a file.
                        if (Directory.Exists(file.FullName))
                        {
                            var real = RealPath(new DirectoryInfo(file.FullName));
                            if (visited.Add(real)) pending.Push((file.FullName, entryRel));
                        }
                        else unreadable.Add(new SkippedFile(entryRel, "broken link"));
                        continue;
                    }
                    (ImageFormats.IsImageExtension(file.Name) ? images : others).Add(new FolderEntry(entryRel, file.FullName));
                }
            }
        }
        images.Sort((a, b) => string.CompareOrdinal(a.RelativePath, b.RelativePath));
        others.Sort((a, b) => string.CompareOrdinal(a.RelativePath, b.RelativePath));
        unreadable.Sort((a, b) => string.CompareOrdinal(a.RelativePath, b.RelativePath));
        return new ImageFolder(root, images, others, unreadable);
    }

    /// <summary>The directory's path with every symbolic link in it resolved, used to visit each real folder once.</summary>
    private static string RealPath(DirectoryInfo dir) => Resolve(Path.TrimEndingDirectorySeparator(dir.FullName));

    private static string Resolve(string path)
    {
        var parent = Path.GetDirectoryName(path);
        if (parent is null) return path;
        var info = new DirectoryInfo(path);
        if (info.LinkTarget is not null && info.ResolveLinkTarget(returnFinalTarget: true) is { } target)
            return Resolve(Path.TrimEndingDirectorySeparator(target.FullName));
        return Path.Combine(Resolve(parent), info.Name);
    }
}
