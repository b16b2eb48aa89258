using System.Globalization;
using System.Text.RegularExpressions;
using static TorchSharp.torch;

namespace Noisette.Models;

/// <summary>
/// Named weights in and out of an <see cref="AutoencoderKL"/>, and the configuration a set of released weights
/// implies. Names are latent diffusion's (<c>encoder.down.0.block.0.conv1.weight</c>, …). The attention's 1×1
/// projections are accepted as 4-D convolution weights (as released) or 2-D matrices (as some conversions store
/// them). Errors name the first tensor that does not fit.
/// </summary>
public static partial class AutoencoderWeights
{
    public static IReadOnlyList<(string Name, Tensor Tensor)> Named(AutoencoderKL model) =>
        model.named_parameters().Select(p => (p.name, (Tensor)p.parameter)).ToList();

    /// <summary>Copies tensors (of any floating type) into the model; every parameter must be present with its shape, and nothing else.</summary>
    public static void Load(AutoencoderKL model, IReadOnlyList<(string Name, Tensor Tensor)> tensors, string source)
    {
        var byName = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (n, t) in tensors) byName[n] = t;
        var own = model.named_parameters().ToList();
        var ownNames = own.Select(p => p.name).ToHashSet(StringComparer.Ordinal);
        var unexpected = tensors.Select(t => t.Name).FirstOrDefault(n => !ownNames.Contains(n));
        if (unexpected is not null)
            throw new NoisetteInputException($"{source} does not fit this autoencoder: unexpected tensor {unexpected}");
        foreach (var (name, p) in own)
        {
            if (!byName.TryGetValue(name, out var t))
                throw new NoisetteInputException($"{source} does not fit this autoencoder: tensor {name} is missing");
            if (!Fits(t.shape, p.shape))
                throw new NoisetteInputException($"{source} does not fit this autoencoder: tensor {name} has shape [{string.Join(", ", t.shape)}], the autoencoder needs [{string.Join(", ", p.shape)}]");
            if (!t.is_floating_point())
                throw new NoisetteInputException($"{source}: tensor {name} is {t.dtype}, not floating point");
        }
        using var _ = no_grad();
        foreach (var (name, p) in own) p.copy_(byName[name].reshape(p.shape));
    }

    /// <summary>A 2-D (c, c) matrix fits a (c, c, 1, 1) convolution weight.</summary>
    private static bool Fits(long[] given, long[] needed) =>
        given.SequenceEqual(needed) ||
        (needed.Length == 4 && needed[2] == 1 && needed[3] == 1 && given.Length == 2 && given[0] == needed[0] && given[1] == needed[1]);

    /// <summary>
    /// The configuration that released weights imply, read from their names and shapes: image channels and base
    /// width (<c>encoder.conv_in</c>), the levels and their widths, blocks per level, which levels have attention,
    /// latent channels (<c>decoder.conv_in</c>) and decoded channels (<c>decoder.conv_out</c>). GroupNorm's group
    /// count is not in the weights: it is 32, as in every released model.
    /// </summary>
    public static AutoencoderConfig InferConfig(IReadOnlyDictionary<string, long[]> shapes, string source)
    {
        long[] Shape(string name) => shapes.TryGetValue(name, out var s) ? s
            : throw new NoisetteInputException($"{source} is not a latent-diffusion autoencoder: it has no tensor {name}");
        if (shapes.Keys.Any(k => k.StartsWith("encoder.down_blocks.", StringComparison.Ordinal)))
            throw new NoisetteInputException($"{source} holds an autoencoder in the diffusers layout (encoder.down_blocks.*); " +
                                             "use the original single-file release (encoder.down.*), such as Stable Diffusion's vae-ft-mse-840000-ema-pruned.safetensors");
        var convIn = Shape("encoder.conv_in.weight");
        int baseChannels = (int)convIn[0], inChannels = (int)convIn[1];
        var levels = new SortedSet<int>();
        var blocks = new SortedSet<int>();
        var attention = new SortedSet<int>();
        foreach (var name in shapes.Keys)
        {
            var m = EncoderLevel().Match(name);
            if (!m.Success) continue;
            int level = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            levels.Add(level);
            if (m.Groups[2].Value == "block" && level == 0) blocks.Add(int.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture));
            if (m.Groups[2].Value == "attn") attention.Add(level);
        }
        if (levels.Count == 0 || levels.Max != levels.Count - 1 || blocks.Count == 0 || blocks.Max != blocks.Count - 1)
            throw new NoisetteInputException($"{source} is not a latent-diffusion autoencoder: its encoder levels or blocks are not numbered 0, 1, …");
        var multipliers = new int[levels.Count];
        for (int level = 0; level < levels.Count; level++)
        {
            long width = Shape($"encoder.down.{level}.block.0.conv2.weight")[0];
            if (width % baseChannels != 0)
                throw new NoisetteInputException($"{source}: encoder level {level} is {width} channels wide, not a multiple of the base width {baseChannels}");
            multipliers[level] = (int)(width / baseChannels);
        }
        var decoderIn = Shape("decoder.conv_in.weight");
        int latent = (int)decoderIn[1];
        long encoderOut = Shape("encoder.conv_out.weight")[0];
        if (encoderOut != 2 * latent)
            throw new NoisetteInputException($"{source}: the encoder gives {encoderOut} channels, not 2 × {latent} (mean and log-variance): it is not a KL autoencoder");
        var quant = Shape("quant_conv.weight");
        if (quant[0] != 2 * latent || quant[1] != 2 * latent)
            throw new NoisetteInputException($"{source}: quant_conv maps {quant[1]} to {quant[0]} channels; only autoencoders whose embedding width equals their latent channels ({2 * latent}) are supported");
        var config = new AutoencoderConfig
        {
            InChannels = inChannels,
            OutChannels = (int)Shape("decoder.conv_out.weight")[0],
            BaseChannels = baseChannels,
            ChannelMultipliers = multipliers,
            ResBlocksPerLevel = blocks.Count,
            AttentionLevels = attention.ToArray(),
            LatentChannels = latent,
        };
        if (config.OutChannels == config.InChannels) config = config with { OutChannels = 0 };
        config.Validate();
        return config;
    }

    [GeneratedRegex(@"^encoder\.down\.(\d+)\.(block|attn|downsample)\.?(\d*)")]
    private static partial Regex EncoderLevel();
}
