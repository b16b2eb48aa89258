using Noisette.Data;
using Noisette.Diffusion;
using Noisette.Evaluation;
using Noisette.Models;
using Noisette.Sampling;
using static TorchSharp.torch;

namespace Noisette.Tests.Evaluation;

/// <summary>
/// The exact minimum-error denoiser for pixels drawn independently from N(μ, s²): E[x₀ | x_t] is linear in x_t,
/// x̂₀ = μ + g (x_t − √ᾱ μ) with g = √ᾱ s² / (ᾱ s² + 1 − ᾱ). Its bound has a closed form (see the tests).
/// The wrapped network is never called.
/// </summary>
internal sealed class GaussianPosteriorDenoiser(UNet model, GaussianDiffusion diffusion, double mu, double s, bool withVarianceChannels = false)
    : Denoiser(model, diffusion)
{
    public static double Gain(GaussianDiffusion d, int t, double s)
    {
        double a2 = d.AlphasCumprod[t];
        return Math.Sqrt(a2) * s * s / (a2 * s * s + 1 - a2);
    }

    public override DenoiserOutput Predict(Tensor x, int t)
    {
        var xd = x.to(float64);
        var x0 = (xd - Math.Sqrt(Diffusion.AlphasCumprod[t]) * mu) * Gain(Diffusion, t, s) + mu;
        var tt = full(x.shape[0], (long)t, dtype: int64);
        var eps = Diffusion.EpsFromX0(xd, tt, x0);
        // v = −1 selects the smaller end of the learned range: the posterior variance, the same as fixed-small.
        Tensor? v = withVarianceChannels ? full_like(x, -1.0) : null;
        return new DenoiserOutput(x0.to(x.dtype), eps.to(x.dtype), v);
    }
}

public class LikelihoodTests
{
    private static readonly Lazy<UNet> Unused = new(() => new UNet(ModelPresets.Get("tiny").Model));

    [Fact]
    public void NormalKlMatchesHandValue()
    {
        // KL(N(0, 1) ‖ N(1, 4)) = ½ (ln 4 + 1/4 + 1/4 − 1).
        var kl = GaussianDiffusion.NormalKl(tensor(0.0), tensor(0.0), tensor(1.0), tensor(Math.Log(4))).item<double>();
        Assert.Equal(0.44314718055994530942, kl, 1e-14);
        Assert.Equal(0.0, GaussianDiffusion.NormalKl(tensor(0.3), tensor(-2.0), tensor(0.3), tensor(-2.0)).item<double>(), 1e-15);
    }

    [Theory]
    // Reference values: mpmath at 40 digits, log(Φ(upper) − Φ(lower)) over the bin x ± 1/255 (edge bins open).
    [InlineData(0.0, 0.0, 0.01, -1.187254389235347835)]
    [InlineData(-1.0, -1.0, 0.01, -0.4268999377263286457)]    // lowest level: the bin runs to −∞
    [InlineData(1.0, 0.98, 0.02, -1.557219648285468987)]      // highest level: the bin runs to +∞
    [InlineData(0.65, 0.0, 0.1, -24.578922486529086819)]       // far right tail: needs the tail-side difference
    [InlineData(-0.65, 0.0, 0.1, -24.578922486529086819)]      // far left tail
    [InlineData(0.2, 0.25, 0.5, -5.078917867144335995)]
    public void DiscretizedGaussianLogLikelihoodMatchesHandValues(double x, double mean, double scale, double expected)
    {
        var got = GaussianDiffusion.DiscretizedGaussianLogLikelihood(tensor(x), tensor(mean), tensor(Math.Log(scale))).item<double>();
        Assert.Equal(expected, got, Math.Abs(expected) * 1e-10);
    }

    [Fact]
    public void PriorTermMatchesHandValue()
    {
        var d = new GaussianDiffusion(new DiffusionConfig { Timesteps = 100 });
        double ab = d.AlphasCumprod[^1], c = 0.6;
        // KL(N(√ᾱ c, 1 − ᾱ) ‖ N(0, 1)) = ½ (−ln(1 − ᾱ) + (1 − ᾱ) + ᾱ c² − 1), per dimension.
        double expected = 0.5 * (-Math.Log(1 - ab) + (1 - ab) + ab * c * c - 1) / Math.Log(2);
        var got = d.PriorBitsPerDim(full(2, 1, 4, 4, c, dtype: float64)).data<double>().ToArray();
        Assert.All(got, g => Assert.Equal(expected, g, 1e-14));
    }

    [Fact]
    public void PlanCoversEveryStepOnceWhenExactAndWeightsSumToT()
    {
        var exact = Likelihood.Plan(50, 0, false, 0);
        Assert.Equal(Enumerable.Range(0, 50), exact.Select(p => p.Timestep));
        Assert.All(exact, p => Assert.Equal(1, p.Weight));

        foreach (bool random in new[] { false, true })
        {
            var plan = Likelihood.Plan(1000, 17, random, 5);
            Assert.Equal(17, plan.Count);
            Assert.Equal((0, 1), plan[0]);
            Assert.Equal(1000, plan.Sum(p => p.Weight));
            Assert.Equal(plan.Select(p => p.Timestep).Distinct().Count(), plan.Count);
            Assert.All(plan, p => Assert.InRange(p.Timestep, 0, 999));
        }
        Assert.Equal(Likelihood.Plan(1000, 17, true, 5), Likelihood.Plan(1000, 17, true, 5));
        Assert.NotEqual(Likelihood.Plan(1000, 17, true, 5), Likelihood.Plan(1000, 17, true, 6));
        Assert.Throws<NoisetteInputException>(() => Likelihood.Plan(1000, 1, false, 0));
    }

    private const double Mu = 0.1, S = 0.3;

    /// <summary>Gray 8×8 images whose pixels are N(μ, s²), rounded to the 256 levels.</summary>
    private static InMemoryImageSet GaussianImages(int count, int size = 8, int seed = 3)
    {
        var rng = new Random(seed);
        var px = new byte[count * size * size];
        for (int i = 0; i < px.Length; i++)
        {
            double u1 = 1 - rng.NextDouble(), u2 = rng.NextDouble();
            double z = Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
            px[i] = (byte)Math.Clamp(Math.Round((Mu + S * z + 1) * 127.5), 0, 255);
        }
        return new InMemoryImageSet(px, count, 1, size);
    }

    private static double[] Pixels(InMemoryImageSet set)
    {
        var all = new List<double>();
        var b = new byte[set.Channels * set.ImageSize * set.ImageSize];
        for (int i = 0; i < set.Count; i++)
        {
            set.CopyImage(i, b);
            all.AddRange(b.Select(v => v / 127.5 - 1));
        }
        return all.ToArray();
    }

    /// <summary>
    /// The expected bound of the linear denoiser, per term, in bits/dim. With x̂₀ = μ + g(√ᾱ x₀ + √(1−ᾱ) ε − √ᾱ μ),
    /// x₀ − x̂₀ = (1 − g√ᾱ)(x₀ − μ) − g√(1−ᾱ) ε. For t ≥ 1 the model and true posteriors share the variance β̃_t, so
    /// KL_t = c_t² E[(x₀ − x̂₀)²] / (2 β̃_t) with c_t the posterior's x₀ coefficient; over ε and the pixels that is
    /// c_t² ((1 − g√ᾱ)² m₂ + g²(1 − ᾱ)) / (2 β̃_t), m₂ the pixels' mean square deviation from μ. The prior term is
    /// exact per pixel. The decoder term (t = 0) is the expectation over ε of the discretised likelihood, by
    /// Gauss–Hermite quadrature (64 nodes, from the Golub–Welsch eigenproblem) per pixel value.
    /// </summary>
    private static (double Prior, double[] Steps, double Decoder) ClosedForm(GaussianDiffusion d, double[] x0)
    {
        double ln2 = Math.Log(2);
        double m2 = x0.Average(x => (x - Mu) * (x - Mu));
        double abT = d.AlphasCumprod[^1];
        double prior = x0.Average(x => 0.5 * (-Math.Log(1 - abT) + (1 - abT) + abT * x * x - 1)) / ln2;
        var steps = new double[d.T];
        for (int t = 1; t < d.T; t++)
        {
            double ab = d.AlphasCumprod[t], g = GaussianPosteriorDenoiser.Gain(d, t, S);
            var (cx0, _, variance, _) = d.PosteriorBetween(t, t - 1);
            double err = Math.Pow(1 - g * Math.Sqrt(ab), 2) * m2 + g * g * (1 - ab);
            steps[t] = cx0 * cx0 * err / (2 * variance) / ln2;
        }
        // Decoder: x̂₀ = x₀ − e with e = (1 − g√ᾱ₀)(x₀ − μ) − g√(1−ᾱ₀) z, z ~ N(0, 1); scale √β̃₁.
        var (nodes, weights) = GaussHermite(64);
        double a0 = Math.Sqrt(d.AlphasCumprod[0]), g0 = GaussianPosteriorDenoiser.Gain(d, 0, S), b0 = Math.Sqrt(1 - d.AlphasCumprod[0]);
        double logScale = 0.5 * d.PosteriorLogVarianceClipped[0];
        var byValue = x0.GroupBy(x => x).ToArray();
        double decoderNats = 0;
        foreach (var grp in byValue)
        {
            double x = grp.Key;
            var means = nodes.Select(z => x - ((1 - g0 * a0) * (x - Mu) - g0 * b0 * Math.Sqrt(2) * z)).ToArray();
            var ll = GaussianDiffusion.DiscretizedGaussianLogLikelihood(full(means.Length, x, dtype: float64), tensor(means), tensor(logScale))
                .data<double>().ToArray();
            double expected = 0;
            for (int k = 0; k < nodes.Length; k++) expected += weights[k] * ll[k];
            decoderNats += -expected / Math.Sqrt(Math.PI) * grp.Count();
        }
        return (prior, steps, decoderNats / x0.Length / ln2);
    }

    /// <summary>Nodes and weights of Gauss–Hermite quadrature (weight e^{−z²}) from the Jacobi matrix's eigenvectors.</summary>
    private static (double[] Nodes, double[] Weights) GaussHermite(int n)
    {
        var j = zeros(n, n, dtype: float64);
        for (int i = 1; i < n; i++)
        {
            j[i, i - 1] = tensor(Math.Sqrt(i / 2.0));
            j[i - 1, i] = tensor(Math.Sqrt(i / 2.0));
        }
        var (values, vectors) = linalg.eigh(j);
        var w = vectors[0].square() * Math.Sqrt(Math.PI);
        return (values.data<double>().ToArray(), w.data<double>().ToArray());
    }

    [Fact]
    public void BitsPerDimOfTheExactDenoiserOnGaussianDataMatchesTheClosedForm()
    {
        var d = new GaussianDiffusion(new DiffusionConfig { Timesteps = 100 });
        var images = GaussianImages(64);
        var (prior, steps, decoder) = ClosedForm(d, Pixels(images));
        double expected = prior + steps.Sum() + decoder;

        var denoiser = new GaussianPosteriorDenoiser(Unused.Value, d, Mu, S);
        var r = Likelihood.Evaluate(denoiser, images, new LikelihoodOptions { Timesteps = 0, Seed = 1, BatchSize = 64 });
        Assert.True(r.Exact);
        Assert.Equal(64, r.Images);
        Assert.Equal(prior, r.PriorBitsPerDim, 1e-12);                              // no noise involved: exact
        Assert.Equal(steps.Sum(), r.StepsBitsPerDim, steps.Sum() * 0.01);           // one noise draw per pixel and step
        Assert.Equal(decoder, r.DecoderBitsPerDim, Math.Abs(decoder) * 0.02);
        Assert.Equal(expected, r.BitsPerDim, expected * 0.01);
        Assert.Equal(r.PriorBitsPerDim + r.StepsBitsPerDim + r.DecoderBitsPerDim, r.BitsPerDim, 1e-9);
        // Every per-step term, not just their sum.
        foreach (var term in r.Terms.Where(x => x.Timestep > 0))
            Assert.Equal(steps[term.Timestep], term.BitsPerDim, steps[term.Timestep] * 0.1 + 1e-6);

        // The subsampled estimate lands near the exact sum, and learned-σ channels at v = −1 equal fixed-small.
        var estimate = Likelihood.Evaluate(denoiser, images, new LikelihoodOptions { Timesteps = 20, Seed = 1, BatchSize = 64 });
        Assert.False(estimate.Exact);
        Assert.Equal(expected, estimate.BitsPerDim, expected * 0.03);
        var learned = Likelihood.Evaluate(new GaussianPosteriorDenoiser(Unused.Value, d, Mu, S, withVarianceChannels: true), images,
                                          new LikelihoodOptions { Timesteps = 20, Seed = 1, BatchSize = 64 });
        Assert.Equal(estimate.BitsPerDim, learned.BitsPerDim, 1e-9);
    }

    [Fact]
    public void ResultIsDeterministicAndIndependentOfBatchSize()
    {
        var d = new GaussianDiffusion(new DiffusionConfig { Timesteps = 100, Schedule = BetaSchedule.Cosine });
        var images = GaussianImages(10);
        var denoiser = new GaussianPosteriorDenoiser(Unused.Value, d, Mu, S);
        var a = Likelihood.Evaluate(denoiser, images, new LikelihoodOptions { Timesteps = 10, Seed = 4, BatchSize = 3 });
        var b = Likelihood.Evaluate(denoiser, images, new LikelihoodOptions { Timesteps = 10, Seed = 4, BatchSize = 10 });
        Assert.Equal(a.BitsPerDim, b.BitsPerDim, 1e-12);
        var c = Likelihood.Evaluate(denoiser, images, new LikelihoodOptions { Timesteps = 10, Seed = 5, BatchSize = 10 });
        Assert.NotEqual(a.BitsPerDim, c.BitsPerDim);
        Assert.Throws<NoisetteInputException>(() => Likelihood.Evaluate(denoiser, new InMemoryImageSet([], 0, 1, 8), new LikelihoodOptions()));
    }
}
