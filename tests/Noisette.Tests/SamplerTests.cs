using Noisette.Diffusion;
using Noisette.Models;
using Noisette.Sampling;
using static TorchSharp.torch;

namespace Noisette.Tests;

public class SamplerTests
{
    private static UNet TinyModel()
    {
        random.manual_seed(3);
        var model = new UNet(ModelPresets.Get("tiny").Model);
        // The zero-initialised output layers would make every prediction 0; give them weights.
        using (no_grad())
            foreach (var p in model.parameters()) p.add_(randn_like(p) * 0.02);
        return model;
    }

    [Theory]
    [InlineData("ddpm", 20, 0.0)]
    [InlineData("ddim", 10, 0.0)]
    [InlineData("ddim", 10, 1.0)]
    [InlineData("dpm++", 10, 0.0)]
    [InlineData("euler-a", 10, 0.0)]
    public void SamplingIsDeterministicForASeedAndIndependentOfTheBatch(string name, int steps, double eta)
    {
        using var model = TinyModel();
        var denoiser = new Denoiser(model, new GaussianDiffusion(new DiffusionConfig()));
        var sampler = Samplers.Get(name);
        var options = new SamplerOptions { Steps = steps, Eta = eta };
        var a = Pipelines.Generation.Sample(denoiser, sampler, options, [5, 6, 7], batchSize: 3);
        var b = Pipelines.Generation.Sample(denoiser, sampler, options, [5, 6, 7], batchSize: 3);
        var c = Pipelines.Generation.Sample(denoiser, sampler, options, [6], batchSize: 1);
        for (int i = 0; i < 3; i++) Assert.Equal(a[i], b[i]);
        Assert.Equal(a[1], c[0]);                 // image for seed 6, alone or in a batch
        Assert.NotEqual(a[0], a[1]);              // different seeds differ
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
}
