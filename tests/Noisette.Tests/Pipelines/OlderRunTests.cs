using Noisette.Bundles;
using Noisette.Data;
using Noisette.Pipelines;
using Noisette.Runs;

namespace Noisette.Tests.Pipelines;

/// <summary>
/// Run folders written before the model bundle (tests/fixtures/runs-v0, see its README) load through today's code
/// as pixel models with an identity autoencoder, and make the very pixels they made then: samples, class samples and
/// their contact sheet, an edit and an inpainting, with the same provenance but for the paths; and an old PNG's
/// provenance, pointed at the copied run, regenerates the same bytes. Runs alone, at one thread, as the fixture was made;
/// the pixels compare within the last-bit rounding of another CPU's kernels (see SameAsBefore).
/// </summary>
[Collection(RunsAlone.Name)]
public sealed class OlderRunTests : IDisposable
{
    private readonly TempFolder dir = new();

    public OlderRunTests() => Runtime.TorchRuntime.ConfigureThreads(1);

    public void Dispose() => dir.Dispose();

    private static string Fixture(params string[] parts) => Fixtures.Path(["runs-v0", .. parts]);

    private static string Input => Fixtures.Path("letters", "A32-dejavuserif-italic.png");

    /// <summary>A copy of a fixture run in the temp folder (nothing the repository holds is written to).</summary>
    private string CopyRun(string name)
    {
        var target = dir[name];
        var source = Fixture(name);
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var to = Path.Combine(target, Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(to)!);
            File.Copy(file, to);
        }
        return target;
    }

    private static Dictionary<string, string> Text(string png) => PngText.Read(png).ToDictionary(kv => kv.Key, kv => kv.Value);

    /// <summary>
    /// The provenance keys that name where things were on the machine that made the fixture (the run, the input and
    /// the mask), and the version that wrote it; every other key must be the same.
    /// </summary>
    private static readonly string[] Located = ["noisette:run", "noisette:input", "noisette:mask", "noisette:version"];

    /// <summary>The same decoded pixels, and the same provenance but for the located keys, which must point at the copies.</summary>
    private static void SameAsBefore(string expected, string actual, string run, string? input = null, string? mask = null)
    {
        Assert.Equal(Path.GetFileName(expected), Path.GetFileName(actual));
        // The fixture's pixels were computed on another CPU (an AMD EPYC without avx512_vp2intersect): libtorch's CPU
        // kernels pick their blocking by processor, so their sums round differently in the last bits and a pixel may
        // land one gray level away. On the machine that made them they are the same bytes; anywhere, within one level
        // at under 1% of the bytes (ImageAssert.Alike), which a wrong seed, weight, class or sampler far exceeds.
        ImageAssert.Alike(ImageAssert.Pixels(expected), ImageAssert.Pixels(actual));
        var (old, now) = (Text(expected), Text(actual));
        Assert.Equal(old.Where(kv => !Located.Contains(kv.Key)).OrderBy(kv => kv.Key, StringComparer.Ordinal),
                     now.Where(kv => !Located.Contains(kv.Key)).OrderBy(kv => kv.Key, StringComparer.Ordinal));
        Assert.Equal(run, now["noisette:run"]);
        Assert.Equal(input, now.GetValueOrDefault("noisette:input"));
        Assert.Equal(mask, now.GetValueOrDefault("noisette:mask"));
        Assert.Equal(old.ContainsKey("noisette:input"), input is not null);
        Assert.Equal(old.ContainsKey("noisette:mask"), mask is not null);
    }

    private static string[] Expected(string kind) => Directory.GetFiles(Fixture("expected", kind), "*.png").Order(StringComparer.Ordinal).ToArray();

    private static string[] Written(string folder) => Directory.GetFiles(folder, "*.png").Order(StringComparer.Ordinal).ToArray();

    [Fact]
    public void AnUnconditionalRunLoadsAsAPixelBundleAndSamplesEditsAndInpaintsTheSamePixels()
    {
        var run = CopyRun("pixel-v0");
        using var model = LoadedModel.Load(run);
        Assert.Null(model.Config.Components);                                          // written before runs recorded them
        Assert.Equal(new RunComponents { Conditioner = RunComponents.None }, model.Config.ComponentsOrImplied());
        Assert.Same(IdentityAutoencoder.Instance, model.Bundle.Autoencoder);
        Assert.Null(model.Bundle.Conditioner);
        Assert.Equal(new SampleShape(1, 32), model.Bundle.SampleShape);
        Assert.Equal(model.Bundle.SampleShape, model.Bundle.ImageShape);

        // noisette sample pixel-v0 --n 3 --sampler ddim --steps 10 --batch 3 --seed 5
        var sampled = SamplePipeline.Run(model, new SampleRequest
        {
            Settings = new GenerationSettings { Count = 3, Sampler = "ddim", Steps = 10, BatchSize = 3, Seed = 5 },
        }, dir["sample"]);
        Assert.Null(sampled.GridPath);
        var expected = Expected("sample");
        Assert.Equal(expected.Length, Written(dir["sample"]).Length);
        for (int i = 0; i < expected.Length; i++) SameAsBefore(expected[i], sampled.Files[i], run);

        // noisette edit pixel-v0 --image A32-dejavuserif-italic.png --strength 0.6 --seed 2 --batch 1
        var edited = Edit.ToFolder(model, new EditRequest
        {
            // The sampler the edit fixture was made with (the default then).
            ImagePath = Input, Strength = 0.6, Settings = new GenerationSettings { Seed = 2, BatchSize = 1, Sampler = "dpm++" },
        }, dir["edit"]);
        SameAsBefore(Assert.Single(Expected("edit")), Assert.Single(edited.Files), run, input: Input);

        // noisette inpaint pixel-v0 --image A32-dejavuserif-italic.png --mask mask.bmp --steps 10 --jumps 2 --jump-length 2 --seed 3 --batch 1
        var mask = Fixture("mask.bmp");
        var filled = Inpaint.ToFolder(model, new InpaintRequest
        {
            ImagePath = Input, MaskPath = mask, Jumps = 2, JumpLength = 2,
            Settings = new GenerationSettings { Sampler = "ddpm", Steps = 10, Seed = 3, BatchSize = 1 },
        }, dir["inpaint"]);
        SameAsBefore(Assert.Single(Expected("inpaint")), Assert.Single(filled.Files), run, input: Input, mask: mask);

        // The old edit's provenance, pointed at the copied run and this checkout's input, makes it again byte for byte.
        var p = Provenance.Read(Assert.Single(Expected("edit"))) with { Run = run, Input = Input };
        var again = Regenerate.Run(model, Regenerate.Check(p, "edit.png"), dir["edit-again"], "edit.png");
        Assert.Equal(File.ReadAllBytes(edited.Files[0]), File.ReadAllBytes(Assert.Single(again.Files)));
    }

    [Fact]
    public void AClassConditionalRunLoadsWithItsClassesAndSamplesTheSamePixelsAndSheet()
    {
        var run = CopyRun("pixel-classes-v0");
        using var model = LoadedModel.Load(run);
        Assert.Null(model.Config.Components);
        Assert.Equal(new RunComponents { Conditioner = RunComponents.Classes }, model.Config.ComponentsOrImplied());
        Assert.Same(IdentityAutoencoder.Instance, model.Bundle.Autoencoder);
        var classes = Assert.IsType<ClassConditioner>(model.Bundle.Conditioner);
        Assert.Equal(["I", "O"], classes.Names!);
        Assert.Equal((2, 2), (classes.Count, classes.NullLabel));
        Assert.Equal(2.0, model.Bundle.DefaultGuidance);

        // noisette sample pixel-classes-v0 --class I --class O --n 2 --sampler dpm++ --steps 8 --guidance 2 --batch 4 --seed 1
        var result = SamplePipeline.Run(model, new SampleRequest
        {
            Settings = new GenerationSettings { Classes = ["I", "O"], Count = 2, Sampler = "dpm++", Steps = 8, Guidance = 2, BatchSize = 4, Seed = 1 },
        }, dir["classes"]);
        var expected = Expected("classes");
        var written = Written(dir["classes"]);
        Assert.Equal(expected.Select(Path.GetFileName), written.Select(Path.GetFileName));
        for (int i = 0; i < expected.Length; i++) SameAsBefore(expected[i], written[i], run);
        Assert.Equal(Path.Combine(dir["classes"], "grid-dpmpp-step6-seeds1-2.png"), result.GridPath);

        // Image O of seed 1 was slot 2 of a batch of 4: its provenance, pointed at the copy, makes it again byte for byte.
        var old = expected.Single(f => Path.GetFileName(f) == "dpmpp-step6-class-O-seed1.png");
        var p = Provenance.Read(old) with { Run = run };
        Assert.Equal(new BatchSlot(4, 2), p.Batch);
        var again = Regenerate.Run(model, Regenerate.Check(p, "O.png"), dir["again"], "O.png");
        Assert.Equal(File.ReadAllBytes(Path.Combine(dir["classes"], Path.GetFileName(old))), File.ReadAllBytes(Assert.Single(again.Files)));
    }

    [Fact]
    public void ANewRunRecordsItsComponentsAndAnOldOneIsReadAsImplied()
    {
        var run = new RunFolder(CopyRun("pixel-classes-v0"));
        var old = run.ReadConfig();
        Assert.Null(old.Components);
        Assert.DoesNotContain("\"components\"", File.ReadAllText(run.ConfigPath));
        run.WriteConfig(old);                                                      // what training and import write
        Assert.Contains("\"components\"", File.ReadAllText(run.ConfigPath));
        Assert.Equal(new RunComponents { Denoiser = "unet", Autoencoder = "identity", Conditioner = "classes" }, run.ReadConfig().Components);

        // A component this version cannot load, or one that contradicts the model, is refused by name.
        run.WriteConfig(old with { Components = new RunComponents { Autoencoder = "vae", Conditioner = "classes" } });
        var e = Assert.Throws<NoisetteInputException>(run.ReadConfig);
        Assert.Contains("components.autoencoder 'vae'", e.Message);
        run.WriteConfig(old with { Components = new RunComponents { Conditioner = "none" } });
        e = Assert.Throws<NoisetteInputException>(run.ReadConfig);
        Assert.Contains("components.conditioner is 'none' but the model has 2 classes", e.Message);
    }
}
