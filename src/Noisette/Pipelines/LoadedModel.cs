using Noisette.Bundles;
using Noisette.Data;
using Noisette.Diffusion;
using Noisette.Models;
using Noisette.Runs;
using Noisette.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Noisette.Pipelines;

/// <summary>
/// A model loaded from a run's checkpoint for generation: its <see cref="ModelBundle"/> (the network's weights, EMA by
/// default, its diffusion, autoencoder and conditioner, as the run's config.json records them) and what it knows of
/// its run: the folder, the checkpoint, which weights and the precision.
/// </summary>
public sealed class LoadedModel : IDisposable
{
    public RunFolder Run { get; }
    public RunConfig Config { get; }
    public string CheckpointDir { get; }
    public CheckpointState State { get; }
    public ModelBundle Bundle { get; }
    public bool UsesEma { get; }
    /// <summary>The precision the network computes in (resolved: never auto).</summary>
    public Precision Precision { get; }

    private LoadedModel(RunFolder run, RunConfig config, string dir, CheckpointState state, ModelBundle bundle, bool ema, Precision precision)
    {
        Run = run; Config = config; CheckpointDir = dir; State = state; Bundle = bundle; UsesEma = ema; Precision = precision;
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
        var network = new UNet(config.Training.Model);
        AutoencoderKL? autoencoder = null;
        try
        {
            ModelWeights.Load(network, Path.Combine(dir, ema ? Checkpoint.EmaFile : Checkpoint.ModelFile));
            network.to(dev);
            if (precision != Precision.Fp32) network.to(PrecisionSupport.ScalarTypeOf(precision));
            network.eval();
            autoencoder = LoadAutoencoder(config, dev);
            return new LoadedModel(run, config, dir, state, Assemble(config, network, autoencoder), ema, precision);
        }
        catch
        {
            network.Dispose();
            autoencoder?.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A latent run's autoencoder, checked against the SHA-256 the run recorded, in float32 on <paramref name="device"/>
    /// (it runs twice per picture, not once per sampler step, so its precision costs little); null for a pixel run.
    /// </summary>
    private static AutoencoderKL? LoadAutoencoder(RunConfig config, Device device)
    {
        if (config.Training.Autoencoder is not { } space) return null;
        if (space.Scale is null) throw new NoisetteInputException("this latent run's config.json records no latent scale: it never started training");
        var network = space.Verify().Load(out _);
        network.to(device);
        return network;
    }

    /// <summary>
    /// The bundle of a run's components around its loaded network. Every component a run can record today is built
    /// here (config.json's <c>components</c>, which <see cref="RunFolder.ReadConfig"/> has checked, or those implied for
    /// a run that does not record them): a pixel model's identity autoencoder or a latent model's KL autoencoder with
    /// its scale, and its classes.
    /// </summary>
    private static ModelBundle Assemble(RunConfig config, UNet network, AutoencoderKL? autoencoder)
    {
        var components = config.ComponentsOrImplied();
        IConditioner? conditioner = components.Conditioner == RunComponents.Classes
            ? ClassConditioner.For(network.Config, config.Training.ClassNames)
            : null;
        IAutoencoder decoder = components.Autoencoder == RunComponents.Kl
            ? new LatentAutoencoder(autoencoder!, config.Training.Autoencoder!.Scale!.Value)
            : IdentityAutoencoder.Instance;
        return new ModelBundle(network, new GaussianDiffusion(config.Training.Diffusion), decoder, conditioner);
    }

    /// <summary>Images per network call when the user does not choose: what fits in the memory free now (at most 32).</summary>
    public int AutoBatchSize => SamplingBatch.For(Bundle.Network.Config, Precision, SamplingBatch.AvailableMemory());

    public Device Device => Bundle.Device;

    /// <summary>
    /// Loads an image file for this model (edit, inpaint): decoded and brought to the model's pixel size and channels
    /// exactly as the training data was. A missing or unreadable file is a <see cref="NoisetteInputException"/>.
    /// </summary>
    public byte[] LoadImage(string path, bool gray = false)
    {
        if (!File.Exists(path)) throw new NoisetteInputException($"the image '{path}' does not exist");
        var shape = Bundle.ImageShape;
        var data = new DataConfig(Config.Training.Data, shape.Size);
        var channels = gray || shape.Channels == 1 ? ChannelMode.Gray : ChannelMode.Rgb;
        return ImagePreprocessor.LoadImage(path, data, channels);
    }

    public void Dispose()
    {
        Bundle.Network.Dispose();
        (Bundle.Autoencoder as LatentAutoencoder)?.Network.Dispose();
    }
}
