using Noisette.Runs;
using Noisette.Data;
using Noisette.Diffusion;
using Noisette.IO;
using Noisette.Models;
using Noisette.Runtime;
using Noisette.Sampling;
using Noisette.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Noisette.Pipelines;

/// <summary>A model loaded from a checkpoint for generation: its weights (EMA by default), config and diffusion.</summary>
public sealed class LoadedModel : IDisposable
{
    public RunFolder Run { get; }
    public RunConfig Config { get; }
    public string CheckpointDir { get; }
    public CheckpointState State { get; }
    public UNet Model { get; }
    public GaussianDiffusion Diffusion { get; }
    public bool UsesEma { get; }
    /// <summary>The precision the network computes in (resolved: never auto).</summary>
    public Precision Precision { get; }

    private LoadedModel(RunFolder run, RunConfig config, string dir, CheckpointState state, UNet model, bool ema, Precision precision)
    {
        Run = run; Config = config; CheckpointDir = dir; State = state; Model = model; UsesEma = ema; Precision = precision;
        Diffusion = new GaussianDiffusion(config.Training.Diffusion);
    }

    /// <param name="path">A run folder or a checkpoint folder.</param>
    /// <param name="which">"latest" or a step number (for a run folder).</param>
    /// <param name="precision">The precision of the network calls. Checkpoints are float32; bf16 or fp16 casts the
    /// loaded weights (faster, but the pixels then depend on the hardware's kernels and the batch size).</param>
    public static LoadedModel Load(string path, string which = "latest", bool ema = true, string device = "cpu", Action<string>? warn = null,
                                   Precision precision = Precision.Fp32)
    {
        var (dir, state, run) = Checkpoint.Resolve(path, which, warn);
        var config = run.ReadConfig();
        var dev = TorchRuntime.ResolveDevice(device);
        precision = PrecisionSupport.Resolve(precision, dev, warn);
        var model = new UNet(config.Training.Model);
        try
        {
            ModelWeights.Load(model, Path.Combine(dir, ema ? Checkpoint.EmaFile : Checkpoint.ModelFile));
            model.to(dev);
            if (precision != Precision.Fp32) model.to(PrecisionSupport.ScalarTypeOf(precision));
            model.eval();
            return new LoadedModel(run, config, dir, state, model, ema, precision);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    public Denoiser Denoiser() => new(Model, Diffusion);

    /// <summary>Images per network call when the user does not choose: what fits in the memory free now (at most 32).</summary>
    public int AutoBatchSize => SamplingBatch.For(Model.Config, Precision, SamplingBatch.AvailableMemory());

    /// <summary>The denoiser for one class (by name, or by index for unnamed classes) with classifier-free guidance; null = unconditional.</summary>
    public Denoiser Denoiser(string? className, double guidance)
    {
        if (className is null)
        {
            CheckUnconditional();
            return Denoiser();
        }
        return new Denoiser(Model, Diffusion) { Label = ClassLabel(className), GuidanceScale = CheckGuidance(guidance) };
    }

    /// <summary>
    /// The guidance scale when none is asked for: 2 for a class-conditional model with a null class; 1 (plain
    /// class-conditional sampling) for one without, such as an imported guided-diffusion model.
    /// </summary>
    public double DefaultGuidance => Model.IsConditional && Model.NullLabel < 0 ? 1.0 : 2.0;

    /// <summary>The label of a class: by name, or by index 0..N−1 for a model whose classes have no names (an import).</summary>
    public int ClassLabel(string className)
    {
        if (!Model.IsConditional) throw new NoisetteInputException("--class: this model was trained without classes");
        return Data.ClassLabels.Resolve(Config.Training.ClassNames, Model.Config.NumClasses, className);
    }

    /// <summary>What a label is called in file names and provenance: its class name, or its index.</summary>
    public string ClassName(int label) =>
        Config.Training.ClassNames?[label] ?? label.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// Checks a guidance scale for sampling a class: classifier-free guidance (any scale but 1) mixes in the
    /// prediction for the null class, so a model trained without one takes only 1.
    /// </summary>
    public double CheckGuidance(double guidance)
    {
        if (guidance < 0) throw new NoisetteInputException($"--guidance must not be negative, got {guidance}");
        if (Model.IsConditional && Model.NullLabel < 0 && guidance != 1.0)
            throw new NoisetteInputException(
                $"--guidance {guidance.ToString(System.Globalization.CultureInfo.InvariantCulture)}: classifier-free guidance needs the model's " +
                "prediction without a class, and this model has no null class (it was not trained with label dropout, as imported " +
                "guided-diffusion models are not); use --guidance 1, plain class-conditional sampling");
        return guidance;
    }

    /// <summary>Refuses to sample without a class a class-conditional model that has no null class to stand for "no class".</summary>
    public void CheckUnconditional()
    {
        if (Model.IsConditional && Model.NullLabel < 0)
            throw new NoisetteInputException(
                $"this model is class-conditional ({Model.Config.NumClasses} classes) and has no null class, so it cannot sample without " +
                $"a class: pass --class with a class {(Config.Training.ClassNames is null ? $"index from 0 to {Model.Config.NumClasses - 1} (for OpenAI's released ImageNet models, the ImageNet class index)" : "name")}");
    }

    public Device Device => Model.parameters().First().device;

    /// <summary>
    /// Loads an image file for this model (edit, inpaint): decoded and brought to the model's size and channels
    /// exactly as the training data was. A missing or unreadable file is a <see cref="NoisetteInputException"/>.
    /// </summary>
    public byte[] LoadImage(string path, bool gray = false)
    {
        if (!File.Exists(path)) throw new NoisetteInputException($"the image '{path}' does not exist");
        var data = Config.Training.Pictures;
        var channels = gray || Model.Config.InChannels == 1 ? ChannelMode.Gray : ChannelMode.Rgb;
        return ImagePreprocessor.LoadImage(path, data, channels);
    }

    public void Dispose() => Model.Dispose();
}
