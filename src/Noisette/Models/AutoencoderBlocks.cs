using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Noisette.Models;

/// <summary>
/// The building blocks of the KL autoencoder (<see cref="AutoencoderKL"/>), named as latent diffusion names them so
/// that released weights load one to one: GroupNorm with ε = 10⁻⁶, SiLU, 3×3 convolutions through
/// <see cref="PaddedConv2d"/> (the CPU kernels' channel fault, see <see cref="ChannelPaddedConvolution"/>).
/// </summary>
internal static class AutoencoderLayers
{
    /// <summary>latent diffusion's Normalize: GroupNorm(32, ε 10⁻⁶), weight 1 and bias 0.</summary>
    public static GroupNorm Norm(int channels, int groups)
    {
        var norm = nn.GroupNorm(Math.Min(groups, channels), channels, eps: 1e-6);
        using (no_grad())
        {
            norm.weight!.fill_(1);
            norm.bias!.zero_();
        }
        return norm;
    }
}

/// <summary>
/// norm1 → SiLU → conv1 → norm2 → SiLU → dropout → conv2, plus the input (through a 1×1 <c>nin_shortcut</c> when the
/// width changes). No timestep: the autoencoder's blocks take the image alone.
/// </summary>
internal sealed class AutoencoderResBlock : nn.Module<Tensor, Tensor>
{
    private readonly GroupNorm norm1, norm2;
    private readonly PaddedConv2d conv1, conv2;
    private readonly GeneratorDropout dropout;
    private readonly Conv2d? nin_shortcut;

    public AutoencoderResBlock(int inChannels, int outChannels, int groups, double dropoutRate) : base(nameof(AutoencoderResBlock))
    {
        norm1 = AutoencoderLayers.Norm(inChannels, groups);
        conv1 = new PaddedConv2d(inChannels, outChannels, 3, padding: 1);
        norm2 = AutoencoderLayers.Norm(outChannels, groups);
        dropout = new GeneratorDropout(dropoutRate);
        conv2 = new PaddedConv2d(outChannels, outChannels, 3, padding: 1);
        if (inChannels != outChannels) nin_shortcut = nn.Conv2d(inChannels, outChannels, 1);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        var h = conv1.call(nn.functional.silu(norm1.call(x)));
        h = conv2.call(dropout.call(nn.functional.silu(norm2.call(h))));
        return (nin_shortcut is null ? x : nin_shortcut.call(x)) + h;
    }
}

/// <summary>
/// Single-head self-attention over all positions with 1×1 convolutions <c>q</c>, <c>k</c>, <c>v</c> and
/// <c>proj_out</c> after a GroupNorm, plus the input: the autoencoder's attention block (softmax(qᵀk/√c) v).
/// </summary>
internal sealed class AutoencoderAttention : nn.Module<Tensor, Tensor>
{
    private readonly GroupNorm norm;
    private readonly Conv2d q, k, v, proj_out;

    public AutoencoderAttention(int channels, int groups) : base(nameof(AutoencoderAttention))
    {
        norm = AutoencoderLayers.Norm(channels, groups);
        q = nn.Conv2d(channels, channels, 1);
        k = nn.Conv2d(channels, channels, 1);
        v = nn.Conv2d(channels, channels, 1);
        proj_out = nn.Conv2d(channels, channels, 1);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        long b = x.shape[0], c = x.shape[1], hw = x.shape[2] * x.shape[3];
        var h = norm.call(x);
        // (b, c, h, w) → (b, 1 head, hw, c) for the fused kernel, whose scale is 1/√c.
        Tensor Positions(Tensor t) => t.reshape(b, 1, c, hw).transpose(2, 3);
        var a = nn.functional.scaled_dot_product_attention(Positions(q.call(h)), Positions(k.call(h)), Positions(v.call(h)));
        return x + proj_out.call(a.transpose(2, 3).reshape(x.shape));
    }
}

/// <summary>Halves the resolution: pad one zero row and column at the bottom and right, then a 3×3 convolution of stride 2.</summary>
internal sealed class AutoencoderDownsample : nn.Module<Tensor, Tensor>
{
    private readonly PaddedConv2d conv;

    public AutoencoderDownsample(int channels) : base(nameof(AutoencoderDownsample))
    {
        conv = new PaddedConv2d(channels, channels, 3, stride: 2);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => conv.call(nn.functional.pad(x, [0, 1, 0, 1]));
}

/// <summary>Doubles the resolution: nearest-neighbour ×2, then a 3×3 convolution (computed together, <see cref="UpsampledConvolution"/>).</summary>
internal sealed class AutoencoderUpsample : nn.Module<Tensor, Tensor>
{
    private readonly PaddedConv2d conv;

    public AutoencoderUpsample(int channels) : base(nameof(AutoencoderUpsample))
    {
        conv = new PaddedConv2d(channels, channels, 3, padding: 1);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => UpsampledConvolution.Apply(x, conv.Weight, conv.Bias);
}

/// <summary>One level of the encoder or decoder: <c>block</c>s, their <c>attn</c> blocks, and the resampling layer.</summary>
internal sealed class AutoencoderLevel : nn.Module<Tensor, Tensor>
{
    private readonly ModuleList<AutoencoderResBlock> block;
    private readonly ModuleList<AutoencoderAttention> attn;
    private readonly nn.Module<Tensor, Tensor>? resample;

    /// <param name="resampleName">"downsample", "upsample", or null for none.</param>
    public AutoencoderLevel(IEnumerable<AutoencoderResBlock> blocks, IEnumerable<AutoencoderAttention> attention,
                            nn.Module<Tensor, Tensor>? resampleLayer, string? resampleName) : base(nameof(AutoencoderLevel))
    {
        block = new ModuleList<AutoencoderResBlock>(blocks.ToArray());
        attn = new ModuleList<AutoencoderAttention>(attention.ToArray());
        register_module(nameof(block), block);
        register_module(nameof(attn), attn);
        resample = resampleLayer;
        if (resample is not null) register_module(resampleName!, resample);
    }

    public override Tensor forward(Tensor x)
    {
        for (int i = 0; i < block.Count; i++)
        {
            x = block[i].call(x);
            if (attn.Count > 0) x = attn[i].call(x);
        }
        return resample is null ? x : resample.call(x);
    }
}

/// <summary>The middle of the encoder and of the decoder: <c>block_1</c>, <c>attn_1</c>, <c>block_2</c>.</summary>
internal sealed class AutoencoderMiddle : nn.Module<Tensor, Tensor>
{
    private readonly AutoencoderResBlock block_1, block_2;
    private readonly AutoencoderAttention attn_1;

    public AutoencoderMiddle(int channels, int groups, double dropout) : base(nameof(AutoencoderMiddle))
    {
        block_1 = new AutoencoderResBlock(channels, channels, groups, dropout);
        attn_1 = new AutoencoderAttention(channels, groups);
        block_2 = new AutoencoderResBlock(channels, channels, groups, dropout);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => block_2.call(attn_1.call(block_1.call(x)));
}
