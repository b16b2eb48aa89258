namespace Noisette.Runs;

/// <summary>
/// The claim of one training on a run folder: RUN/train.lock, held open without sharing for as long as the training
/// runs. A second training of the same run (another terminal, the studio, a script) is refused while the first
/// holds it, instead of both writing checkpoints and metrics into one folder. The operating system drops the claim
/// when the process ends, however it ends, so a crash never leaves the folder locked: the file that stays behind
/// is empty of meaning and is claimed again by the next training.
/// </summary>
public sealed class RunLock : IDisposable
{
    public const string FileName = "train.lock";

    private readonly FileStream stream;

    public string Path { get; }

    private RunLock(string path, FileStream stream)
    {
        Path = path;
        this.stream = stream;
    }

    /// <summary>
    /// Claims the run folder (creating it if needed), or throws a <see cref="NoisetteInputException"/> naming the
    /// folder when another training holds it, in this process or another.
    /// </summary>
    public static RunLock Acquire(string runRoot)
    {
        var root = System.IO.Path.GetFullPath(runRoot);
        Directory.CreateDirectory(root);
        var path = System.IO.Path.Combine(root, FileName);
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException) when (File.Exists(path))
        {
            throw new NoisetteInputException(
                $"another training is using the run folder {root} (it holds {FileName}); wait for it to finish or stop it, " +
                "or train into another --out");
        }
        try
        {
            // For a person looking into the folder: who holds it. The claim itself is the open file, not its text.
            stream.SetLength(0);
            using var writer = new StreamWriter(stream, leaveOpen: true);
            writer.Write($"pid {Environment.ProcessId}, since {DateTimeOffset.UtcNow:O}\n");
        }
        catch
        {
            stream.Dispose();
            throw;
        }
        return new RunLock(path, stream);
    }

    /// <summary>
    /// Whether a training holds the run folder right now. Only a look: the folder and its lock file are not created,
    /// and a claim taken for the look is released at once.
    /// </summary>
    public static bool IsHeld(string runRoot)
    {
        var path = System.IO.Path.Combine(System.IO.Path.GetFullPath(runRoot), FileName);
        if (!File.Exists(path)) return false;
        try
        {
            using var probe = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.None);
            return false;
        }
        catch (FileNotFoundException) { return false; }
        catch (IOException) { return true; }
        catch (UnauthorizedAccessException) { return false; }
    }

    public void Dispose() => stream.Dispose();
}
