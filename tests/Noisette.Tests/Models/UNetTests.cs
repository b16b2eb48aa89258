using Noisette.Interop;
using Noisette.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Noisette.Tests;

public class UNetTests
{
    [Fact]
    public void GeneratorDropoutZeroesAFractionPScalesTheRestAndFollowsItsGenerator()
    {
        using var dropout = new GeneratorDropout(0.25);
        using var g = new Generator(7);
        dropout.Generator = g;
        dropout.train();
        var x = full(200_000, 2f);
        var y = dropout.call(x);
        double zeroed = (y == 0).to(float64).mean().item<double>();
        Assert.InRange(zeroed, 0.245, 0.255);                                    // p, within 5 standard deviations
        Assert.True(((y == 0) | (y == 2f / 0.75f)).all().item<bool>());          // the rest scaled by 1/(1-p)
        g.manual_seed(7);
        Assert.True(dropout.call(x).equal(y).all().item<bool>());                // the same generator state, the same mask
        Assert.False(dropout.call(x).equal(y).all().item<bool>());               // the next draw, another mask
        dropout.eval();
        Assert.True(dropout.call(x).equal(x).all().item<bool>());                // evaluation: the identity
    }

    [Theory]
    [InlineData("letters32", 1_623_169)]   // printed by ../shared/reference/bench_reference.py
    [InlineData("ddpm32", 6_472_195)]
    public void ReferencePresetsHaveTheReferenceParameterCount(string preset, long expected)
    {
        using var model = new UNet(ModelPresets.Get(preset).Model);
        Assert.Equal(expected, model.ParameterCount());
    }

    [Fact]
    public void TinyPresetIsUnderHalfAMillionParameters()
    {
        using var model = new UNet(ModelPresets.Get("tiny").Model);
        Assert.InRange(model.ParameterCount(), 1, 500_000);
    }

    [Theory]
    [InlineData("tiny")]
    [InlineData("letters32")]
    [InlineData("ddpm32")]
    [InlineData("letters64")]
    [InlineData("ddpm64")]
    public void OutputHasTheInputShape(string preset)
    {
        using var scope = NewDisposeScope();
        var cfg = ModelPresets.Get(preset).Model;
        using var model = new UNet(cfg);
        model.eval();
        using var _ = inference_mode();
        var x = randn(2, cfg.InChannels, cfg.ImageSize, cfg.ImageSize);
        var y = model.call(x, tensor(new long[] { 3, 900 }));
        Assert.Equal(new long[] { 2, cfg.ResolvedOutChannels, cfg.ImageSize, cfg.ImageSize }, y.shape);
    }

    /// <summary>
    /// The upsampling convolution computed at the input's resolution is nearest-neighbour ×2 followed by a 3×3
    /// convolution with padding 1: the same values and the same gradients for the input, weight and bias, on a
    /// non-square image (borders on all four sides), in float64 so that only rounding could differ.
    /// </summary>
    [Fact]
    public void TheUpsampledConvolutionIsInterpolationThenConvolution()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(3);
        var x = randn(2, 3, 5, 7, dtype: float64).requires_grad_();
        var weight = randn(4, 3, 3, 3, dtype: float64).requires_grad_();
        var bias = randn(4, dtype: float64).requires_grad_();
        var upstream = randn(2, 4, 10, 14, dtype: float64);

        var direct = UpsampledConvolution.Apply(x, weight, bias);
        var (gx, gw, gb) = Gradients(direct);
        var reference = nn.functional.conv2d(
            nn.functional.interpolate(x, scale_factor: [2.0, 2.0], mode: InterpolationMode.Nearest), weight, bias, padding: [1, 1]);
        var (rx, rw, rb) = Gradients(reference);

        Assert.Equal(new long[] { 2, 4, 10, 14 }, direct.shape);
        Assert.True((direct - reference).abs().max().item<double>() < 1e-12);
        Assert.True((gx - rx).abs().max().item<double>() < 1e-12);
        Assert.True((gw - rw).abs().max().item<double>() < 1e-12);
        Assert.True((gb - rb).abs().max().item<double>() < 1e-12);
        Assert.True(reference.abs().max().item<double>() > 1);

        (Tensor, Tensor, Tensor) Gradients(Tensor output)
        {
            var grads = autograd.grad([(output * upstream).sum()], [x, weight, bias]);
            return (grads[0], grads[1], grads[2]);
        }
    }

    /// <summary>
    /// Without autograd the blocks overwrite their own intermediate tensors (SiLU, the embedding and skip additions)
    /// instead of allocating new ones. That must change no value and never touch the caller's input: a forward pass
    /// under inference mode equals the same pass recorded for autograd, for the plain block, the scale-shift norm and
    /// the up/down-sampling residual blocks, with class labels; and the input is left as it was.
    /// </summary>
    [Theory]
    [InlineData(false, false)]
    [InlineData(true, true)]
    public void TheSamplingForwardEqualsTheTrainingForwardAndLeavesItsInputAlone(bool scaleShift, bool resBlockUpDown)
    {
        using var scope = NewDisposeScope();
        var cfg = new UNetConfig
        {
            InChannels = 3, BaseChannels = 16, ChannelMultipliers = [1, 2], ResBlocksPerLevel = 1, AttentionResolutions = [8],
            NormGroups = 8, ImageSize = 16, NumClasses = 3, UseScaleShiftNorm = scaleShift, ResBlockUpDown = resBlockUpDown,
        };
        random.manual_seed(7);
        using var model = new UNet(cfg);
        using (no_grad())
            foreach (var p in model.parameters()) p.add_(randn_like(p) * 0.1);   // zero-initialised layers would hide errors
        model.eval();
        var x = randn(2, 3, 16, 16);
        var before = x.clone();
        var t = tensor(new long[] { 10, 700 });
        var y = tensor(new long[] { 0, 2 });

        var recorded = model.Forward(x, t, y);
        Assert.True(recorded.requires_grad);
        Tensor sampled;
        using (inference_mode()) sampled = model.Forward(x, t, y);

        Assert.Equal(0f, (x - before).abs().max().item<float>());
        float difference = (sampled - recorded.detach()).abs().max().item<float>();
        Assert.True(difference <= 1e-5f * recorded.abs().max().item<float>(), $"max difference {difference}");
        Assert.True(recorded.abs().max().item<float>() > 0.1f);
    }

    /// <summary>
    /// The real U-Net built from the LSUN-bedroom MODEL_FLAGS (on the CPU: 2.2 GB of float32) has the released model's
    /// 552,814,086 parameters in 566 tensors, with exactly the names and shapes of the analytic layout; and it runs:
    /// at 32 px, its smallest size (attention at the same levels), the output has the input's size and 6 channels.
    /// The adm256 preset is the same layout without the learned variance.
    /// </summary>
    [Fact]
    public void TheLsunBedroomFlagsBuildAModelOfTheReleasedSizeThatRuns()
    {
        var config = GuidedDiffusionImport.ConfigFromFlags(GuidedDiffusionFlags.Parse(Interop.GuidedDiffusionImportTests.LsunBedroom));
        using var model = new UNet(config);
        Assert.Equal(552_814_086L, model.ParameterCount());
        var built = model.named_parameters().Select(p => (p.name, string.Join(",", p.parameter.shape))).ToList();
        Assert.Equal(566, built.Count);
        Assert.Equal(UNetLayout.Parameters(config).Select(p => (p.Name, string.Join(",", p.Shape))).ToList(), built);
        var preset = UNetLayout.Parameters(ModelPresets.Get("adm256").Model).Select(p => (p.Name, string.Join(",", p.Shape))).ToList();
        Assert.Equal(built.Where(p => !p.name.StartsWith("out.2.", StringComparison.Ordinal)), preset.Where(p => !p.Name.StartsWith("out.2.", StringComparison.Ordinal)));

        model.eval();
        using var scope = NewDisposeScope();
        using var _ = inference_mode();
        var y = model.Forward(randn(1, 3, 32, 32), tensor(new long[] { 500 }), null);
        Assert.Equal(new long[] { 1, 6, 32, 32 }, y.shape);
        Assert.True(y.isfinite().all().item<bool>());
    }

    // ------------------------------------------------------------------ attention: q/k/v order and heads

    /// <summary>
    /// Each attention block of a U-Net against an explicit computation written here: GroupNorm, the 1×1 qkv
    /// projection, q/k/v split per the layout (legacy: per head [q k v]; new order: [all q | all k | all v], then
    /// heads), softmax(qᵀk/√d) per head, the output projection and the residual. Heads by count (with another count
    /// in the decoder) or by channels per head. The fixtures check only the legacy order with 16 channels per head.
    /// </summary>
    [Theory]
    [InlineData(true, 2, 4, -1)]
    [InlineData(false, 2, 4, -1)]
    [InlineData(true, 1, -1, 16)]
    [InlineData(false, 1, -1, 16)]
    public void AttentionBlocksMatchAnExplicitComputation(bool newOrder, int numHeads, int headsUpsample, int headChannels)
    {
        var config = new UNetConfig { InChannels = 3, BaseChannels = 32, ChannelMultipliers = [1, 2], ResBlocksPerLevel = 1, AttentionResolutions = [8],
                                      NumHeads = numHeads, NumHeadsUpsample = headsUpsample, HeadChannels = headChannels, NewAttentionOrder = newOrder, ImageSize = 16 };
        using var model = new UNet(config);
        model.eval();
        var blocks = model.named_modules().Where(m => m.name.EndsWith(".1", StringComparison.Ordinal) && model.named_parameters().Any(p => p.name == m.name + ".qkv.weight")).ToList();
        Assert.Equal(["input_blocks.3.1", "middle_block.1", "output_blocks.0.1", "output_blocks.1.1"], blocks.Select(b => b.name).Order(StringComparer.Ordinal).ToArray());
        using var scope = NewDisposeScope();
        var gen = new Generator(5);
        foreach (var (name, module) in blocks)
        {
            var p = model.named_parameters().Where(q => q.name.StartsWith(name + ".", StringComparison.Ordinal)).ToDictionary(q => q.name[(name.Length + 1)..], q => (Tensor)q.parameter);
            using (no_grad())
                foreach (var t in p.Values) t.copy_(randn(t.shape, generator: gen) * 0.3);
            long c = p["norm.weight"].shape[0];
            int heads = headChannels > 0 ? (int)(c / headChannels) : name.StartsWith("output_blocks", StringComparison.Ordinal) ? headsUpsample : numHeads;
            var x = randn(new long[] { 2, c, 3, 5 }, generator: gen);
            Tensor actual;
            using (inference_mode()) actual = ((nn.Module<Tensor, Tensor>)module).call(x);
            var expected = ReferenceAttention(x, p, heads, newOrder, groups: 32);
            double err = (actual.to(float64) - expected).abs().max().item<double>();
            Assert.True(err < 1e-4, $"{name} ({heads} heads, {(newOrder ? "new" : "legacy")} order): max abs error {err}");
            // The reference tells the orders and the head counts apart, so agreeing with it means something.
            Assert.True((actual.to(float64) - ReferenceAttention(x, p, heads, !newOrder, 32)).abs().max().item<double>() > 1e-2);
            Assert.True((actual.to(float64) - ReferenceAttention(x, p, heads == 1 ? 2 : heads / 2, newOrder, 32)).abs().max().item<double>() > 1e-2);
        }
    }

    /// <summary>guided-diffusion's AttentionBlock, written out in float64 with explicit per-head loops.</summary>
    private static Tensor ReferenceAttention(Tensor x, Dictionary<string, Tensor> p, int heads, bool newOrder, int groups)
    {
        var w = p.ToDictionary(kv => kv.Key, kv => kv.Value.detach().to(float64));
        long b = x.shape[0], c = x.shape[1], len = x.shape[2] * x.shape[3], d = c / heads;
        var flat = x.to(float64).reshape(b, c, len);
        // GroupNorm: per image and group of c/groups channels, over those channels and all positions (biased variance, ε = 1e-5).
        long g = Math.Min(groups, c);
        var grouped = flat.reshape(b, g, -1);
        var mean = grouped.mean([2], keepdim: true);
        var variance = (grouped - mean).square().mean([2], keepdim: true);
        var normed = ((grouped - mean) / (variance + 1e-5).sqrt()).reshape(b, c, len) * w["norm.weight"].reshape(1, c, 1) + w["norm.bias"].reshape(1, c, 1);
        var qkv = w["qkv.weight"].reshape(3 * c, c).matmul(normed) + w["qkv.bias"].reshape(1, 3 * c, 1);   // (b, 3c, len)
        var outputs = new List<Tensor>();
        for (long h = 0; h < heads; h++)
        {
            // Rows of q, k and v for head h.
            long q0 = newOrder ? h * d : h * 3 * d, k0 = newOrder ? c + h * d : h * 3 * d + d, v0 = newOrder ? 2 * c + h * d : h * 3 * d + 2 * d;
            var q = qkv.narrow(1, q0, d);
            var k = qkv.narrow(1, k0, d);
            var v = qkv.narrow(1, v0, d);
            var weights = (q.transpose(1, 2).matmul(k) / Math.Sqrt(d)).softmax(-1);     // (b, query, key)
            outputs.Add(v.matmul(weights.transpose(1, 2)));                              // (b, d, query)
        }
        var a = cat(outputs, 1);
        var projected = w["proj_out.weight"].reshape(c, c).matmul(a) + w["proj_out.bias"].reshape(1, c, 1);
        return (flat + projected).reshape(x.shape);
    }

    [Fact]
    public void TimestepEmbeddingMatchesTheClosedForm()
    {
        using var scope = NewDisposeScope();
        var e = UNet.TimestepEmbedding(tensor(new long[] { 0, 7 }), 8).data<float>().ToArray();
        for (int i = 0; i < 4; i++)
        {
            double f = Math.Exp(-Math.Log(10000) * i / 4);
            Assert.Equal(1.0, e[i], 6);
            Assert.Equal(0.0, e[4 + i], 6);
            Assert.Equal(Math.Cos(7 * f), e[8 + i], 5);
            Assert.Equal(Math.Sin(7 * f), e[12 + i], 5);
        }
    }
}
