using Noisette.Runtime;
using Noisette.Runs;
using Noisette.Data;
using Noisette.IO;
using Noisette.Models;
using Noisette.Training;

namespace Noisette.Pipelines;

/// <summary>What a person asks for when starting a run; everything left null takes a sensible default.</summary>
public sealed record TrainRequest
{
    public required string DataPath { get; init; }
    public required string OutPath { get; init; }
    /// <summary>A config file (JSON with comments, as written by <c>noisette init</c>).</summary>
    public string? ConfigFile { get; init; }
    /// <summary>A preset name; when neither it nor a config file is given, one is chosen from the images.</summary>
    public string? Preset { get; init; }
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
    /// <summary>A run or checkpoint folder whose weights (model and EMA) start this run.</summary>
    public string? InitFrom { get; init; }
    public bool Force { get; init; }
}

/// <summary>
/// Turns a request into a ready <see cref="Trainer"/>: resolves the configuration, loads and splits the images,
/// prepares the run folder. Shared by the CLI and the studio.
/// </summary>
public static class TrainingPipeline
{
    public sealed record Prepared(Trainer Trainer, ImageDataset Dataset);

    public static Prepared Start(TrainRequest r, Action<string> info, Action<string> warn)
    {
        if (r.Threads is int threads) Runtime.TorchRuntime.CheckThreads(threads);   // before the data check and the run folder
        var data = Path.GetFullPath(r.DataPath);
        var run = new RunFolder(r.OutPath);
        if (PathContainment.IsSameOrInside(run.Root, data))
            throw new NoisetteInputException($"--out {run.Root} is inside the data folder {data}; Noisette never writes into the data folder");
        if (PathContainment.IsSameOrInside(data, run.Root))
            throw new NoisetteInputException(
                $"the data folder {data} is inside the output folder {run.Root}; Noisette never moves or writes into the data folder. Choose an --out outside it");

        // 1. The configuration before seeing the images.
        TrainingConfig? cfg = null;
        string? initFromDir = null;
        if (r.ConfigFile is not null) cfg = Json.Read<TrainingConfig>(r.ConfigFile);
        if (r.InitFrom is not null)
        {
            var (sourceDir, _, source) = Checkpoint.Resolve(r.InitFrom);
            initFromDir = sourceDir;
            var src = source.ReadConfig().Training;
            // Without a config file, the source run's own settings (learning rate, batch, EMA, ...): an import records
            // those its model was released with, which its preset's defaults are not. What describes the machine the
            // source was trained on (device, threads, precision) is not inherited: this machine's defaults apply.
            var machine = new TrainingConfig();
            cfg = (cfg ?? src with { Device = machine.Device, Threads = machine.Threads, Precision = machine.Precision }) with
            {
                Preset = src.Preset,
                ClassNames = src.ClassNames,
                Model = src.Model,
                Diffusion = src.Diffusion,
                Data = (cfg?.Data ?? src.Data) with { ImageSize = src.Model.ImageSize, Channels = src.Model.InChannels == 1 ? ChannelMode.Gray : ChannelMode.Rgb },
            };
            if (r.ImageSize is { } s && s != src.Model.ImageSize)
                cfg = cfg with { Model = cfg.Model.Resized(s), Data = cfg.Data with { ImageSize = s } };
        }
        if (r.Preset is not null) cfg = WithPreset(cfg, r.Preset);
        int imageSize = r.ImageSize ?? cfg?.Data.ImageSize ?? 32;
        var dataConfig = (cfg?.Data ?? new DataConfig()) with { ImageSize = imageSize };
        if (r.Flip is { } flip) dataConfig = dataConfig with { FlipAugment = flip };

        // 2. The health check: a short summary, and no training on fatal problems unless forced.
        var report = DatasetReport.Run(data, new DatasetCheckOptions { Config = dataConfig });
        foreach (var line in report.Summary().Split(Environment.NewLine).Skip(1)) warn("check: " + line);
        if (report.HasFatal && !r.Force)
            throw new NoisetteInputException("the data check found a fatal problem: " +
                string.Join("; ", report.Fatal.Select(f => f.Message)) + ". Fix the folder, or pass --force to train anyway");

        // 3. The images.
        var dataset = LoadData(data, dataConfig, info, warn);

        // 4. The model, chosen from the images when nothing said which.
        cfg ??= TrainingConfig.FromPreset(AutoPreset(dataset.ResolvedChannels, imageSize));
        cfg = cfg with { Data = dataConfig with { Channels = dataset.ResolvedChannels } };
        if (cfg.Model.ImageSize != imageSize) cfg = cfg with { Model = cfg.Model.Resized(imageSize) };
        if (cfg.Model.InChannels != dataset.Channels)
            throw new NoisetteInputException(
                $"the images are {(dataset.Channels == 1 ? "gray" : "RGB")} but the model takes {cfg.Model.InChannels} channel(s); " +
                "choose a preset for these images, or set data.channels in the config");
        var labels = ClassLabels.FromSubfolders(dataset.RelativePaths, r.Classes);
        if (labels is not null)
        {
            info($"classes from subfolders ({labels.Count}): {string.Join(", ", labels.Names)}");
            if (cfg.ClassNames is { } known && !known.SequenceEqual(labels.Names))
                throw new NoisetteInputException($"the folder's classes ({string.Join(", ", labels.Names)}) differ from the starting model's ({string.Join(", ", known)})");
            if (r.InitFrom is not null && cfg.ClassNames is null && cfg.Model.NumClasses > 0)
                info($"the starting model's {cfg.Model.NumClasses} classes have no names (an import): the folder's {labels.Count} classes and the null class " +
                     $"get a new class embedding (label_emb.weight, {labels.Count + 1} rows), each row starting at the mean of the starting model's " +
                     $"{cfg.Model.NumClasses} rows; every other weight is the starting model's");
            cfg = cfg with { ClassNames = labels.Names, Model = cfg.Model with { NumClasses = labels.Count, NullClass = true } };
        }
        else if (cfg.ClassNames is not null || cfg.Model.NumClasses > 0)
        {
            if (r.InitFrom is null) cfg = cfg with { ClassNames = null, Model = cfg.Model with { NumClasses = 0, NullClass = false } };
            else throw new NoisetteInputException("the starting model is class-conditional: put the images in one subfolder per class");
        }
        cfg = cfg with
        {
            ClassDropout = r.ClassDropout ?? cfg.ClassDropout,
            ClassBalanced = r.ClassBalanced ?? cfg.ClassBalanced,
            Steps = r.Steps ?? cfg.Steps,
            Batch = r.Batch ?? cfg.Batch,
            LearningRate = r.LearningRate ?? cfg.LearningRate,
            EmaDecay = r.EmaDecay ?? cfg.EmaDecay,
            CheckpointEvery = r.CheckpointEvery ?? cfg.CheckpointEvery,
            Seed = r.Seed ?? cfg.Seed,
            Device = r.Device ?? cfg.Device,
            Threads = r.Threads ?? cfg.Threads,
            Precision = r.Precision ?? cfg.Precision,
        };
        cfg.Validate();
        Runtime.TorchRuntime.CheckThreads(cfg.Threads);
        // A precision this device cannot run (fp16 on a CPU) is refused before the run folder is touched.
        var device = Runtime.TorchRuntime.ResolveDevice(cfg.Device);
        PrecisionSupport.Resolve(cfg.Precision, device);
        // fp32 stays the default because bf16 is not faster on every CPU that lists the instructions (docs/benchmarks.md);
        // where it may be, say so once, unless the user or the config chose a precision.
        if (r.Precision is null && r.ConfigFile is null && cfg.Precision == Precision.Fp32 &&
            device.type == TorchSharp.DeviceType.CPU && PrecisionSupport.CpuHasBf16)
            info("this CPU computes bfloat16 natively (avx512_bf16 or amx_bf16): --precision auto trains in bf16, 1.4-1.8 times as " +
                 "fast as the default fp32 on the AMD CPU in docs/benchmarks.md, though not faster on every CPU that has these instructions");

        var keep = new List<(string, string)> { ("data folder", data) };
        if (initFromDir is not null) keep.Add(("--init-from checkpoint", initFromDir));
        // Claimed before anything in the folder moves, so that --force cannot move a running training's files.
        return Holding(RunLock.Acquire(run.Root), () =>
        {
            run.PrepareForNewRun(r.Force, keep);
            var train = new SubsetImageSet(dataset, dataset.TrainIndices, labels?.Labels);
            var runInfo = new RunInfo
            {
                DataPath = data,
                DatasetFingerprint = dataset.Fingerprint,
                TrainImages = dataset.TrainIndices.Length,
                ValidationImages = dataset.ValidationIndices.Length,
            };
            LogDataset(run, dataset);
            var trainer = Trainer.Start(cfg, run, train, runInfo, initFromDir, Validation(dataset, labels), warn);
            return new Prepared(trainer, dataset);
        });
    }

    /// <summary>Hands the run folder's lock to the trainer that <paramref name="make"/> returns; releases it if that fails.</summary>
    private static Prepared Holding(RunLock runLock, Func<Prepared> make)
    {
        try
        {
            var prepared = make();
            prepared.Trainer.Hold(runLock);
            return prepared;
        }
        catch
        {
            runLock.Dispose();
            throw;
        }
    }

    public static Prepared Resume(string runPath, int? steps, bool force, Action<string> info, Action<string> warn)
    {
        var run = new RunFolder(runPath);
        var rc = run.ReadConfig();
        return Holding(RunLock.Acquire(run.Root), () => ResumeHeld(run, rc, steps, force, info, warn));
    }

    private static Prepared ResumeHeld(RunFolder run, RunConfig rc, int? steps, bool force, Action<string> info, Action<string> warn)
    {
        var dataset = LoadData(rc.Run.DataPath, rc.Training.Data, info, warn);
        ClassLabels? labels = null;
        if (rc.Training.ClassNames is { } names)
        {
            labels = ClassLabels.FromSubfolders(dataset.RelativePaths, ClassMode.Subfolders)!;
            if (!labels.Names.SequenceEqual(names))
                throw new NoisetteInputException($"the data folder's classes ({string.Join(", ", labels.Names)}) differ from the run's ({string.Join(", ", names)})");
        }
        var trainer = Trainer.Resume(run, new SubsetImageSet(dataset, dataset.TrainIndices, labels?.Labels), dataset.Fingerprint, steps, force, warn,
                                     Validation(dataset, labels));
        return new Prepared(trainer, dataset);
    }

    private static SubsetImageSet? Validation(ImageDataset ds, ClassLabels? labels) =>
        ds.ValidationIndices.Length > 0 ? new SubsetImageSet(ds, ds.ValidationIndices, labels?.Labels) : null;

    /// <summary>Loads a folder, reporting skipped files and upscaled images; refuses a folder with no usable image.</summary>
    public static ImageDataset LoadData(string folder, DataConfig config, Action<string> info, Action<string> warn)
    {
        var ds = ImageDataset.Load(folder, config);
        info($"{ds.Count} images from {folder} ({(ds.Channels == 1 ? "gray" : "RGB")}, {ds.ImageSize} px): " +
             $"{ds.TrainIndices.Length} for training, {ds.ValidationIndices.Length} for validation");
        if (ds.Skipped.Count > 0)
        {
            warn($"skipped {ds.Skipped.Count} unreadable file(s):");
            foreach (var s in ds.Skipped.Take(10)) warn($"  {s.RelativePath}: {s.Reason}");
            if (ds.Skipped.Count > 10) warn($"  ... and {ds.Skipped.Count - 10} more (all listed in the run's log.txt)");
        }
        if (ds.Upscaled.Count > 0)
            warn($"{ds.Upscaled.Count} image(s) are smaller than {ds.ImageSize} px and were upscaled (e.g. {ds.Upscaled[0]})");
        return ds;
    }

    private static void LogDataset(RunFolder run, ImageDataset ds)
    {
        run.Log($"dataset: {ds.Count} images, {ds.TrainIndices.Length} train, {ds.ValidationIndices.Length} validation, fingerprint {ds.Fingerprint}");
        foreach (var s in ds.Skipped) run.Log($"skipped {s.RelativePath}: {s.Reason}");
        foreach (var u in ds.Upscaled) run.Log($"upscaled {u}");
    }

    public static string AutoPreset(ChannelMode channels, int imageSize) => (channels, imageSize) switch
    {
        (ChannelMode.Gray, <= 32) => "letters32",
        (ChannelMode.Gray, _) => "letters64",
        (_, <= 32) => "ddpm32",
        _ => "ddpm64",
    };

    private static TrainingConfig WithPreset(TrainingConfig? cfg, string preset)
    {
        var p = TrainingConfig.FromPreset(preset);
        return cfg is null ? p : cfg with { Preset = p.Preset, Model = p.Model, Data = cfg.Data with { ImageSize = p.Model.ImageSize } };
    }

}

/// <summary>A view of some images of a set (the training split of a dataset).</summary>
public sealed class SubsetImageSet : IImageSet
{
    private readonly ImageDataset source;
    private readonly int[] indices;
    private readonly int[]? labels;

    /// <param name="labels">Labels of all the dataset's images (indexed like the dataset), or null.</param>
    public SubsetImageSet(ImageDataset source, int[] indices, int[]? labels = null)
    {
        this.source = source;
        this.indices = indices;
        this.labels = labels;
    }

    public int LabelOf(int index) => labels?[indices[index]] ?? -1;

    public int Count => indices.Length;
    public int Channels => source.Channels;
    public int ImageSize => source.ImageSize;
    public void CopyImage(int index, Span<byte> destination) => source.CopyImage(indices[index], destination);
}
