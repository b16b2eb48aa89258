using Noisette.Runtime;
using Noisette.Data;
using Noisette.Diffusion;
using Noisette.Models;

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
    public DataConfig Data { get; init; } = new();

    /// <summary>Optimizer steps in total.</summary>
    public int Steps { get; init; } = 10_000;
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

    public int CheckpointEvery { get; init; } = 1000;
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
    public string SampleSampler { get; init; } = "euler-a";
    public int SampleSteps { get; init; } = 50;
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

    /// <summary>Throws <see cref="NoisetteInputException"/> naming the first bad setting.</summary>
    public void Validate()
    {
        static void Fail(string m) => throw new NoisetteInputException("config: " + m);
        Model.Validate();
        Diffusion.Validate();
        if (Data.ImageSize != Model.ImageSize) Fail($"data image_size {Data.ImageSize} differs from the model's image_size {Model.ImageSize}");
        if (Steps < 1) Fail($"steps must be at least 1, got {Steps}");
        if (Batch < 1) Fail($"batch must be at least 1, got {Batch}");
        if (GradAccumulation < 1) Fail($"grad_accumulation must be at least 1, got {GradAccumulation}");
        if (!(LearningRate > 0 && LearningRate < 1)) Fail($"learning_rate must be in (0, 1), got {LearningRate}");
        if (WarmupSteps < 0) Fail("warmup_steps must not be negative");
        if (EmaDecay is < 0 or >= 1) Fail($"ema_decay must be in [0, 1), got {EmaDecay}");
        if (CheckpointEvery < 1) Fail($"checkpoint_every must be at least 1, got {CheckpointEvery}");
        if (KeepCheckpoints < 1) Fail($"keep_checkpoints must be at least 1, got {KeepCheckpoints}");
        if (LogEvery < 1) Fail($"log_every must be at least 1, got {LogEvery}");
        if (SampleCount < 0) Fail("sample_count must not be negative");
        if (Threads < 0) Fail($"threads must not be negative, got {Threads}");
        if (Data.ValidationFraction is < 0 or >= 1) Fail($"validation_fraction must be in [0, 1), got {Data.ValidationFraction}");
        if (Model.LearnSigma != Diffusion.LearnSigma) Fail("model.learn_sigma and diffusion.learn_sigma must agree");
        if (ClassDropout is < 0 or > 1) Fail($"class_dropout must be in [0, 1], got {ClassDropout}");
        if (ClassNames is not null && ClassNames.Length != Model.NumClasses)
            Fail($"{ClassNames.Length} class names but model.num_classes is {Model.NumClasses}");
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

    /// <summary>A config for a preset with the given data image size and sensible defaults.</summary>
    public static TrainingConfig FromPreset(string preset)
    {
        var p = ModelPresets.Get(preset);
        return new TrainingConfig
        {
            Preset = p.Name,
            Model = p.Model,
            Diffusion = new DiffusionConfig { LearnSigma = p.Model.LearnSigma },
            Data = new DataConfig { ImageSize = p.Model.ImageSize, Channels = p.Model.InChannels == 1 ? ChannelMode.Gray : ChannelMode.Rgb },
            Batch = p.DefaultBatch,
        };
    }
}
