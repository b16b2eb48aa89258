using Noisette.Data;
using Noisette.IO;
using Noisette.Models;
using Noisette.Runs;
using Noisette.Runtime;
using Noisette.Training;

namespace Noisette.Pipelines;

/// <summary>
/// Turns a request into a ready <see cref="Trainer"/>: resolves the configuration, loads and splits the images,
/// prepares the run folder. Shared by the CLI and the studio.
/// </summary>
public static class TrainingPipeline
{
    public sealed record Prepared(Trainer Trainer, ImageDataset Dataset);

    public static Prepared Start(TrainingRequest r, Action<string> info, Action<string> warn)
    {
        if (r.Threads is int threads) Runtime.TorchRuntime.CheckThreads(threads);   // before the data check and the run folder
        var data = Path.GetFullPath(r.DataPath);
        var run = new RunFolder(r.OutPath);
        if (PathContainment.IsSameOrInside(run.Root, data))
            throw new NoisetteInputException($"--out {run.Root} is inside the data folder {data}; Noisette never writes into the data folder");
        if (PathContainment.IsSameOrInside(data, run.Root))
            throw new NoisetteInputException(
                $"the data folder {data} is inside the output folder {run.Root}; Noisette never moves or writes into the data folder. Choose an --out outside it");

        // 1. What the configuration is made from besides the request: a config file, the run a fine-tune starts from.
        var configFile = r.ConfigFile is null ? null : ConfigUpgrade.ReadConfigFile(r.ConfigFile);
        string? initFromDir = null;
        FineTuneSource? source = null;
        if (r.InitFrom is not null)
        {
            var (sourceDir, _, sourceRun) = Checkpoint.Resolve(r.InitFrom);
            initFromDir = sourceDir;
            source = new FineTuneSource(Path.GetFileName(sourceRun.Root), sourceRun.ReadConfig().Training);
        }
        // A latent run's autoencoder: read (not loaded) now, for its factor and channels; the trainer loads it.
        var latent = r.Autoencoder is null ? null : LatentSpace.Of(new AutoencoderFolder(r.Autoencoder));
        if (latent is null && source?.Config.Autoencoder is { } sourceSpace) sourceSpace.Verify();

        // 2. The health check: a short summary, and no training on fatal problems unless forced.
        var report = DatasetReport.Run(data, new DatasetCheckOptions { Config = TrainingConfigResolver.CheckSettings(r, configFile, source, latent) });
        foreach (var line in report.Summary().Split(Environment.NewLine).Skip(1)) warn("check: " + line);
        if (report.HasFatal && !r.Force)
            throw new NoisetteInputException("the data check found a fatal problem: " +
                string.Join("; ", report.Fatal.Select(f => f.Message)) + ". Fix the folder, or pass --force to train anyway");

        // 3. The configuration, from the request and what the check measured (the studio resolves the same way).
        var resolution = TrainingConfigResolver.Resolve(r, DataFacts.From(report), configFile, source, latent);
        foreach (var note in resolution.Notes) info(note);
        var cfg = resolution.OrThrow();

        // 4. The images, as the model takes them.
        var dataset = LoadData(data, cfg.Pictures, info, warn);
        var labels = cfg.ClassNames is null ? null : ClassesOf(dataset, cfg.ClassNames);
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
            var trainer = Trainer.Start(cfg, run, train, runInfo, initFromDir, Validation(dataset, labels), warn, info);
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
        var dataset = LoadData(rc.Run.DataPath, rc.Training.Pictures, info, warn);
        var labels = rc.Training.ClassNames is { } names ? ClassesOf(dataset, names) : null;
        var trainer = Trainer.Resume(run, new SubsetImageSet(dataset, dataset.TrainIndices, labels?.Labels), dataset.Fingerprint, steps, force, warn,
                                     Validation(dataset, labels), info);
        return new Prepared(trainer, dataset);
    }

    /// <summary>The labels of a dataset's pictures from their subfolders, which must be the run's classes.</summary>
    private static ClassLabels ClassesOf(ImageDataset dataset, IReadOnlyList<string> names)
    {
        var labels = ClassLabels.FromSubfolders(dataset.RelativePaths, ClassMode.Subfolders)!;
        if (!labels.Names.SequenceEqual(names))
            throw new NoisetteInputException($"the data folder's classes ({string.Join(", ", labels.Names)}) differ from the run's ({string.Join(", ", names)})");
        return labels;
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
