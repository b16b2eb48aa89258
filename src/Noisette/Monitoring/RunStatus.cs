using System.Globalization;
using Noisette.IO;
using Noisette.Runs;

namespace Noisette.Monitoring;

public enum TrainingHint { TooEarly, Improving, Plateaued, Overfitting }

/// <summary>A plain-language reading of the validation history.</summary>
public sealed record StatusHint(TrainingHint Kind, long? SinceStep, string Text);

/// <summary>What `noisette eval` measured for one checkpoint (its eval.json): bits/dim, FID and KID where measured.</summary>
public sealed record CheckpointEvaluation(double? BitsPerDim, double? Fid, double? Kid);

/// <summary>What `noisette status` reports about a run.</summary>
public sealed record RunStatusReport
{
    public required string Run { get; init; }
    public long Step { get; init; }
    public long TotalSteps { get; init; }
    public long? LatestCheckpoint { get; init; }
    public long? BestStep { get; init; }
    public double? BestValidationLoss { get; init; }
    /// <summary>The best checkpoint's sample distance, when "best" was chosen by it.</summary>
    public double? BestSampleDistance { get; init; }
    public double? LastLoss { get; init; }
    public double? ImagesPerSecond { get; init; }
    public required StatusHint Hint { get; init; }
    public IReadOnlyList<long> Checkpoints { get; init; } = [];
    /// <summary>Metrics recorded by `noisette eval` per checkpoint step: bits/dim, FID and KID where measured.</summary>
    public IReadOnlyDictionary<long, CheckpointEvaluation> Evaluations { get; init; } = new Dictionary<long, CheckpointEvaluation>();
}

/// <summary>Reads a run folder's progress, best checkpoint and the hint: improving, plateaued or overfitting.</summary>
public static class RunStatus
{
    /// <summary>Relative improvement that counts as "still improving".</summary>
    public const double ImprovementThreshold = 0.01;
    /// <summary>Relative rise above the best validation loss that counts as overfitting.</summary>
    public const double OverfitThreshold = 0.05;

    /// <summary>
    /// Reads the validation history (step, loss), oldest first:
    /// fewer than 3 evaluations → too early; the newest at least 1% below every earlier one → improving;
    /// the last two evaluations both at least 5% above the best, and rising → overfitting since the best;
    /// otherwise → plateaued since the first evaluation that came within 1% of the best.
    /// </summary>
    public static StatusHint Hint(IReadOnlyList<(long Step, double Loss)> history)
    {
        if (history.Count < 3)
            return new(TrainingHint.TooEarly, null, "too early to tell: wait for a few more checkpoints with a validation loss");
        var last = history[^1];
        double minBefore = history.Take(history.Count - 1).Min(h => h.Loss);
        if (last.Loss < minBefore * (1 - ImprovementThreshold))
            return new(TrainingHint.Improving, null, "still improving: the validation loss keeps falling");
        var best = history.MinBy(h => h.Loss);
        int bestIndex = history.ToList().IndexOf(best);
        var prev = history[^2];
        if (bestIndex <= history.Count - 3 && last.Loss > best.Loss * (1 + OverfitThreshold)
            && prev.Loss > best.Loss * (1 + OverfitThreshold) && last.Loss >= prev.Loss)
            return new(TrainingHint.Overfitting, best.Step,
                $"validation rising since step {best.Step}: the model is starting to memorise (overfitting); the best checkpoint is step {best.Step}");
        var since = history.First(h => h.Loss <= best.Loss * (1 + ImprovementThreshold));
        return new(TrainingHint.Plateaued, since.Step,
            $"plateaued since step {since.Step}: more steps bring little; consider stopping, or more data");
    }

    public static RunStatusReport Read(RunFolder run)
    {
        var config = run.ReadConfig();
        var records = Metrics.Read(run.MetricsPath);
        var val = records.Where(r => r.ValLoss is not null).Select(r => (r.Step, r.ValLoss!.Value)).ToList();
        var best = Checkpoint.Best(run);
        var steps = run.CheckpointSteps();
        var lastTrain = records.LastOrDefault(r => r.Loss is not null);
        return new RunStatusReport
        {
            Run = run.Root,
            Step = Math.Max(lastTrain?.Step ?? 0, steps.Count > 0 ? steps[^1] : 0),
            TotalSteps = config.Training.Steps,
            LatestCheckpoint = steps.Count > 0 ? steps[^1] : null,
            BestStep = best?.Step,
            BestValidationLoss = best?.ValidationLoss,
            BestSampleDistance = best?.SampleDistance,
            LastLoss = lastTrain?.Loss,
            ImagesPerSecond = lastTrain?.ImagesPerSecond,
            Hint = Hint(val),
            Checkpoints = steps,
            Evaluations = steps.Select(s => (s, e: RecordedMetrics(run.CheckpointDir(s)))).Where(x => x.e is not null)
                               .ToDictionary(x => x.s, x => x.e!),
        };
    }

    private static CheckpointEvaluation? RecordedMetrics(string checkpointDir)
    {
        var path = Path.Combine(checkpointDir, Checkpoint.EvalFile);
        if (!File.Exists(path)) return null;
        try
        {
            using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(path));
            double? Get(string obj, string prop) =>
                doc.RootElement.TryGetProperty(obj, out var o) && o.ValueKind == System.Text.Json.JsonValueKind.Object &&
                o.TryGetProperty(prop, out var v) && v.ValueKind == System.Text.Json.JsonValueKind.Number ? v.GetDouble() : null;
            return new(Get("likelihood", "bits_per_dim"), Get("sample_quality", "fid"), Get("sample_quality", "kid"));
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or IOException) { return null; }
    }

    private static string BestText(RunStatusReport r, CultureInfo ci)
    {
        if (r.BestStep is not { } b) return "n/a (no sample distance or validation loss yet)";
        var measures = new List<string>();
        if (r.BestSampleDistance is { } d) measures.Add($"sample distance {d.ToString("F2", ci)}, the lowest");
        if (r.BestValidationLoss is { } v) measures.Add($"validation loss {v.ToString("F5", ci)}");
        return $"step {b}" + (measures.Count > 0 ? $" ({string.Join("; ", measures)})" : "");
    }

    public static string Describe(RunStatusReport r)
    {
        var ci = CultureInfo.InvariantCulture;
        var lines = new List<string>
        {
            $"run:        {r.Run}",
            $"progress:   step {r.Step} of {r.TotalSteps} ({100.0 * r.Step / Math.Max(1, r.TotalSteps):F0}%)" + (r.ImagesPerSecond is { } ips ? $", {ips.ToString("F0", ci)} images/s" : ""),
            $"loss:       {(r.LastLoss is { } l ? l.ToString("F5", ci) : "n/a")} (training, last logged)",
            $"checkpoints: {(r.Checkpoints.Count == 0 ? "none yet" : string.Join(", ", r.Checkpoints))}",
            $"best:       {BestText(r, ci)}",
            $"hint:       {r.Hint.Text}",
        };
        foreach (var (step, e) in r.Evaluations.OrderBy(kv => kv.Key))
            lines.Add($"evaluated:  step {step}:" + (e.BitsPerDim is { } bits ? $" {bits.ToString("F4", ci)} bits/dim" : "") +
                      (e.Fid is { } f ? $" FID {f.ToString("F2", ci)}" : "") + (e.Kid is { } k ? $" KID {k.ToString("F5", ci)}" : ""));
        return string.Join(Environment.NewLine, lines);
    }
}
