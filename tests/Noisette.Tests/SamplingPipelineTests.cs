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

    private const double Mu = 0.3, S = 0.2;

    private static (double Mean, double Std) SampleAnalytic(string sampler, int steps)
    {
        using var scope = NewDisposeScope();
        var denoiser = new GaussianDenoiser(new GaussianDiffusion(new DiffusionConfig()), Mu, S) { ClipDenoised = false };
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
        var (_, ddim) = SampleAnalytic("ddim", 20);
        var (mean, dpm) = SampleAnalytic("dpm++", 20);
        Assert.InRange(ddim, 0.132, 0.152);                  // DDIM-20's closed-form std is about 0.142
        Assert.True(Math.Abs(dpm - S) < Math.Abs(ddim - S), $"dpm++ std {dpm}, ddim std {ddim}, target {S}");
        Assert.InRange(dpm, S * 0.93, S * 1.07);
        Assert.InRange(mean, Mu - 0.015, Mu + 0.015);
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
        Assert.Equal(a[1], b[0]);
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
        Assert.Equal(new[] { 0, 500 }, Edit.Timesteps(1000, 4, 0.5));
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
        Assert.Equal(images[1], again[0]);
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
        Assert.Equal(ends[0], frames[0]);
        Assert.Equal(ends[1], frames[3]);
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
            MaskSha256 = "cd", Jumps = 3, JumpLength = 4, Seeds = "1,2", Frame = 2, Frames = 8,
        };
        var path = dir["p.png"];
        PngWriter.Write(path, new PlanarImage(1, 2, 2, [0, 1, 2, 3]), p.ToText());
        Assert.Equal(p, Provenance.Read(path));
        PngWriter.Write(dir["none.png"], new PlanarImage(1, 2, 2, [0, 1, 2, 3]));
        Assert.Throws<NoisetteInputException>(() => Provenance.Read(dir["none.png"]));
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

        var again = Regenerate.FromPng(first.Files[1], dir["b"]);
        Assert.Equal(File.ReadAllBytes(first.Files[1]), File.ReadAllBytes(again.Files[0]));

        Assert.Equal(Cli.Cli.Ok, RunCli("sample", "--from-png", first.Files[2], "--out", dir["c"]));
        Assert.Equal(File.ReadAllBytes(first.Files[2]), File.ReadAllBytes(Path.Combine(dir["c"], Path.GetFileName(first.Files[2]))));
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
        Assert.Contains("interpolation frame", e.Message);
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
}
