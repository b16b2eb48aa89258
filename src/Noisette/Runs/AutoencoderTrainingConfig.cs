using Noisette.Data;
using System.Text.Json.Serialization;
using Noisette.Models;

namespace Noisette.Runs;

/// <summary>
/// Everything that defines an autoencoder training run (<c>noisette autoencoder train</c>), written whole to
/// <c>AE/autoencoder-training.json</c>. The losses are latent diffusion's for its KL autoencoders, without the
/// perceptual (LPIPS) term, whose VGG weights are not available here: L1 reconstruction summed over the pixels,
/// plus <see cref="KlWeight"/> × the posterior's KL divergence, plus, from <see cref="DiscriminatorStart"/> on, a
/// patch discriminator's hinge loss weighted adaptively (the ratio of the two losses' gradient norms at the decoder's
/// last layer, times <see cref="DiscriminatorWeight"/>). Adam with β (0.5, 0.9) for both networks, as latent
/// diffusion trains them.
/// </summary>
public sealed record AutoencoderTrainingConfig
{
    public AutoencoderConfig Model { get; init; } = Preset(8, 4, 1);
    /// <summary>Side of the square training pictures, in pixels (a multiple of the model's factor).</summary>
    public int ImageSize { get; init; } = 256;
    /// <summary>How pictures are prepared (channels: auto for a new autoencoder, its own for a fine-tuned one).</summary>
    public DataSettings Data { get; init; } = new();
    /// <summary>The pictures' folder.</summary>
    public string? DataPath { get; init; }

    public int Steps { get; init; } = 4000;
    public int Batch { get; init; } = 8;
    public double LearningRate { get; init; } = 1e-4;
    public int WarmupSteps { get; init; } = 100;
    public double Beta1 { get; init; } = 0.5;
    public double Beta2 { get; init; } = 0.9;
    /// <summary>Weight of the KL divergence (latent diffusion's kl-f8 uses 1e-6).</summary>
    public double KlWeight { get; init; } = 1e-6;
    /// <summary>The step from which the discriminator trains and its loss counts (before: reconstruction and KL only).</summary>
    public int DiscriminatorStart { get; init; } = 2000;
    /// <summary>Factor on the adaptive weight of the discriminator's loss (latent diffusion: 0.5).</summary>
    public double DiscriminatorWeight { get; init; } = 0.5;
    /// <summary>Strided layers of the patch discriminator (3: each of its outputs sees a 70-pixel patch).</summary>
    public int DiscriminatorLayers { get; init; } = 3;
    /// <summary>Width of the discriminator's first layer.</summary>
    public int DiscriminatorChannels { get; init; } = 64;
    /// <summary>Train the decoder only (fine-tuning a released autoencoder with --init-from): the latents keep their meaning.</summary>
    public bool FreezeEncoder { get; init; }
    public double GradClip { get; init; } = 1.0;

    public int CheckpointEvery { get; init; } = 500;
    public int KeepCheckpoints { get; init; } = 5;
    public int LogEvery { get; init; } = 10;
    /// <summary>Validation pictures reconstructed at each checkpoint for PSNR, SSIM and the grid (at most).</summary>
    public int ValidationImages { get; init; } = 64;
    public long Seed { get; init; }
    public string Device { get; init; } = "cpu";
    /// <summary>CPU threads; 0 = one per physical core.</summary>
    public int Threads { get; init; }

    /// <summary>The autoencoder folder or file it started from (fine-tuning), if any.</summary>
    public string? InitFrom { get; init; }

    /// <summary>
    /// The default architecture for a factor and latent channels: base width <paramref name="width"/> (64 unless asked), widths ×1, ×2, ×4, ×4… per level,
    /// <paramref name="blocks"/> residual blocks per level; attention in the middle only (Stable Diffusion's is base
    /// 128 with two blocks: four times the computation, for photographs).
    /// </summary>
    public static AutoencoderConfig Preset(int factor, int latentChannels, int channels, int blocks = 1, int width = 64)
    {
        if (width < 8 || width % 8 != 0) throw new NoisetteInputException($"--width must be a multiple of 8 from 8 up, got {width}");
        int levels = factor switch
        {
            2 => 2, 4 => 3, 8 => 4, 16 => 5,
            _ => throw new NoisetteInputException($"--factor must be 2, 4, 8 or 16, got {factor}"),
        };
        int[] multipliers = [.. Enumerable.Range(0, levels).Select(l => Math.Min(4, 1 << l))];
        return new AutoencoderConfig
        {
            InChannels = channels, BaseChannels = width, ChannelMultipliers = multipliers, ResBlocksPerLevel = blocks, LatentChannels = latentChannels,
        };
    }

    public double LearningRateAt(int step) => WarmupSteps > 0 && step < WarmupSteps ? LearningRate * (step + 1) / WarmupSteps : LearningRate;

    /// <summary>Throws <see cref="NoisetteInputException"/> naming the first setting that cannot work.</summary>
    public void Validate()
    {
        Model.Validate();
        static void Fail(string m) => throw new NoisetteInputException(m);
        if (ImageSize < Model.Factor || ImageSize > 2048 || ImageSize % Model.Factor != 0)
            Fail($"the image size {ImageSize} must be a multiple of the autoencoder's factor {Model.Factor} (up to 2048)");
        if (Steps < 1) Fail($"--steps must be at least 1, got {Steps}");
        if (Batch < 1) Fail($"--batch must be at least 1, got {Batch}");
        if (!(LearningRate > 0)) Fail($"the learning rate must be positive, got {LearningRate}");
        if (WarmupSteps < 0) Fail("warmup_steps must not be negative");
        if (Beta1 is < 0 or >= 1 || Beta2 is < 0 or >= 1) Fail("beta1 and beta2 must be in [0, 1)");
        if (KlWeight < 0) Fail("kl_weight must not be negative");
        if (DiscriminatorStart < 0) Fail("discriminator_start must not be negative");
        if (DiscriminatorWeight < 0) Fail("discriminator_weight must not be negative");
        if (DiscriminatorLayers is < 1 or > 5) Fail($"discriminator_layers must be 1..5, got {DiscriminatorLayers}");
        if (ImageSize >> DiscriminatorLayers < 4) Fail($"{ImageSize}-pixel pictures are too small for a discriminator of {DiscriminatorLayers} strided layers; use fewer");
        if (DiscriminatorChannels < 1) Fail("discriminator_channels must be positive");
        if (GradClip < 0) Fail("grad_clip must not be negative");
        if (CheckpointEvery < 1) Fail($"--checkpoint-every must be at least 1, got {CheckpointEvery}");
        if (KeepCheckpoints < 1) Fail("keep_checkpoints must be at least 1");
        if (LogEvery < 1) Fail("log_every must be at least 1");
        if (ValidationImages < 0) Fail("validation_images must not be negative");
        if (Threads < 0) Fail("--threads must not be negative");
        if (Model.InChannels is not (1 or 3)) Fail($"the autoencoder trains on gray (1) or RGB (3) pictures, not {Model.InChannels} channels");
        if (FreezeEncoder && InitFrom is null) Fail("freezing the encoder needs an autoencoder to start from (--init-from)");
        Data.Validate();
    }

    /// <summary>The data settings at this run's size.</summary>
    [JsonIgnore] public DataConfig Pictures => new(Data, ImageSize);
}
