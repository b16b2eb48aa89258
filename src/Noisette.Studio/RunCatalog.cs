using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using Noisette.IO;
using Noisette.Runs;

namespace Noisette.Studio;

public sealed record RunView(
    string Name, string State, string StateText, bool CanResume, bool CanStop,
    long Step, long? Total, bool UntilStopped, string? Preset, string? Dataset, DateTimeOffset? Created, long? LatestCheckpoint);

public sealed record CheckpointView(long Step, bool Usable, string? Problem, double? Loss, double? ValidationLoss, DateTimeOffset? Saved, string? Grid,
                                    double? SampleDistance = null);
public sealed record GridView(long Step, string Url, bool HasCheckpoint, double? Loss, double? ValidationLoss, double? SampleDistance = null);
public sealed record MetricPoint(long Step, double? Loss, double? ValidationLoss, double? ImagesPerSecond);

public sealed record RunDetail(
    RunView Run, JobView? Job, IReadOnlyDictionary<string, string> Settings, IReadOnlyList<CheckpointView> Checkpoints,
    IReadOnlyList<GridView> Grids, IReadOnlyList<MetricPoint> Metrics, long? BestStep, string? Hint, IReadOnlyList<string> LogTail,
    IReadOnlyList<string>? ClassNames = null, int? ImageSize = null, bool Gray = false, string? Resize = null,
    int? UnnamedClasses = null, bool NullClass = false, string? BestBy = null);

/// <summary>
/// Reads run folders for the pages: every folder under workspace/runs/ with its state — training, queued, finished,
/// stopped, cut off (resumable), or damaged — worked out from what is on disk and what the queue is doing.
/// A damaged folder is described, never thrown at the page.
/// </summary>
public sealed class RunCatalog(Workspace workspace, TrainingQueue queue, DatasetCatalog datasets)
{
    private readonly ConcurrentDictionary<string, (DateTime Stamp, CheckpointView View)> checkpointCache = new();

    public IReadOnlyList<RunView> List()
    {
        var names = Directory.EnumerateDirectories(workspace.RunsDir).Select(Path.GetFileName).OfType<string>()
            .Where(n => !n.StartsWith('.')).ToHashSet(StringComparer.Ordinal);
        var snapshot = queue.Snapshot();
        foreach (var j in snapshot.Waiting.Append(snapshot.Current).OfType<JobView>()) names.Add(j.Run);
        return names.Select(n => Inspect(n)).OrderByDescending(r => r.Created ?? DateTimeOffset.MaxValue).ThenBy(r => r.Name, StringComparer.Ordinal).ToList();
    }

    public RunView Inspect(string name) => Describe(name).View;

    private (RunView View, RunConfig? Config, IReadOnlyList<CheckpointView> Checkpoints) Describe(string name)
    {
        var path = Path.Combine(workspace.RunsDir, name);
        var job = queue.Find(name);
        var run = new RunFolder(path);
        RunConfig? config = null;
        string? damage = null;
        if (Directory.Exists(path) && run.Exists)
        {
            try { config = run.ReadConfig(); }
            catch (Exception e) when (e is NoisetteInputException or IOException or UnauthorizedAccessException) { damage = "config.json cannot be read: " + e.Message; }
        }
        else if (job is null) damage = "the folder has no config.json, so it is not a run the studio can use";

        var checkpoints = Directory.Exists(path) ? Checkpoints(run) : [];
        var latest = checkpoints.LastOrDefault(c => c.Usable);
        long total = config?.Training.Steps ?? job?.Total ?? 0;
        bool until = total >= TrainingQueue.UntilStopped;
        long step = job is { Step: > 0 } ? job.Step : latest?.Step ?? 0;
        string? dataset = config is null ? null : datasets.List().FirstOrDefault(d => d.Path == config.Run.DataPath)?.Name ?? config.Run.DataPath;
        var created = config?.Run.Created;

        RunView Make(string state, string text, bool resume, bool stop) =>
            new(name, state, text, resume, stop, step, total == 0 ? job?.Total : total, until, config?.Training.Preset, dataset, created, latest?.Step);

        RunView view;
        if (job is not null)
            view = job.Phase switch
            {
                JobPhase.Queued => Make("queued", "waiting for the machine", false, true),
                JobPhase.Preparing => Make("preparing", "loading the pictures", false, true),
                JobPhase.Stopping => Make("stopping", "writing a checkpoint, then stopping", false, false),
                _ => Make("training", "training", false, true),
            };
        else if (damage is not null)
            view = Make("damaged", damage, false, false);
        else if (latest is null)
            view = checkpoints.Count > 0
                ? Make("damaged", "every checkpoint is damaged: " + checkpoints[^1].Problem, false, false)
                : Make("no-checkpoint", "ended before its first checkpoint; start a new training", false, false);
        else if (latest.Step >= total)
            view = Make("finished", $"finished at step {latest.Step}", true, false);
        else if (LastLogLine(run)?.Contains(TrainingQueue.StoppedMarker, StringComparison.Ordinal) == true)
            view = Make("stopped", $"stopped at step {latest.Step}; resume continues from there", true, false);
        else
            view = Make("cut-off", $"cut off at step {latest.Step} (the studio or the computer stopped); resume continues from there", true, false);
        return (view, config, checkpoints);
    }

    public RunDetail Detail(string name)
    {
        var (view, config, checkpoints) = Describe(name);
        var run = new RunFolder(Path.Combine(workspace.RunsDir, name));
        var settings = new Dictionary<string, string>();
        if (config is not null)
        {
            var t = config.Training;
            var ci = CultureInfo.InvariantCulture;
            settings["preset"] = t.Preset;
            settings["image size"] = $"{t.PixelSize} px, {(t.PixelChannels == Noisette.Data.ChannelMode.Gray ? "gray" : "colour")}{(t.IsLatent ? $" (latents {t.Model.ImageSize}×{t.Model.ImageSize}×{t.Model.InChannels})" : "")}";
            settings["steps"] = t.Steps >= TrainingQueue.UntilStopped ? "until stopped" : t.Steps.ToString(ci);
            settings["batch"] = t.Batch.ToString(ci);
            settings["learning rate"] = t.LearningRate.ToString("G3", ci);
            settings["checkpoint every"] = t.CheckpointEvery.ToString(ci) + " steps";
            settings["threads"] = t.Threads == 0 ? "all cores" : t.Threads.ToString(ci);
            settings["pictures"] = config.Run.DataPath;
            settings["training / validation images"] = $"{config.Run.TrainImages} / {config.Run.ValidationImages}";
            if (config.Run.InitFrom is not null) settings["fine-tuned from"] = config.Run.InitFrom;
            if (t.ClassNames is { } classes) settings["classes"] = $"{classes.Length} from subfolders: {string.Join(", ", classes)}";
        }
        var byStep = checkpoints.ToDictionary(c => c.Step);
        var grids = new List<GridView>();
        if (Directory.Exists(run.SamplesDir))
            foreach (var f in Directory.EnumerateFiles(run.SamplesDir, "step-*.png"))
                if (long.TryParse(Path.GetFileNameWithoutExtension(f)["step-".Length..], NumberStyles.None, CultureInfo.InvariantCulture, out var s))
                {
                    byStep.TryGetValue(s, out var c);
                    grids.Add(new GridView(s, GridUrl(name, s), c?.Usable == true, c?.Loss, c?.ValidationLoss, c?.SampleDistance));
                }
        grids.Sort((a, b) => a.Step.CompareTo(b.Step));
        var bestView = Checkpoint.BestOf(checkpoints.Where(c => c.Usable), c => c.Step, c => c.SampleDistance, c => c.ValidationLoss);
        string? bestBy = bestView is null ? null : Checkpoint.BestMeasure(bestView.SampleDistance);
        return new RunDetail(view, queue.Find(name), settings, checkpoints, grids, Metrics(run), bestView?.Step, Hint(run), LogTail(run, 12),
            config?.Training.ClassNames, config?.Training.PixelSize, config?.Training.PixelChannels == Noisette.Data.ChannelMode.Gray,
            config?.Training.Data.Resize == Noisette.Data.ResizeMode.Pad ? "pad" : config is null ? null : "crop",
            // An import's classes (OpenAI's ImageNet models) have indices but no names.
            config is { Training: { ClassNames: null, Model.NumClasses: > 0 } } ? config.Training.Model.NumClasses : null,
            config?.Training.Model.NullClass == true, bestBy);
    }


    public static string GridUrl(string run, long step) => $"/api/runs/{Uri.EscapeDataString(run)}/grid/{step}";

    /// <summary>The plain-language status hint (improving / plateaued / overfitting) from the validation losses; null without any.</summary>
    public static string? Hint(RunFolder run)
    {
        try
        {
            var history = Noisette.Monitoring.Metrics.Read(run.MetricsPath)
                .Where(m => m.ValLoss is { } v && double.IsFinite(v)).Select(m => (m.Step, m.ValLoss!.Value)).ToList();
            return history.Count == 0 ? null : Noisette.Monitoring.RunStatus.Hint(history).Text;
        }
        catch (IOException) { return null; }
    }

    private IReadOnlyList<CheckpointView> Checkpoints(RunFolder run)
    {
        var list = new List<CheckpointView>();
        IReadOnlyList<long> steps;
        try { steps = run.CheckpointSteps(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return list; }
        foreach (var step in steps) list.Add(QuickCheck(run, step));
        return list;
    }

    /// <summary>Reads state.json and checks the files' sizes (hashes are checked when a checkpoint is loaded); cached by the file's time.</summary>
    private CheckpointView QuickCheck(RunFolder run, long step)
    {
        var dir = run.CheckpointDir(step);
        var statePath = Path.Combine(dir, Checkpoint.StateFile);
        var stamp = File.Exists(statePath) ? File.GetLastWriteTimeUtc(statePath) : DateTime.MinValue;
        if (checkpointCache.TryGetValue(dir, out var hit) && hit.Stamp == stamp) return hit.View;
        var grid = File.Exists(run.SampleGridPath(step)) ? GridUrl(Path.GetFileName(run.Root), step) : null;
        CheckpointView view;
        try
        {
            if (stamp == DateTime.MinValue) throw new NoisetteInputException($"it has no {Checkpoint.StateFile}");
            var state = Json.Read<CheckpointState>(statePath);
            string? problem = null;
            if (!state.Files.ContainsKey(Checkpoint.ModelFile) || !state.Files.ContainsKey(Checkpoint.EmaFile)) problem = "it lists no model weights";
            foreach (var (file, expected) in state.Files)
            {
                var info = new FileInfo(Path.Combine(dir, file));
                if (!info.Exists) { problem = $"{file} is missing"; break; }
                if (info.Length != expected.Size) { problem = $"{file} has {info.Length} bytes, {expected.Size} were written"; break; }
            }
            view = new CheckpointView(step, problem is null, problem, state.Loss, state.ValidationLoss, state.Saved, grid, state.SampleDistance);
        }
        catch (Exception e) when (e is NoisetteInputException or IOException or UnauthorizedAccessException or JsonException)
        {
            view = new CheckpointView(step, false, e.Message, null, null, null, grid);
        }
        checkpointCache[dir] = (stamp, view);
        return view;
    }

    private static IReadOnlyList<MetricPoint> Metrics(RunFolder run)
    {
        var points = new List<MetricPoint>();
        if (!File.Exists(run.MetricsPath)) return points;
        try
        {
            foreach (var line in File.ReadLines(run.MetricsPath))
            {
                if (line.Length == 0) continue;
                try
                {
                    using var doc = JsonDocument.Parse(line);
                    var r = doc.RootElement;
                    if (!r.TryGetProperty("step", out var s) || !s.TryGetInt64(out var step)) continue;
                    points.Add(new MetricPoint(step, Number(r, "loss"), Number(r, "val_loss") ?? Number(r, "validation_loss"), Number(r, "images_per_s")));
                }
                catch (JsonException) { }   // a line cut off by a crash
            }
        }
        catch (IOException) { }
        if (points.Count <= 1500) return points;
        int stride = (points.Count + 1499) / 1500;
        return points.Where((_, i) => i % stride == 0 || i == points.Count - 1).ToList();
    }

    private static double? Number(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out var d) && double.IsFinite(d) ? d : null;

    private static string? LastLogLine(RunFolder run) => LogTail(run, 1).LastOrDefault();

    private static IReadOnlyList<string> LogTail(RunFolder run, int lines)
    {
        try
        {
            if (!File.Exists(run.LogPath)) return [];
            using var fs = new FileStream(run.LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            var start = Math.Max(0, fs.Length - 16_384);
            fs.Seek(start, SeekOrigin.Begin);
            using var reader = new StreamReader(fs);
            var all = reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
            return all.TakeLast(lines).ToList();
        }
        catch (IOException) { return []; }
    }

    /// <summary>Images per second measured by the newest run of each preset on this machine, for time estimates.</summary>
    public IReadOnlyDictionary<string, double> MeasuredSpeeds()
    {
        var result = new Dictionary<string, (DateTimeOffset When, double Ips)>(StringComparer.OrdinalIgnoreCase);
        foreach (var dir in Directory.EnumerateDirectories(workspace.RunsDir))
        {
            var run = new RunFolder(dir);
            if (!run.Exists || !File.Exists(run.MetricsPath)) continue;
            try
            {
                var config = run.ReadConfig();
                var last = Metrics(run).LastOrDefault(m => m.ImagesPerSecond > 0);
                if (last?.ImagesPerSecond is not { } ips) continue;
                if (!result.TryGetValue(config.Training.Preset, out var prev) || prev.When < config.Run.Created)
                    result[config.Training.Preset] = (config.Run.Created, ips);
            }
            catch (Exception e) when (e is NoisetteInputException or IOException) { }
        }
        return result.ToDictionary(kv => kv.Key, kv => kv.Value.Ips, StringComparer.OrdinalIgnoreCase);
    }
}
