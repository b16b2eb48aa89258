namespace Noisette.Data;

/// <summary>
/// Guards for commands that write a new folder from the user's files (prepare, glyphs): the output must be a new
/// or empty folder outside the input folder, and it is filled in a temporary sibling and renamed into place at the end,
/// so the input is never written to and a failed run leaves nothing half-made.
/// </summary>
public static class OutputFolder
{
    /// <summary>Throws <see cref="NoisetteInputException"/> unless <paramref name="output"/> is a new or empty folder outside <paramref name="input"/>.</summary>
    public static string Check(string input, string output, string inputName = "data folder")
    {
        if (string.IsNullOrWhiteSpace(output)) throw new NoisetteInputException("No output folder was given.");
        var inFull = RealPath(Path.GetFullPath(input));
        var outFull = Path.GetFullPath(output);
        var outReal = RealPath(outFull);
        if (IsSameOrInside(outReal, inFull))
            throw new NoisetteInputException($"The output folder '{output}' is inside the {inputName} '{input}'; Noisette never writes into your {inputName}. Choose a folder outside it.");
        if (IsSameOrInside(inFull, outReal))
            throw new NoisetteInputException($"The output folder '{output}' contains the {inputName} '{input}'. Choose a new folder beside it.");
        if (File.Exists(outFull)) throw new NoisetteInputException($"The output '{output}' is a file; give a new folder.");
        if (Directory.Exists(outFull) && Directory.EnumerateFileSystemEntries(outFull).Any())
            throw new NoisetteInputException($"The output folder '{output}' already exists and is not empty; give a new folder.");
        return outFull;
    }

    /// <summary>A fresh temporary folder beside <paramref name="finalFolder"/>.</summary>
    public static string CreateTemp(string finalFolder)
    {
        var parent = Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(finalFolder))!;
        Directory.CreateDirectory(parent);
        var temp = Path.Combine(parent, $".{Path.GetFileName(Path.TrimEndingDirectorySeparator(finalFolder))}.{Guid.NewGuid():N}.partial");
        Directory.CreateDirectory(temp);
        return temp;
    }

    /// <summary>Moves a finished temporary folder into place (replacing an empty folder there).</summary>
    public static void Publish(string temp, string finalFolder)
    {
        if (Directory.Exists(finalFolder) && Directory.EnumerateFileSystemEntries(finalFolder).Any())
            throw new NoisetteInputException($"The output folder '{finalFolder}' was filled by something else meanwhile.");
        Noisette.IO.AtomicFile.PublishDirectory(temp, finalFolder);
    }

    private static bool IsSameOrInside(string path, string folder)
    {
        var p = Path.TrimEndingDirectorySeparator(path) + Path.DirectorySeparatorChar;
        var f = Path.TrimEndingDirectorySeparator(folder) + Path.DirectorySeparatorChar;
        var cmp = OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
        return p.StartsWith(f, cmp);
    }

    /// <summary>The path with symbolic links resolved in the part of it that exists.</summary>
    private static string RealPath(string full)
    {
        var existing = full;
        var rest = new Stack<string>();
        while (!Directory.Exists(existing) && Path.GetDirectoryName(existing) is { } parent)
        {
            rest.Push(Path.GetFileName(existing));
            existing = parent;
        }
        var resolved = Resolve(Path.TrimEndingDirectorySeparator(existing));
        while (rest.Count > 0) resolved = Path.Combine(resolved, rest.Pop());
        return resolved;
    }

    private static string Resolve(string path)
    {
        var parent = Path.GetDirectoryName(path);
        if (parent is null) return path;
        var info = new DirectoryInfo(path);
        if (info.Exists && info.LinkTarget is not null && info.ResolveLinkTarget(returnFinalTarget: true) is { } target)
            return Resolve(Path.TrimEndingDirectorySeparator(target.FullName));
        return Path.Combine(Resolve(parent), info.Name);
    }
}
