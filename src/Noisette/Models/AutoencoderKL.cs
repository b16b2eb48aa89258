using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Noisette.Models;

/// <summary>
/// The KL-regularised autoencoder of latent diffusion (Stable Diffusion's VAE), built from an
/// <see cref="AutoencoderConfig"/>. Its parameter names are those of the released files: <c>encoder.*</c>,
/// <c>decoder.*</c>, <c>quant_conv.*</c>, <c>post_quant_conv.*</c>.
/// <para>
/// The encoder maps an image in [−1, 1] through <c>conv_in</c>, its levels (each but the last halving the
/// resolution), a middle block with attention, GroupNorm, SiLU and <c>conv_out</c> to 2·latent channels; the 1×1
/// <c>quant_conv</c> makes them the posterior's moments: mean and log-variance (<see cref="LatentPosterior"/>). The
/// decoder mirrors it from a latent through the 1×1 <c>post_quant_conv</c>, <c>conv_in</c>, the middle, its levels
/// (one more block each, doubling the resolution) to the image. Scaling latents for a denoiser is not the network's
/// business: the bundle's autoencoder component does it.
/// </para>
/// </summary>
public sealed class AutoencoderKL : nn.Module<Tensor, Tensor>
{
    private readonly AutoencoderEncoder encoder;
    private readonly AutoencoderDecoder decoder;
    private readonly Conv2d quant_conv, post_quant_conv;

    public AutoencoderConfig Config { get; }

    /// <summary>
    /// A new network whose initial weights follow from <paramref name="seed"/> alone: every convolution's weight and
    /// bias is drawn again from a generator of its own, from the distribution libtorch's default initialisation draws
    /// from (uniform within ±1/√fan-in), so that nothing else drawing from libtorch's process-wide generator at the
    /// same time (another training, a test beside it) can change them. Norms start at weight 1 and bias 0.
    /// </summary>
    public static AutoencoderKL Seeded(AutoencoderConfig config, long seed)
    {
        var model = new AutoencoderKL(config);
        using var generator = new Generator((ulong)seed);
        var fanIn = new Dictionary<string, long>(StringComparer.Ordinal);
        using (no_grad())
            foreach (var (name, p) in model.named_parameters())
            {
                var owner = name[..name.LastIndexOf('.')];
                if (name.EndsWith(".weight", StringComparison.Ordinal) && p.dim() > 1)
                {
                    fanIn[owner] = p.numel() / p.shape[0];
                    double bound = 1 / Math.Sqrt(fanIn[owner]);
                    p.uniform_(-bound, bound, generator);
                }
                else if (name.EndsWith(".bias", StringComparison.Ordinal) && fanIn.TryGetValue(owner, out var fan))
                {
                    double bound = 1 / Math.Sqrt(fan);
                    p.uniform_(-bound, bound, generator);
                }
            }
        return model;
    }

    public AutoencoderKL(AutoencoderConfig config) : base(nameof(AutoencoderKL))
    {
        config.Validate();
        Config = config;
        encoder = new AutoencoderEncoder(config);
        decoder = new AutoencoderDecoder(config);
        quant_conv = nn.Conv2d(2 * config.LatentChannels, 2 * config.LatentChannels, 1);
        post_quant_conv = nn.Conv2d(config.LatentChannels, config.LatentChannels, 1);
        RegisterComponents();
    }

    /// <summary>The encoder's parameters (frozen when only the decoder is fine-tuned).</summary>
    public IEnumerable<Parameter> EncoderParameters => encoder.parameters().Concat(quant_conv.parameters());

    /// <summary>The decoder's parameters, <c>post_quant_conv</c> included.</summary>
    public IEnumerable<Parameter> DecoderParameters => post_quant_conv.parameters().Concat(decoder.parameters());

    /// <summary>The weight of the decoder's last convolution: where latent diffusion balances its losses' gradients.</summary>
    public Parameter LastDecoderWeight => decoder.LastWeight;

    /// <summary>Images (B, C, H, W) in [−1, 1] to the posterior's moments (B, 2·latent, H/f, W/f): mean, then log-variance.</summary>
    public Tensor Moments(Tensor images)
    {
        int f = Config.Factor;
        if (images.shape[2] % f != 0 || images.shape[3] % f != 0)
            throw new NoisetteInputException($"the autoencoder's factor {f} does not divide the image size {images.shape[3]}×{images.shape[2]}");
        return quant_conv.call(encoder.call(images));
    }

    /// <summary>The posterior over latents of images (B, C, H, W) in [−1, 1].</summary>
    public LatentPosterior Encode(Tensor images) => new(Moments(images));

    /// <summary>Latents (B, latent, h, w), unscaled, to images (B, C, h·f, w·f), about [−1, 1] (not clamped).</summary>
    public Tensor Decode(Tensor latents) => decoder.call(post_quant_conv.call(latents));

    /// <summary>The reconstruction of images through the posterior's mean.</summary>
    public override Tensor forward(Tensor images)
    {
        using var posterior = Encode(images);
        return Decode(posterior.Mean);
    }
}

/// <summary>The encoder: conv_in, the down levels, the middle, norm_out, SiLU, conv_out (to 2·latent channels).</summary>
internal sealed class AutoencoderEncoder : nn.Module<Tensor, Tensor>
{
    private readonly PaddedConv2d conv_in, conv_out;
    private readonly ModuleList<AutoencoderLevel> down;
    private readonly AutoencoderMiddle mid;
    private readonly GroupNorm norm_out;

    public AutoencoderEncoder(AutoencoderConfig c) : base("Encoder")
    {
        int groups = c.NormGroups, levels = c.ChannelMultipliers.Length, width = c.BaseChannels;
        conv_in = new PaddedConv2d(c.InChannels, width, 3, padding: 1);
        var list = new List<AutoencoderLevel>();
        for (int level = 0; level < levels; level++)
        {
            int outWidth = c.BaseChannels * c.ChannelMultipliers[level];
            var blocks = new List<AutoencoderResBlock>();
            for (int i = 0; i < c.ResBlocksPerLevel; i++, width = outWidth)
                blocks.Add(new AutoencoderResBlock(width, outWidth, groups, c.Dropout));
            var attention = c.AttentionLevels.Contains(level)
                ? Enumerable.Range(0, c.ResBlocksPerLevel).Select(_ => new AutoencoderAttention(outWidth, groups)).ToList()
                : [];
            list.Add(new AutoencoderLevel(blocks, attention, level < levels - 1 ? new AutoencoderDownsample(width) : null, "downsample"));
        }
        down = new ModuleList<AutoencoderLevel>(list.ToArray());
        mid = new AutoencoderMiddle(width, groups, c.Dropout);
        norm_out = AutoencoderLayers.Norm(width, groups);
        conv_out = new PaddedConv2d(width, 2 * c.LatentChannels, 3, padding: 1);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        var h = conv_in.call(x);
        foreach (var level in down) h = level.call(h);
        h = mid.call(h);
        return conv_out.call(nn.functional.silu(norm_out.call(h)));
    }
}

/// <summary>The decoder: conv_in, the middle, the up levels (from the coarsest), norm_out, SiLU, conv_out.</summary>
internal sealed class AutoencoderDecoder : nn.Module<Tensor, Tensor>
{
    private readonly PaddedConv2d conv_in, conv_out;
    private readonly AutoencoderMiddle mid;
    private readonly ModuleList<AutoencoderLevel> up;
    private readonly GroupNorm norm_out;

    public AutoencoderDecoder(AutoencoderConfig c) : base("Decoder")
    {
        int groups = c.NormGroups, levels = c.ChannelMultipliers.Length;
        int width = c.BaseChannels * c.ChannelMultipliers[^1];
        conv_in = new PaddedConv2d(c.LatentChannels, width, 3, padding: 1);
        mid = new AutoencoderMiddle(width, groups, c.Dropout);
        // Built from the coarsest level up, stored by level (up[0] is at full resolution), as latent diffusion does.
        var byLevel = new AutoencoderLevel[levels];
        for (int level = levels - 1; level >= 0; level--)
        {
            int outWidth = c.BaseChannels * c.ChannelMultipliers[level];
            var blocks = new List<AutoencoderResBlock>();
            for (int i = 0; i <= c.ResBlocksPerLevel; i++, width = outWidth)
                blocks.Add(new AutoencoderResBlock(width, outWidth, groups, c.Dropout));
            var attention = c.AttentionLevels.Contains(level)
                ? Enumerable.Range(0, c.ResBlocksPerLevel + 1).Select(_ => new AutoencoderAttention(outWidth, groups)).ToList()
                : [];
            byLevel[level] = new AutoencoderLevel(blocks, attention, level > 0 ? new AutoencoderUpsample(width) : null, "upsample");
        }
        up = new ModuleList<AutoencoderLevel>(byLevel);
        norm_out = AutoencoderLayers.Norm(width, groups);
        conv_out = new PaddedConv2d(width, c.ResolvedOutChannels, 3, padding: 1);
        RegisterComponents();
    }

    public Parameter LastWeight => conv_out.Weight;

    public override Tensor forward(Tensor z)
    {
        var h = mid.call(conv_in.call(z));
        for (int level = up.Count - 1; level >= 0; level--) h = up[level].call(h);
        return conv_out.call(nn.functional.silu(norm_out.call(h)));
    }
}
