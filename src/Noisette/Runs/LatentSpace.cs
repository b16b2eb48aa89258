using System.Globalization;
using Noisette.Data;
using Noisette.Models;

namespace Noisette.Runs;

/// <summary>
/// The autoencoder a latent run trains its U-Net behind (config.json's <c>training.autoencoder</c>): which folder,
/// which weights (their SHA-256, so that a changed or replaced autoencoder is noticed before it decodes nonsense), its
/// shape (the factor and channels, so that the run's picture size and the U-Net's channels can be checked without
/// loading it), and the latent scale the run uses. A pixel run has none.
/// </summary>
public sealed record LatentSpace
{
    /// <summary>The autoencoder folder (absolute), as <see cref="AutoencoderFolder"/> reads it.</summary>
    public string Path { get; init; } = "";
    /// <summary>SHA-256 of its weights file when the run began.</summary>
    public string Sha256 { get; init; } = "";
    /// <summary>Pixels per latent along each side (8 for Stable Diffusion's).</summary>
    public int Factor { get; init; } = 8;
    /// <summary>Channels of the pictures it encodes (1 gray, 3 colour).</summary>
    public int PixelChannels { get; init; } = 3;
    /// <summary>Channels of its latents: the U-Net's input and output channels.</summary>
    public int LatentChannels { get; init; } = 4;
    /// <summary>
    /// The factor latents are multiplied by for the U-Net: the autoencoder's own when it carries one (0.18215 for
    /// Stable Diffusion's), else 1/std of the training pictures' latents, measured when the run starts. Null only in a
    /// configuration not yet started.
    /// </summary>
    public double? Scale { get; init; }
    /// <summary>The picture size the autoencoder was trained at, if known: a latent run's default picture size.</summary>
    public int? TrainedImageSize { get; init; }
    /// <summary>"autoencoder" (carried by it) or "measured" (on this run's pictures).</summary>
    public string? ScaleSource { get; init; }

    public const string ScaleFromAutoencoder = "autoencoder", ScaleMeasured = "measured";

    /// <summary>The latent space of the autoencoder in <paramref name="folder"/>, as a new run records it.</summary>
    public static LatentSpace Of(AutoencoderFolder folder)
    {
        var info = folder.ReadInfo();
        return new LatentSpace
        {
            Path = folder.Root,
            Sha256 = folder.WeightsSha256(),
            Factor = info.Config.Factor,
            PixelChannels = info.Config.InChannels,
            LatentChannels = info.Config.LatentChannels,
            Scale = info.Scale,
            ScaleSource = info.Scale is null ? null : ScaleFromAutoencoder,
            TrainedImageSize = info.ImageSize,
        };
    }

    /// <summary>Channels of the pictures in the data's terms.</summary>
    [System.Text.Json.Serialization.JsonIgnore] public ChannelMode Channels => PixelChannels == 1 ? ChannelMode.Gray : ChannelMode.Rgb;

    /// <summary>
    /// The autoencoder folder, checked: it must still exist and hold the very weights the run began with. Either
    /// failure is a <see cref="NoisetteInputException"/> saying what to do.
    /// </summary>
    public AutoencoderFolder Verify()
    {
        var folder = new AutoencoderFolder(Path);
        if (!Directory.Exists(folder.Root) || !File.Exists(folder.WeightsPath))
            throw new NoisetteInputException($"this run's autoencoder {folder.Root} is missing (its {AutoencoderFolder.WeightsFile} is not there); " +
                                             "put the autoencoder folder back where it was, or edit training.autoencoder.path in the run's config.json to where it is now");
        var sha = folder.WeightsSha256();
        if (!string.Equals(sha, Sha256, StringComparison.OrdinalIgnoreCase))
            throw new NoisetteInputException($"this run's autoencoder {folder.WeightsPath} has changed since the run began (SHA-256 {sha[..12]}… ≠ {Short(Sha256)}…); " +
                                             "the U-Net only understands the latents of the autoencoder it was trained with: restore that autoencoder, or train a new run");
        return folder;
    }

    private static string Short(string s) => s.Length > 12 ? s[..12] : s;

    /// <summary>Every inconsistency with the U-Net <paramref name="model"/>, in words.</summary>
    public IEnumerable<ConfigProblem> Problems(UNetConfig model)
    {
        if (string.IsNullOrWhiteSpace(Path)) yield return new("autoencoder", "the autoencoder's folder (autoencoder.path) is empty");
        if (Factor < 1 || (Factor & (Factor - 1)) != 0) yield return new("autoencoder", $"the autoencoder's factor must be a power of two, got {Factor}");
        if (PixelChannels is not (1 or 3)) yield return new("autoencoder", $"the autoencoder must take 1 or 3 picture channels, got {PixelChannels}");
        if (LatentChannels != model.InChannels || LatentChannels != (model.OutChannels > 0 ? model.OutChannels : model.InChannels))
            yield return new("autoencoder", $"the autoencoder's latents have {LatentChannels} channels but the U-Net takes {model.InChannels} " +
                                            $"(model.in_channels); choose a U-Net for {LatentChannels}-channel latents, or the autoencoder it was made for");
        if (Scale is { } s && !(s > 0 && double.IsFinite(s)))
            yield return new("autoencoder", $"the latent scale must be a positive number, got {s.ToString(CultureInfo.InvariantCulture)}");
    }
}
