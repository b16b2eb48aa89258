using Noisette.Diffusion;
using static TorchSharp.torch;

namespace Noisette.Tests;

public class DiffusionTests
{
    [Fact]
    public void LinearScheduleMatchesTheClosedForm()
    {
        var d = new GaussianDiffusion(new DiffusionConfig { Timesteps = 1000 });
        Assert.Equal(1e-4, d.Betas[0], 15);
        Assert.Equal(0.02, d.Betas[999], 15);
        Assert.Equal(1e-4 + (0.02 - 1e-4) * 500 / 999, d.Betas[500], 15);
        // ᾱ_t is the running product of 1 − β.
        double prod = 1;
        for (int t = 0; t < 1000; t++)
        {
            prod *= 1 - d.Betas[t];
            Assert.Equal(prod, d.AlphasCumprod[t], 14);
        }
        Assert.InRange(d.AlphasCumprod[999], 3e-5, 5e-5); // ≈ 4.04e-5 for DDPM's schedule
    }

    [Fact]
    public void LinearScheduleScalesWithT()
    {
        var d = new GaussianDiffusion(new DiffusionConfig { Timesteps = 250 });
        Assert.Equal(4e-4, d.Betas[0], 15);
        Assert.Equal(0.08, d.Betas[249], 15);
    }

    [Fact]
    public void CosineScheduleFollowsItsAlphaBar()
    {
        const int T = 1000;
        var d = new GaussianDiffusion(new DiffusionConfig { Timesteps = T, Schedule = BetaSchedule.Cosine });
        static double F(double u) => Math.Pow(Math.Cos((u + 0.008) / 1.008 * Math.PI / 2), 2);
        for (int t = 0; t < T - 50; t += 37)
            Assert.Equal(F((t + 1.0) / T) / F(0), d.AlphasCumprod[t], 10);
        Assert.All(d.Betas, b => Assert.InRange(b, 0, 0.999));
        Assert.Equal(0.999, d.Betas[T - 1], 12);
    }

    [Fact]
    public void PosteriorVarianceMatchesDdpm()
    {
        var d = new GaussianDiffusion(new DiffusionConfig());
        for (int t = 1; t < 1000; t += 111)
        {
            double expected = d.Betas[t] * (1 - d.AlphasCumprod[t - 1]) / (1 - d.AlphasCumprod[t]);
            Assert.Equal(expected, d.PosteriorVariance[t], 15);
            var (_, _, variance, beta) = d.PosteriorBetween(t, t - 1);
            Assert.Equal(expected, variance, 12);
            Assert.Equal(d.Betas[t], beta, 12);
        }
        Assert.Equal(0, d.PosteriorVariance[0], 15);
        Assert.Equal(Math.Log(d.PosteriorVariance[1]), d.PosteriorLogVarianceClipped[0], 12);
    }

    [Fact]
    public void QSampleHasTheRightMeanAndVariance()
    {
        using var scope = NewDisposeScope();
        var d = new GaussianDiffusion(new DiffusionConfig());
        using var g = new Generator(7);
        const int n = 200_000, t = 300;
        var x0 = full(n, 1, 1, 1, 0.6f);
        var noise = randn(new long[] { n, 1, 1, 1 }, generator: g);
        var xt = d.QSample(x0, full(n, (long)t, dtype: int64), noise);
        double ab = d.AlphasCumprod[t];
        Assert.InRange(xt.mean().item<float>(), Math.Sqrt(ab) * 0.6 - 0.01, Math.Sqrt(ab) * 0.6 + 0.01);
        Assert.InRange(xt.var().item<float>(), (1 - ab) * 0.98, (1 - ab) * 1.02);
    }

    [Theory]
    [InlineData(Prediction.Epsilon)]
    [InlineData(Prediction.V)]
    [InlineData(Prediction.X0)]
    public void PredictionConversionsRoundTrip(Prediction prediction)
    {
        using var scope = NewDisposeScope();
        var d = new GaussianDiffusion(new DiffusionConfig { Prediction = prediction });
        var x0 = rand(4, 1, 8, 8) * 2 - 1;
        var eps = randn(4, 1, 8, 8);
        var t = tensor(new long[] { 0, 10, 500, 999 });
        var xt = d.QSample(x0, t, eps);
        // The exact target, interpreted as a network output, gives back x₀ and ε.
        var (px0, peps, _) = d.Interpret(xt, t, d.Target(x0, eps, t), clip: false);
        Assert.True(px0.allclose(x0, rtol: 1e-3, atol: 2e-3), "x0 mismatch");
        Assert.True(peps.allclose(eps, rtol: 1e-3, atol: 2e-3), "eps mismatch");
        // v = √ᾱ ε − √(1−ᾱ) x₀ by definition.
        var v = d.VFrom(x0, eps, t);
        Assert.True(d.X0FromV(xt, t, v).allclose(x0, atol: 1e-4));
        Assert.True(d.EpsFromV(xt, t, v).allclose(eps, atol: 1e-4));
    }

    [Fact]
    public void MinSnrWeightsFollowTheirDefinition()
    {
        using var scope = NewDisposeScope();
        var d = new GaussianDiffusion(new DiffusionConfig { MinSnrGamma = 5 });
        var t = tensor(new long[] { 0, 200, 999 });
        var w = d.LossWeights(t, zeros(1)).data<float>().ToArray();
        int[] ts = [0, 200, 999];
        for (int i = 0; i < 3; i++) Assert.Equal(Math.Min(d.Snr(ts[i]), 5) / d.Snr(ts[i]), w[i], 5);
        var off = new GaussianDiffusion(new DiffusionConfig());
        Assert.All(off.LossWeights(t, zeros(1)).data<float>().ToArray(), x => Assert.Equal(1f, x));
    }

    [Fact]
    public void OffsetNoiseAddsOneValuePerImageAndChannelAndLeavesPlainNoiseAsItWas()
    {
        using var scope = NewDisposeScope();
        long[] shape = [400, 2, 16, 16];
        Tensor Draw(double offset)
        {
            using var g = new Generator(7);
            return new GaussianDiffusion(new DiffusionConfig { OffsetNoise = offset }).TrainingNoise(shape, CPU, g);
        }
        using (var g = new Generator(7))
            Assert.True(Draw(0).eq(randn(shape, generator: g)).all().item<bool>());   // runs without it draw what they always drew
        var plain = Draw(0);
        var withOffset = Draw(0.5);
        // The difference is constant over each picture's pixels: one value per image and channel, 0.5 × N(0, 1).
        var diff = withOffset - plain;
        Assert.True(diff.std([2, 3]).max().item<float>() < 1e-5f);
        var perImage = diff.mean([2, 3]);
        Assert.InRange(perImage.std().item<float>(), 0.45f, 0.55f);
        Assert.InRange(perImage.mean().item<float>(), -0.06f, 0.06f);
        Assert.Throws<NoisetteInputException>(() => new GaussianDiffusion(new DiffusionConfig { OffsetNoise = -0.1 }));
        Assert.Throws<NoisetteInputException>(() => new GaussianDiffusion(new DiffusionConfig { OffsetNoise = 1.5 }));
    }
}
