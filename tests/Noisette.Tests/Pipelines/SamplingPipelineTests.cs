using Noisette.Runs;
using System.CommandLine;
using Noisette.Cli;
using Noisette.Cli.Commands;
using Noisette.Data;
using Noisette.Diffusion;
using Noisette.IO;
using Noisette.Models;
using Noisette.Pipelines;
using Noisette.Sampling;
using Noisette.Training;
using static TorchSharp.torch;

namespace Noisette.Tests;

/// <summary>A run trained for two steps of the tiny preset: a real checkpoint for pipeline and CLI tests.</summary>
public sealed class TinyRunFixture : IDisposable
{
    private readonly TestData.TempDir dir = new();
    public string Run => dir["run"];

    public TinyRunFixture()
    {
        using var t = Trainer.Start(TestData.TinyConfig(2, 2), new RunFolder(Run), TestData.Bars(8), TestData.Info());
        t.Train(CancellationToken.None);
    }

    public void Dispose() => dir.Dispose();
}

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
        using var model = RandomTinyModel();
        var denoiser = new Denoiser(model, new GaussianDiffusion(new DiffusionConfig { Prediction = prediction }));
        var options = new SamplerOptions { Steps = 6 };
        var a = Generation.Sample(denoiser, new DpmSolverSampler(), options, [3, 4], batchSize: 2);
        var b = Generation.Sample(denoiser, new DpmSolverSampler(), options, [4], batchSize: 1);
        ImageAssert.Alike(a[1], b[0]);
        Assert.Equal(a[1], Generation.Sample(denoiser, new DpmSolverSampler(), options, [4, 4], batchSize: 2)[1]);   // its slot: exact
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
    public void RePaintWalkGoesDownWithJumpsBackAndEndsClean()
    {
        Assert.Equal(new[] { 3, 2, 1, 0, -1 }, Inpaint.Walk(4, 1, 2));
        var walk = Inpaint.Walk(4, 2, 2);
        Assert.Equal(new[] { 3, 2, 1, 0, 1, 2, 1, 0, -1 }, walk);
        Assert.Throws<NoisetteInputException>(() => Inpaint.Walk(4, 0, 2));
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

    private static UNet RandomTinyModel()
    {
        random.manual_seed(3);
        var model = new UNet(ModelPresets.Get("tiny").Model);
        using (no_grad())
            foreach (var p in model.parameters()) p.add_(randn_like(p) * 0.02);
        return model;
    }

    private static byte[] Picture(int seed)
    {
        var rng = new Random(seed);
        var px = new byte[32 * 32];
        rng.NextBytes(px);
        return px;
    }

    [Fact]
    public void InpaintingKeepsTheKnownRegion()
    {
        using var model = RandomTinyModel();
        var denoiser = new Denoiser(model, new GaussianDiffusion(new DiffusionConfig()));
        var input = Picture(1);
        var mask = new byte[32 * 32];
        for (int y = 8; y < 24; y++) for (int x = 8; x < 24; x++) mask[y * 32 + x] = 255;
        var options = new SamplerOptions { Steps = 8 };

        // The loop itself already ends on the known pixels (before any pasting)...
        using (var scope = NewDisposeScope())
        using (inference_mode())
        {
            var gens = Noise.Generators([7]);
            var known = Generation.FromBytes(input, 1, 32);
            var regenerate = tensor(mask.Select(m => m >= 128 ? 1f : 0f).ToArray()).reshape(1, 1, 32, 32);
            var raw = Generation.ToBytes(Inpaint.Run(denoiser, new DdpmSampler(), options, known, regenerate, 2, 2, gens))[0];
            for (int i = 0; i < mask.Length; i++)
                if (mask[i] < 128) Assert.InRange(raw[i] - input[i], -1, 1);
            gens[0].Dispose();
        }

        // ...and the pipeline's result is the input, byte for byte, outside the mask; inside it is new.
        var images = Inpaint.Images(denoiser, new DdpmSampler(), options, input, mask, 2, 2, [7, 8], batchSize: 2);
        var again = Inpaint.Images(denoiser, new DdpmSampler(), options, input, mask, 2, 2, [8], batchSize: 1);
        ImageAssert.Alike(images[1], again[0]);
        Assert.Equal(images[1], Inpaint.Images(denoiser, new DdpmSampler(), options, input, mask, 2, 2, [8, 8], batchSize: 2)[1]);
        foreach (var image in images)
        {
            for (int i = 0; i < mask.Length; i++) if (mask[i] < 128) Assert.Equal(input[i], image[i]);
            Assert.Contains(Enumerable.Range(0, mask.Length), i => mask[i] >= 128 && image[i] != input[i]);
        }
    }

    [Fact]
    public void EditAtStrengthZeroKeepsTheInputAndAtOneSamplesTheSeed()
    {
        using var model = RandomTinyModel();
        var denoiser = new Denoiser(model, new GaussianDiffusion(new DiffusionConfig()));
        var input = Picture(2);
        var options = new SamplerOptions { Steps = 6 };
        foreach (var sampler in new ISampler[] { new DpmSolverSampler(), new DdimSampler() })
        {
            Assert.Equal(input, Edit.Images(denoiser, sampler, options, input, 0, [5])[0]);
            var edited = Edit.Images(denoiser, sampler, options, input, 1, [5, 6]);
            var sampled = Generation.Sample(denoiser, sampler, options, [5, 6]);
            Assert.Equal(sampled, edited);
        }
        var half = Edit.Images(denoiser, new DpmSolverSampler(), options, input, 0.5, [5]);
        Assert.Equal(half, Edit.Images(denoiser, new DpmSolverSampler(), options, input, 0.5, [5]));
        Assert.Throws<NoisetteInputException>(() => Edit.Images(denoiser, new DpmSolverSampler(), options, input, 1.5, [5]));
    }

    [Fact]
    public void InterpolationEndsOnTheTwoSeedsSamples()
    {
        using var model = RandomTinyModel();
        var denoiser = new Denoiser(model, new GaussianDiffusion(new DiffusionConfig()));
        var options = new SamplerOptions { Steps = 5 };
        var frames = Interpolate.Images(denoiser, new DdimSampler(), options, 11, 12, 4, batchSize: 3);
        var ends = Generation.Sample(denoiser, new DdimSampler(), options, [11, 12]);
        Assert.Equal(4, frames.Count);
        ImageAssert.Alike(ends[0], frames[0]);   // frame 0 came from a batch of 3, frame 3 alone; the ends from a batch of 2
        ImageAssert.Alike(ends[1], frames[3]);
        Assert.Equal(Generation.Sample(denoiser, new DdimSampler(), options, [12], batchSize: 1)[0], frames[3]);
        Assert.NotEqual(frames[1], frames[2]);
    }

    [Fact]
    public void ProvenanceSurvivesAPngRoundTrip()
    {
        using var dir = new TestData.TempDir();
        var p = new Provenance
        {
            Kind = Provenance.Inpaint, Run = "/runs/ünïcode run", CheckpointStep = 1200, Weights = "model", Sampler = "dpm++",
            Steps = 20, Eta = 0.25, Seed = -4, Strength = 0.35, Input = "/in.png", InputSha256 = "ab", Mask = "/m.png",
            MaskSha256 = "cd", Jumps = 3, JumpLength = 4, Seeds = "1,2", Frame = 2, Frames = 8, NetworkCalls = 19,
            Batch = new BatchSlot(7, 6),
        };
        var path = dir["p.png"];
        PngWriter.Write(path, new PlanarImage(1, 2, 2, [0, 1, 2, 3]), p.ToText());
        Assert.Equal(p, Provenance.Read(path));
        PngWriter.Write(dir["none.png"], new PlanarImage(1, 2, 2, [0, 1, 2, 3]));
        Assert.Throws<NoisetteInputException>(() => Provenance.Read(dir["none.png"]));

        // A batch slot that cannot be, or a batch too large to compute again, is refused with the reason.
        var sample = new Provenance { Run = "/r", CheckpointStep = 1, Sampler = "ddim", Steps = 2, Seed = 1 };
        foreach (var (slot, reason) in new[] { (new BatchSlot(4, 4), "slot 4 of a batch of 4 is impossible"),
                                               (new BatchSlot(Regenerate.MaxBatch + 1, 0), $"batches up to {Regenerate.MaxBatch}") })
        {
            PngWriter.Write(dir["bad.png"], new PlanarImage(1, 2, 2, [0, 1, 2, 3]), (sample with { Batch = slot }).ToText());
            var e = Assert.Throws<NoisetteInputException>(() => Regenerate.Check(Provenance.Read(dir["bad.png"]), "bad.png"));
            Assert.Contains(reason, e.Message);
        }
        Assert.DoesNotContain(sample.ToText(), kv => kv.Key.StartsWith("noisette:batch", StringComparison.Ordinal));   // alone: nothing written
    }

    [Fact]
    public void BatchSlotsFollowTheBatching()
    {
        Assert.Equal(new[] { new BatchSlot(3, 0), new BatchSlot(3, 1), new BatchSlot(3, 2), new BatchSlot(2, 0), new BatchSlot(2, 1) },
                     Enumerable.Range(0, 5).Select(i => BatchSlot.Of(i, 5, 3)));
        Assert.Equal(BatchSlot.Alone, BatchSlot.Of(0, 1, 16));
        Assert.Equal(new BatchSlot(1, 0), BatchSlot.Of(6, 7, 3));
    }

    private static int RunCli(params string[] args) =>
        Cli.Cli.Run(new RootCommand { SampleCommand.Create(), EditCommand.Create(), InpaintCommand.Create(), InterpolateCommand.Create() }, args);

    [Fact]
    public void FromPngRegeneratesTheSameBytes()
    {
        using var model = LoadedModel.Load(fixture.Run);
        using var dir = new TestData.TempDir();
        var first = SamplePipeline.Run(model, new SampleRequest { Seeds = SeedList.Parse("3-5"), Steps = 5, BatchSize = 3 }, dir["a"]);
        Assert.Equal(3, first.Files.Count);
        Assert.NotNull(first.GridPath);                                   // a contact sheet for a seed range
        var p = Provenance.Read(first.Files[1]);
        Assert.Equal(("dpm++", 5, 4L, 2L), (p.Sampler, p.Steps, p.Seed, p.CheckpointStep));
        Assert.Equal(new BatchSlot(3, 1), p.Batch);                       // made again in a batch of 3, at slot 1
        // Five steps are five network calls: not written (a sample's PNG stays as it was), read back as the steps.
        Assert.Equal(5, p.NetworkCalls);
        Assert.DoesNotContain(PngText.Read(first.Files[1]), kv => kv.Key == "noisette:network_calls");

        var again = Regenerate.FromPng(first.Files[1], dir["b"]);
        Assert.Equal(File.ReadAllBytes(first.Files[1]), File.ReadAllBytes(again.Files[0]));

        Assert.Equal(Cli.Cli.Ok, RunCli("sample", "--from-png", first.Files[2], "--out", dir["c"]));
        Assert.Equal(File.ReadAllBytes(first.Files[2]), File.ReadAllBytes(Path.Combine(dir["c"], Path.GetFileName(first.Files[2]))));

        // The last slot of a batch of seven, where the kernels' sums split differently from the first slots.
        var seven = SamplePipeline.Run(model, new SampleRequest { Count = 7, Seed = 20, Steps = 3, BatchSize = 7 }, dir["d"]);
        Assert.Equal(new BatchSlot(7, 6), Provenance.Read(seven.Files[6]).Batch);
        Assert.Equal(File.ReadAllBytes(seven.Files[6]), File.ReadAllBytes(Regenerate.FromPng(seven.Files[6], dir["e"]).Files[0]));
    }

    [Fact]
    public void RegenerationRefusesWhatItCannotRemakeExactly()
    {
        using var dir = new TestData.TempDir();
        var image = dir["in.png"];
        PngWriter.Write(image, new PlanarImage(1, 32, 32, Picture(4)));
        var edit = new Provenance
        {
            Kind = Provenance.Edit, Run = fixture.Run, CheckpointStep = 2, Sampler = "dpm++", Steps = 5, Seed = 1,
            Input = image, InputSha256 = Provenance.FileSha256(image), Strength = 0.4,
        };
        Assert.Same(edit, Regenerate.Check(edit, "fav.png"));
        // A missing setting is refused, not guessed (a guess would not give the same image).
        var e = Assert.Throws<NoisetteInputException>(() => Regenerate.Check(edit with { Strength = null }, "fav.png"));
        Assert.Contains("noisette:strength", e.Message);
        e = Assert.Throws<NoisetteInputException>(() => Regenerate.Check(edit with { Kind = Provenance.Inpaint, Mask = image, MaskSha256 = null }, "fav.png"));
        Assert.Contains("noisette:jumps", e.Message);
        e = Assert.Throws<NoisetteInputException>(() => Regenerate.Check(edit with { Kind = Provenance.Interpolate }, "fav.png"));
        Assert.Contains("interpolation strip", e.Message);
        e = Assert.Throws<NoisetteInputException>(() => Regenerate.Check(edit with { Kind = Provenance.Interpolate, Frame = 1, Frames = 4 }, "fav.png"));
        Assert.Contains("noisette:seeds", e.Message);
        // A changed input is refused.
        PngWriter.Write(image, new PlanarImage(1, 32, 32, Picture(5)));
        e = Assert.Throws<NoisetteInputException>(() => Regenerate.Check(edit, "fav.png"));
        Assert.Contains("has changed", e.Message);
        // Run insists on the model that made the output: same checkpoint, weights and precision.
        using var model = LoadedModel.Load(fixture.Run, ema: false);
        Assert.Throws<ArgumentException>(() => Regenerate.Run(model, edit with { CheckpointStep = model.State.Step }, dir["x"], "fav.png"));
        Assert.False(Directory.Exists(dir["x"]));
    }

    [Fact]
    public void EditAndInpaintFromTheCommandLineCarryProvenanceAndRegenerate()
    {
        using var dir = new TestData.TempDir();
        var image = dir["in.png"];
        var mask = dir["mask.png"];
        PngWriter.Write(image, new PlanarImage(1, 32, 32, Picture(4)));
        var m = new byte[32 * 32];
        for (int i = 0; i < 32 * 16; i++) m[i] = 255;
        PngWriter.Write(mask, new PlanarImage(1, 32, 32, m));

        Assert.Equal(Cli.Cli.Ok, RunCli("edit", fixture.Run, "--image", image, "--strength", "0.6", "--steps", "5", "--seed", "2", "--out", dir["e"]));
        var edited = Directory.GetFiles(dir["e"]).Single();
        var p = Provenance.Read(edited);
        Assert.Equal((Provenance.Edit, 0.6, image), (p.Kind, p.Strength, p.Input));
        Assert.Equal(Cli.Cli.Ok, RunCli("sample", "--from-png", edited, "--out", dir["e2"]));
        Assert.Equal(File.ReadAllBytes(edited), File.ReadAllBytes(Directory.GetFiles(dir["e2"]).Single()));

        Assert.Equal(Cli.Cli.Ok, RunCli("inpaint", fixture.Run, "--image", image, "--mask", mask, "--steps", "4", "--jumps", "2",
                                        "--jump-length", "2", "--out", dir["i"]));
        var filled = PngText.Read(Directory.GetFiles(dir["i"]).Single());
        Assert.Contains(filled, kv => kv.Key == "noisette:kind" && kv.Value == Provenance.Inpaint);

        Assert.Equal(Cli.Cli.Ok, RunCli("interpolate", fixture.Run, "--seeds", "1,2", "--frames", "3", "--steps", "3", "--out", dir["f"]));
        Assert.Equal(4, Directory.GetFiles(dir["f"]).Length);             // three frames and the strip

        // Bad input is exit 2.
        Assert.Equal(Cli.Cli.BadInput, RunCli("edit", fixture.Run, "--image", dir["missing.png"], "--out", dir["x"]));
        Assert.Equal(Cli.Cli.BadInput, RunCli("edit", fixture.Run, "--image", image, "--strength", "1.5", "--out", dir["x"]));
        Assert.Equal(Cli.Cli.BadInput, RunCli("inpaint", fixture.Run, "--image", image, "--mask", dir["missing.png"], "--out", dir["x"]));
        File.WriteAllText(dir["broken.png"], "not an image");
        Assert.Equal(Cli.Cli.BadInput, RunCli("edit", fixture.Run, "--image", dir["broken.png"], "--out", dir["x"]));
        Assert.Equal(Cli.Cli.BadInput, RunCli("sample", "--from-png", dir["broken.png"]));
        Assert.Equal(Cli.Cli.BadInput, RunCli("interpolate", fixture.Run, "--seeds", "1", "--out", dir["x"]));
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
        using var model = RandomTinyModel();
        var denoiser = new CountingDenoiser(model, new GaussianDiffusion(new DiffusionConfig()));
        var previews = new List<(int First, int Step, int Steps)>();
        void Record(GenerationPreview p)
        {
            CheckPreview(p, p.FirstImage == 0 ? 2 : 1);
            previews.Add((p.FirstImage, p.Step, p.Steps));
        }
        var images = Generation.Sample(denoiser, new DpmSolverSampler(), new SamplerOptions { Steps = 5 }, [1, 2, 3], batchSize: 2, preview: Record);
        Assert.Equal(10, denoiser.Calls);                                            // two batches of five calls
        Assert.Equal(Enumerable.Range(1, 5).Select(i => (0, i, 5)).Concat(Enumerable.Range(1, 5).Select(i => (2, i, 5))), previews);
        Assert.Equal(images, Generation.Sample(denoiser, new DpmSolverSampler(), new SamplerOptions { Steps = 5 }, [1, 2, 3], batchSize: 2));

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
        using var dir = new TestData.TempDir();
        int calls = 0;
        void Count(GenerationPreview p) { CheckPreview(p, 1); calls++; }
        SamplePipeline.Run(model, new SampleRequest { Seeds = [1], Steps = 4 }, dir["s"], preview: Count);
        Assert.Equal(4, calls);

        var image = dir["in.png"];
        PngWriter.Write(image, new PlanarImage(1, 32, 32, Picture(4)));
        calls = 0;
        var edit = Edit.ToFolder(model, new EditRequest { ImagePath = image, Strength = 0.5, Steps = 6 }, dir["e"], preview: Count);
        Assert.Equal(Provenance.Read(edit.Files[0]).NetworkCalls, calls);
        Assert.True(calls > 0);

        var mask = dir["mask.png"];
        var m = new byte[32 * 32];
        for (int i = 0; i < 32 * 8; i++) m[i] = 255;
        PngWriter.Write(mask, new PlanarImage(1, 32, 32, m));
        calls = 0;
        var filled = Inpaint.ToFolder(model, new InpaintRequest { ImagePath = image, MaskPath = mask, Steps = 4, Jumps = 2, JumpLength = 2 }, dir["i"], preview: Count);
        Assert.Equal(Provenance.Read(filled.Files[0]).NetworkCalls, calls);
        Assert.True(calls > 4);
    }

    [Fact]
    public void EditBelowFullStrengthCutsTheSamplersOwnSchedule()
    {
        var d = new GaussianDiffusion(new DiffusionConfig());
        // DPM-Solver++ spaces its steps evenly in log-SNR; an edit at strength 0.5 keeps that spacing below t = 500.
        var schedule = Timesteps.UniformLogSnr(d, 20);
        var edit = Edit.Timesteps(new DpmSolverSampler(), d, 20, 0.5);
        Assert.Equal(schedule.Where(t => t < 500).Append(500), edit);
        Assert.True(edit.Length > 10, $"{edit.Length} steps");                     // log-SNR spacing is dense at low noise
        Assert.Equal(schedule, Edit.Timesteps(new DpmSolverSampler(), d, 20, 1));
        Assert.Equal(Timesteps.Evenly(1000, 20).Where(t => t < 300).Append(300), Edit.Timesteps(new DdimSampler(), d, 20, 0.3));
        Assert.Equal(new[] { 0 }, Edit.Timesteps(new DdimSampler(), d, 20, 0));
    }

    [Fact]
    public void InterpolationRefusesStochasticSamplers()
    {
        foreach (var name in new[] { "ddpm", "euler-a" })
        {
            var e = Assert.Throws<NoisetteInputException>(() => Interpolate.Check(Samplers.Get(name), 4));
            Assert.Contains("deterministic sampler", e.Message);
            Assert.Contains(name, e.Message);
        }
        Interpolate.Check(new DdimSampler(), 4);
        Interpolate.Check(new DpmSolverSampler(), 4);

        using var dir = new TestData.TempDir();
        var (code, _, err) = CliCapture.Run("interpolate", fixture.Run, "--seeds", "1,2", "--sampler", "euler-a", "--steps", "2", "--out", dir["f"]);
        Assert.Equal(Cli.Cli.BadInput, code);
        Assert.Contains("interpolation needs a deterministic sampler (ddim or dpm++), not euler-a", err);
        Assert.False(Directory.Exists(dir["f"]));
    }

    [Fact]
    public void InterpolationFramesRegenerateAndSheetsAreRefusedWithAReason()
    {
        using var dir = new TestData.TempDir();
        Assert.Equal(Cli.Cli.Ok, RunCli("interpolate", fixture.Run, "--seeds", "3,9", "--frames", "4", "--sampler", "dpm++", "--steps", "3",
                                        "--batch", "3", "--out", dir["f"]));
        var frames = Directory.GetFiles(dir["f"], "*-frame*.png").Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(4, frames.Length);
        foreach (var k in new[] { 1, 3 })
        {
            Assert.Equal(Cli.Cli.Ok, RunCli("sample", "--from-png", frames[k], "--out", dir[$"again{k}"]));
            var again = Directory.GetFiles(dir[$"again{k}"]).Single();
            Assert.Equal(Path.GetFileName(frames[k]), Path.GetFileName(again));
            Assert.Equal(File.ReadAllBytes(frames[k]), File.ReadAllBytes(again));
        }
        var strip = Directory.GetFiles(dir["f"], "*-strip.png").Single();
        var e = Assert.Throws<NoisetteInputException>(() => Regenerate.Check(Provenance.Read(strip), strip));
        Assert.Contains("regenerate one of its frames", e.Message);

        string sheet;
        using (var model = LoadedModel.Load(fixture.Run))
            sheet = SamplePipeline.Run(model, new SampleRequest { Seeds = [1, 2], Steps = 2 }, dir["s"]).GridPath!;
        e = Assert.Throws<NoisetteInputException>(() => Regenerate.Check(Provenance.Read(sheet), sheet));
        Assert.Contains("contact sheet; regenerate the single images", e.Message);
        Assert.Equal(Cli.Cli.BadInput, RunCli("sample", "--from-png", sheet, "--out", dir["x"]));
    }

    [Fact]
    public void ProvenanceRecordsTheNetworkCallsWhereLogSnrSpacingMergesTimesteps()
    {
        var d = new GaussianDiffusion(new DiffusionConfig());
        // The smallest step count at which two log-SNR targets land on one timestep.
        int steps = Enumerable.Range(20, 980).First(n => Timesteps.UniformLogSnr(d, n).Length < n);
        int merged = Timesteps.UniformLogSnr(d, steps).Length;
        Assert.Equal(merged, new SamplerOptions { Steps = steps }.NetworkCalls(new DpmSolverSampler(), d));
        Assert.Equal(steps, new SamplerOptions { Steps = steps }.NetworkCalls(new DdimSampler(), d));

        using var model = LoadedModel.Load(fixture.Run);
        using var dir = new TestData.TempDir();
        var file = SamplePipeline.Run(model, new SampleRequest { Seeds = [6], Steps = steps }, dir["a"]).Files.Single();
        var p = Provenance.Read(file);
        Assert.Equal((steps, merged), (p.Steps, p.NetworkCalls));
        var again = Regenerate.FromPng(file, dir["b"]);
        Assert.Equal(File.ReadAllBytes(file), File.ReadAllBytes(again.Files[0]));
    }
}
