using Noisette.Bundles;
using Noisette.Diffusion;
using Noisette.Pipelines;
using Noisette.Sampling;
using static Noisette.Tests.PipelineTestData;

namespace Noisette.Tests;

/// <summary>Interpolation: its ends are the two seeds' samples, stochastic samplers are refused, frames regenerate.</summary>
public class InterpolatePipelineTests(TinyRunFixture fixture) : IClassFixture<TinyRunFixture>
{
    [Fact]
    public void InterpolationEndsOnTheTwoSeedsSamples()
    {
        using var model = TestData.RandomTinyModel();
        var denoiser = new Denoiser(model, new GaussianDiffusion(new DiffusionConfig()));
        var options = new SamplerOptions { Steps = 5 };
        var frames = Interpolate.Images(denoiser, new DdimSampler(), options, 11, 12, 4, batchSize: 3);
        var ends = ImageBatches.Sample(denoiser, new DdimSampler(), options, [11, 12]);
        Assert.Equal(4, frames.Count);
        ImageAssert.Alike(ends[0], frames[0]);   // frame 0 came from a batch of 3, frame 3 alone; the ends from a batch of 2
        ImageAssert.Alike(ends[1], frames[3]);
        Assert.Equal(ImageBatches.Sample(denoiser, new DdimSampler(), options, [12], batchSize: 1)[0], frames[3]);
        Assert.NotEqual(frames[1], frames[2]);
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

        using var dir = new TempFolder();
        var (code, _, err) = CliCapture.Run("interpolate", fixture.Run, "--seeds", "1,2", "--sampler", "euler-a", "--steps", "2", "--out", dir["f"]);
        Assert.Equal(Cli.Cli.BadInput, code);
        Assert.Contains("interpolation needs a deterministic sampler (ddim or dpm++), not euler-a", err);
        Assert.False(Directory.Exists(dir["f"]));
    }

    [Fact]
    public void InterpolationFramesRegenerateAndSheetsAreRefusedWithAReason()
    {
        using var dir = new TempFolder();
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
            sheet = SamplePipeline.Run(model, new SampleRequest { Settings = new GenerationSettings { Seeds = [1, 2], Steps = 2 } }, dir["s"]).GridPath!;
        e = Assert.Throws<NoisetteInputException>(() => Regenerate.Check(Provenance.Read(sheet), sheet));
        Assert.Contains("contact sheet; regenerate the single images", e.Message);
        Assert.Equal(Cli.Cli.BadInput, RunCli("sample", "--from-png", sheet, "--out", dir["x"]));
    }
}
