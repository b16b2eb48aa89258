using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

using Noisette.IO;

namespace Noisette.Runs;

/// <summary>
/// The run folder, the contract between every part and face of Noisette:
/// <code>
/// RUN/config.json                          full resolved configuration
/// RUN/checkpoints/step-NNNNNNNN/           model.safetensors, ema.safetensors, optimizer.safetensors, state.json
/// RUN/samples/step-NNNNNNNN.png            EMA sample grid per checkpoint (fixed seed)
/// RUN/metrics.jsonl                        one JSON line per logged step, and one per validation
/// RUN/plots/loss.png                       training and validation loss chart, redrawn at each checkpoint
/// RUN/tensorboard/                         TensorBoard event files (scalars and sample grids)
/// RUN/log.txt                              human-readable log (skipped files, warnings, checkpoints)
/// RUN/train.lock                           held open by the training that is running, if any (RunLock)
/// </code>
/// </summary>
public sealed partial class RunFolder
{
    public string Root { get; }
    public string ConfigPath => Path.Combine(Root, "config.json");
    public string CheckpointsDir => Path.Combine(Root, "checkpoints");
    public string SamplesDir => Path.Combine(Root, "samples");
    public string MetricsPath => Path.Combine(Root, "metrics.jsonl");
    public string LogPath => Path.Combine(Root, "log.txt");
    public string PlotsDir => Path.Combine(Root, "plots");
    public string LossPlotPath => Path.Combine(PlotsDir, "loss.png");
    public string TensorBoardDir => Path.Combine(Root, "tensorboard");
    /// <summary>A latent run's encoded training pictures (the latent cache): rebuilt when the pictures or the autoencoder change.</summary>
    public string LatentsDir => Path.Combine(Root, "latents");

    public RunFolder(string root) => Root = Path.GetFullPath(root);

    public bool Exists => File.Exists(ConfigPath);

    /// <summary>
    /// The run's config.json, checked as a config is checked before training: a file that parses but has a null
    /// section, a missing model or values out of range (hand-edited, or cut off and patched) is a
    /// <see cref="NoisetteInputException"/> naming the problem, never a crash later on.
    /// </summary>
    public RunConfig ReadConfig()
    {
        if (!Exists) throw new NoisetteInputException($"{Root} is not a Noisette run (no config.json)");
        var config = ConfigUpgrade.ReadRunConfig(ConfigPath);
        static NoisetteInputException Missing(string what) => new($"config.json has no {what}");
        // The deserialiser leaves an explicit null where the types say there is always a value; check before use.
        var t = config.Training ?? throw Missing("training section");
        var info = config.Run ?? throw Missing("run section");
        var model = t.Model ?? throw Missing("training.model");
        if (t.Diffusion is null) throw Missing("training.diffusion");
        var data = t.Data ?? throw Missing("training.data");
        if (string.IsNullOrEmpty(t.Preset)) throw Missing("training.preset");
        if (model.ChannelMultipliers is null) throw Missing("training.model.channel_multipliers");
        if (model.AttentionResolutions is null) throw Missing("training.model.attention_resolutions");
        if (data.Background is null) throw Missing("training.data.background");
        if (t.Device is null || t.SampleSampler is null) throw Missing("training.device or training.sample_sampler");
        if (info.DataPath is null) throw Missing("run.data_path");
        try
        {
            t.Validate();
            config.Components?.Validate(t);
        }
        catch (NoisetteInputException e) { throw new NoisetteInputException("config.json: " + e.Message, e); }
        return config;
    }

    /// <summary>Writes config.json, recording the model's components (those implied by the configuration when not given).</summary>
    public void WriteConfig(RunConfig config) => Json.Write(ConfigPath, config with { Components = config.ComponentsOrImplied() });

    public static string StepName(long step) => "step-" + step.ToString("D8", CultureInfo.InvariantCulture);

    public string CheckpointDir(long step) => Path.Combine(CheckpointsDir, StepName(step));
    public string SampleGridPath(long step) => Path.Combine(SamplesDir, StepName(step) + ".png");

    [GeneratedRegex(@"^step-(\d{8,})$")]
    private static partial Regex StepDirPattern();

    /// <summary>True for the name of a finished checkpoint folder (step-NNNNNNNN).</summary>
    public static bool IsStepName(string name) => StepDirPattern().IsMatch(name);

    /// <summary>Steps of the finished checkpoint folders, ascending. Temp folders and other names are ignored.</summary>
    public IReadOnlyList<long> CheckpointSteps()
    {
        if (!Directory.Exists(CheckpointsDir)) return [];
        var steps = new List<long>();
        foreach (var dir in Directory.EnumerateDirectories(CheckpointsDir))
        {
            var m = StepDirPattern().Match(Path.GetFileName(dir));
            if (m.Success && long.TryParse(m.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var s)) steps.Add(s);
        }
        steps.Sort();
        return steps;
    }

    public void AppendMetrics(string jsonLine)
    {
        Directory.CreateDirectory(Root);
        File.AppendAllText(MetricsPath, jsonLine + "\n");
    }

    /// <summary>
    /// Cuts metrics.jsonl back to a checkpoint's step, for a resume from it: the lines of later steps (logged before
    /// a crash that the checkpoint does not cover) and any line that does not parse (one cut by a crash mid-append)
    /// are dropped, so the resumed run logs each step once. The file is rewritten atomically, and only when there is
    /// something to drop. Returns the number of lines dropped.
    /// </summary>
    public int TruncateMetrics(long step)
    {
        if (!File.Exists(MetricsPath)) return 0;
        var kept = new StringBuilder();
        int dropped = 0;
        foreach (var line in File.ReadLines(MetricsPath))
        {
            if (string.IsNullOrWhiteSpace(line)) continue;
            if (StepOf(line) is { } s && s <= step) kept.Append(line).Append('\n');
            else dropped++;
        }
        if (dropped > 0) AtomicFile.WriteAllText(MetricsPath, kept.ToString());
        return dropped;
    }

    /// <summary>The "step" of a metrics line, or null when the line is not a JSON object with an integer step.</summary>
    private static long? StepOf(string line)
    {
        try
        {
            using var doc = JsonDocument.Parse(line);
            return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("step", out var s) &&
                   s.ValueKind == JsonValueKind.Number && s.TryGetInt64(out var step) ? step : null;
        }
        catch (JsonException) { return null; }
    }

    public void Log(string line)
    {
        Directory.CreateDirectory(Root);
        File.AppendAllText(LogPath, $"{DateTimeOffset.UtcNow:yyyy-MM-ddTHH:mm:ssZ} {line}\n");
    }

    /// <summary>
    /// Makes sure RUN can take a new run. An empty or missing folder is fine. A folder holding anything else is
    /// refused unless <paramref name="force"/>; with force, what it held is moved into RUN/previous-TIMESTAMP/
    /// (nothing is deleted). Paths in <paramref name="keep"/> (the data folder, a checkpoint the run starts from) are
    /// never moved: when one lies in what would be moved, the whole call is refused before anything moves.
    /// </summary>
    public void PrepareForNewRun(bool force, IReadOnlyCollection<(string What, string Path)>? keep = null)
    {
        if (!Directory.Exists(Root)) { Directory.CreateDirectory(Root); return; }
        // The lock file is the running training's own claim (RunLock): it neither makes the folder non-empty nor moves.
        var entries = Directory.EnumerateFileSystemEntries(Root).Where(e => Path.GetFileName(e) != RunLock.FileName).ToList();
        if (entries.Count == 0) return;
        if (!force)
        {
            var what = Exists ? "already holds a Noisette run (use `noisette resume` to continue it)" : $"is not empty ({entries.Count} entries)";
            throw new NoisetteInputException($"output folder {Root} {what}; choose another --out, or pass --force to move its contents into a previous-* subfolder");
        }
        var moved = entries.Where(e => !Path.GetFileName(e).StartsWith("previous-", StringComparison.Ordinal)).ToList();
        foreach (var (what, path) in keep ?? [])
            foreach (var e in moved)
                if (PathContainment.IsSameOrInside(path, e))
                    throw new NoisetteInputException(
                        $"--force would move {e} into a previous-* subfolder of {Root}, and it holds the {what} {Path.GetFullPath(path)}; choose another --out");
        var stamp = "previous-" + DateTimeOffset.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture);
        var aside = Path.Combine(Root, stamp);
        for (int n = 2; Directory.Exists(aside) || File.Exists(aside); n++) aside = Path.Combine(Root, $"{stamp}-{n}");   // twice in one second
        Directory.CreateDirectory(aside);
        foreach (var e in moved)
        {
            var target = Path.Combine(aside, Path.GetFileName(e));
            if (Directory.Exists(e)) Directory.Move(e, target); else File.Move(e, target);
        }
    }
}
