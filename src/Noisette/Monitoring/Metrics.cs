using System.Globalization;
using System.Text.Json;

namespace Noisette.Monitoring;

/// <summary>One line of RUN/metrics.jsonl: a training log line (loss, lr, speed), a validation line (val_*) or a sample distance line.</summary>
public sealed record MetricsRecord(long Step, double? Loss, double? LearningRate, double? ImagesPerSecond,
                                   double? ValLoss, double? ValLow, double? ValMid, double? ValHigh)
{
    /// <summary>The checkpoint's sample distance (Evaluation.SampleDistance), on its own line.</summary>
    public double? SampleDistance { get; init; }
}

/// <summary>Reading and writing RUN/metrics.jsonl.</summary>
public static class Metrics
{
    public static string TrainingLine(long step, double loss, double lr, double ips) => string.Create(CultureInfo.InvariantCulture,
        $"{{\"step\":{step},\"loss\":{loss:R},\"lr\":{lr:R},\"images_per_s\":{ips:F2},\"time\":\"{DateTimeOffset.UtcNow:O}\"}}");

    public static string ValidationLine(long step, Evaluation.ValidationResult v, IReadOnlyList<string>? classNames = null)
    {
        var byClass = v.ByClass is null || classNames is null ? "" :
            ",\"val_by_class\":{" + string.Join(",", v.ByClass.Select((x, c) => $"{JsonSerializer.Serialize(classNames[c])}:{Num(x)}")) + "}";
        return string.Create(CultureInfo.InvariantCulture,
            $"{{\"step\":{step},\"val_loss\":{v.Loss:R},\"val_low\":{Num(v.LowNoise)},\"val_mid\":{Num(v.MidNoise)},\"val_high\":{Num(v.HighNoise)},\"val_images\":{v.Images}{byClass},\"time\":\"{DateTimeOffset.UtcNow:O}\"}}");
    }

    public static string SampleDistanceLine(long step, double distance, int samples) => string.Create(CultureInfo.InvariantCulture,
        $"{{\"step\":{step},\"sample_distance\":{Num(distance)},\"distance_samples\":{samples},\"time\":\"{DateTimeOffset.UtcNow:O}\"}}");

    /// <summary>An autoencoder run's log line: L1 per pixel as its loss, the KL, the discriminator's losses and weight.</summary>
    public static string AutoencoderTrainingLine(long step, double l1, double kl, double? generatorLoss, double? discriminatorLoss,
                                                 double? discriminatorWeight, double lr, double ips) => string.Create(CultureInfo.InvariantCulture,
        $"{{\"step\":{step},\"loss\":{Num(l1)},\"kl\":{Num(kl)},\"g_loss\":{Opt(generatorLoss)},\"d_loss\":{Opt(discriminatorLoss)},\"d_weight\":{Opt(discriminatorWeight)},\"lr\":{lr:R},\"images_per_s\":{ips:F2},\"time\":\"{DateTimeOffset.UtcNow:O}\"}}");

    /// <summary>An autoencoder checkpoint's validation line: L1 per pixel as val_loss, PSNR and SSIM.</summary>
    public static string ReconstructionLine(long step, double l1, double psnr, double ssim, int images) => string.Create(CultureInfo.InvariantCulture,
        $"{{\"step\":{step},\"val_loss\":{Num(l1)},\"val_psnr\":{Num(psnr)},\"val_ssim\":{Num(ssim)},\"val_images\":{images},\"time\":\"{DateTimeOffset.UtcNow:O}\"}}");

    private static string Opt(double? d) => d is { } v ? Num(v) : "null";

    private static string Num(double d) => double.IsFinite(d) ? d.ToString("R", CultureInfo.InvariantCulture) : "null";

    /// <summary>All records of a metrics file; unreadable lines (a line cut by a crash) are skipped.</summary>
    public static List<MetricsRecord> Read(string path)
    {
        var list = new List<MetricsRecord>();
        if (!File.Exists(path)) return list;
        foreach (var line in File.ReadLines(path))
        {
            if (string.IsNullOrWhiteSpace(line)) continue;
            try
            {
                using var doc = JsonDocument.Parse(line);
                var r = doc.RootElement;
                double? D(string name) => r.TryGetProperty(name, out var e) && e.ValueKind == JsonValueKind.Number ? e.GetDouble() : null;
                if (!r.TryGetProperty("step", out var step)) continue;
                list.Add(new MetricsRecord(step.GetInt64(), D("loss"), D("lr"), D("images_per_s"), D("val_loss"), D("val_low"), D("val_mid"), D("val_high"))
                         { SampleDistance = D("sample_distance") });
            }
            catch (JsonException) { }
        }
        return list;
    }
}
