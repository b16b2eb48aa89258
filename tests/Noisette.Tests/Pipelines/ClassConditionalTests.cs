using Noisette.Bundles;
using Noisette.Data;
using Noisette.IO;
using Noisette.Models;
using Noisette.Pipelines;
using Noisette.Runs;
using Noisette.Sampling;
using Noisette.Training;
using static TorchSharp.torch;

namespace Noisette.Tests;

public class ClassConditionalTests
{
    private static string IOFolder => Fixtures.Path("letters-IO");

    /// <summary>Dark ink in the centre column minus dark ink at the sides: positive for an I, negative for an O.</summary>
    private static double Stem(byte[] img)
    {
        double center = 0, sides = 0;
        for (int y = 10; y < 24; y++)
        {
            for (int x = 14; x < 18; x++) center += 1 - img[y * 32 + x] / 255.0;
            for (int x = 6; x < 11; x++) sides += 1 - img[y * 32 + x] / 255.0;
            for (int x = 21; x < 26; x++) sides += 1 - img[y * 32 + x] / 255.0;
        }
        return center / (14 * 4) - sides / (14 * 10);
    }

    [Fact]
    public void LabelsComeFromSubfolders()
    {
        var labels = ClassLabels.FromSubfolders(["b/x.png", "a/y.png", "b/z.png"], ClassMode.Auto)!;
        Assert.Equal(new[] { "a", "b" }, labels.Names);
        Assert.Equal(new[] { 1, 0, 1 }, labels.Labels);
        Assert.Null(ClassLabels.FromSubfolders(["a/x.png", "top.png"], ClassMode.Auto));
        Assert.Null(ClassLabels.FromSubfolders(["a/x.png", "a/y.png"], ClassMode.Auto));   // one class: unconditional
        Assert.Throws<NoisetteInputException>(() => ClassLabels.FromSubfolders(["a/x.png", "top.png"], ClassMode.Subfolders));
        var e = Assert.Throws<NoisetteInputException>(() => ClassLabels.Resolve(["I", "O"], "Q"));
        Assert.Contains("I, O", e.Message);
    }

    [Fact]
    public void LabelDropoutHasTheConfiguredRate()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(5);
        var y = LabelDropout.Apply(zeros(200_000, dtype: int64), 0.1, 7);
        double rate = (y == 7).to(float32).mean().item<float>();
        Assert.InRange(rate, 0.097, 0.103);
        Assert.Equal(0, LabelDropout.Apply(zeros(10, dtype: int64), 0.0, 7).sum().item<long>());
    }

    [Fact]
    public void BalancedOrderVisitsEveryClassEqually()
    {
        int[] labels = [.. Enumerable.Repeat(0, 30), .. Enumerable.Repeat(1, 5)];
        var order = new DataOrder(labels.Length, 3, labels, balanced: true);
        Assert.Equal(60, order.EpochLength);
        var counts = new int[2];
        for (long p = 0; p < 600; p++) counts[labels[order.IndexAt(p)]]++;
        Assert.Equal(counts[0], counts[1]);
    }

    [Fact]
    public void AConditionalModelGeneratesTheRequestedClass()
    {
        using var outDir = new TempFolder();
        var run = outDir["run"];
        var prepared = TrainingPipeline.Start(new TrainingRequest
        {
            DataPath = IOFolder, OutPath = run, Preset = "tiny", Steps = 400, Batch = 16, LearningRate = 2e-3,
            CheckpointEvery = 400, Threads = 2, Seed = 1,
        }, _ => { }, _ => { });
        using (var trainer = prepared.Trainer)
        {
            Assert.Equal(new[] { "I", "O" }, trainer.Config.ClassNames);
            trainer.Train(CancellationToken.None);
        }

        using var model = LoadedModel.Load(run);
        Assert.Equal(new[] { "I", "O" }, model.Config.Training.ClassNames);          // names round-trip through the run
        Assert.True(model.Bundle.Network.IsConditional);
        var seeds = Enumerable.Range(0, 12).Select(i => (long)i).ToArray();
        var denoiser = new Denoiser(model.Bundle.Network, model.Bundle.Diffusion) { GuidanceScale = 3 };
        var options = new SamplerOptions { Steps = 25 };
        var iImages = ImageBatches.Sample(denoiser, new DdimSampler(), options, seeds, labels: Enumerable.Repeat(0, 12).ToArray());
        var oImages = ImageBatches.Sample(denoiser, new DdimSampler(), options, seeds, labels: Enumerable.Repeat(1, 12).ToArray());
        int correct = iImages.Count(i => Stem(i) > 0) + oImages.Count(o => Stem(o) < 0);
        Assert.True(correct >= 20, $"only {correct} of 24 samples look like their class");   // chance is 12

        // Guidance 0 with classes is the unconditional (null-class) model.
        var w0 = ImageBatches.Sample(new Denoiser(model.Bundle.Network, model.Bundle.Diffusion) { GuidanceScale = 0 }, new DdimSampler(), options, [3, 4], labels: [0, 1]);
        var uncond = ImageBatches.Sample(new Denoiser(model.Bundle.Network, model.Bundle.Diffusion), new DdimSampler(), options, [3, 4]);
        ImageAssert.Alike(uncond[0], w0[0]);   // computed beside the conditional half: a batch twice the size
        ImageAssert.Alike(uncond[1], w0[1]);

        // An unknown class is exit 2, with the list of known classes.
        var (code, _, err) = CliCapture.Run("sample", run, "--class", "Q", "--n", "1", "--steps", "2");
        Assert.Equal(2, code);
        Assert.Contains("Known classes: I, O", err);
        Assert.Equal(0, Noisette.Cli.Cli.Run(["sample", run, "--class", "all", "--n", "2", "--steps", "2", "--grid", "--out", outDir["s"]]));
        Assert.Equal(5, Directory.GetFiles(outDir["s"], "*.png").Length);

        // Edit and inpaint take a class too; the class travels in the provenance and --from-png makes the same bytes.
        var oGlyph = Directory.GetFiles(Path.Combine(IOFolder, "O"), "*.png").Order(StringComparer.Ordinal).First();
        Assert.Equal(0, Noisette.Cli.Cli.Run(["edit", run, "--image", oGlyph, "--strength", "0.8", "--class", "I", "--steps", "10", "--out", outDir["e"]]));
        var edited = Directory.GetFiles(outDir["e"], "*.png").Single();
        var provenance = Provenance.Read(edited);
        Assert.Equal("I", provenance.Class);
        Assert.Equal(2.0, provenance.Guidance);
        Assert.Equal(0, Noisette.Cli.Cli.Run(["sample", "--from-png", edited, "--out", outDir["again"]]));
        Assert.Equal(File.ReadAllBytes(edited), File.ReadAllBytes(Directory.GetFiles(outDir["again"], "*.png").Single()));

        // Inpainting with a class: the class travels in the provenance, and --from-png makes the same bytes.
        var mask = outDir["mask.png"];
        var m = new byte[32 * 32];
        for (int i = 0; i < 32 * 16; i++) m[i] = 255;                                      // regenerate the top half
        PngWriter.Write(mask, new PlanarImage(1, 32, 32, m));
        Assert.Equal(0, Noisette.Cli.Cli.Run(["inpaint", run, "--image", oGlyph, "--mask", mask, "--class", "I", "--guidance", "3", "--steps", "6",
                                              "--jumps", "2", "--jump-length", "2", "--out", outDir["i"]]));
        var filled = Directory.GetFiles(outDir["i"], "*.png").Single();
        provenance = Provenance.Read(filled);
        Assert.Equal((Provenance.Inpaint, "I", 3.0), (provenance.Kind, provenance.Class, provenance.Guidance));
        Assert.Equal(0, Noisette.Cli.Cli.Run(["sample", "--from-png", filled, "--out", outDir["i2"]]));
        Assert.Equal(File.ReadAllBytes(filled), File.ReadAllBytes(Directory.GetFiles(outDir["i2"], "*.png").Single()));
        // The class steers the regenerated half: with O instead of I the pixels differ.
        Assert.Equal(0, Noisette.Cli.Cli.Run(["inpaint", run, "--image", oGlyph, "--mask", mask, "--class", "O", "--guidance", "3", "--steps", "6",
                                              "--jumps", "2", "--jump-length", "2", "--out", outDir["i3"]]));
        Assert.NotEqual(ImageAssert.Pixels(filled), ImageAssert.Pixels(Directory.GetFiles(outDir["i3"], "*.png").Single()));

        // Edit and inpaint with an unknown class: exit 2, naming the known classes.
        foreach (var args in new[]
                 {
                     new[] { "edit", run, "--image", oGlyph, "--class", "Q", "--out", outDir["e2"] },
                     new[] { "inpaint", run, "--image", oGlyph, "--mask", mask, "--class", "Q", "--out", outDir["i4"] },
                 })
        {
            var refused = CliCapture.Run(args);
            Assert.Equal(2, refused.Code);
            Assert.Contains("Known classes: I, O", refused.Err);
        }
        Assert.False(Directory.Exists(outDir["e2"]));
        Assert.False(Directory.Exists(outDir["i4"]));
    }

    [Fact]
    public void FineTuningAnUnconditionalModelIntoAConditionalOneStartsFromTheSameOutputs()
    {
        using var outDir = new TempFolder();
        var images = TestData.Bars(8);
        using (var t = Trainer.Start(TestData.TinyConfig(2, 2), new RunFolder(outDir["src"]), images, TestData.Info()))
            t.Train(CancellationToken.None);
        var prepared = TrainingPipeline.Start(new TrainingRequest
        {
            DataPath = IOFolder, OutPath = outDir["dst"], InitFrom = outDir["src"], Steps = 2, Batch = 2, Threads = 1,
        }, _ => { }, _ => { });
        using var tuned = prepared.Trainer;
        Assert.True(tuned.Model.IsConditional);
        using var source = LoadedModel.Load(outDir["src"], ema: false);
        using var scope = NewDisposeScope();
        using var _ = inference_mode();
        tuned.Model.eval();
        var x = randn(3, 1, 32, 32);
        var t2 = tensor(new long[] { 5, 500, 900 });
        var expected = source.Bundle.Network.Forward(x, t2, null);
        foreach (var label in new long[] { 0, 1, 2 })
            Assert.True(tuned.Model.Forward(x, t2, full(3, label, dtype: int64)).eq(expected).all().item<bool>(), $"label {label} changes the output");
    }
}
