using Noisette.Data;
using Noisette.Diffusion;
using Noisette.Models;
using System.Globalization;
using System.Text.Json.Serialization;
using Noisette.Runtime;

namespace Noisette.Runs;

public enum LrSchedule { Constant, Cosine }

/// <summary>
/// Everything that defines a run, in one record: the model, the diffusion process, the data and the optimisation.
/// It is written in full to RUN/config.json, so a run can always be resumed, sampled or reproduced from its folder.
/// </summary>
public sealed record TrainingConfig
{
    /// <summary>The preset the model came from (informational; <see cref="Model"/> is what counts).</summary>
    public string Preset { get; init; } = "tiny";
    public UNetConfig Model { get; init; } = ModelPresets.Get("tiny").Model;
    public DiffusionConfig Diffusion { get; init; } = new();
    /// <summary>How the pictures are prepared. Their size and channel count follow the model: see <see cref="Pictures"/>.</summary>
    public DataSettings Data { get; init; } = new();
    /// <summary>
    /// For a latent run, the autoencoder whose latents the U-Net learns (the model's size and channels are then the
    /// latents'); null for a pixel run.
    /// </summary>
    public LatentSpace? Autoencoder { get; init; }

    /// <summary>Optimizer steps in total.</summary>
    public int Steps { get; init; } = TrainingDefaults.Steps;
    public int Batch { get; init; } = 32;
    /// <summary>Micro-batches whose gradients are summed per optimizer step (the effective batch is Batch × this).</summary>
    public int GradAccumulation { get; init; } = 1;
    public double LearningRate { get; init; } = 2e-4;
    public int WarmupSteps { get; init; } = 200;
    public LrSchedule LrSchedule { get; init; } = LrSchedule.Constant;
    /// <summary>Cosine schedule's floor, as a fraction of the learning rate.</summary>
    public double MinLrFraction { get; init; } = 0.1;
    public double WeightDecay { get; init; } = 0.0;
    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.999;
    public double AdamEpsilon { get; init; } = 1e-8;
    /// <summary>Clip the global gradient norm to this; 0 turns clipping off.</summary>
    public double GradClip { get; init; } = 1.0;
    public double EmaDecay { get; init; } = 0.999;
    /// <summary>Warm the EMA up: decay = min(EmaDecay, (1+n)/(10+n)) after n updates.</summary>
    public bool EmaWarmup { get; init; } = true;

    public int CheckpointEvery { get; init; } = TrainingDefaults.CheckpointEvery(TrainingDefaults.Steps);
    /// <summary>Checkpoints kept; older ones are deleted when a new one is written.</summary>
    public int KeepCheckpoints { get; init; } = 5;
    /// <summary>Metrics and progress every this many steps (the only place the loss is read back from the device).</summary>
    public int LogEvery { get; init; } = 10;
    /// <summary>Images in the sample grid written at each checkpoint (0 turns grids off).</summary>
    public int SampleCount { get; init; } = 16;
    /// <summary>
    /// The sampler of the checkpoint grids. Euler ancestral draws fresh noise at every step, which washes out the
    /// errors of a model early in training: the deterministic samplers (DDIM, DPM-Solver++) keep them as speckled
    /// backgrounds that later checkpoints lose, so grids of early checkpoints would look worse than the model is.
    /// </summary>
    public string SampleSampler { get; init; } = Sampling.Samplers.Default;
    /// <summary>
    /// Sampler steps of the grids (and of the sample distance). Euler ancestral at 20 steps scored as well as at 50
    /// on the letters benchmark (docs/quality.md), in 40% of the time.
    /// </summary>
    public int SampleSteps { get; init; } = 20;
    /// <summary>
    /// Pictures sampled at each checkpoint (EMA weights, the grid's sampler, seeds from <see cref="SampleSeed"/>) to
    /// measure their sample distance to the training pictures, by which "best" chooses (0 turns it off; "best" then
    /// goes by the validation loss). An unconditional run's grid shows the first of these.
    /// </summary>
    public int DistanceSamples { get; init; } = 64;
    /// <summary>Seed of the checkpoint grids: the same for every checkpoint so grids compare over time.</summary>
    public long SampleSeed { get; init; } = 0;
    /// <summary>Classifier-free guidance of the grids of a class-conditional run.</summary>
    public double SampleGuidance { get; init; } = 2.0;

    /// <summary>Class names of a class-conditional run (label i is ClassNames[i]); null for an unconditional one.</summary>
    public string[]? ClassNames { get; init; }
    /// <summary>Fraction of labels replaced by the null class during training, for classifier-free guidance.</summary>
    public double ClassDropout { get; init; } = 0.1;
    /// <summary>Visit every class equally often, whatever the number of images in each.</summary>
    public bool ClassBalanced { get; init; } = false;

    public long Seed { get; init; } = 0;
    public string Device { get; init; } = "cpu";
    /// <summary>Intra-op threads; 0 = the number of cores.</summary>
    public int Threads { get; init; } = 0;
    /// <summary>
    /// Precision of the forward and backward passes (weights, optimizer state, EMA and checkpoints stay float32).
    /// A run records the resolved value, so auto becomes fp32 or bf16 in its config.json. The default is fp32:
    /// on the 2-core AVX-512 BF16 Xeon of docs/benchmarks.md, libtorch 2.10's bf16 convolutions at these
    /// channel counts are no faster than fp32, so bf16 training measured about 30% slower there.
    /// </summary>
    public Precision Precision { get; init; } = Precision.Fp32;

    public int ImagesPerStep => Batch * GradAccumulation;

    /// <summary>
    /// Side of the square pictures the run trains on, in pixels: the model's own size, times the autoencoder's factor
    /// for a latent run (here, and only here).
    /// </summary>
    [JsonIgnore] public int PixelSize => Model.ImageSize * (Autoencoder?.Factor ?? 1);

    /// <summary>Channels of the pictures the run trains on: the model's, or for a latent run its autoencoder's.</summary>
    [JsonIgnore] public ChannelMode PixelChannels => Autoencoder?.Channels ?? (Model.InChannels == 1 ? ChannelMode.Gray : ChannelMode.Rgb);

    /// <summary>True when the U-Net learns an autoencoder's latents rather than pixels.</summary>
    [JsonIgnore] public bool IsLatent => Autoencoder is not null;

    /// <summary>How this run's pictures are loaded: <see cref="Data"/> at <see cref="PixelSize"/> and <see cref="PixelChannels"/>.</summary>
    [JsonIgnore] public DataConfig Pictures => new(Data, PixelSize) { Channels = PixelChannels };

    /// <summary>Throws <see cref="NoisetteInputException"/> naming the first bad setting.</summary>
    public void Validate()
    {
        if (Problems().FirstOrDefault() is { } p) throw new NoisetteInputException("config: " + p.Message);
    }

    /// <summary>Every setting out of range or inconsistent, each named in words with its key.</summary>
    public IReadOnlyList<ConfigProblem> Problems()
    {
        var list = new List<ConfigProblem>();
        void Check(bool ok, string key, string message) { if (!ok) list.Add(new ConfigProblem(key, message)); }
        void Part(string key, Action validate)
        {
            try { validate(); }
            catch (NoisetteInputException e) { list.Add(new ConfigProblem(key, e.Message)); }
        }
        Part("model", Model.Validate);
        Part("diffusion", Diffusion.Validate);
        Part("data", Data.Validate);
        if (Autoencoder is not null) list.AddRange(Autoencoder.Problems(Model));
        else if (Model.InChannels is not (1 or 3))
            list.Add(new ConfigProblem("autoencoder", $"the U-Net takes {Model.InChannels}-channel input (model.in_channels), which only an autoencoder's " +
                                                      "latents have, but the run names no autoencoder: choose one, or a pixel preset"));
        var s = CultureInfo.InvariantCulture;
        Check(Steps >= 1, "steps", $"the number of steps must be at least 1, got {Steps}");
        Check(Batch >= 1, "batch", $"the batch must be at least 1 picture per step, got {Batch}");
        Check(GradAccumulation >= 1, "grad_accumulation", $"the micro-batches per step (grad_accumulation) must be at least 1, got {GradAccumulation}");
        Check(LearningRate > 0 && LearningRate < 1, "learning_rate", $"the learning rate must be above 0 and below 1, got {LearningRate.ToString(s)}");
        Check(WarmupSteps >= 0, "warmup_steps", $"the learning-rate warm-up (warmup_steps) must not be negative, got {WarmupSteps}");
        Check(EmaDecay is >= 0 and < 1, "ema_decay", $"the decay of the weights' moving average (ema_decay) must be from 0 up to (not including) 1, got {EmaDecay.ToString(s)}");
        Check(CheckpointEvery >= 1, "checkpoint_every", $"the steps between checkpoints must be at least 1, got {CheckpointEvery}");
        Check(KeepCheckpoints >= 1, "keep_checkpoints", $"the checkpoints kept (keep_checkpoints) must be at least 1, got {KeepCheckpoints}");
        Check(LogEvery >= 1, "log_every", $"the steps between log lines (log_every) must be at least 1, got {LogEvery}");
        Check(DistanceSamples == 0 || DistanceSamples >= Evaluation.SampleDistance.MinPictures, "distance_samples",
              $"the pictures sampled for the sample distance (distance_samples) must be 0 (off) or at least {Evaluation.SampleDistance.MinPictures}, got {DistanceSamples}");
        Check(SampleCount >= 0, "sample_count", $"the pictures of a checkpoint's sample grid (sample_count) must not be negative, got {SampleCount}");
        Check(Threads >= 0, "threads", $"the number of CPU threads must not be negative, got {Threads}");
        Check(Model.LearnSigma == Diffusion.LearnSigma, "diffusion", "model.learn_sigma and diffusion.learn_sigma must agree");
        Check(ClassDropout is >= 0 and <= 1, "class_dropout", $"the share of class labels dropped for guidance (class_dropout) must be from 0 to 1, got {ClassDropout.ToString(s)}");
        Check(ClassNames is null || ClassNames.Length == Model.NumClasses, "classes",
              $"{ClassNames?.Length} class names but the model has {Model.NumClasses} classes (model.num_classes)");
        return list;
    }

    /// <summary>The learning rate at an optimizer step: linear warm-up, then constant or cosine decay.</summary>
    public double LearningRateAt(int step)
    {
        if (WarmupSteps > 0 && step < WarmupSteps) return LearningRate * (step + 1) / WarmupSteps;
        if (LrSchedule == LrSchedule.Constant) return LearningRate;
        double progress = Steps <= WarmupSteps ? 1 : Math.Clamp((double)(step - WarmupSteps) / (Steps - WarmupSteps), 0, 1);
        double min = LearningRate * MinLrFraction;
        return min + (LearningRate - min) * 0.5 * (1 + Math.Cos(Math.PI * progress));
    }

    /// <summary>A new run's config for a preset, with every other setting at its default.</summary>
    public static TrainingConfig FromPreset(string preset) => TrainingDefaults.For(preset);
}
