using Noisette.Bundles;
using Noisette.Data;
using Noisette.Diffusion;
using Noisette.Models;
using Noisette.Pipelines;
using Noisette.Sampling;
using static Noisette.Tests.PipelineTestData;
using static TorchSharp.torch;

namespace Noisette.Tests;

/// <summary>Sampling: samplers against an exact Gaussian model, batches, seeds, timesteps, and previews from every pipeline.</summary>
public class SamplingPipelineTests(TinyRunFixture fixture) : IClassFixture<TinyRunFixture>
{
    /// <summary>For data x₀ ~ N(μ, s²), E[x₀ | x_t] = μ + √ᾱ s² (x_t − √ᾱ μ) / (ᾱ s² + 1 − ᾱ): the exact denoiser.</summary>
    private sealed class GaussianDenoiser(GaussianDiffusion diffusion, double mu, double s) : Denoiser(null!, diffusion)
    {
        public override DenoiserOutput Predict(Tensor x, int t)
        {
            double ab = Diffusion.AlphaBar(t);
            var x0 = (x - Math.Sqrt(ab) * mu) * (Math.Sqrt(ab) * s * s / (ab * s * s + 1 - ab)) + mu;
            return new DenoiserOutput(x0, Diffusion.EpsFromX0(x, full(x.shape[0], (long)t, dtype: int64), x0), null);
        }
    }

    /// <summary>
    /// The same exact model written as a network of the diffusion's prediction type (ε, v or x₀): its raw output goes
    /// through <see cref="GaussianDiffusion.Interpret"/>, as a trained network's does.
    /// </summary>
    private sealed class GaussianNetworkDenoiser(GaussianDiffusion diffusion, double mu, double s) : Denoiser(null!, diffusion)
    {
        public override DenoiserOutput Predict(Tensor x, int t)
        {
            double ab = Diffusion.AlphaBar(t);
            var tt = full(x.shape[0], (long)t, dtype: int64);
            var x0 = (x - Math.Sqrt(ab) * mu) * (Math.Sqrt(ab) * s * s / (ab * s * s + 1 - ab)) + mu;
            var eps = Diffusion.EpsFromX0(x, tt, x0);
            var output = Diffusion.Config.Prediction switch
            {
                Prediction.Epsilon => eps,
                Prediction.X0 => x0,
                Prediction.V => Diffusion.VFrom(x0, eps, tt),
                _ => throw new InvalidOperationException(),
            };
            var (px0, peps, v) = Diffusion.Interpret(x, tt, output, ClipDenoised);
            return new DenoiserOutput(px0, peps, v);
        }
    }

    private const double Mu = 0.3, S = 0.2;

    /// <summary>The 2-Wasserstein distance between N(mean, std²) and the data's N(μ, s²): mean and spread error together.</summary>
    private static double W2(double mean, double std) => Math.Sqrt((mean - Mu) * (mean - Mu) + (std - S) * (std - S));

    private static (double Mean, double Std) SampleAnalytic(string sampler, int steps, Prediction? network = null)
    {
        using var scope = NewDisposeScope();
        var diffusion = new GaussianDiffusion(new DiffusionConfig { Prediction = network ?? Prediction.Epsilon });
        Denoiser denoiser = network is null
            ? new GaussianDenoiser(diffusion, Mu, S) { ClipDenoised = false }
            : new GaussianNetworkDenoiser(diffusion, Mu, S) { ClipDenoised = false };
        var gens = Noise.Generators(Enumerable.Range(0, 4).Select(i => (long)i));
        var x = Samplers.Get(sampler).Sample(denoiser, Noise.Normal(gens, 1, 32), new SamplerOptions { Steps = steps }, gens);
        foreach (var g in gens) g.Dispose();
        return (x.mean().item<float>(), x.std().item<float>());
    }

    [Theory]
    [InlineData("ddim", 250)]
    [InlineData("dpm++", 50)]
    [InlineData("dpmpp-2m", 100)]
    public void DeterministicSamplersReachTheGaussianDataDistribution(string sampler, int steps)
    {
        var (mean, std) = SampleAnalytic(sampler, steps);
        Assert.InRange(mean, Mu - 0.015, Mu + 0.015);
        Assert.InRange(std, S * 0.97, S * 1.03);
    }

    [Fact]
    public void AtTwentyStepsDpmSolverIsCloserThanDdim()
    {
        var (ddimMean, ddim) = SampleAnalytic("ddim", 20);
        var (mean, dpm) = SampleAnalytic("dpm++", 20);
        Assert.InRange(ddim, 0.132, 0.152);                  // DDIM-20's closed-form std is about 0.142
        Assert.True(Math.Abs(dpm - S) < Math.Abs(ddim - S), $"dpm++ std {dpm}, ddim std {ddim}, target {S}");
        // Both means are right to within the sampling error of 4096 values (0.2/√4096 ≈ 0.003): about 0.303 and 0.304.
        Assert.True(Math.Abs(mean - Mu) <= Math.Abs(ddimMean - Mu) + 0.003, $"dpm++ mean {mean}, ddim mean {ddimMean}, target {Mu}");
        // Mean and spread together: the distance between the sampled and the true distribution.
        Assert.True(W2(mean, dpm) < 0.5 * W2(ddimMean, ddim), $"W2: dpm++ {W2(mean, dpm)}, ddim {W2(ddimMean, ddim)}");   // about 0.007 and 0.056
        Assert.InRange(dpm, S * 0.93, S * 1.07);
        Assert.InRange(mean, Mu - 0.015, Mu + 0.015);
    }

    [Theory]
    [InlineData(Prediction.Epsilon)]
    [InlineData(Prediction.V)]
    [InlineData(Prediction.X0)]
    public void DpmSolverReachesTheGaussianDataDistributionWithEveryPredictionType(Prediction prediction)
    {
        var (mean, std) = SampleAnalytic("dpm++", 20, prediction);
        Assert.InRange(mean, Mu - 0.015, Mu + 0.015);
        Assert.InRange(std, S * 0.93, S * 1.07);
        // The three parameterisations of one exact model are one sampler trajectory, up to rounding.
        var (epsMean, epsStd) = SampleAnalytic("dpm++", 20);
        Assert.Equal(epsMean, mean, 1e-4);
        Assert.Equal(epsStd, std, 1e-4);
    }

    [Theory]
    [InlineData(Prediction.Epsilon)]
    [InlineData(Prediction.V)]
    [InlineData(Prediction.X0)]
    public void DpmSolverRunsWithEveryPredictionTypeAndIsDeterministic(Prediction prediction)
    {
        using var model = TestData.RandomTinyModel();
        var denoiser = new Denoiser(model, new GaussianDiffusion(new DiffusionConfig { Prediction = prediction }));
        var options = new SamplerOptions { Steps = 6 };
        var a = ImageBatches.Sample(denoiser, new DpmSolverSampler(), options, [3, 4], batchSize: 2);
        var b = ImageBatches.Sample(denoiser, new DpmSolverSampler(), options, [4], batchSize: 1);
        ImageAssert.Alike(a[1], b[0]);
        Assert.Equal(a[1], ImageBatches.Sample(denoiser, new DpmSolverSampler(), options, [4, 4], batchSize: 2)[1]);   // its slot: exact
        Assert.NotEqual(a[0], a[1]);
    }

    [Fact]
    public void SamplersStopWhereTheyAreToldAndStartFromExplicitTimesteps()
    {
        var options = new SamplerOptions { Timesteps = [0, 10, 40], StopAt = -1 };
        Assert.Equal(new[] { 40, 10, 0, -1 }, options.Path(1000, 20));
        Assert.Equal(new[] { 40, 12 }, new SamplerOptions { Timesteps = [40], StopAt = 12 }.Path(1000, 20));
        Assert.Throws<NoisetteInputException>(() => new SamplerOptions { Timesteps = [40, 10] }.Path(1000, 20));
        Assert.Throws<NoisetteInputException>(() => new SamplerOptions { Timesteps = [40], StopAt = 40 }.Path(1000, 20));
        var diffusion = new GaussianDiffusion(new DiffusionConfig());
        Assert.Equal(new[] { 0, 333, 500 }, Edit.Timesteps(new DdimSampler(), diffusion, 4, 0.5));   // 0, 333 of 0, 333, 666, 999
        var lambda = Timesteps.UniformLogSnr(new GaussianDiffusion(new DiffusionConfig()), 20);
        Assert.Equal((20, 0, 999), (lambda.Length, lambda[0], lambda[^1]));
        Assert.True(lambda.Zip(lambda.Skip(1)).All(p => p.First < p.Second));
    }

    [Fact]
    public void SeedListsAcceptRangesAndLists()
    {
        Assert.Equal(new long[] { 10, 11, 12 }, SeedList.Parse("10-12"));
        Assert.Equal(new long[] { 1, 4, 5, 9 }, SeedList.Parse("1,4-5, 9"));
        Assert.Equal(new long[] { -3 }, SeedList.Parse("-3"));
        Assert.Throws<NoisetteInputException>(() => SeedList.Parse("5-2"));
        Assert.Throws<NoisetteInputException>(() => SeedList.Parse("a"));
    }

    /// <summary>A denoiser that counts its network calls.</summary>
    private sealed class CountingDenoiser(UNet model, GaussianDiffusion diffusion) : Denoiser(model, diffusion)
    {
        public int Calls;
        protected override Tensor Net(Tensor x, Tensor t, Tensor? labels)
        {
            Calls++;
            return base.Net(x, t, labels);
        }
    }

    private static void CheckPreview(GenerationPreview p, long batch)
    {
        Assert.Equal(new long[] { batch, 1, 32, 32 }, p.PredictedX0.shape);
        Assert.True(p.PredictedX0.isfinite().all().item<bool>());
        Assert.InRange(p.Step, 1, p.Steps);
    }

    [Fact]
    public void PreviewsComeOncePerNetworkCallWithTheCurrentEstimate()
    {
        using var model = TestData.RandomTinyModel();
        var denoiser = new CountingDenoiser(model, new GaussianDiffusion(new DiffusionConfig()));
        var previews = new List<(int First, int Step, int Steps)>();
        void Record(GenerationPreview p)
        {
            CheckPreview(p, p.FirstImage == 0 ? 2 : 1);
            previews.Add((p.FirstImage, p.Step, p.Steps));
        }
        var images = ImageBatches.Sample(denoiser, new DpmSolverSampler(), new SamplerOptions { Steps = 5 }, [1, 2, 3], batchSize: 2, preview: Record);
        Assert.Equal(10, denoiser.Calls);                                            // two batches of five calls
        Assert.Equal(Enumerable.Range(1, 5).Select(i => (0, i, 5)).Concat(Enumerable.Range(1, 5).Select(i => (2, i, 5))), previews);
        Assert.Equal(images, ImageBatches.Sample(denoiser, new DpmSolverSampler(), new SamplerOptions { Steps = 5 }, [1, 2, 3], batchSize: 2));

        // Edit and inpaint report theirs too: one per network call (inpainting's resampling included).
        previews.Clear();
        denoiser.Calls = 0;
        var picture = Picture(3);
        Edit.Images(denoiser, new DpmSolverSampler(), new SamplerOptions { Steps = 8 }, picture, 0.5, [4, 5], preview: Record);
        Assert.Equal(denoiser.Calls, previews.Count);
        Assert.Equal(Edit.NetworkCalls(new DpmSolverSampler(), new SamplerOptions { Steps = 8 }, denoiser.Diffusion, 0.5), previews.Count);

        previews.Clear();
        denoiser.Calls = 0;
        var mask = new byte[32 * 32];
        for (int i = 0; i < 32 * 16; i++) mask[i] = 255;
        Inpaint.Images(denoiser, new DdimSampler(), new SamplerOptions { Steps = 6 }, picture, mask, 2, 2, [4, 5], preview: Record);
        Assert.Equal(denoiser.Calls, previews.Count);
        Assert.Equal(Inpaint.NetworkCalls(new DdimSampler(), new SamplerOptions { Steps = 6 }, denoiser.Diffusion, 2, 2), previews.Count);
        Assert.True(previews.Count > 6);                                             // the jumps back are denoised again
        Assert.Equal(Enumerable.Range(1, previews.Count), previews.Select(p => p.Step));
    }

    [Fact]
    public void ThePipelinesPublicEntryPointsReportPreviews()
    {
        using var model = LoadedModel.Load(fixture.Run);
        using var dir = new TempFolder();
        int calls = 0;
        void Count(GenerationPreview p) { CheckPreview(p, 1); calls++; }
        SamplePipeline.Run(model, new SampleRequest { Settings = new GenerationSettings { Seeds = [1], Steps = 4 } }, dir["s"], preview: Count);
        Assert.Equal(4, calls);

        var image = dir["in.png"];
        PngWriter.Write(image, new PlanarImage(1, 32, 32, Picture(4)));
        calls = 0;
        var edit = Edit.ToFolder(model, new EditRequest { ImagePath = image, Strength = 0.5, Settings = new GenerationSettings { Steps = 6 } }, dir["e"], preview: Count);
        Assert.Equal(Provenance.Read(edit.Files[0]).NetworkCalls, calls);
        Assert.True(calls > 0);

        var mask = dir["mask.png"];
        var m = new byte[32 * 32];
        for (int i = 0; i < 32 * 8; i++) m[i] = 255;
        PngWriter.Write(mask, new PlanarImage(1, 32, 32, m));
        calls = 0;
        var filled = Inpaint.ToFolder(model, new InpaintRequest { ImagePath = image, MaskPath = mask, Jumps = 2, JumpLength = 2, Settings = new GenerationSettings { Sampler = "ddpm", Steps = 4 } }, dir["i"], preview: Count);
        Assert.Equal(Provenance.Read(filled.Files[0]).NetworkCalls, calls);
        Assert.True(calls > 4);
    }
}
