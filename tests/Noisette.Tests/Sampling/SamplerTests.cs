using Noisette.Diffusion;
using Noisette.Models;
using Noisette.Sampling;
using static TorchSharp.torch;

namespace Noisette.Tests;

/// <summary>Runs alone: bit-exact determinism needs libtorch's process-wide thread count to stay put meanwhile.</summary>
[Collection(RunsAlone.Name)]
public class SamplerTests
{
    [Theory]
    [InlineData("ddpm", 20, 0.0)]
    [InlineData("ddim", 10, 0.0)]
    [InlineData("ddim", 10, 1.0)]
    [InlineData("dpm++", 10, 0.0)]
    [InlineData("euler-a", 10, 0.0)]
    public void SamplingIsDeterministicForASeedAndIndependentOfTheBatch(string name, int steps, double eta)
    {
        using var model = TestData.RandomTinyModel();
        var denoiser = new Denoiser(model, new GaussianDiffusion(new DiffusionConfig()));
        var sampler = Samplers.Get(name);
        var options = new SamplerOptions { Steps = steps, Eta = eta };
        var a = Bundles.ImageBatches.Sample(denoiser, sampler, options, [5, 6, 7], batchSize: 3);
        var b = Bundles.ImageBatches.Sample(denoiser, sampler, options, [5, 6, 7], batchSize: 3);
        var c = Bundles.ImageBatches.Sample(denoiser, sampler, options, [6], batchSize: 1);
        for (int i = 0; i < 3; i++) Assert.Equal(a[i], b[i]);
        ImageAssert.Alike(a[1], c[0]);            // image for seed 6, alone or in a batch: the same but for the last bits
        Assert.NotEqual(a[0], a[1]);              // different seeds differ
        // Byte for byte: the same slot of a batch of the same size, whatever the other images (how regeneration works).
        Assert.Equal(a[1], Bundles.ImageBatches.Sample(denoiser, sampler, options, [6, 6, 6], batchSize: 3)[1]);
        Assert.Equal(a[2], Bundles.ImageBatches.Sample(denoiser, sampler, options, [9, 1, 7], batchSize: 3)[2]);
    }

    /// <summary>
    /// What regeneration relies on (BatchSlot): the network's output for an image depends on the batch's size and the
    /// image's slot, never on the other images. Checked on the raw floats, for every slot of a batch of seven.
    /// </summary>
    [Fact]
    public void AnImagesOutputDependsOnItsSlotNotOnItsBatchmates()
    {
        using var model = TestData.RandomTinyModel();
        model.eval();
        using var _ = inference_mode();
        var x = randn(7, 1, 32, 32);
        var t = tensor(new long[] { 999, 700, 500, 300, 100, 10, 0 });
        var batch = model.forward(x, t);
        for (int k = 0; k < 7; k++)
        {
            var copies = x.narrow(0, k, 1).expand(7, -1, -1, -1).contiguous();
            var same = model.forward(copies, t.narrow(0, k, 1).expand(7).contiguous());
            float diff = (batch.narrow(0, k, 1) - same.narrow(0, k, 1)).abs().max().item<float>();
            Assert.True(diff == 0, $"slot {k} of 7 changed by {diff:E2} with the other images");
        }
    }

    [Fact]
    public void RespacedTimestepsCoverTheRange()
    {
        Assert.Equal(new[] { 0, 333, 666, 999 }, Timesteps.Evenly(1000, 4));
        Assert.Equal(Enumerable.Range(0, 10).ToArray(), Timesteps.Evenly(10, 50));
        var fifty = Timesteps.Evenly(1000, 50);
        Assert.Equal(50, fifty.Length);
        Assert.Equal(0, fifty[0]);
        Assert.Equal(999, fifty[^1]);
    }

    /// <summary>
    /// For data x₀ ~ N(μ, s²) the exact denoiser is known: E[x₀ | x_t] = μ + √ᾱ s² (x_t − √ᾱ μ) / (ᾱ s² + 1 − ᾱ).
    /// Samplers driven by it must produce that distribution.
    /// </summary>
    private sealed class GaussianDenoiser(GaussianDiffusion diffusion, double mu, double s) : Denoiser(null!, diffusion)
    {
        public override DenoiserOutput Predict(Tensor x, int t)
        {
            var d = Diffusion;
            double ab = d.AlphaBar(t);
            var x0 = (x - Math.Sqrt(ab) * mu) * (Math.Sqrt(ab) * s * s / (ab * s * s + 1 - ab)) + mu;
            var tt = full(x.shape[0], (long)t, dtype: int64);
            return new DenoiserOutput(x0, d.EpsFromX0(x, tt, x0), null);
        }
    }

    [Theory]
    [InlineData("ddim", 500, 0.0)]
    [InlineData("ddim", 500, 1.0)]
    [InlineData("ddpm", 1000, 0.0)]
    [InlineData("euler-a", 500, 0.0)]
    [InlineData("euler-a", 100, 0.0)]
    public void SamplersReachTheDataDistributionOfAnAnalyticDenoiser(string name, int steps, double eta)
    {
        using var scope = NewDisposeScope();
        const double mu = 0.3, s = 0.2;
        var d = new GaussianDiffusion(new DiffusionConfig());
        var denoiser = new GaussianDenoiser(d, mu, s) { ClipDenoised = false };
        var gens = Noise.Generators(Enumerable.Range(0, 4).Select(i => (long)i));
        var noise = Noise.Normal(gens, 1, 32);      // 4 × 1024 independent samples
        var x = Samplers.Get(name).Sample(denoiser, noise, new SamplerOptions { Steps = steps, Eta = eta }, gens);
        Assert.InRange(x.mean().item<float>(), mu - 0.015, mu + 0.015);
        Assert.InRange(x.std().item<float>(), s * 0.95, s * 1.05);
        foreach (var g in gens) g.Dispose();
    }

    /// <summary>A tiny class-conditional model (2 classes and a null class) with random weights everywhere.</summary>
    private static UNet TinyConditionalModel()
    {
        random.manual_seed(4);
        var model = new UNet(ModelPresets.Get("tiny").Model with { NumClasses = 2, NullClass = true });
        using (no_grad())
            foreach (var p in model.parameters()) p.add_(randn_like(p) * 0.05);
        model.eval();
        return model;
    }

    /// <summary>A denoiser that counts its network calls and the batch size of each.</summary>
    private sealed class CountingDenoiser(UNet model, GaussianDiffusion diffusion) : Denoiser(model, diffusion)
    {
        public List<long> Batches { get; } = [];
        protected override Tensor Net(Tensor x, Tensor t, Tensor? labels)
        {
            Batches.Add(x.shape[0]);
            return base.Net(x, t, labels);
        }
    }

    [Theory]
    [InlineData(2.0)]
    [InlineData(0.5)]
    public void GuidanceMixesTheTwoPredictionsFromOneBatchedForward(double w)
    {
        using var model = TinyConditionalModel();
        using var scope = NewDisposeScope();
        using var _ = inference_mode();
        var diffusion = new GaussianDiffusion(new DiffusionConfig());
        random.manual_seed(8);
        var x = randn(3, 1, 32, 32);
        var labels = tensor(new long[] { 0, 1, 0 });
        var denoiser = new CountingDenoiser(model, diffusion) { Labels = labels, GuidanceScale = w, ClipDenoised = false };
        var guided = denoiser.Predict(x, 400).Eps;                   // an ε model: ε̂ is the mixed network output
        Assert.Equal(new long[] { 6 }, denoiser.Batches);             // one forward pass, conditional and null halves together

        var t = full(3, 400L, dtype: int64);
        var cond = model.Forward(x, t, labels);
        var uncond = model.Forward(x, t, full(3, (long)model.NullLabel, dtype: int64));
        var expected = uncond + (cond - uncond) * w;
        double error = (guided - expected).abs().max().item<float>();
        Assert.True(error < 1e-5, $"guided output differs from ε_u + w(ε_c − ε_u) by {error}");
        // And the mix is not trivially one of its halves.
        Assert.True((cond - uncond).abs().max().item<float>() > 1e-3, "the class changes nothing in this model");
    }

    [Theory]
    [InlineData("dpm++", 6)]
    [InlineData("ddim", 6)]
    [InlineData("ddpm", 6)]
    [InlineData("euler-a", 6)]
    public void GuidanceWorksWithEverySampler(string name, int steps)
    {
        using var model = TinyConditionalModel();
        var diffusion = new GaussianDiffusion(new DiffusionConfig());
        var sampler = Samplers.Get(name);
        var options = new SamplerOptions { Steps = steps };
        int[] labels = [0, 1];
        var guided = Bundles.ImageBatches.Sample(new Denoiser(model, diffusion) { GuidanceScale = 3 }, sampler, options, [5, 6], labels: labels);
        var again = Bundles.ImageBatches.Sample(new Denoiser(model, diffusion) { GuidanceScale = 3 }, sampler, options, [6], labels: [1]);
        var plain = Bundles.ImageBatches.Sample(new Denoiser(model, diffusion) { GuidanceScale = 1 }, sampler, options, [5, 6], labels: labels);
        var uncond = Bundles.ImageBatches.Sample(new Denoiser(model, diffusion), sampler, options, [5, 6]);
        ImageAssert.Alike(guided[1], again[0]);                                // the same for a seed, whatever the batch (but for the last bits)
        Assert.Equal(guided[1], Bundles.ImageBatches.Sample(new Denoiser(model, diffusion) { GuidanceScale = 3 }, sampler, options, [6, 6], labels: [1, 1])[1]);
        for (int i = 0; i < 2; i++)
        {
            Assert.NotEqual(plain[i], guided[i]);
            Assert.NotEqual(uncond[i], guided[i]);
        }
    }
}
