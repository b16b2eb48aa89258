using Noisette.Data;
using Noisette.IO;
using Noisette.Models;
using Noisette.Runs;
using Noisette.Training;

namespace Noisette.Pipelines;

/// <summary>What a person asks of <c>noisette autoencoder train</c>; null = the default.</summary>
public sealed record AutoencoderTrainingRequest
{
    public required string DataPath { get; init; }
    public required string OutPath { get; init; }
    public int? ImageSize { get; init; }
    public int? Steps { get; init; }
    public int? Batch { get; init; }
    /// <summary>How many times smaller the latent grid is on each side: 4 or 8 (2 and 16 are allowed).</summary>
    public int? Factor { get; init; }
    public int? LatentChannels { get; init; }
    /// <summary>Channels of the first level (each later level has up to four times as many): 64 unless asked; 32 is four times cheaper.</summary>
    public int? Width { get; init; }
    /// <summary>An autoencoder folder to fine-tune: its decoder only (the encoder frozen), so latents keep their meaning.</summary>
    public string? InitFrom { get; init; }
    public double? LearningRate { get; init; }
    public int? CheckpointEvery { get; init; }
    public int? DiscriminatorStart { get; init; }
    public long? Seed { get; init; }
    public string Device { get; init; } = "cpu";
    public int? Threads { get; init; }
    public bool Force { get; init; }
}

/// <summary>
/// Starts and resumes autoencoder training runs: checks the folders (the output never inside the pictures' folder,
/// nor around it), reads the pictures at the run's size, resolves the configuration from the request, the pictures
/// (gray or RGB) and the autoencoder fine-tuned, and hands a locked run folder to <see cref="AutoencoderTrainer"/>.
/// </summary>
public static class AutoencoderTrainingPipeline
{
    public static AutoencoderTrainer Start(AutoencoderTrainingRequest r, Action<string> info, Action<string> warn)
    {
        if (r.Threads is int threads) Runtime.TorchRuntime.CheckThreads(threads);
        var data = Path.GetFullPath(r.DataPath);
        var run = new RunFolder(r.OutPath);
        if (PathContainment.IsSameOrInside(run.Root, data))
            throw new NoisetteInputException($"--out {run.Root} is inside the data folder {data}; Noisette never writes into the data folder");
        if (PathContainment.IsSameOrInside(data, run.Root))
            throw new NoisetteInputException($"the data folder {data} is inside the output folder {run.Root}; choose an --out outside it");

        AutoencoderKL? source = null;
        AutoencoderInfo? sourceInfo = null;
        string? sourcePath = null;
        if (r.InitFrom is not null)
        {
            var folder = new AutoencoderFolder(r.InitFrom);
            sourcePath = folder.Root;
            if (PathContainment.IsSameOrInside(sourcePath, run.Root) || PathContainment.IsSameOrInside(run.Root, sourcePath))
                throw new NoisetteInputException($"--out {run.Root} and the autoencoder it starts from ({sourcePath}) must be separate folders");
            if (r.Factor is not null || r.LatentChannels is not null || r.Width is not null)
                throw new NoisetteInputException("--factor, --latent-channels and --width come from the autoencoder given to --init-from; leave them out");
            source = folder.Load(out sourceInfo);
        }
        try
        {
            int size = r.ImageSize ?? sourceInfo?.ImageSize ?? 256;
            var settings = new DataSettings();
            // The pictures decide gray or RGB for a new autoencoder; a fine-tuned one reads what it was made for.
            var channels = sourceInfo is null ? ChannelMode.Auto : sourceInfo.Config.InChannels == 1 ? ChannelMode.Gray : ChannelMode.Rgb;
            var dataset = TrainingPipeline.LoadData(data, new DataConfig(settings with { Channels = channels }, size), info, warn);
            int steps = r.Steps ?? new AutoencoderTrainingConfig().Steps;
            var model = sourceInfo?.Config ?? AutoencoderTrainingConfig.Preset(r.Factor ?? 8, r.LatentChannels ?? 4, dataset.Channels, width: r.Width ?? 64);
            var config = new AutoencoderTrainingConfig
            {
                Model = model,
                ImageSize = size,
                Data = settings with { Channels = channels },
                DataPath = data,
                Steps = steps,
                Batch = r.Batch ?? new AutoencoderTrainingConfig().Batch,
                LearningRate = r.LearningRate ?? new AutoencoderTrainingConfig().LearningRate,
                DiscriminatorStart = r.DiscriminatorStart ?? Math.Min(new AutoencoderTrainingConfig().DiscriminatorStart, steps / 2),
                CheckpointEvery = r.CheckpointEvery ?? Math.Max(1, Math.Min(500, steps / 10)),
                FreezeEncoder = source is not null,
                InitFrom = sourcePath,
                Seed = r.Seed ?? 0,
                Device = r.Device,
                Threads = r.Threads ?? 0,
            };
            config.Validate();
            if (dataset.Channels != model.InChannels)
                throw new NoisetteInputException($"the pictures were read with {dataset.Channels} channel(s), the autoencoder takes {model.InChannels}");
            var keep = new List<(string, string)> { ("data folder", data) };
            var runLock = RunLock.Acquire(run.Root);
            try
            {
                run.PrepareForNewRun(r.Force, keep);
                run.Log($"autoencoder training: {dataset.Count} pictures, {dataset.TrainIndices.Length} train, {dataset.ValidationIndices.Length} validation, " +
                        $"fingerprint {dataset.Fingerprint}");
                var trainer = AutoencoderTrainer.Start(config, run, Subset(dataset, dataset.TrainIndices)!, Subset(dataset, dataset.ValidationIndices),
                                                       dataset.Fingerprint, source);
                trainer.Hold(runLock);
                if (source is not null) info($"fine-tuning the decoder of {sourcePath} (the encoder stays as it is, so latents keep their meaning)");
                return trainer;
            }
            catch
            {
                runLock.Dispose();
                throw;
            }
        }
        finally
        {
            source?.Dispose();
        }
    }

    public static AutoencoderTrainer Resume(string runPath, int? steps, bool force, Action<string> info, Action<string> warn)
    {
        var run = new RunFolder(runPath);
        var config = AutoencoderTrainer.ReadConfig(run);
        var dataPath = config.DataPath ?? throw new NoisetteInputException($"{run.Root}: the run does not record its data folder");
        var runLock = RunLock.Acquire(run.Root);
        try
        {
            var dataset = TrainingPipeline.LoadData(dataPath, config.Pictures, info, warn);
            var trainer = AutoencoderTrainer.Resume(run, Subset(dataset, dataset.TrainIndices)!, Subset(dataset, dataset.ValidationIndices),
                                                    dataset.Fingerprint, steps, force, warn);
            trainer.Hold(runLock);
            return trainer;
        }
        catch
        {
            runLock.Dispose();
            throw;
        }
    }

    private static SubsetImageSet? Subset(ImageDataset ds, int[] indices) => indices.Length > 0 ? new SubsetImageSet(ds, indices, null) : null;
}
