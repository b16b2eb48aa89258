using System.Globalization;
using Noisette.Data;
using Noisette.IO;
using Noisette.Models;
using Noisette.Runs;
using static TorchSharp.torch;

namespace Noisette.Interop;

/// <summary>What an import wrote.</summary>
public sealed record AutoencoderImportResult(AutoencoderFolder Folder, AutoencoderInfo Info, long Parameters, IReadOnlyList<string> Notes);

/// <summary>
/// Reads a released latent-diffusion autoencoder into an autoencoder folder (<see cref="AutoencoderFolder"/>): a
/// standalone VAE file (<c>encoder.*</c>, <c>decoder.*</c>, <c>quant_conv.*</c>, <c>post_quant_conv.*</c>, such as
/// Stable Diffusion's <c>vae-ft-mse-840000-ema-pruned</c>), or the <c>first_stage_model.*</c> of a Stable Diffusion
/// 1.x/2.x single file; as <c>.safetensors</c>, or as a PyTorch <c>.ckpt</c>/<c>.pt</c> through the restricted
/// reader (nothing in the file is executed). The configuration is read from the tensors
/// (<see cref="AutoencoderWeights.InferConfig"/>); only the autoencoder's tensors are read, whatever else the file
/// holds; half-precision weights become float32.
/// </summary>
public static class AutoencoderImport
{
    public const string SingleFilePrefix = "first_stage_model.";

    /// <summary>Stable Diffusion 1.x/2.x's latent scale (the configs' <c>scale_factor</c>).</summary>
    public const double StableDiffusionScale = 0.18215;

    private static readonly string[] OwnPrefixes = ["encoder.", "decoder.", "quant_conv.", "post_quant_conv."];

    /// <param name="scale">The latent scale to record; null = the file's <c>scale_factor</c> metadata, else Stable
    /// Diffusion's for its architecture, else none (a latent run then measures it on its data).</param>
    public static AutoencoderImportResult ImportToFolder(string file, string output, double? scale = null)
    {
        var full = Path.GetFullPath(file);
        if (!File.Exists(full)) throw new NoisetteInputException($"{file}: no such file");
        if (scale is { } given && !(given > 0 && double.IsFinite(given)))
            throw new NoisetteInputException($"--scale must be a positive number, got {given.ToString(CultureInfo.InvariantCulture)}");
        var outFull = OutputFolder.Check(full, output, "model file");
        var source = Path.GetFileName(full);
        var notes = new List<string>();

        bool safetensors = IsSafeTensors(full);
        IReadOnlyList<(string Name, long[] Shape)> listing = safetensors
            ? SafeTensors.ReadHeader(full).Tensors.Select(t => (t.Name, t.Shape)).ToList()
            : TorchCheckpoint.Inspect(full).Select(t => (t.Name, t.Shape)).ToList();
        var prefix = listing.Any(t => t.Name.StartsWith(SingleFilePrefix, StringComparison.Ordinal)) ? SingleFilePrefix
            : listing.Any(t => t.Name == "encoder.conv_in.weight" || t.Name.StartsWith("encoder.down_blocks.", StringComparison.Ordinal)) ? ""
            : throw new NoisetteInputException($"{source} holds no autoencoder: it has neither {SingleFilePrefix}* tensors (a Stable Diffusion " +
                                               "checkpoint) nor encoder.*/decoder.* ones (a standalone VAE)");
        bool Ours(string name) => name.StartsWith(prefix, StringComparison.Ordinal) &&
                                  OwnPrefixes.Any(p => name.AsSpan(prefix.Length).StartsWith(p, StringComparison.Ordinal));
        int skipped = listing.Count(t => !Ours(t.Name));
        if (skipped > 0)
            notes.Add(prefix.Length > 0
                ? $"read the autoencoder ({listing.Count - skipped} tensors under {prefix}); the file's {skipped} other tensors (U-Net, text encoder, schedule) are not part of it"
                : $"skipped {skipped} tensors that are not the autoencoder's (such as training losses)");
        var shapes = listing.Where(t => Ours(t.Name)).ToDictionary(t => t.Name[prefix.Length..], t => t.Shape, StringComparer.Ordinal);
        var config = AutoencoderWeights.InferConfig(shapes, source);

        IReadOnlyList<(string Name, Tensor Tensor)> tensors;
        IReadOnlyDictionary<string, string> metadata = new Dictionary<string, string>();
        if (safetensors)
        {
            var loaded = SafeTensors.Load(full, Ours);
            tensors = loaded.Tensors;
            metadata = loaded.Metadata;
        }
        else tensors = TorchCheckpoint.LoadStateDict(full, include: Ours);
        try
        {
            using var model = new AutoencoderKL(config);
            AutoencoderWeights.Load(model, tensors.Select(t => (t.Name[prefix.Length..], t.Tensor)).ToList(), source);
            var halves = tensors.Select(t => t.Tensor.dtype).Where(d => d != ScalarType.Float32).Distinct().ToList();
            if (halves.Count > 0) notes.Add($"the file's {string.Join("/", halves)} weights were made float32");

            double? latentScale = scale;
            if (latentScale is null && metadata.TryGetValue("scale_factor", out var meta) &&
                double.TryParse(meta, NumberStyles.Float, CultureInfo.InvariantCulture, out var m) && m > 0)
            {
                latentScale = m;
                notes.Add($"latent scale {m.ToString(CultureInfo.InvariantCulture)}, from the file's scale_factor");
            }
            else if (latentScale is null && IsStableDiffusionShape(config))
            {
                latentScale = StableDiffusionScale;
                notes.Add($"latent scale {StableDiffusionScale.ToString(CultureInfo.InvariantCulture)}, Stable Diffusion 1.x/2.x's; " +
                          "SDXL's autoencoder has the same shape but 0.13025: pass --scale 0.13025 for it");
            }
            else if (latentScale is null)
                notes.Add("no latent scale known: each latent run measures it on its pictures (1 / the latents' standard deviation)");

            var temp = OutputFolder.CreateTemp(outFull);
            var folder = new AutoencoderFolder(temp);
            var info = new AutoencoderInfo { Config = config, Scale = latentScale, Origin = "imported", Source = full };
            folder.Write(info, AutoencoderWeights.Named(model));
            OutputFolder.Publish(temp, outFull);
            long parameters = model.parameters().Sum(p => p.numel());
            return new AutoencoderImportResult(new AutoencoderFolder(outFull), info, parameters, notes);
        }
        finally
        {
            foreach (var (_, t) in tensors) t.Dispose();
        }
    }

    /// <summary>Stable Diffusion's kl-f8: base 128, multipliers 1, 2, 4, 4, two blocks, four latent channels, RGB.</summary>
    private static bool IsStableDiffusionShape(AutoencoderConfig c) =>
        c.InChannels == 3 && c.ResolvedOutChannels == 3 && c.BaseChannels == 128 && c.ChannelMultipliers.SequenceEqual([1, 2, 4, 4]) &&
        c.ResBlocksPerLevel == 2 && c.LatentChannels == 4 && c.AttentionLevels.Length == 0;

    /// <summary>A safetensors file starts with its header's length and then '{'; a PyTorch file is a zip ("PK").</summary>
    private static bool IsSafeTensors(string path)
    {
        using var s = File.OpenRead(path);
        Span<byte> head = stackalloc byte[9];
        int n = s.ReadAtLeast(head, 9, throwOnEndOfStream: false);
        return n == 9 && head[8] == (byte)'{';
    }
}
