using Noisette.Bundles;
using System.Diagnostics;
using System.Globalization;
using Noisette.Data;
using Noisette.Diffusion;
using Noisette.Evaluation;
using Noisette.IO;
using Noisette.Monitoring;
using Noisette.Models;
using Noisette.Runs;
using Noisette.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Noisette.Training;

/// <summary>
/// Trains a U-Net on a set of images. The loop in <see cref="Train"/> reads top to bottom: seed the step, take a
/// batch, noise it, predict, back-propagate, clip, update, average; read the loss back only when logging;
/// checkpoint every N steps. All randomness of step k derives from (seed, k) and the data order from the sample
/// position, so a run interrupted and resumed produces the same weights as one that ran straight through.
/// A latent run (<see cref="TrainingConfig.Autoencoder"/>) is the same loop on latents: its pictures are encoded once
/// (<see cref="LatentTrainingData"/>), each step draws its latents from their cached posteriors, and grids, the sample
/// distance and the pictures a person sees are decoded to pixels.
/// </summary>
public sealed class Trainer : IDisposable
{
    public TrainingConfig Config { get; }
    public RunFolder Run { get; }
    public UNet Model { get; }
    public Ema Ema { get; }
    public AdamW Optimizer { get; }
    public GaussianDiffusion Diffusion { get; }
    public Device Device { get; }
    /// <summary>The resolved precision of the forward and backward passes (never <see cref="Precision.Auto"/>).</summary>
    public Precision Precision { get; }
    /// <summary>The network that runs forward and backward: <see cref="Model"/> in fp32, its low-precision copy otherwise.</summary>
    public UNet Network => lowPrecision?.Model ?? Model;
    /// <summary>Optimizer steps completed.</summary>
    public int Step { get; private set; }
    /// <summary>The total the run trains to (may be raised on resume).</summary>
    public int TotalSteps { get; private set; }

    /// <summary>
    /// The live tensors that training has made, whichever thread made them: TorchSharp's count of the calling thread
    /// plus that of the batch loader's thread (batches are made there and disposed on the training thread, so each
    /// count alone drifts by a batch per step). Read on the training thread, in a progress callback, it varies only
    /// by the few batches in flight; growth with the number of steps is a leak.
    /// </summary>
    public long LiveTensors => DisposeScopeManager.Statistics.ThreadTotalLiveCount + (loader?.WorkerLiveTensors ?? 0);

    private readonly IImageSet train;
    private readonly IImageSet? validation;
    private readonly string fingerprint;
    /// <summary>A latent run's autoencoder and encoded pictures; null for a pixel run.</summary>
    private readonly LatentTrainingData? latent;
    /// <summary>A latent run's validation pictures as fixed latents (posterior means), made at the first checkpoint.</summary>
    private Tensor? validationLatents;
    private TensorBoardWriter? tensorBoard;
    private readonly FlatParameters parameters;
    private readonly LowPrecisionCopy? lowPrecision;
    private readonly LossScaler? lossScaler;
    private long dataPosition;
    private double? lastLoss;
    private BatchLoader? loader;

    private Trainer(TrainingConfig config, RunFolder run, IImageSet train, IImageSet? validation, string fingerprint, Action<string>? warn = null,
                    Action<string>? info = null)
    {
        config.Validate();
        if (train.Count == 0) throw new NoisetteInputException("there are no training images");
        int channels = config.PixelChannels == ChannelMode.Gray ? 1 : 3;
        if (train.Channels != channels)
            throw new NoisetteInputException($"the images have {train.Channels} channel(s), the model expects {channels}");
        if (train.ImageSize != config.PixelSize)
            throw new NoisetteInputException($"the images are {train.ImageSize} px, the model expects {config.PixelSize} px");
        Config = config;
        Run = run;
        this.train = train;
        this.validation = validation is { Count: > 0 } ? validation : null;
        this.fingerprint = fingerprint;
        TotalSteps = config.Steps;
        Device = TorchRuntime.ResolveDevice(config.Device);
        Precision = PrecisionSupport.Resolve(config.Precision, Device, warn);
        TorchRuntime.ConfigureThreads(config.Threads);
        Diffusion = new GaussianDiffusion(config.Diffusion);
        if (config.Autoencoder is { } space)
        {
            latent = LatentTrainingData.Open(space, run, train, fingerprint, config.Data.FlipAugment, Device, info);
            config = config with { Autoencoder = latent.Space };   // the measured scale, when the autoencoder has none
        }

        Model = UNet.Seeded(config.Model, config.Seed);
        Model.to(Device);
        var emaModel = new UNet(config.Model);
        emaModel.to(Device);
        parameters = new FlatParameters(Model, withGrad: true);
        Ema = new Ema(parameters, emaModel, config.EmaDecay, config.EmaWarmup);
        Optimizer = new AdamW(parameters, config.Beta1, config.Beta2, config.AdamEpsilon, config.WeightDecay);
        if (Precision != Precision.Fp32)
            lowPrecision = new LowPrecisionCopy(Model, parameters, PrecisionSupport.ScalarTypeOf(Precision), Device);
        if (Precision == Precision.Fp16) lossScaler = new LossScaler();
        // Every random draw of a step (timesteps, noise, label dropout, dropout masks) comes from the run's own
        // generator, reseeded per step: not from libtorch's process-wide one, which anything else in the process may
        // draw from at the same moment.
        stepRandom = new Generator((ulong)config.Seed, Device);
        Model.DrawFrom(stepRandom);
        lowPrecision?.Model.DrawFrom(stepRandom);
        Config = config with { Precision = Precision };
    }

    /// <summary>Starts a new run: writes config.json and, when <paramref name="initFrom"/> is given, loads its model and EMA weights.</summary>
    /// <param name="progress">Says what takes a while before the first step (encoding a latent run's pictures).</param>
    public static Trainer Start(TrainingConfig config, RunFolder run, IImageSet train, RunInfo info, string? initFrom = null,
                                IImageSet? validation = null, Action<string>? warn = null, Action<string>? progress = null)
    {
        var trainer = new Trainer(config, run, train, validation, info.DatasetFingerprint, warn, progress);
        try
        {
            Checkpoint.CleanUp(run, warn);
            if (initFrom is not null)
            {
                var (dir, _, _) = Checkpoint.Resolve(initFrom);
                // A class embedding new to this run: zero when the source is unconditional (the model begins exactly as
                // the source); for a class-conditional source of another class count, ModelWeights starts each new row
                // at the mean of the source's rows.
                static bool NewEmbedding(string name) => name == "label_emb.weight";
                ModelWeights.Load(trainer.Model, Path.Combine(dir, Checkpoint.ModelFile), NewEmbedding);
                ModelWeights.Load(trainer.Ema.Model, Path.Combine(dir, Checkpoint.EmaFile), NewEmbedding);
                info = info with { InitFrom = dir };
            }
            // The resolved precision is recorded, so a resumed run computes exactly as it began.
            run.WriteConfig(new RunConfig { Training = trainer.Config, Run = info });
            return trainer;
        }
        catch
        {
            trainer.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Continues a run from its newest valid checkpoint. <paramref name="totalSteps"/> raises the total.
    /// A different dataset is refused unless <paramref name="allowDifferentData"/>.
    /// </summary>
    public static Trainer Resume(RunFolder run, IImageSet train, string fingerprint, int? totalSteps = null,
                                 bool allowDifferentData = false, Action<string>? warn = null, IImageSet? validation = null,
                                 Action<string>? progress = null)
    {
        var cfg = run.ReadConfig();
        Checkpoint.CleanUp(run, warn);
        var latest = Checkpoint.LatestValid(run, warn)
            ?? throw new NoisetteInputException($"run {run.Root} has no valid checkpoint to resume from");
        var (dir, state) = latest;
        if (!allowDifferentData && state.DatasetFingerprint != fingerprint)
            throw new NoisetteInputException(
                $"the data folder's images differ from the ones run {run.Root} was trained on (fingerprint {Short(fingerprint)} ≠ {Short(state.DatasetFingerprint)}); " +
                "restore the original images, or pass --force to continue on the new ones");
        var config = cfg.Training;
        if (totalSteps is { } n)
        {
            if (n <= state.Step) throw new NoisetteInputException($"a total of {n} steps is not beyond the checkpoint's step {state.Step}; ask for more steps than that");
            config = config with { Steps = n };
        }
        var trainer = new Trainer(config, run, train, validation, fingerprint, warn, progress);
        try
        {
            ModelWeights.Load(trainer.Model, Path.Combine(dir, Checkpoint.ModelFile));
            ModelWeights.Load(trainer.Ema.Model, Path.Combine(dir, Checkpoint.EmaFile));
            using (var opt = SafeTensors.Load(Path.Combine(dir, Checkpoint.OptimizerFile)))
                trainer.Optimizer.LoadState(opt.Tensors.ToDictionary(t => t.Name, t => t.Tensor), state.OptimizerSteps);
            trainer.Ema.Updates = state.EmaUpdates;
            if (trainer.lossScaler is not null && state.LossScale is { } scale) trainer.lossScaler.Restore(scale, state.LossScaleGoodSteps ?? 0);
            trainer.Step = (int)state.Step;
            trainer.resumedFrom = state.Step;
            trainer.dataPosition = state.DataPosition;
            trainer.lastLoss = state.Loss;
            // Only now that the resume has started is the run's record changed: the raised total, and the metrics
            // cut back to the checkpoint (lines logged after it, before a crash, are logged again by this run).
            if (totalSteps is not null) run.WriteConfig(cfg with { Training = config });
            int dropped = run.TruncateMetrics(state.Step);
            run.Log($"resumed from {RunFolder.StepName(state.Step)}" +
                    (dropped > 0 ? $"; {dropped} metrics line(s) after it (or cut by a crash) dropped" : ""));
            return trainer;
        }
        catch
        {
            trainer.Dispose();
            throw;
        }
    }

    private static string Short(string s) => s.Length > 12 ? s[..12] : s;

    /// <summary>
    /// This process's TensorBoard event file, opened at the first event. A resumed run's file starts with a restart
    /// mark just after the checkpoint's step, so that TensorBoard drops what an earlier process logged after it
    /// (as the metrics are cut back to it).
    /// </summary>
    private TensorBoardWriter TensorBoard()
    {
        if (tensorBoard is null)
        {
            tensorBoard = new TensorBoardWriter(Run.TensorBoardDir);
            if (resumedFrom is long step) tensorBoard.AddSessionStart(step + 1);
        }
        return tensorBoard;
    }

    private long? resumedFrom;

    /// <summary>Trains until the total is reached or <paramref name="cancel"/> fires; either way the last step is checkpointed.</summary>
    public TrainingOutcome Train(CancellationToken cancel, Action<TrainingProgress>? progress = null)
    {
        var cfg = Config;
        using var loader = new BatchLoader(train, cfg.Seed, cfg.Batch, cfg.Data.FlipAugment, dataPosition, cfg.ClassBalanced, latents: latent?.Cache);
        this.loader = loader;
        using var lossSum = zeros(1, dtype: float32, device: Device);
        int window = 0, lastSaved = Step;
        var clock = Stopwatch.StartNew();
        double imagesPerSecond = 0;
        Network.train();
        lowPrecision?.Refresh();    // the master weights may have been loaded since the copy was made

        while (Step < TotalSteps)
        {
            if (cancel.IsCancellationRequested) break;
            double lr = cfg.LearningRateAt(Step);
            using (var scope = NewDisposeScope())
            {
                stepRandom.manual_seed(DataOrder.StepSeed(cfg.Seed, Step));
                // The step's timesteps and noise are drawn for the whole effective batch first, so that accumulating
                // k micro-batches of B images computes the same update as one batch of k·B (up to rounding).
                int images = cfg.ImagesPerStep;
                var tAll = randint(0, Diffusion.T, [images], dtype: int64, device: Device, generator: stepRandom);
                var noiseAll = Diffusion.TrainingNoise([images, cfg.Model.InChannels, cfg.Model.ImageSize, cfg.Model.ImageSize], Device, stepRandom);
                for (int micro = 0; micro < cfg.GradAccumulation; micro++)
                {
                    using var batch = loader.Next();
                    var x0 = latent is null ? batch.Images.to(Device) : latent.Draw(batch, Device, stepRandom);
                    var t = tAll.narrow(0, micro * cfg.Batch, cfg.Batch);
                    var noise = noiseAll.narrow(0, micro * cfg.Batch, cfg.Batch);
                    var y = Labels(batch.Labels);
                    var xt = Diffusion.QSample(x0, t, noise);
                    // The network computes in the run's precision; the loss is always float32.
                    var output = Network.Forward(xt, t, y).to(float32);
                    var loss = Diffusion.Loss(output, x0, noise, t).mean() / cfg.GradAccumulation;
                    (lossScaler is null ? loss : loss * lossScaler.Scale).backward();
                    lowPrecision?.MoveGradients();
                    lossSum.add_(loss.detach());
                }
                if (lossScaler is null || lossScaler.Unscale(parameters.Grad!))
                {
                    GradientClipping.Clip(parameters.Grad!, cfg.GradClip);
                    Optimizer.Step(lr);
                    lowPrecision?.Refresh();
                    Ema.Update();
                }
                parameters.Grad!.zero_();
            }
            Step++;
            window++;
            dataPosition += cfg.ImagesPerStep;

            bool checkpoint = Step % cfg.CheckpointEvery == 0 || Step == TotalSteps;
            if (Step % cfg.LogEvery == 0 || checkpoint)
            {
                double loss = lossSum.item<float>() / window;    // the only read-back of the step
                using (NewDisposeScope()) lossSum.zero_();       // zero_ returns a new handle: the scope frees it
                imagesPerSecond = window * cfg.ImagesPerStep / Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
                lastLoss = loss;
                Run.AppendMetrics(Metrics.TrainingLine(Step, loss, lr, imagesPerSecond));
                var board = TensorBoard();
                board.AddScalar("train/loss", loss, Step);
                board.AddScalar("train/learning_rate", lr, Step);
                board.AddScalar("train/images_per_second", imagesPerSecond, Step);
                progress?.Invoke(Report(loss, lr, imagesPerSecond));
                window = 0;
                clock.Restart();
            }
            if (checkpoint)
            {
                var saved = SaveCheckpoint(lr, imagesPerSecond);
                progress?.Invoke(saved);
                lastSaved = Step;
                clock.Restart();
            }
        }

        if (Step != lastSaved)
        {
            var saved = SaveCheckpoint(cfg.LearningRateAt(Step), imagesPerSecond);
            progress?.Invoke(saved with { Message = "stopped: checkpoint written" });
            return TrainingOutcome.Interrupted;
        }
        return Step >= TotalSteps ? TrainingOutcome.Completed : TrainingOutcome.Interrupted;
    }

    /// <summary>The batch's labels on the device, with a fraction replaced by the null class (label dropout).</summary>
    private Tensor? Labels(Tensor? labels)
    {
        if (labels is null || !Model.IsConditional) return null;
        return LabelDropout.Apply(labels.to(Device), Config.ClassDropout, Model.NullLabel, stepRandom);
    }


    private TrainingProgress Report(double loss, double lr, double ips) => new()
    {
        Step = Step,
        TotalSteps = TotalSteps,
        Loss = loss,
        LearningRate = lr,
        ImagesPerSecond = ips,
        Eta = ips > 0 ? TimeSpan.FromSeconds((TotalSteps - Step) * Config.ImagesPerStep / ips) : TimeSpan.Zero,
    };

    /// <summary>
    /// Writes the checkpoint of the current step with its validation loss (EMA weights), prunes old ones (never the
    /// best), samples the EMA grid, and redraws the loss chart.
    /// </summary>
    public TrainingProgress SaveCheckpoint(double lr, double ips)
    {
        var board = TensorBoard();
        if (latent is not null && validation is not null)
            validationLatents ??= latent.Encode(validation, ValidationLoss.Select(validation, ValidationLoss.MaxImages));
        var val = validation is null ? null : ValidationLoss.Compute(Ema.Model, Diffusion, validation, encoded: validationLatents);
        if (val is not null)
        {
            Run.AppendMetrics(Metrics.ValidationLine(Step, val, Config.ClassNames));
            board.AddScalar("validation/loss", val.Loss, Step);
            board.AddScalar("validation/low_noise", val.LowNoise, Step);
            board.AddScalar("validation/mid_noise", val.MidNoise, Step);
            board.AddScalar("validation/high_noise", val.HighNoise, Step);
            if (val.ByClass is not null && Config.ClassNames is not null)
                for (int c = 0; c < val.ByClass.Length; c++)
                    if (double.IsFinite(val.ByClass[c])) board.AddScalar($"validation/class/{Config.ClassNames[c]}", val.ByClass[c], Step);
        }
        var averaged = AveragedBundle();
        IReadOnlyList<byte[]>? samples = null;
        double? distance = null;
        if (Config.DistanceSamples > 0 && train.Count >= SampleDistance.MinPictures)
        {
            samples = CheckpointGrid.Sample(averaged, Config, Config.DistanceSamples);
            distance = (sampleDistance ??= SampleDistance.To(train)).Of(samples);
            Network.train();
            Run.AppendMetrics(Metrics.SampleDistanceLine(Step, distance.Value, samples.Count));
            board.AddScalar("samples/distance", distance.Value, Step);
        }
        var state = new CheckpointState
        {
            Step = Step,
            Seed = Config.Seed,
            DataPosition = dataPosition,
            OptimizerSteps = Optimizer.StepCount,
            EmaUpdates = Ema.Updates,
            DatasetFingerprint = fingerprint,
            Loss = lastLoss,
            ValidationLoss = val?.Loss,
            ValidationByNoise = val is null ? null : [val.LowNoise, val.MidNoise, val.HighNoise],
            SampleDistance = distance,
            LossScale = lossScaler?.Scale,
            LossScaleGoodSteps = lossScaler?.GoodSteps,
        };
        var meta = new Dictionary<string, string> { ["step"] = Step.ToString(CultureInfo.InvariantCulture), ["format"] = "noisette" };
        Checkpoint.Write(Run, state, ModelWeights.Named(Model), ModelWeights.Named(Ema.Model), Optimizer.State().ToList(), meta);
        var best = Checkpoint.Best(Run);
        Checkpoint.Prune(Run, Config.KeepCheckpoints, best is null ? null : new HashSet<long> { best.Step });
        Run.Log($"checkpoint {RunFolder.StepName(Step)} (loss {lastLoss?.ToString("F5", CultureInfo.InvariantCulture) ?? "n/a"}" +
                (val is null ? "" : $", validation {val.Loss.ToString("F5", CultureInfo.InvariantCulture)}") +
                (distance is null ? ")" : $", sample distance {distance.Value.ToString("F2", CultureInfo.InvariantCulture)})"));
        string? grid = null;
        if (Config.SampleCount > 0)
        {
            grid = Run.SampleGridPath(Step);
            var image = CheckpointGrid.Write(averaged, Config, grid, Step, samples);
            Network.train();
            board.AddPng("samples", PngWriter.Encode(image), image.Width, image.Height, image.Channels, Step);
        }
        AtomicFile.WriteAllBytes(Run.LossPlotPath, LossChart.Render(Metrics.Read(Run.MetricsPath)));
        return Report(lastLoss ?? double.NaN, lr, ips) with { CheckpointDir = Run.CheckpointDir(Step), SampleGrid = grid, ValidationLoss = val?.Loss, SampleDistance = distance };
    }

    /// <summary>
    /// The averaged (EMA) network as the run's bundle (with a latent run's autoencoder), for the checkpoint grid; the
    /// bundle owns nothing, the network stays <see cref="Ema"/>'s.
    /// </summary>
    private ModelBundle AveragedBundle() =>
        new(Ema.Model, Diffusion, latent?.Autoencoder ?? (IAutoencoder)IdentityAutoencoder.Instance, ClassConditioner.For(Ema.Model.Config, Config.ClassNames));

    /// <summary>
    /// Takes the run folder's lock, released when this trainer is disposed (after its last write). The pipelines
    /// claim the folder before preparing it and hand the claim over here.
    /// </summary>
    public void Hold(RunLock runLock)
    {
        if (heldLock is not null && !ReferenceEquals(heldLock, runLock)) throw new InvalidOperationException("this trainer already holds its run's lock");
        heldLock = runLock;
    }

    private RunLock? heldLock;

    /// <summary>The training pictures' statistics for the sample distance, computed at the first checkpoint that needs them.</summary>
    private SampleDistance? sampleDistance;
    private readonly Generator stepRandom;

    public void Dispose()
    {
        tensorBoard?.Dispose();
        Optimizer.Dispose();
        Ema.Dispose();
        lowPrecision?.Dispose();
        Model.Dispose();
        parameters.Dispose();
        stepRandom.Dispose();
        sampleDistance?.Dispose();
        validationLatents?.Dispose();
        latent?.Dispose();
        heldLock?.Dispose();
    }
}
