using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Noisette.Models;

/// <summary>A layer that also takes the timestep embedding.</summary>
internal interface IEmbedLayer
{
    Tensor Forward(Tensor x, Tensor emb);
}

/// <summary>
/// A list of layers whose children are named 0, 1, 2... (guided-diffusion's TimestepEmbedSequential):
/// layers that take the embedding get it, the others only see the activations.
/// </summary>
internal sealed class EmbedSequential : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly nn.Module[] layers;

    public EmbedSequential(params nn.Module[] layers) : base(nameof(EmbedSequential))
    {
        this.layers = layers;
        for (int i = 0; i < layers.Length; i++) register_module(i.ToString(), layers[i]);
    }

    public override Tensor forward(Tensor x, Tensor emb)
    {
        var h = x;
        foreach (var layer in layers)
        {
            var next = layer switch
            {
                IEmbedLayer e => e.Forward(h, emb),
                nn.Module<Tensor, Tensor> m => m.call(h),
                _ => throw new InvalidOperationException($"unsupported layer {layer.GetType().Name}"),
            };
            h = next;
        }
        return h;
    }
}

internal static class Layers
{
    /// <summary>GroupNorm with weight 1 and bias 0 (set explicitly: TorchSharp 0.107 can leave them uninitialised).</summary>
    public static GroupNorm Norm(int channels, int groups)
    {
        var norm = nn.GroupNorm(Math.Min(groups, channels), channels);
        using (no_grad())
        {
            norm.weight!.fill_(1);
            norm.bias!.zero_();
        }
        return norm;
    }

    public static T Zero<T>(T module) where T : nn.Module
    {
        using (no_grad())
            foreach (var p in module.parameters()) p.zero_();
        return module;
    }
}

/// <summary>Halves the resolution: a strided 3×3 convolution, or 2×2 average pooling.</summary>
internal sealed class Downsample : nn.Module<Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> op;

    public Downsample(int channels, bool useConv, int outChannels) : base(nameof(Downsample))
    {
        op = useConv ? new PaddedConv2d(channels, outChannels, 3, stride: 2, padding: 1) : nn.AvgPool2d(2, 2);
        register_module("op", op);
    }

    public override Tensor forward(Tensor x) => op.call(x);
}

/// <summary>
/// Doubles the resolution by nearest-neighbour repetition, optionally followed by a 3×3 convolution.
/// </summary>
/// <remarks>
/// With the convolution, the two are computed together at the input's resolution (<see cref="UpsampledConvolution"/>):
/// the same function, in about 4/9 of the multiply-adds and without the upsampled intermediate.
/// </remarks>
internal sealed class Upsample : nn.Module<Tensor, Tensor>
{
    private readonly PaddedConv2d? conv;

    public Upsample(int channels, bool useConv, int outChannels) : base(nameof(Upsample))
    {
        if (useConv)
        {
            conv = new PaddedConv2d(channels, outChannels, 3, padding: 1);
            register_module("conv", conv);
        }
    }

    public override Tensor forward(Tensor x)
    {
        if (conv is not null) return UpsampledConvolution.Apply(x, conv.Weight, conv.Bias);
        return nn.functional.interpolate(x, scale_factor: [2.0, 2.0], mode: InterpolationMode.Nearest);
    }
}

/// <summary>
/// The residual block: GroupNorm → SiLU → conv, add (or FiLM with) the timestep embedding,
/// GroupNorm → SiLU → dropout → zero-initialised conv, plus a skip connection.
/// </summary>
internal sealed class ResBlock : nn.Module<Tensor, Tensor>, IEmbedLayer
{
    private readonly Sequential in_layers, emb_layers, out_layers;
    private readonly nn.Module<Tensor, Tensor> skip_connection;
    private readonly nn.Module<Tensor, Tensor>? h_upd, x_upd;
    private readonly nn.Module<Tensor, Tensor> inNorm, inConv, outNorm, outDropout, outConv;   // the layers above, in order
    private readonly bool scaleShift;

    public ResBlock(int channels, int embChannels, double dropout, int outChannels, int groups,
                    bool useScaleShiftNorm, bool up = false, bool down = false) : base(nameof(ResBlock))
    {
        scaleShift = useScaleShiftNorm;
        in_layers = nn.Sequential(
            ("0", Layers.Norm(channels, groups)), ("1", nn.SiLU()), ("2", new PaddedConv2d(channels, outChannels, 3, padding: 1)));
        if (up) { h_upd = new Upsample(channels, false, channels); x_upd = new Upsample(channels, false, channels); }
        else if (down) { h_upd = new Downsample(channels, false, channels); x_upd = new Downsample(channels, false, channels); }
        emb_layers = nn.Sequential(("0", nn.SiLU()), ("1", nn.Linear(embChannels, useScaleShiftNorm ? 2 * outChannels : outChannels)));
        out_layers = nn.Sequential(
            ("0", Layers.Norm(outChannels, groups)), ("1", nn.SiLU()), ("2", new GeneratorDropout(dropout)),
            ("3", Layers.Zero(new PaddedConv2d(outChannels, outChannels, 3, padding: 1))));
        skip_connection = outChannels == channels ? nn.Identity() : nn.Conv2d(channels, outChannels, 1);
        var inputs = in_layers.children().Cast<nn.Module<Tensor, Tensor>>().ToArray();
        var outputs = out_layers.children().Cast<nn.Module<Tensor, Tensor>>().ToArray();
        (inNorm, inConv) = (inputs[0], inputs[2]);
        (outNorm, outDropout, outConv) = (outputs[0], outputs[2], outputs[3]);
        register_module("in_layers", in_layers);
        if (h_upd is not null) { register_module("h_upd", h_upd); register_module("x_upd", x_upd!); }
        register_module("emb_layers", emb_layers);
        register_module("out_layers", out_layers);
        register_module("skip_connection", skip_connection);
    }

    public override Tensor forward(Tensor x) => throw new InvalidOperationException("ResBlock needs the timestep embedding");

    public Tensor Forward(Tensor x, Tensor emb)
    {
        // Without autograd (sampling), SiLU and the additions overwrite tensors this block has just made instead of
        // allocating new ones: the same values, less memory traffic. With autograd they must not, since the
        // backward pass needs the tensors as they were.
        bool inPlace = !is_grad_enabled();
        Tensor Silu(Tensor t) => inPlace ? t.silu_() : nn.functional.silu(t);
        var h = Silu(inNorm.call(x));
        if (h_upd is not null)
        {
            h = h_upd.call(h);
            x = x_upd!.call(x);
        }
        h = inConv.call(h);
        var e = emb_layers.call(emb).to(h.dtype).unsqueeze(-1).unsqueeze(-1);
        if (scaleShift)
        {
            var ss = e.chunk(2, 1);
            h = inPlace ? outNorm.call(h).mul_(ss[0] + 1).add_(ss[1]) : outNorm.call(h) * (ss[0] + 1) + ss[1];
        }
        else
        {
            h = outNorm.call(inPlace ? h.add_(e) : h + e);
        }
        h = outConv.call(outDropout.call(Silu(h)));
        var skip = skip_connection.call(x);
        return inPlace ? h.add_(skip) : skip + h;
    }
}

/// <summary>
/// Multi-head self-attention over all spatial positions, with a residual connection.
/// The q/k/v split follows guided-diffusion: "legacy" splits heads first, the new order splits q/k/v first.
/// </summary>
internal sealed class AttentionBlock : nn.Module<Tensor, Tensor>
{
    private readonly GroupNorm norm;
    private readonly Conv1d qkv, proj_out;
    private readonly int heads;
    private readonly bool newOrder;

    public AttentionBlock(int channels, int numHeads, int headChannels, int groups, bool newAttentionOrder) : base(nameof(AttentionBlock))
    {
        heads = headChannels > 0 ? channels / headChannels : numHeads;
        if (heads < 1 || channels % heads != 0)
            throw new NoisetteInputException($"model config: {heads} attention heads do not divide {channels} channels");
        newOrder = newAttentionOrder;
        norm = Layers.Norm(channels, groups);
        qkv = nn.Conv1d(channels, channels * 3, 1);
        proj_out = Layers.Zero(nn.Conv1d(channels, channels, 1));
        register_module("norm", norm);
        register_module("qkv", qkv);
        register_module("proj_out", proj_out);
    }

    public override Tensor forward(Tensor x)
    {
        var shape = x.shape;
        long b = shape[0], c = shape[1], len = shape[2] * shape[3];
        var flat = x.reshape(b, c, len);
        var abc = qkv.call(norm.call(flat));          // (b, 3c, len)
        long ch = c / heads;
        Tensor q, k, v;
        if (newOrder)
        {
            var parts = abc.chunk(3, 1);
            q = parts[0].reshape(b * heads, ch, len); k = parts[1].reshape(b * heads, ch, len); v = parts[2].reshape(b * heads, ch, len);
        }
        else
        {
            var parts = abc.reshape(b * heads, ch * 3, len).split(ch, 1);
            q = parts[0]; k = parts[1]; v = parts[2];
        }
        // softmax(qᵀk / √ch) v, computed by libtorch's fused kernel on (batch·heads, len, ch) layouts.
        var a = nn.functional.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2));
        var h = a.transpose(1, 2).reshape(b, c, len);
        var projected = proj_out.call(h);
        return (is_grad_enabled() ? flat + projected : projected.add_(flat)).reshape(shape);
    }
}
