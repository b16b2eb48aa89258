using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Noisette.Models;

/// <summary>
/// The denoising U-Net. Built from a <see cref="UNetConfig"/>; its parameter names are guided-diffusion's
/// (time_embed, label_emb, input_blocks, middle_block, output_blocks, out), so released ADM checkpoints
/// map onto it one to one.
/// </summary>
public sealed class UNet : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly Sequential time_embed;
    private readonly Embedding? label_emb;
    private readonly ModuleList<EmbedSequential> input_blocks, output_blocks;
    private readonly EmbedSequential middle_block;
    private readonly Sequential @out;
    private readonly Linear timeInput;

    public UNetConfig Config { get; }

    private static readonly Lock Construction = new();

    /// <summary>
    /// A new network whose initial weights follow from <paramref name="seed"/> alone, even while other threads build
    /// networks: the seed and the construction happen under one lock. It seeds libtorch's process-wide generator.
    /// </summary>
    public static UNet Seeded(UNetConfig config, long seed)
    {
        lock (Construction)
        {
            random.manual_seed(seed);
            return new UNet(config);
        }
    }

    /// <summary>
    /// Makes the dropout layers (of this network only) draw their masks from <paramref name="generator"/>; null
    /// goes back to libtorch's process-wide generator.
    /// </summary>
    public void DrawFrom(Generator? generator)
    {
        foreach (var m in modules())
            if (m is GeneratorDropout d) d.Generator = generator;
    }

    public UNet(UNetConfig config) : base(nameof(UNet))
    {
        // Initialising weights draws from libtorch's process-wide generator; one construction at a time keeps a
        // seeded one (Seeded) from being interleaved with another's draws.
        lock (Construction)
        {
            config.Validate();
            Config = config;
            int mc = config.BaseChannels, ted = mc * 4, groups = config.NormGroups;
            var attnLevels = config.AttentionLevels();
            bool conv = true;

            timeInput = nn.Linear(mc, ted);
            time_embed = nn.Sequential(("0", timeInput), ("1", nn.SiLU()), ("2", nn.Linear(ted, ted)));
            if (config.NumClasses > 0)
            {
                label_emb = nn.Embedding(config.NumClasses + (config.NullClass ? 1 : 0), ted);
                using (no_grad()) label_emb.weight!.normal_(0, 1);
            }

            ResBlock Res(int cin, int cout, bool up = false, bool down = false) =>
                new(cin, ted, config.Dropout, cout, groups, config.UseScaleShiftNorm, up, down);
            AttentionBlock Attn(int ch, int heads) => new(ch, heads, config.HeadChannels, groups, config.NewAttentionOrder);

            int ch = (int)(config.ChannelMultipliers[0] * mc), inputCh = ch;
            input_blocks = new ModuleList<EmbedSequential>(new EmbedSequential(new PaddedConv2d(config.InChannels, ch, 3, padding: 1)));
            var skips = new Stack<int>();
            skips.Push(ch);
            int levels = config.ChannelMultipliers.Length;
            for (int level = 0; level < levels; level++)
            {
                int outCh = (int)(config.ChannelMultipliers[level] * mc);
                for (int i = 0; i < config.ResBlocksPerLevel; i++)
                {
                    var layers = new List<nn.Module> { Res(ch, outCh) };
                    ch = outCh;
                    if (attnLevels.Contains(level)) layers.Add(Attn(ch, config.NumHeads));
                    input_blocks.Add(new EmbedSequential([.. layers]));
                    skips.Push(ch);
                }
                if (level != levels - 1)
                {
                    input_blocks.Add(new EmbedSequential(config.ResBlockUpDown ? Res(ch, ch, down: true) : new Downsample(ch, conv, ch)));
                    skips.Push(ch);
                }
            }

            middle_block = new EmbedSequential(Res(ch, ch), Attn(ch, config.NumHeads), Res(ch, ch));

            int upHeads = config.NumHeadsUpsample > 0 ? config.NumHeadsUpsample : config.NumHeads;
            output_blocks = new ModuleList<EmbedSequential>();
            for (int level = levels - 1; level >= 0; level--)
            {
                int outCh = (int)(config.ChannelMultipliers[level] * mc);
                for (int i = 0; i <= config.ResBlocksPerLevel; i++)
                {
                    var layers = new List<nn.Module> { Res(ch + skips.Pop(), outCh) };
                    ch = outCh;
                    if (attnLevels.Contains(level)) layers.Add(Attn(ch, upHeads));
                    if (level > 0 && i == config.ResBlocksPerLevel)
                        layers.Add(config.ResBlockUpDown ? Res(ch, ch, up: true) : new Upsample(ch, conv, ch));
                    output_blocks.Add(new EmbedSequential([.. layers]));
                }
            }

            @out = nn.Sequential(("0", Layers.Norm(ch, groups)), ("1", nn.SiLU()),
                                 ("2", Layers.Zero(new PaddedConv2d(inputCh, config.ResolvedOutChannels, 3, padding: 1))));

            register_module("time_embed", time_embed);
            if (label_emb is not null) register_module("label_emb", label_emb);
            register_module("input_blocks", input_blocks);
            register_module("middle_block", middle_block);
            register_module("output_blocks", output_blocks);
            register_module("out", @out);
        }
    }

    /// <summary>Unconditional forward pass: x (B,C,H,W) and integer timesteps t (B).</summary>
    public override Tensor forward(Tensor x, Tensor t) => Forward(x, t, null);

    /// <summary>
    /// The floating-point type the network computes in: that of its weights (float32, or bfloat16/float16 for a
    /// low-precision working copy). Inputs are cast to it; the output comes out in it.
    /// </summary>
    public ScalarType ComputeType => timeInput.weight!.dtype;

    /// <summary>Forward pass with optional class labels y (B), int64. The output has <see cref="ComputeType"/>.</summary>
    public Tensor Forward(Tensor x, Tensor t, Tensor? y)
    {
        var dtype = ComputeType;
        if (x.dtype != dtype) x = x.to(dtype);
        var emb = time_embed.call(TimestepEmbedding(t, Config.BaseChannels).to(dtype));
        if (label_emb is not null)
        {
            if (y is null) throw new NoisetteInputException($"this model is class-conditional ({Config.NumClasses} classes): it needs a class label for every image");
            emb = emb + label_emb.call(y);
        }
        // Each block runs in its own dispose scope, so that its intermediate tensors are released when it ends rather
        // than when the caller's step ends: in inference this makes the peak memory one block's intermediates plus the
        // skip connections, not the whole forward pass's (6 GB less for a 256 px ADM model). In training, autograd
        // keeps what the backward pass needs whatever the handles.
        var hs = new List<Tensor>();
        var h = x;
        foreach (var block in input_blocks)
        {
            var input = h;
            h = InOwnScope(() => block.call(input, emb));
            hs.Add(h);
        }
        var last = h;
        h = InOwnScope(() => middle_block.call(last, emb));
        for (int i = 0; i < output_blocks.Count; i++)
        {
            var (previous, skip, block) = (h, hs[^(i + 1)], output_blocks[i]);
            h = InOwnScope(() => block.call(cat([previous, skip], 1), emb));
            previous.Dispose();     // block outputs are this pass's own tensors; the input x is never among them
            skip.Dispose();
        }
        var result = @out.call(h);
        h.Dispose();
        return result;
    }

    private static Tensor InOwnScope(Func<Tensor> block)
    {
        using var scope = NewDisposeScope();
        return block().MoveToOuterDisposeScope();
    }

    /// <summary>Sinusoidal embedding of (possibly fractional) timesteps: [cos(t·f), sin(t·f)], f = 10000^(-i/half).</summary>
    public static Tensor TimestepEmbedding(Tensor t, int dim, double maxPeriod = 10000)
    {
        int half = dim / 2;
        using var scope = NewDisposeScope();
        // The same float32 operations, in the same order, as guided-diffusion's timestep_embedding, so that imported
        // models see bit-identical embeddings: exp(−ln(max_period) · i / half).
        var freqs = exp(arange(0, half, dtype: float32, device: t.device) * (-Math.Log(maxPeriod)) / half);
        var args = t.to(float32).unsqueeze(1) * freqs.unsqueeze(0);
        var emb = cat([cos(args), sin(args)], 1);
        if (dim % 2 == 1) emb = cat([emb, zeros_like(emb[.., ..1])], 1);
        return emb.MoveToOuterDisposeScope();
    }

    /// <summary>The label meaning "no class" (classifier-free guidance), or −1 when the model has none.</summary>
    public int NullLabel => Config.NumClasses > 0 && Config.NullClass ? Config.NumClasses : -1;

    public bool IsConditional => Config.NumClasses > 0;

    public long ParameterCount() => parameters().Sum(p => p.numel());
}
