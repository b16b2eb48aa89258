using Noisette.Data;
using Noisette.IO;
using Noisette.Models;
using Noisette.Runs;
using Noisette.Runtime;

namespace Noisette.Tests.Runs;

/// <summary>The one set of rules that turns a training request into a configuration: defaults, inheritance, refusals.</summary>
public class TrainingConfigResolverTests
{
    private static TrainingRequest Request(string? preset = null) => new() { DataPath = "/data", OutPath = "/run", Preset = preset };

    private static DataFacts Gray(int count = 20, string[]? classes = null) => new()
    {
        Channels = ChannelMode.Gray, ReadableImages = count, ClassFolders = classes,
        NoClassesReason = classes is null ? "a.png is at the top of the folder, not in a subfolder" : null,
    };

    private static DataFacts Colour => Gray() with { Channels = ChannelMode.Rgb };

    private static TrainingConfig Resolved(TrainingRequest r, DataFacts facts, TrainingConfig? file = null, FineTuneSource? source = null)
    {
        var resolution = TrainingConfigResolver.Resolve(r, facts, file, source);
        Assert.True(resolution.Ok, ConfigProblem.Describe(resolution.Problems));
        Assert.Empty(resolution.Problems);
        return resolution.Config!;
    }

    private static ConfigProblem Refused(TrainingRequest r, DataFacts facts, TrainingConfig? file = null, FineTuneSource? source = null)
    {
        var resolution = TrainingConfigResolver.Resolve(r, facts, file, source);
        Assert.Null(resolution.Config);
        var problem = Assert.Single(resolution.Problems);
        Assert.Equal(problem.Message, Assert.Throws<NoisetteInputException>(resolution.OrThrow).Message);
        Assert.DoesNotContain("--", problem.Message);   // no command-line flag reaches a studio user
        return problem;
    }

    [Fact]
    public void ANewRunTakesThePresetsModelAndTheLibrarysDefaults()
    {
        var c = Resolved(Request("tiny"), Gray());
        var d = new TrainingConfig();
        Assert.Equal("tiny", c.Preset);
        Assert.Equal(Json.Serialize(ModelPresets.Get("tiny").Model), Json.Serialize(c.Model));
        Assert.Equal((TrainingDefaults.Steps, 1000, 32), (c.Steps, c.CheckpointEvery, c.Batch));
        Assert.Equal((d.LearningRate, d.Seed, d.EmaDecay, d.Device, d.Threads, d.Precision), (c.LearningRate, c.Seed, c.EmaDecay, c.Device, c.Threads, c.Precision));
        Assert.Equal(ChannelMode.Auto, c.Data.Channels);
        Assert.False(c.Data.FlipAugment);
        Assert.Null(c.ClassNames);
        // The pictures follow the model: 32 px, gray.
        Assert.Equal((32, ChannelMode.Gray), (c.Pictures.ImageSize, c.Pictures.Channels));
        Assert.Equal(Json.Serialize(TrainingDefaults.For("tiny")), Json.Serialize(c));
    }

    [Theory]
    [InlineData(500, 50)]
    [InlineData(5, 1)]
    [InlineData(1_000_000_000, 1000)]
    public void CheckpointsFollowTheStepsUnlessAsked(int steps, int every)
    {
        Assert.Equal(every, TrainingDefaults.CheckpointEvery(steps));
        Assert.Equal(every, Resolved(Request("tiny") with { Steps = steps }, Gray()).CheckpointEvery);
        Assert.Equal(every, TrainingDefaults.For("tiny", steps).CheckpointEvery);
        Assert.Equal(7, Resolved(Request("tiny") with { Steps = steps, CheckpointEvery = 7 }, Gray()).CheckpointEvery);
    }

    [Theory]
    [InlineData(ChannelMode.Gray, null, "letters32", 32)]
    [InlineData(ChannelMode.Gray, 64, "letters64", 64)]
    [InlineData(ChannelMode.Rgb, null, "ddpm32", 32)]
    [InlineData(ChannelMode.Rgb, 64, "ddpm64", 64)]
    public void WithoutAPresetOneIsChosenFromThePictures(ChannelMode channels, int? size, string preset, int pixels)
    {
        var c = Resolved(Request() with { ImageSize = size }, Gray() with { Channels = channels });
        Assert.Equal(preset, c.Preset);
        Assert.Equal((pixels, pixels), (c.Model.ImageSize, c.Pictures.ImageSize));
        Assert.Equal(ModelPresets.Get(preset).DefaultBatch, c.Batch);
    }

    [Fact]
    public void AnotherSizeResizesThePresetsModelAndItsPictures()
    {
        var c = Resolved(Request("tiny") with { ImageSize = 64 }, Gray());
        Assert.Equal(Json.Serialize(ModelPresets.Get("tiny").Model.Resized(64)), Json.Serialize(c.Model));
        Assert.Equal(64, c.Pictures.ImageSize);
        Assert.Equal(64, TrainingConfigResolver.PictureSize(Request("tiny") with { ImageSize = 64 }));
        Assert.Equal(64, TrainingConfigResolver.PictureSize(Request("letters64")));
        Assert.Equal(TrainingDefaults.ImageSize, TrainingConfigResolver.PictureSize(Request()));
    }

    [Fact]
    public void TheRequestOverridesEachSetting()
    {
        var r = Request("tiny") with
        {
            Steps = 40, Batch = 3, LearningRate = 1e-3, EmaDecay = 0.99, CheckpointEvery = 9, Seed = 5, Device = "cpu", Threads = 1,
            Precision = Precision.Bf16, Flip = true, ClassDropout = 0.2, ClassBalanced = true,
        };
        var c = Resolved(r, Gray());
        Assert.Equal((40, 3, 1e-3, 0.99, 9, 5L, 1, Precision.Bf16, true, 0.2, true),
                     (c.Steps, c.Batch, c.LearningRate, c.EmaDecay, c.CheckpointEvery, c.Seed, c.Threads, c.Precision, c.Data.FlipAugment, c.ClassDropout, c.ClassBalanced));
    }

    [Fact]
    public void AConfigFileKeepsItsSettingsAndAPresetReplacesOnlyItsModel()
    {
        var file = TrainingConfig.FromPreset("letters32") with { Steps = 300, CheckpointEvery = 7, Batch = 5, LearningRate = 3e-4, Data = new DataSettings { Resize = ResizeMode.Pad } };
        var c = Resolved(Request(), Gray(), file);
        Assert.Equal((300, 7, 5, 3e-4, ResizeMode.Pad), (c.Steps, c.CheckpointEvery, c.Batch, c.LearningRate, c.Data.Resize));
        var p = Resolved(Request("tiny"), Gray(), file);
        Assert.Equal("tiny", p.Preset);
        Assert.Equal(Json.Serialize(ModelPresets.Get("tiny").Model), Json.Serialize(p.Model));
        Assert.Equal((300, 7, 5), (p.Steps, p.CheckpointEvery, p.Batch));
    }

    private static TrainingConfig Source => TrainingConfig.FromPreset("tiny") with
    {
        Steps = 123, CheckpointEvery = 17, Batch = 7, LearningRate = 3e-5, EmaDecay = 0.99, WarmupSteps = 3,
        Device = "cuda", Threads = 64, Precision = Precision.Bf16,
        Model = ModelPresets.Get("tiny").Model with { Dropout = 0.2 },
        Diffusion = new Diffusion.DiffusionConfig { Prediction = Diffusion.Prediction.V },
    };

    [Fact]
    public void AFineTuneInheritsTheStartingRunsSettingsButNotItsMachine()
    {
        var c = Resolved(Request(), Gray(), source: new FineTuneSource("base", Source));
        var machine = new TrainingConfig();
        Assert.Equal((123, 17, 7, 3e-5, 0.99, 3), (c.Steps, c.CheckpointEvery, c.Batch, c.LearningRate, c.EmaDecay, c.WarmupSteps));
        Assert.Equal((machine.Device, machine.Threads, machine.Precision), (c.Device, c.Threads, c.Precision));
        Assert.Equal(Json.Serialize(Source.Model), Json.Serialize(c.Model));
        Assert.Equal(Json.Serialize(Source.Diffusion), Json.Serialize(c.Diffusion));

        // The request's values win; with a config file, the file's settings and the starting model.
        var over = Resolved(Request("TINY") with { LearningRate = 1e-4, Batch = 2 }, Gray(), source: new FineTuneSource("base", Source));
        Assert.Equal((1e-4, 2, 0.99), (over.LearningRate, over.Batch, over.EmaDecay));
        var file = new TrainingConfig { Steps = 4, CheckpointEvery = 4, Batch = 4 };
        var withFile = Resolved(Request(), Gray(), file, new FineTuneSource("base", Source));
        Assert.Equal((4, 4, 4, file.LearningRate), (withFile.Steps, withFile.CheckpointEvery, withFile.Batch, withFile.LearningRate));
        Assert.Equal(Json.Serialize(Source.Model), Json.Serialize(withFile.Model));
    }

    [Fact]
    public void AFineTuneOfAColourModelOnGrayPicturesConvertsThem()
    {
        var colour = TrainingConfig.FromPreset("ddpm32");
        var resolution = TrainingConfigResolver.Resolve(Request(), Gray(), source: new FineTuneSource("photos", colour));
        Assert.True(resolution.Ok);
        Assert.Equal(ChannelMode.Rgb, resolution.Config!.Pictures.Channels);
        Assert.Contains(resolution.Notes, n => n.Contains("three equal colour channels for the colour model of run 'photos'", StringComparison.Ordinal));
    }

    [Fact]
    public void ClassesComeFromSubfoldersAndAStartingModelsMustMatch()
    {
        var resolution = TrainingConfigResolver.Resolve(Request("tiny"), Gray(classes: ["I", "O"]));
        var c = resolution.Config!;
        Assert.Equal(["I", "O"], c.ClassNames!);
        Assert.Equal((2, true), (c.Model.NumClasses, c.Model.NullClass));
        Assert.Contains("classes from subfolders (2): I, O", resolution.Notes);
        Assert.Null(Resolved(Request("tiny") with { Classes = ClassMode.None }, Gray(classes: ["I", "O"])).ClassNames);

        // A config file's classes do not make a new run class-conditional without subfolders.
        var file = c with { Steps = 10 };
        var plain = Resolved(Request(), Gray(), file);
        Assert.Equal((null, 0, false), (plain.ClassNames, plain.Model.NumClasses, plain.Model.NullClass));
        // A fine-tune keeps the starting model's classes.
        Assert.Equal(["I", "O"], Resolved(Request(), Gray(classes: ["I", "O"]), source: new FineTuneSource("io", c)).ClassNames!);
    }

    [Fact]
    public void ImportedClassesWithoutNamesGetTheFoldersAndANote()
    {
        var import = TrainingConfig.FromPreset("tiny") with { Model = ModelPresets.Get("tiny").Model with { NumClasses = 5 } };
        var resolution = TrainingConfigResolver.Resolve(Request(), Gray(classes: ["A", "B"]), source: new FineTuneSource("imported", import));
        Assert.Equal(["A", "B"], resolution.Config!.ClassNames!);
        Assert.Contains(resolution.Notes, n => n.Contains("label_emb.weight, 3 rows", StringComparison.Ordinal));
    }

    public static TheoryData<string, TrainingRequest, string> BadRequests => new()
    {
        { "steps", Request("tiny") with { Steps = 0 }, "the number of steps must be at least 1, got 0" },
        { "batch", Request("tiny") with { Batch = 0 }, "the batch must be at least 1 picture per step, got 0" },
        { "learning_rate", Request("tiny") with { LearningRate = 2 }, "the learning rate must be above 0 and below 1, got 2" },
        { "learning_rate", Request("tiny") with { LearningRate = 0 }, "the learning rate must be above 0 and below 1, got 0" },
        { "checkpoint_every", Request("tiny") with { CheckpointEvery = -3 }, "the steps between checkpoints must be at least 1, got -3" },
        { "ema_decay", Request("tiny") with { EmaDecay = 1 }, "the decay of the weights' moving average (ema_decay) must be from 0 up to (not including) 1, got 1" },
        { "class_dropout", Request("tiny") with { ClassDropout = 1.5 }, "the share of class labels dropped for guidance (class_dropout) must be from 0 to 1, got 1.5" },
        { "threads", Request("tiny") with { Threads = -1 }, "the number of CPU threads must not be negative, got -1" },
        { "image_size", Request("tiny") with { ImageSize = 5000 }, "the picture size must be from 1 to 4096 pixels, got 5000" },
        { "image_size", Request("tiny") with { ImageSize = 30 }, "the picture size 30 px does not suit the model (Quick look, tiny): it halves the pictures 2 times, so the size must be a multiple of 4 px" },
        { "preset", Request("huge"), ModelPresets.Unknown("huge") },
        { "preset", Request("ddpm32"), "the pictures are gray, but preset Colour 32 px (ddpm32) is for colour pictures; choose a gray preset: Quick look (tiny), Letters 32 px (letters32), Letters 64 px (letters64)" },
        { "classes", Request("tiny") with { Classes = ClassMode.Subfolders }, "classes were asked for, but the pictures do not all sit in two or more subfolders (a.png is at the top of the folder, not in a subfolder), so there are no classes to learn" },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public void EachBadSettingIsOneProblemNamedInWords(string key, TrainingRequest request, string message)
    {
        var problem = Refused(request, Gray());
        Assert.Equal(key, problem.Key);
        Assert.Equal(message, problem.Message);
    }

    [Fact]
    public void CombinationsThatCannotTrainAreRefused()
    {
        Assert.Equal(new ConfigProblem("dataset", "the data folder holds no readable picture"), Refused(Request("tiny"), Gray(count: 0)));
        Assert.Equal(new ConfigProblem("preset", "the pictures are in colour, but preset Quick look (tiny) is for gray pictures; choose a colour preset: " +
                                                 "Colour 32 px (ddpm32), Colour 64 px (ddpm64), Colour 256 px (graphics card) (adm256)"),
                     Refused(Request("tiny"), Colour));
        var source = new FineTuneSource("base", Source);
        Assert.Equal(new ConfigProblem("preset", "a fine-tune keeps the model of run 'base' (Quick look, tiny); leave the preset out or choose tiny"),
                     Refused(Request("letters32"), Gray(), source: source));
        Assert.Equal(new ConfigProblem("init_from", "the pictures are in colour but the model of run 'base' is gray; fine-tune a colour run, or choose gray pictures"),
                     Refused(Request(), Colour, source: source));
        var classSource = new FineTuneSource("io", Source with { ClassNames = ["I", "O"], Model = Source.Model with { NumClasses = 2, NullClass = true } });
        Assert.Equal(new ConfigProblem("classes", "the starting model is class-conditional: put the pictures in one subfolder per class"),
                     Refused(Request(), Gray(), source: classSource));
        Assert.Equal(new ConfigProblem("classes", "the folder's classes (A, B) differ from the starting model's (I, O)"),
                     Refused(Request(), Gray(classes: ["A", "B"]), source: classSource));
        // A config file's gray model for colour pictures: choose another, or ask the file to convert them.
        var grayFile = TrainingConfig.FromPreset("letters32");
        var channels = Refused(Request(), Colour, grayFile);
        Assert.Equal("channels", channels.Key);
        Assert.Contains("set data.channels to gray in the config file", channels.Message);
        Assert.Equal(ChannelMode.Gray, Resolved(Request(), Colour, grayFile with { Data = new DataSettings { Channels = ChannelMode.Gray } }).Pictures.Channels);
    }

    [Fact]
    public void SeveralProblemsAreListedTogether()
    {
        var resolution = TrainingConfigResolver.Resolve(Request("tiny") with { Steps = 0, LearningRate = 5 }, Gray());
        Assert.Equal(["steps", "learning_rate"], resolution.Problems.Select(p => p.Key));
        Assert.Equal("the number of steps must be at least 1, got 0; the learning rate must be above 0 and below 1, got 5",
                     Assert.Throws<NoisetteInputException>(resolution.OrThrow).Message);
    }

    [Fact]
    public void FactsComeFromTheDataCheck()
    {
        using var dir = new TempFolder();
        foreach (var cls in new[] { "I", "O" })
        {
            Directory.CreateDirectory(dir[cls]);
            foreach (var f in Directory.GetFiles(Fixtures.Path("letters-IO", cls), "*.png").Order(StringComparer.Ordinal).Take(2))
                File.Copy(f, Path.Combine(dir[cls], Path.GetFileName(f)));
        }
        var facts = DataFacts.From(DatasetReport.Run(dir.Path, new DatasetCheckOptions()));
        Assert.Equal((ChannelMode.Gray, 4, null), (facts.Channels, facts.ReadableImages, facts.NoClassesReason));
        Assert.Equal(["I", "O"], facts.ClassFolders!);
        Directory.Delete(dir["O"], recursive: true);
        var one = DataFacts.From(DatasetReport.Run(dir.Path, new DatasetCheckOptions()));
        Assert.Null(one.ClassFolders);
        Assert.Equal("they all sit in the one subfolder 'I'", one.NoClassesReason);
    }

    private static LatentSpace Kl(int factor = 8, int pixelChannels = 3, int? trainedAt = 256) => new()
    {
        Path = "/ae", Sha256 = "5ea1", Factor = factor, PixelChannels = pixelChannels, LatentChannels = 4, TrainedImageSize = trainedAt,
    };

    private static TrainingConfig ResolvedLatent(TrainingRequest r, DataFacts facts, LatentSpace latent, TrainingConfig? file = null)
    {
        var resolution = TrainingConfigResolver.Resolve(r, facts, file, null, latent);
        Assert.True(resolution.Ok, ConfigProblem.Describe(resolution.Problems));
        return resolution.Config!;
    }

    private static ConfigProblem RefusedLatent(TrainingRequest r, DataFacts facts, LatentSpace? latent, TrainingConfig? file = null, FineTuneSource? source = null)
    {
        var resolution = TrainingConfigResolver.Resolve(r, facts, file, source, latent);
        Assert.Null(resolution.Config);
        var problem = Assert.Single(resolution.Problems);
        Assert.DoesNotContain("--", problem.Message);
        return problem;
    }

    [Fact]
    public void ALatentRunTakesItsPictureSizeAndChannelsFromItsAutoencoder()
    {
        // Nothing said: the size the autoencoder was trained at, its latents' channels, the U-Net for that latent size.
        var cfg = ResolvedLatent(Request(), Colour, Kl());
        Assert.Equal(("latent256", 32, 4, 256, ChannelMode.Rgb), (cfg.Preset, cfg.Model.ImageSize, cfg.Model.InChannels, cfg.PixelSize, cfg.PixelChannels));
        Assert.Equal(Kl(), cfg.Autoencoder);
        Assert.Equal(RunComponents.Kl, RunComponents.Implied(cfg).Autoencoder);
        // 512 px pictures are 64×64 latents: the larger latent U-Net.
        var large = ResolvedLatent(Request() with { ImageSize = 512 }, Colour, Kl());
        Assert.Equal(("latent512", 64, 512), (large.Preset, large.Model.ImageSize, large.PixelSize));
        // A latent preset with a factor-4 autoencoder: its 32×32 latents are 128 px pictures.
        var f4 = ResolvedLatent(Request("latent256"), Colour, Kl(factor: 4, trainedAt: null));
        Assert.Equal((32, 128), (f4.Model.ImageSize, f4.PixelSize));
        // Gray pictures are given three equal channels for a colour autoencoder, and the run says so.
        var gray = TrainingConfigResolver.Resolve(Request(), Gray(), null, null, Kl());
        Assert.Contains(gray.Notes, n => n.Contains("three equal colour channels"));
        Assert.Equal(ChannelMode.Rgb, gray.Config!.PixelChannels);
    }

    [Fact]
    public void LatentRequestsThatCannotWorkAreRefusedSayingWhy()
    {
        Assert.Contains("choose an autoencoder folder", RefusedLatent(Request("latent256"), Colour, null).Message);
        Assert.Contains("learns pixels; with an autoencoder choose a latent preset: Latent 256 px (latent256)",
                        RefusedLatent(Request("ddpm32"), Colour, Kl()).Message);
        var size = RefusedLatent(Request() with { ImageSize = 250 }, Colour, Kl());
        Assert.Equal("image_size", size.Key);
        Assert.Contains("not a multiple of the autoencoder's factor 8", size.Message);
        Assert.Contains("choose 248 or 256 px", size.Message);
        Assert.Contains("takes gray pictures", RefusedLatent(Request(), Colour, Kl(pixelChannels: 1)).Message);
        // A config file whose U-Net takes 3 channels cannot learn 4-channel latents.
        var file = TrainingDefaults.For("latent256") with { Model = ModelPresets.Get("latent256").Model with { InChannels = 3 } };
        var channels = RefusedLatent(Request(), Colour, Kl(), file);
        Assert.Equal("autoencoder", channels.Key);
        Assert.Contains("latents have 4 channels but the U-Net takes 3", channels.Message);
        // A latent preset's config file (from `noisette init --preset latent256`) without an autoencoder.
        Assert.Contains("names no autoencoder", RefusedLatent(Request(), Colour, null, TrainingDefaults.For("latent256")).Message);
        // A fine-tune keeps its space: a pixel run takes no autoencoder, a latent run no other one.
        var pixelSource = new FineTuneSource("letters", TrainingDefaults.For("letters32"));
        Assert.Contains("learned pixels", RefusedLatent(Request(), Gray(), Kl(pixelChannels: 1), source: pixelSource).Message);
        var latentSource = new FineTuneSource("latent", ResolvedLatent(Request(), Colour, Kl()));
        Assert.Contains("another autoencoder", RefusedLatent(Request(), Colour, Kl() with { Sha256 = "0the5" }, source: latentSource).Message);
        var kept = TrainingConfigResolver.Resolve(Request(), Colour, null, latentSource);
        Assert.Equal(Kl(), kept.Config!.Autoencoder);
    }
}
