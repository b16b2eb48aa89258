using System.Diagnostics;
using System.Globalization;
using Noisette.Data;
using Noisette.Evaluation;
using Noisette.IO;
using Noisette.Models;
using Noisette.Monitoring;
using Noisette.Runs;
using Noisette.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Noisette.Training;

/// <summary>
/// Trains a KL autoencoder (<see cref="AutoencoderKL"/>) on pictures as latent diffusion trains its first stage
/// (<see cref="AutoencoderTrainingConfig"/> gives the losses). The loop in <see cref="Train"/> reads top to bottom:
/// seed the step, take a batch, encode, draw a latent, decode; the reconstruction and KL losses, and from
/// <c>discriminator_start</c> the discriminator's loss weighted by the ratio of gradient norms at the decoder's last
/// layer; update the autoencoder; then update the discriminator on the batch and its (detached) reconstruction
/// with the hinge loss. Losses are read back only when logging. Every random draw of step k comes from (seed, k)
/// and the data order from the sample position, so a resumed run computes what an uninterrupted one does. At each
/// checkpoint the validation pictures are reconstructed (PSNR, SSIM, a grid of originals and reconstructions), and
/// the best so far by PSNR is published at the run's root as an autoencoder folder.
/// </summary>
public sealed class AutoencoderTrainer : IDisposable
{
    public const string AutoencoderFile = "autoencoder.safetensors";
    public const string DiscriminatorFile = "discriminator.safetensors";
    public const string OptimizerFile = "optimizer.safetensors";
    public const string DiscriminatorOptimizerFile = "discriminator-optimizer.safetensors";
    /// <summary>The run's configuration, at its root.</summary>
    public const string ConfigFile = "autoencoder-training.json";

    public AutoencoderTrainingConfig Config { get; }
    public RunFolder Run { get; }
    public AutoencoderFolder Output => new(Run.Root);
    public AutoencoderKL Model { get; }
    public PatchDiscriminator Discriminator { get; }
    public Device Device { get; }
    public int Step { get; private set; }
    public int TotalSteps { get; private set; }

    /// <summary>Live tensors made by training on this thread and the batch loader's (see <see cref="Trainer.LiveTensors"/>).</summary>
    public long LiveTensors => DisposeScopeManager.Statistics.ThreadTotalLiveCount + (loader?.WorkerLiveTensors ?? 0);

    private readonly IImageSet train;
    private readonly IImageSet? validation;
    private readonly string fingerprint;
    private readonly FlatParameters parameters, discriminatorParameters;
    private readonly AdamW optimizer, discriminatorOptimizer;
    private readonly Generator stepRandom;
    private TensorBoardWriter? tensorBoard;
    private BatchLoader? loader;
    private long dataPosition;
    private double? lastLoss;
    private long? resumedFrom;
    private RunLock? heldLock;

    private AutoencoderTrainer(AutoencoderTrainingConfig config, RunFolder run, IImageSet train, IImageSet? validation, string fingerprint)
    {
        config.Validate();
        if (train.Count == 0) throw new NoisetteInputException("there are no training pictures");
        if (train.Channels != config.Model.InChannels || train.ImageSize != config.ImageSize)
            throw new NoisetteInputException($"the pictures are {train.Channels}-channel {train.ImageSize} px; the run needs {config.Model.InChannels}-channel {config.ImageSize} px");
        Config = config;
        Run = run;
        this.train = train;
        this.validation = validation is { Count: > 0 } ? validation : null;
        this.fingerprint = fingerprint;
        TotalSteps = config.Steps;
        Device = TorchRuntime.ResolveDevice(config.Device);
        TorchRuntime.ConfigureThreads(config.Threads);
        Model = AutoencoderKL.Seeded(config.Model, config.Seed);
        Model.to(Device);
        Discriminator = new PatchDiscriminator(config.Model.InChannels, config.DiscriminatorChannels, config.DiscriminatorLayers, config.Seed + 1);
        Discriminator.to(Device);
        parameters = new FlatParameters(Model, withGrad: true);
        discriminatorParameters = new FlatParameters(Discriminator, withGrad: true);
        optimizer = new AdamW(parameters, config.Beta1, config.Beta2, 1e-8, 0);
        discriminatorOptimizer = new AdamW(discriminatorParameters, config.Beta1, config.Beta2, 1e-8, 0);
        stepRandom = new Generator((ulong)config.Seed, Device);
        foreach (var m in Model.modules()) if (m is GeneratorDropout d) d.Generator = stepRandom;
    }

    /// <summary>Starts a new run in an empty folder: writes its configuration, and loads the autoencoder it fine-tunes, if any.</summary>
    public static AutoencoderTrainer Start(AutoencoderTrainingConfig config, RunFolder run, IImageSet train, IImageSet? validation, string fingerprint,
                                           AutoencoderKL? initFrom = null)
    {
        var trainer = new AutoencoderTrainer(config, run, train, validation, fingerprint);
        try
        {
            if (initFrom is not null) AutoencoderWeights.Load(trainer.Model, AutoencoderWeights.Named(initFrom), config.InitFrom ?? "--init-from");
            Json.Write(Path.Combine(run.Root, ConfigFile), config);
            return trainer;
        }
        catch
        {
            trainer.Dispose();
            throw;
        }
    }

    /// <summary>Reads an autoencoder run's configuration.</summary>
    public static AutoencoderTrainingConfig ReadConfig(RunFolder run)
    {
        var path = Path.Combine(run.Root, ConfigFile);
        if (!File.Exists(path)) throw new NoisetteInputException($"{run.Root} is not an autoencoder training run: it has no {ConfigFile}");
        return Json.Read<AutoencoderTrainingConfig>(path);
    }

    private static readonly string[] RequiredFiles = [AutoencoderFile, DiscriminatorFile, OptimizerFile, DiscriminatorOptimizerFile];

    /// <summary>Continues a run from its newest valid checkpoint; <paramref name="totalSteps"/> raises the total.</summary>
    public static AutoencoderTrainer Resume(RunFolder run, IImageSet train, IImageSet? validation, string fingerprint, int? totalSteps = null,
                                            bool allowDifferentData = false, Action<string>? warn = null)
    {
        var config = ReadConfig(run);
        Checkpoint.CleanUp(run, warn);
        var (dir, state) = Checkpoint.LatestValid(run, warn, RequiredFiles)
            ?? throw new NoisetteInputException($"the autoencoder run {run.Root} has no valid checkpoint to resume from");
        if (!allowDifferentData && state.DatasetFingerprint != fingerprint)
            throw new NoisetteInputException($"the data folder's pictures differ from the ones the autoencoder run {run.Root} was trained on; " +
                                             "restore them, or pass --force to continue on the new ones");
        if (totalSteps is { } n)
        {
            if (n <= state.Step) throw new NoisetteInputException($"a total of {n} steps is not beyond the checkpoint's step {state.Step}; ask for more");
            config = config with { Steps = n };
        }
        var trainer = new AutoencoderTrainer(config, run, train, validation, fingerprint);
        try
        {
            using (var weights = SafeTensors.Load(Path.Combine(dir, AutoencoderFile)))
                AutoencoderWeights.Load(trainer.Model, weights.Tensors, dir);
            using (var d = SafeTensors.Load(Path.Combine(dir, DiscriminatorFile)))
                trainer.Discriminator.Load(d.Tensors.ToDictionary(t => t.Name, t => t.Tensor), dir);
            using (var o = SafeTensors.Load(Path.Combine(dir, OptimizerFile)))
                trainer.optimizer.LoadState(o.Tensors.ToDictionary(t => t.Name, t => t.Tensor), state.OptimizerSteps);
            using (var o = SafeTensors.Load(Path.Combine(dir, DiscriminatorOptimizerFile)))
                trainer.discriminatorOptimizer.LoadState(o.Tensors.ToDictionary(t => t.Name, t => t.Tensor), state.DiscriminatorSteps ?? 0);
            trainer.Step = (int)state.Step;
            trainer.resumedFrom = state.Step;
            trainer.dataPosition = state.DataPosition;
            trainer.lastLoss = state.Loss;
            if (totalSteps is not null) Json.Write(Path.Combine(run.Root, ConfigFile), config);
            int dropped = run.TruncateMetrics(state.Step);
            run.Log($"resumed from {RunFolder.StepName(state.Step)}" + (dropped > 0 ? $"; {dropped} metrics line(s) after it dropped" : ""));
            return trainer;
        }
        catch
        {
            trainer.Dispose();
            throw;
        }
    }

    /// <summary>Takes the run folder's lock, released when this trainer is disposed.</summary>
    public void Hold(RunLock runLock) => heldLock = runLock;

    /// <summary>Trains until the total is reached or <paramref name="cancel"/> fires; either way the last step is checkpointed.</summary>
    public TrainingOutcome Train(CancellationToken cancel, Action<TrainingProgress>? progress = null)
    {
        var cfg = Config;
        using var batches = new BatchLoader(train, cfg.Seed, cfg.Batch, cfg.Data.FlipAugment, dataPosition);
        loader = batches;
        using var sums = zeros(5, dtype: float64, device: Device);   // L1, KL, generator loss, discriminator loss, adaptive weight
        int window = 0, discriminatorWindow = 0, lastSaved = Step;
        var clock = Stopwatch.StartNew();
        double imagesPerSecond = 0;
        Model.train();
        Discriminator.train();
        var lastLayer = Model.LastDecoderWeight;

        while (Step < TotalSteps)
        {
            if (cancel.IsCancellationRequested) break;
            double lr = cfg.LearningRateAt(Step);
            bool adversarial = Step >= cfg.DiscriminatorStart;
            using (NewDisposeScope())
            {
                stepRandom.manual_seed(DataOrder.StepSeed(cfg.Seed, Step));
                using var batch = batches.Next();
                var x = batch.Images.to(Device);
                long b = x.shape[0];

                // The autoencoder: encode (without gradients when only the decoder trains), draw, decode.
                LatentPosterior posterior;
                using (cfg.FreezeEncoder ? no_grad() : null) posterior = Model.Encode(x);
                var reconstruction = Model.Decode(posterior.Sample(stepRandom));
                var l1 = (x - reconstruction).abs();
                var reconstructionLoss = l1.sum() / b;                 // summed over pixels, per picture
                var kl = posterior.KlDivergence().sum() / b;
                var loss = reconstructionLoss + cfg.KlWeight * kl;
                Tensor? generatorLoss = null, weight = null;
                if (adversarial)
                {
                    generatorLoss = -Discriminator.call(reconstruction).mean();
                    var gradReconstruction = autograd.grad([reconstructionLoss], [lastLayer], retain_graph: true)[0];
                    var gradGenerator = autograd.grad([generatorLoss], [lastLayer], retain_graph: true)[0];
                    weight = (gradReconstruction.norm() / (gradGenerator.norm() + 1e-4)).clamp(0, 1e4).detach() * cfg.DiscriminatorWeight;
                    loss = loss + weight * generatorLoss;
                }
                loss.backward();
                GradientClipping.Clip(parameters.Grad!, cfg.GradClip);
                optimizer.Step(lr);
                parameters.Grad!.zero_();
                discriminatorParameters.Grad!.zero_();                 // what the autoencoder's loss left there

                // The discriminator: real pictures against the (detached) reconstructions, hinge loss.
                Tensor? discriminatorLoss = null;
                if (adversarial)
                {
                    var fake = reconstruction.detach();
                    var real = Discriminator.call(x);
                    var faked = Discriminator.call(fake);
                    discriminatorLoss = 0.5 * (nn.functional.relu(1 - real).mean() + nn.functional.relu(1 + faked).mean());
                    discriminatorLoss.backward();
                    GradientClipping.Clip(discriminatorParameters.Grad!, cfg.GradClip);
                    discriminatorOptimizer.Step(lr);
                    discriminatorParameters.Grad!.zero_();
                    discriminatorWindow++;
                }
                var parts = stack([l1.detach().mean().to(float64), kl.detach().to(float64),
                                   (generatorLoss?.detach() ?? zeros(1)).reshape([]).to(float64, Device),
                                   (discriminatorLoss?.detach() ?? zeros(1)).reshape([]).to(float64, Device),
                                   (weight ?? zeros(1)).reshape([]).to(float64, Device)]);
                sums.add_(parts);
            }
            Step++;
            window++;
            dataPosition += cfg.Batch;

            bool checkpoint = Step % cfg.CheckpointEvery == 0 || Step == TotalSteps;
            if (Step % cfg.LogEvery == 0 || checkpoint)
            {
                var means = sums.cpu().data<double>().ToArray();     // the only read-back of the steps
                using (NewDisposeScope()) sums.zero_();
                double? Adv(int i) => discriminatorWindow > 0 ? means[i] / discriminatorWindow : null;
                double l1Mean = means[0] / window, klMean = means[1] / window;
                imagesPerSecond = window * cfg.Batch / Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
                lastLoss = l1Mean;
                Run.AppendMetrics(Metrics.AutoencoderTrainingLine(Step, l1Mean, klMean, Adv(2), Adv(3), Adv(4), lr, imagesPerSecond));
                var board = TensorBoard();
                board.AddScalar("train/l1", l1Mean, Step);
                board.AddScalar("train/kl", klMean, Step);
                if (Adv(2) is { } g) board.AddScalar("train/generator_loss", g, Step);
                if (Adv(3) is { } d) board.AddScalar("train/discriminator_loss", d, Step);
                if (Adv(4) is { } w) board.AddScalar("train/discriminator_weight", w, Step);
                board.AddScalar("train/images_per_second", imagesPerSecond, Step);
                progress?.Invoke(Report(l1Mean, lr, imagesPerSecond));
                window = 0;
                discriminatorWindow = 0;
                clock.Restart();
            }
            if (checkpoint)
            {
                var saved = SaveCheckpoint(lr, imagesPerSecond);    // not inside ?.Invoke: that would skip it without a listener
                progress?.Invoke(saved);
                lastSaved = Step;
                Model.train();
                Discriminator.train();
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


    private TrainingProgress Report(double loss, double lr, double ips) => new()
    {
        Step = Step,
        TotalSteps = TotalSteps,
        Loss = loss,
        LearningRate = lr,
        ImagesPerSecond = ips,
        Eta = ips > 0 ? TimeSpan.FromSeconds((TotalSteps - Step) * Config.Batch / ips) : TimeSpan.Zero,
    };

    /// <summary>The validation pictures' reconstruction: mean L1 per pixel, PSNR, SSIM, and the first eight of each for the grid.</summary>
    public (double L1, double Psnr, double Ssim, int Images, List<byte[]> Originals, List<byte[]> Reconstructions)? Validate()
    {
        if (validation is null || Config.ValidationImages == 0) return null;
        Model.eval();
        int count = Math.Min(validation.Count, Config.ValidationImages);
        double l1 = 0;
        var psnr = new List<double>();
        var ssim = new List<double>();
        var originals = new List<byte[]>();
        var reconstructions = new List<byte[]>();
        using (inference_mode())
            for (int start = 0; start < count; start += Config.Batch)
            {
                using var scope = NewDisposeScope();
                int n = Math.Min(Config.Batch, count - start);
                var x = Bundles.Pixels.FromImages(validation, Enumerable.Range(start, n).ToArray(), Device);
                var y = Model.call(x).clamp(-1, 1);
                l1 += (x - y).abs().mean([1, 2, 3]).sum().item<float>();
                psnr.AddRange(ReconstructionQuality.Psnr(x, y));
                ssim.AddRange(ReconstructionQuality.Ssim(x, y));
                if (originals.Count < 8)
                {
                    originals.AddRange(Bundles.Pixels.ToBytes(x).Take(8 - originals.Count));
                    reconstructions.AddRange(Bundles.Pixels.ToBytes(y).Take(8 - reconstructions.Count));
                }
            }
        return (l1 / count, psnr.Average(), ssim.Average(), count, originals, reconstructions);
    }

    /// <summary>
    /// Writes the checkpoint of the current step with its validation reconstruction quality, prunes old ones (never
    /// the best by PSNR), draws the grid and the loss chart, and publishes the best checkpoint as the run's autoencoder.
    /// </summary>
    public TrainingProgress SaveCheckpoint(double lr, double ips)
    {
        var board = TensorBoard();
        var v = Validate();
        string? grid = null;
        if (v is { } r)
        {
            Run.AppendMetrics(Metrics.ReconstructionLine(Step, r.L1, r.Psnr, r.Ssim, r.Images));
            board.AddScalar("validation/l1", r.L1, Step);
            board.AddScalar("validation/psnr", r.Psnr, Step);
            board.AddScalar("validation/ssim", r.Ssim, Step);
            grid = Run.SampleGridPath(Step);
            var image = ComparisonGrid.Write(grid, r.Originals, r.Reconstructions, Config.Model.InChannels, Config.ImageSize);
            board.AddPng("reconstructions", PngWriter.Encode(image), image.Width, image.Height, image.Channels, Step);
        }
        var state = new CheckpointState
        {
            Step = Step,
            Seed = Config.Seed,
            DataPosition = dataPosition,
            OptimizerSteps = optimizer.StepCount,
            DiscriminatorSteps = discriminatorOptimizer.StepCount,
            DatasetFingerprint = fingerprint,
            Loss = lastLoss,
            ValidationLoss = v?.L1,
            ValidationPsnr = v?.Psnr,
            ValidationSsim = v?.Ssim,
        };
        var meta = new Dictionary<string, string> { ["step"] = Step.ToString(CultureInfo.InvariantCulture), ["format"] = "noisette-autoencoder" };
        Checkpoint.WriteFiles(Run, state,
        [
            (AutoencoderFile, AutoencoderWeights.Named(Model)),
            (DiscriminatorFile, Discriminator.State()),
            (OptimizerFile, optimizer.State().ToList()),
            (DiscriminatorOptimizerFile, discriminatorOptimizer.State().ToList()),
        ], meta);
        var best = BestStep();
        Checkpoint.Prune(Run, Config.KeepCheckpoints, new HashSet<long> { best });
        if (best == Step || !Output.Exists) Publish(state);
        Run.Log($"checkpoint {RunFolder.StepName(Step)} (L1 {lastLoss?.ToString("F5", CultureInfo.InvariantCulture) ?? "n/a"}" +
                (v is { } q ? string.Create(CultureInfo.InvariantCulture, $", validation PSNR {q.Psnr:F2} dB, SSIM {q.Ssim:F4}") : "") + ")");
        AtomicFile.WriteAllBytes(Run.LossPlotPath, LossChart.Render(Metrics.Read(Run.MetricsPath)));
        return Report(lastLoss ?? double.NaN, lr, ips) with { CheckpointDir = Run.CheckpointDir(Step), SampleGrid = grid, ValidationLoss = v?.L1 };
    }

    /// <summary>The checkpoint with the highest validation PSNR (the latest when none was validated).</summary>
    private long BestStep()
    {
        var states = Run.CheckpointSteps().Select(s =>
        {
            try { return Json.Read<CheckpointState>(Path.Combine(Run.CheckpointDir(s), Checkpoint.StateFile)); }
            catch (NoisetteInputException) { return null; }
        }).OfType<CheckpointState>().ToList();
        var validated = states.Where(s => s.ValidationPsnr is { } p && double.IsFinite(p)).ToList();
        return validated.Count > 0 ? validated.OrderByDescending(s => s.ValidationPsnr).ThenBy(s => s.Step).First().Step : Step;
    }

    /// <summary>Makes the current weights the run's autoencoder (autoencoder.json and .safetensors at its root).</summary>
    private void Publish(CheckpointState state) =>
        Output.Write(new AutoencoderInfo
        {
            Config = Config.Model,
            Scale = null,
            Origin = "trained",
            Source = Run.Root,
            Step = state.Step,
            ImageSize = Config.ImageSize,
            ValidationPsnr = state.ValidationPsnr,
            ValidationSsim = state.ValidationSsim,
        }, AutoencoderWeights.Named(Model));

    private TensorBoardWriter TensorBoard()
    {
        if (tensorBoard is null)
        {
            tensorBoard = new TensorBoardWriter(Run.TensorBoardDir);
            if (resumedFrom is long step) tensorBoard.AddSessionStart(step + 1);
        }
        return tensorBoard;
    }

    public void Dispose()
    {
        tensorBoard?.Dispose();
        optimizer.Dispose();
        discriminatorOptimizer.Dispose();
        parameters.Dispose();
        discriminatorParameters.Dispose();
        Model.Dispose();
        Discriminator.Dispose();
        stepRandom.Dispose();
        heldLock?.Dispose();
    }
}
