using System.Security.Cryptography;
using Noisette.IO;
using Noisette.Models;
using static TorchSharp.torch;

namespace Noisette.Runs;

/// <summary>What <c>AE/autoencoder.json</c> says of the autoencoder beside it.</summary>
public sealed record AutoencoderInfo
{
    public const string CurrentFormat = "noisette-autoencoder";

    public string Format { get; init; } = CurrentFormat;
    public int Version { get; init; } = 1;
    /// <summary>The architecture: "kl", latent diffusion's KL autoencoder.</summary>
    public string Kind { get; init; } = "kl";
    public AutoencoderConfig Config { get; init; } = new();
    /// <summary>
    /// The factor latents are multiplied by for a denoiser, so that they have about unit variance (0.18215 for Stable
    /// Diffusion 1.x/2.x's); null when unknown, in which case a latent run measures it on its data.
    /// </summary>
    public double? Scale { get; init; }
    /// <summary>"imported" or "trained".</summary>
    public string Origin { get; init; } = "imported";
    /// <summary>The file or run it came from, and for a trained one its step.</summary>
    public string? Source { get; init; }
    public long? Step { get; init; }
    /// <summary>The picture size it was trained at; null for an imported one (then 256 is the default for checks).</summary>
    public int? ImageSize { get; init; }
    /// <summary>Reconstruction quality on the validation images where measured (trained autoencoders).</summary>
    public double? ValidationPsnr { get; init; }
    public double? ValidationSsim { get; init; }
}

/// <summary>
/// An autoencoder as a folder: <c>autoencoder.json</c> (<see cref="AutoencoderInfo"/>: its configuration and latent
/// scale) beside <c>autoencoder.safetensors</c> (its weights, under the released names). <c>noisette autoencoder
/// import</c> writes one; an autoencoder training run keeps its best checkpoint as one at its root. A latent U-Net run
/// records the folder and the weights' SHA-256, and refuses to run when they change. Both files are written
/// atomically, the weights first, so a reader never sees a description of weights that are not there yet.
/// </summary>
public sealed class AutoencoderFolder
{
    public const string InfoFile = "autoencoder.json";
    public const string WeightsFile = "autoencoder.safetensors";

    public string Root { get; }
    public string InfoPath => Path.Combine(Root, InfoFile);
    public string WeightsPath => Path.Combine(Root, WeightsFile);

    /// <summary>A folder, or the path of its autoencoder.json.</summary>
    public AutoencoderFolder(string path)
    {
        var full = Path.GetFullPath(path);
        Root = Path.GetFileName(full) == InfoFile && File.Exists(full) ? Path.GetDirectoryName(full)! : full;
    }

    public bool Exists => File.Exists(InfoPath) && File.Exists(WeightsPath);

    /// <summary>Reads the description; a folder that is not an autoencoder is an input error saying what it lacks.</summary>
    public AutoencoderInfo ReadInfo()
    {
        if (!Directory.Exists(Root)) throw new NoisetteInputException($"{Root}: no such autoencoder folder");
        if (!File.Exists(InfoPath))
            throw new NoisetteInputException($"{Root} is not an autoencoder folder: it has no {InfoFile} " +
                                             "(make one with `noisette autoencoder import FILE --out FOLDER` or `noisette autoencoder train`)");
        if (!File.Exists(WeightsPath)) throw new NoisetteInputException($"{Root}: {WeightsFile} is missing");
        var info = Json.Read<AutoencoderInfo>(InfoPath);
        if (info.Format != AutoencoderInfo.CurrentFormat || info.Kind != "kl")
            throw new NoisetteInputException($"{InfoPath}: not an autoencoder this version reads (format {info.Format}, kind {info.Kind})");
        if (info.Version > 1)
            throw new NoisetteInputException($"{InfoPath} was written by a newer Noisette (version {info.Version}); update Noisette to read it");
        info.Config.Validate();
        if (info.Scale is { } s && !(s > 0 && double.IsFinite(s)))
            throw new NoisetteInputException($"{InfoPath}: the latent scale must be a positive number, got {s}");
        return info;
    }

    /// <summary>The network with its weights, on the CPU.</summary>
    public AutoencoderKL Load(out AutoencoderInfo info)
    {
        info = ReadInfo();
        var model = new AutoencoderKL(info.Config);
        try
        {
            using var file = SafeTensors.Load(WeightsPath);
            AutoencoderWeights.Load(model, file.Tensors, WeightsPath);
            model.eval();
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>Writes (or replaces) the weights, then the description.</summary>
    public void Write(AutoencoderInfo info, IReadOnlyList<(string Name, Tensor Tensor)> weights)
    {
        info.Config.Validate();
        Directory.CreateDirectory(Root);
        SafeTensors.Save(WeightsPath, weights, new Dictionary<string, string> { ["format"] = "noisette-autoencoder", ["kind"] = info.Kind });
        Json.Write(InfoPath, info);
    }

    /// <summary>SHA-256 of the weights, in lower-case hex: what a latent run records to notice a changed autoencoder.</summary>
    public string WeightsSha256()
    {
        using var stream = File.OpenRead(WeightsPath);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
