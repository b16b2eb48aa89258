using Noisette.Data;
using Noisette.Runtime;

namespace Noisette.Runs;

/// <summary>
/// What a person asks for when starting a run, from the CLI's flags or the studio's form; everything left null takes
/// its default (<see cref="TrainingDefaults"/>), the config file's value or the starting model's
/// (<see cref="TrainingConfigResolver"/>).
/// </summary>
public sealed record TrainingRequest
{
    public required string DataPath { get; init; }
    public required string OutPath { get; init; }
    /// <summary>A config file (JSON with comments, as written by <c>noisette init</c>).</summary>
    public string? ConfigFile { get; init; }
    /// <summary>A preset name; when neither it nor a config file is given, one is chosen from the images.</summary>
    public string? Preset { get; init; }
    /// <summary>Side of the square pictures, in pixels.</summary>
    public int? ImageSize { get; init; }
    public int? Steps { get; init; }
    public int? Batch { get; init; }
    public double? LearningRate { get; init; }
    /// <summary>Decay of the weights' moving average (short runs want a shorter memory, e.g. 0.995).</summary>
    public double? EmaDecay { get; init; }
    public int? CheckpointEvery { get; init; }
    public long? Seed { get; init; }
    public string? Device { get; init; }
    public int? Threads { get; init; }
    /// <summary>fp32 (the default), bf16, fp16 or auto (bf16 where the hardware computes it natively).</summary>
    public Precision? Precision { get; init; }
    public bool? Flip { get; init; }
    /// <summary>Class labels from subfolders: auto (when every image sits in one), subfolders, or none.</summary>
    public ClassMode Classes { get; init; } = ClassMode.Auto;
    public double? ClassDropout { get; init; }
    public bool? ClassBalanced { get; init; }
    /// <summary>An autoencoder folder: the U-Net then learns its latents (latent diffusion) instead of pixels.</summary>
    public string? Autoencoder { get; init; }
    /// <summary>A run or checkpoint folder whose weights (model and EMA) start this run.</summary>
    public string? InitFrom { get; init; }
    public bool Force { get; init; }
}
