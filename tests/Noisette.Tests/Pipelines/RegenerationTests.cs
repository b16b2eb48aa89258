using Noisette.Data;
using Noisette.Diffusion;
using Noisette.Pipelines;
using Noisette.Sampling;
using static Noisette.Tests.PipelineTestData;

namespace Noisette.Tests;

/// <summary>Provenance and regeneration: PNG round trips, batch slots, and outputs made again byte for byte from their PNGs.</summary>
public class RegenerationTests(TinyRunFixture fixture) : IClassFixture<TinyRunFixture>
{
    [Fact]
    public void ProvenanceSurvivesAPngRoundTrip()
    {
        using var dir = new TempFolder();
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

    [Fact]
    public void FromPngRegeneratesTheSameBytes()
    {
        using var model = LoadedModel.Load(fixture.Run);
        using var dir = new TempFolder();
        var first = SamplePipeline.Run(model, new SampleRequest { Settings = new GenerationSettings { Seeds = SeedList.Parse("3-5"), Steps = 5, BatchSize = 3 } }, dir["a"]);
        Assert.Equal(3, first.Files.Count);
        Assert.NotNull(first.GridPath);                                   // a contact sheet for a seed range
        var p = Provenance.Read(first.Files[1]);
        Assert.Equal(("euler-a", 5, 4L, 2L), (p.Sampler, p.Steps, p.Seed, p.CheckpointStep));   // the default sampler, recorded
        Assert.Equal(new BatchSlot(3, 1), p.Batch);                       // made again in a batch of 3, at slot 1
        // Five steps are five network calls: not written (a sample's PNG stays as it was), read back as the steps.
        Assert.Equal(5, p.NetworkCalls);
        Assert.DoesNotContain(PngText.Read(first.Files[1]), kv => kv.Key == "noisette:network_calls");

        var again = Regenerate.FromPng(first.Files[1], dir["b"]);
        Assert.Equal(File.ReadAllBytes(first.Files[1]), File.ReadAllBytes(again.Files[0]));

        Assert.Equal(Cli.Cli.Ok, RunCli("sample", "--from-png", first.Files[2], "--out", dir["c"]));
        Assert.Equal(File.ReadAllBytes(first.Files[2]), File.ReadAllBytes(Path.Combine(dir["c"], Path.GetFileName(first.Files[2]))));

        // The last slot of a batch of seven, where the kernels' sums split differently from the first slots.
        var seven = SamplePipeline.Run(model, new SampleRequest { Settings = new GenerationSettings { Count = 7, Seed = 20, Steps = 3, BatchSize = 7 } }, dir["d"]);
        Assert.Equal(new BatchSlot(7, 6), Provenance.Read(seven.Files[6]).Batch);
        Assert.Equal(File.ReadAllBytes(seven.Files[6]), File.ReadAllBytes(Regenerate.FromPng(seven.Files[6], dir["e"]).Files[0]));
    }

    [Fact]
    public void RegenerationRefusesWhatItCannotRemakeExactly()
    {
        using var dir = new TempFolder();
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
        using var dir = new TempFolder();
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
        using var dir = new TempFolder();
        var file = SamplePipeline.Run(model, new SampleRequest { Settings = new GenerationSettings { Seeds = [6], Steps = steps } }, dir["a"]).Files.Single();
        var p = Provenance.Read(file);
        Assert.Equal((steps, merged), (p.Steps, p.NetworkCalls));
        var again = Regenerate.FromPng(file, dir["b"]);
        Assert.Equal(File.ReadAllBytes(file), File.ReadAllBytes(again.Files[0]));
    }
}
