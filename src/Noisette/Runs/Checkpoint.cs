using System.Security.Cryptography;
using static TorchSharp.torch;

using Noisette.IO;

namespace Noisette.Runs;

/// <summary>Bookkeeping of one checkpoint: RUN/checkpoints/step-NNNNNNNN/state.json.</summary>
public sealed record CheckpointState
{
    public long Step { get; init; }
    /// <summary>The run's seed; every step's random numbers derive from (seed, step), so this is the whole RNG state.</summary>
    public long Seed { get; init; }
    /// <summary>Training samples consumed so far: the position in the deterministic data order.</summary>
    public long DataPosition { get; init; }
    public long OptimizerSteps { get; init; }
    public long EmaUpdates { get; init; }
    public string DatasetFingerprint { get; init; } = "";
    /// <summary>Mean training loss over the last logging window.</summary>
    public double? Loss { get; init; }
    public double? ValidationLoss { get; init; }
    /// <summary>The sample distance of the EMA weights' samples to the training pictures (Evaluation.SampleDistance), where measured.</summary>
    public double? SampleDistance { get; init; }
    /// <summary>An autoencoder run's reconstruction quality on its validation pictures (Evaluation.ReconstructionQuality).</summary>
    public double? ValidationPsnr { get; init; }
    public double? ValidationSsim { get; init; }
    /// <summary>An autoencoder run's discriminator updates (its optimizer's step count).</summary>
    public long? DiscriminatorSteps { get; init; }
    /// <summary>Validation loss at low, mid and high noise (thirds of the timestep range).</summary>
    public double[]? ValidationByNoise { get; init; }
    /// <summary>fp16 runs only: the dynamic loss scale and the good steps since it last changed.</summary>
    public double? LossScale { get; init; }
    public int? LossScaleGoodSteps { get; init; }
    public DateTimeOffset Saved { get; init; } = DateTimeOffset.UtcNow;
    /// <summary>Size and SHA-256 of every file in the checkpoint, checked before it is used.</summary>
    public Dictionary<string, CheckpointFile> Files { get; init; } = new();
}

public sealed record CheckpointFile(long Size, string Sha256);

/// <summary>
/// Writing and reading checkpoint folders. A checkpoint is written into a temp folder and renamed into place only
/// when every file, and last its state.json with their sizes and hashes, is on disk; a crash mid-write leaves a
/// temp folder that readers ignore. Loading verifies sizes and hashes, so a damaged checkpoint is refused by name.
/// </summary>
public static class Checkpoint
{
    public const string ModelFile = "model.safetensors";
    public const string EmaFile = "ema.safetensors";
    public const string OptimizerFile = "optimizer.safetensors";
    public const string StateFile = "state.json";
    /// <summary>Metrics measured later by `noisette eval` (not hashed: adding them never damages the checkpoint).</summary>
    public const string EvalFile = "eval.json";

    public static void Write(RunFolder run, CheckpointState state,
                             IReadOnlyList<(string, Tensor)> model, IReadOnlyList<(string, Tensor)> ema,
                             IReadOnlyList<(string, Tensor)>? optimizer, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var files = new List<(string, IReadOnlyList<(string, Tensor)>)> { (ModelFile, model), (EmaFile, ema) };
        if (optimizer is not null) files.Add((OptimizerFile, optimizer));
        WriteFiles(run, state, files, metadata);
    }

    /// <summary>
    /// Writes a checkpoint of any set of safetensors files (an autoencoder run's: <c>autoencoder</c>,
    /// <c>discriminator</c> and their optimizers), with the same atomicity and hashes as a U-Net's.
    /// </summary>
    public static void WriteFiles(RunFolder run, CheckpointState state, IReadOnlyList<(string File, IReadOnlyList<(string, Tensor)> Tensors)> contents,
                                  IReadOnlyDictionary<string, string>? metadata = null)
    {
        var final = run.CheckpointDir(state.Step);
        Directory.CreateDirectory(run.CheckpointsDir);
        var tmp = AtomicFile.LeftoverPath(final, AtomicFile.TempSuffix);
        Directory.CreateDirectory(tmp);
        try
        {
            var files = new Dictionary<string, CheckpointFile>();
            foreach (var (name, tensors) in contents)
            {
                var path = Path.Combine(tmp, name);
                SafeTensors.Save(path, tensors, metadata);
                files[name] = Describe(path);
            }
            Json.Write(Path.Combine(tmp, StateFile), state with { Files = files });
            AtomicFile.PublishDirectory(tmp, final);
        }
        catch
        {
            try { if (Directory.Exists(tmp)) Directory.Delete(tmp, true); } catch (IOException) { }
            throw;
        }
    }

    private static CheckpointFile Describe(string path)
    {
        using var fs = File.OpenRead(path);
        return new CheckpointFile(fs.Length, Convert.ToHexStringLower(SHA256.HashData(fs)));
    }

    /// <summary>Reads state.json and checks every listed file's size and hash; throws naming the first problem.</summary>
    /// <param name="required">The files it must list (by default a U-Net's model and EMA weights).</param>
    public static CheckpointState Verify(string dir, IReadOnlyList<string>? required = null)
    {
        var statePath = Path.Combine(dir, StateFile);
        if (!File.Exists(statePath)) throw new NoisetteInputException($"checkpoint {dir} is damaged: it has no {StateFile}");
        var state = Json.Read<CheckpointState>(statePath);
        if ((required ?? [ModelFile, EmaFile]).Any(f => !state.Files.ContainsKey(f)))
            throw new NoisetteInputException($"checkpoint {dir} is damaged: {StateFile} lists no model weights");
        foreach (var (name, expected) in state.Files)
        {
            var path = Path.Combine(dir, name);
            if (!File.Exists(path)) throw new NoisetteInputException($"checkpoint {dir} is damaged: {name} is missing");
            var actual = Describe(path);
            if (actual.Size != expected.Size)
                throw new NoisetteInputException($"checkpoint {dir} is damaged: {name} has {actual.Size} bytes, {expected.Size} were written");
            if (actual.Sha256 != expected.Sha256)
                throw new NoisetteInputException($"checkpoint {dir} is damaged: {name} does not match its recorded SHA-256");
        }
        return state;
    }

    /// <summary>
    /// Cleans RUN/checkpoints of what an interrupted <see cref="Write"/> left: temp folders are deleted, and a
    /// checkpoint set aside while being replaced is renamed back when the replacement never arrived (otherwise
    /// deleted). Each action goes to the run's log; a restored checkpoint is also a warning.
    /// </summary>
    public static void CleanUp(RunFolder run, Action<string>? warn = null) =>
        AtomicFile.RecoverDirectories(run.CheckpointsDir, RunFolder.IsStepName, (message, restored) =>
        {
            run.Log("checkpoints: " + message);
            if (restored) warn?.Invoke(message);
        });

    /// <summary>
    /// The newest checkpoint that verifies, walking back past damaged ones (each reported through <paramref name="warn"/>).
    /// Null when there is none.
    /// </summary>
    public static (string Dir, CheckpointState State)? LatestValid(RunFolder run, Action<string>? warn = null, IReadOnlyList<string>? required = null)
    {
        foreach (var step in run.CheckpointSteps().Reverse())
        {
            var dir = run.CheckpointDir(step);
            try { return (dir, Verify(dir, required)); }
            catch (NoisetteInputException e) { warn?.Invoke($"skipping {RunFolder.StepName(step)}: {e.Message}"); }
        }
        return null;
    }

    /// <summary>
    /// Resolves what a user typed to a checkpoint folder: a checkpoint folder itself, or a run folder with
    /// <paramref name="which"/> = "latest" or a step number.
    /// </summary>
    public static (string Dir, CheckpointState State, RunFolder Run) Resolve(string path, string which = "latest", Action<string>? warn = null)
    {
        var full = Path.GetFullPath(path);
        if (File.Exists(Path.Combine(full, StateFile)))
        {
            var run = new RunFolder(Path.GetDirectoryName(Path.GetDirectoryName(full))!);
            return (full, Verify(full), run);
        }
        var r = new RunFolder(full);
        if (!r.Exists) throw new NoisetteInputException($"{full} is neither a run folder (no config.json) nor a checkpoint folder (no {StateFile})");
        if (which == "best")
        {
            var best = Best(r) ?? throw new NoisetteInputException($"run {full} has no checkpoint with a sample distance or a validation loss; choose the latest checkpoint or a step number");
            var bestDir = r.CheckpointDir(best.Step);
            return (bestDir, Verify(bestDir), r);
        }
        if (which == "latest")
        {
            var latest = LatestValid(r, warn) ?? throw new NoisetteInputException($"run {full} has no valid checkpoint");
            return (latest.Dir, latest.State, r);
        }
        if (!long.TryParse(which, out var step) || step < 0)
            throw new NoisetteInputException($"the checkpoint must be 'latest', 'best' or a step number, got '{which}'");
        var dir = r.CheckpointDir(step);
        if (!Directory.Exists(dir))
            throw new NoisetteInputException($"run {full} has no checkpoint at step {step}; it has: {string.Join(", ", r.CheckpointSteps())}");
        return (dir, Verify(dir), r);
    }

    /// <summary>
    /// The best existing checkpoint, or null: the one with the lowest sample distance when any checkpoint has one
    /// (the measure that follows sample quality: docs/quality.md), else the one with the lowest validation loss
    /// (runs trained before sample distances, or with distance_samples = 0).
    /// </summary>
    public static CheckpointState? Best(RunFolder run)
    {
        var states = new List<CheckpointState>();
        foreach (var step in run.CheckpointSteps())
        {
            try { states.Add(Json.Read<CheckpointState>(Path.Combine(run.CheckpointDir(step), StateFile))); }
            catch (NoisetteInputException) { /* damaged: not a candidate */ }
        }
        return BestOf(states, s => s.Step, s => s.SampleDistance, s => s.ValidationLoss);
    }

    /// <summary>
    /// <see cref="Best"/>'s rule over any view of checkpoints: the lowest sample distance among those that have one,
    /// else the lowest validation loss; the earlier step on a tie; null when none has either.
    /// </summary>
    public static T? BestOf<T>(IEnumerable<T> checkpoints, Func<T, long> step, Func<T, double?> sampleDistance, Func<T, double?> validationLoss)
        where T : class
    {
        var list = checkpoints as IReadOnlyCollection<T> ?? checkpoints.ToList();
        return Lowest(sampleDistance) ?? Lowest(validationLoss);
        T? Lowest(Func<T, double?> measure) =>
            list.Where(c => measure(c) is { } v && double.IsFinite(v)).OrderBy(c => measure(c)!.Value).ThenBy(step).FirstOrDefault();
    }

    /// <summary>How <see cref="BestOf"/> chose a best checkpoint with this sample distance: "sample distance" or "validation loss".</summary>
    public static string BestMeasure(double? bestSampleDistance) => bestSampleDistance is { } d && double.IsFinite(d) ? "sample distance" : "validation loss";

    /// <summary>Deletes the oldest finished checkpoints so that at most <paramref name="keep"/> remain.</summary>
    public static void Prune(RunFolder run, int keep, IReadOnlySet<long>? protect = null)
    {
        var steps = run.CheckpointSteps();
        foreach (var s in steps.Take(Math.Max(0, steps.Count - keep)))
            if (protect is null || !protect.Contains(s))
                Directory.Delete(run.CheckpointDir(s), recursive: true);
    }
}
