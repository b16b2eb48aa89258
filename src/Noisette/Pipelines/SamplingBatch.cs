using Noisette.Models;
using Noisette.Runtime;
using Noisette.Training;

namespace Noisette.Pipelines;

/// <summary>
/// How many images one network call samples when the user does not say: as many as fit in part of the free memory,
/// at most <see cref="Max"/>. A small model samples 32 images per call; the 256 px bedroom-size model a handful.
/// </summary>
public static class SamplingBatch
{
    /// <summary>The largest automatic batch: beyond it a CPU gains nothing per image, and progress comes too rarely.</summary>
    public const int Max = 32;

    /// <summary>The share of the available memory a sampling batch's activations may use.</summary>
    public const double MemoryShare = 0.4;

    /// <summary>The batch for this model and precision given <paramref name="availableBytes"/> of free memory.</summary>
    public static int For(UNetConfig model, Precision precision, long availableBytes)
    {
        long perImage = BytesPerImage(model, precision == Precision.Fp32 ? 4 : 2);
        long budget = (long)(availableBytes * MemoryShare);
        return (int)Math.Clamp(budget / Math.Max(1, perImage), 1, Max);
    }

    /// <summary>
    /// Peak activation memory of one image in one inference call, an upper estimate. The U-Net releases each block's
    /// intermediates when the block ends, so the peak is the skip connections kept for the decoder, plus one block's
    /// working tensors (a few times its largest activation), plus an attention block's scores (heads × positions²,
    /// in float32). Classifier-free guidance runs every image twice in one call, which the factor 2 covers.
    /// </summary>
    public static long BytesPerImage(UNetConfig model, int elementBytes)
    {
        int levels = model.ChannelMultipliers.Length;
        int Channels(int level) => (int)(model.ChannelMultipliers[level] * model.BaseChannels);
        long Resolution(int level) => Math.Max(1, model.ImageSize >> level);
        var attention = model.AttentionLevels();

        long skips = Channels(0) * Resolution(0) * Resolution(0);
        long largest = 0, scores = 0;
        for (int level = 0; level < levels; level++)
        {
            long r2 = Resolution(level) * Resolution(level);
            long c = Channels(level);
            skips += model.ResBlocksPerLevel * c * r2;
            if (level < levels - 1) skips += c * Resolution(level + 1) * Resolution(level + 1);
            // A decoder block takes its input concatenated with a skip: up to twice the level's channels.
            largest = Math.Max(largest, 2 * c * r2);
            if (attention.Contains(level))
            {
                long heads = model.HeadChannels > 0 ? Math.Max(1, c / model.HeadChannels) : Math.Max(1, model.NumHeads);
                scores = Math.Max(scores, heads * r2 * r2 * 4 + 4 * c * r2 * elementBytes);
            }
        }
        const int workingTensors = 6;
        return 2 * ((skips + workingTensors * largest) * elementBytes + scores);
    }

    /// <summary>Memory the system can give this process now: MemAvailable on Linux, else what the runtime reports.</summary>
    public static long AvailableMemory()
    {
        try
        {
            if (OperatingSystem.IsLinux())
                foreach (var line in File.ReadLines("/proc/meminfo"))
                    if (line.StartsWith("MemAvailable:", StringComparison.Ordinal))
                    {
                        var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                        if (parts.Length >= 2 && long.TryParse(parts[1], out var kib)) return kib * 1024;
                    }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
    }
}
