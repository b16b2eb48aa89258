using Noisette.IO;

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
        var outFull = Path.GetFullPath(output);
        if (PathContainment.IsSameOrInside(outFull, input))
            throw new NoisetteInputException($"The output folder '{output}' is inside the {inputName} '{input}'; Noisette never writes into your {inputName}. Choose a folder outside it.");
        if (PathContainment.IsSameOrInside(input, outFull))
            throw new NoisetteInputException($"The output folder '{output}' contains the {inputName} '{input}'. Choose a new folder beside it.");
        if (File.Exists(outFull)) throw new NoisetteInputException($"The output '{output}' is a file; give a new folder.");
        if (Directory.Exists(outFull) && Directory.EnumerateFileSystemEntries(outFull).Any())
            throw new NoisetteInputException($"The output folder '{output}' already exists and is not empty; give a new folder.");
        return outFull;
    }

    /// <summary>
    /// A fresh temporary folder beside <paramref name="finalFolder"/>. What an earlier, interrupted write of the same
    /// folder left beside it (a half-filled temp folder) is removed first; it held only files this command wrote.
    /// </summary>
    public static string CreateTemp(string finalFolder)
    {
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(finalFolder));
        var name = Path.GetFileName(full);
        AtomicFile.RecoverDirectories(Path.GetDirectoryName(full)!, n => n == name);
        var temp = AtomicFile.LeftoverPath(finalFolder, AtomicFile.TempSuffix);
        Directory.CreateDirectory(temp);       // its parent too
        return temp;
    }

    /// <summary>Moves a finished temporary folder into place (replacing an empty folder there).</summary>
    public static void Publish(string temp, string finalFolder)
    {
        if (Directory.Exists(finalFolder) && Directory.EnumerateFileSystemEntries(finalFolder).Any())
            throw new NoisetteInputException($"The output folder '{finalFolder}' was filled by something else meanwhile.");
        AtomicFile.PublishDirectory(temp, finalFolder);
    }
}
