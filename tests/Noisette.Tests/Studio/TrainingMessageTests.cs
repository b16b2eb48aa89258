using System.Net;
using Noisette.Runs;

namespace Noisette.Tests.Studio;

/// <summary>
/// The studio's form and `noisette train` go through one resolver: the same bad request is refused by both with the
/// same sentence (exit 2 in the terminal, 400 naming the form field in the studio), and neither makes a run.
/// </summary>
public class TrainingMessageTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<string[], (string, string)[], string, string> BadRequests => new()
    {
        { ["--preset", "tiny", "--lr", "2"], [("preset", "tiny"), ("learning_rate", "2")], "learning_rate",
          "the learning rate must be above 0 and below 1, got 2" },
        { ["--preset", "ddpm32"], [("preset", "ddpm32")], "preset",
          "the pictures are gray, but preset Colour 32 px (ddpm32) is for colour pictures; choose a gray preset: Quick look (tiny), Letters 32 px (letters32), Letters 64 px (letters64)" },
        { ["--preset", "tiny", "--classes", "subfolders"], [("preset", "tiny"), ("classes", "subfolders")], "classes",
          "classes were asked for, but the pictures do not all sit in two or more subfolders (36daythk.png is at the top of the folder, not in a subfolder), so there are no classes to learn" },
        { ["--preset", "tiny", "--checkpoint-every", "0"], [("preset", "tiny"), ("checkpoint_every", "0")], "checkpoint_every",
          "the steps between checkpoints must be at least 1, got 0" },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task TheStudioAndTheCliRefuseABadRequestWithTheSameSentence(string[] flags, (string, string)[] fields, string field, string message)
    {
        using var f = new StudioFactory();
        using var c = f.Client();
        var data = StudioTestData.Glyphs(f.Dir["letters"], 12);

        var output = f.Dir["cli-run"];
        var (code, _, err) = CliCapture.Run(["train", "--data", data, "--out", output, "--steps", "10", .. flags]);
        Assert.Equal(2, code);
        Assert.Contains("error: " + message + Environment.NewLine, err);
        Assert.False(Directory.Exists(output));

        await c.PostAsync("/api/datasets/add", StudioTestData.Form(("path", data)), Ct);
        var response = await c.PostAsync("/api/runs", StudioTestData.Form([("dataset", "letters"), ("steps", "10"), .. fields]), Ct);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = await response.Json();
        Assert.Equal(message, error.GetProperty("error").GetString());
        Assert.Equal(field, error.GetProperty("field").GetString());
        Assert.Empty(Directory.GetDirectories(Path.Combine(f.Workspace, "runs")));
    }

    [Fact]
    public async Task TheFormsDefaultsAreTheLibrarys()
    {
        using var f = new StudioFactory();
        using var c = f.Client();
        var d = await (await c.GetAsync("/api/training/defaults", Ct)).Json();
        var library = new TrainingConfig();
        Assert.Equal(TrainingDefaults.Preset, d.GetProperty("preset").GetString());
        Assert.Equal(TrainingDefaults.Steps, d.GetProperty("steps").GetInt32());
        Assert.Equal(TrainingDefaults.CheckpointEvery(TrainingDefaults.Steps), d.GetProperty("checkpoint_every").GetInt32());
        Assert.Equal(Models.ModelPresets.Get(TrainingDefaults.Preset).DefaultBatch, d.GetProperty("batch").GetInt32());
        Assert.Equal(library.LearningRate, d.GetProperty("learning_rate").GetDouble());
        Assert.Equal(library.Seed, d.GetProperty("seed").GetInt64());
        Assert.False(d.GetProperty("flip").GetBoolean());
        var tiny = d.GetProperty("presets").EnumerateArray().First(p => p.GetProperty("name").GetString() == "tiny");
        Assert.Equal("Quick look", tiny.GetProperty("title").GetString());
        Assert.True(tiny.GetProperty("gray").GetBoolean());

        // checkpoint_every and batch follow the preset and steps asked for.
        var asked = await (await c.GetAsync("/api/training/defaults?preset=letters64&steps=400", Ct)).Json();
        Assert.Equal(("letters64", 400, 40, 16), (asked.GetProperty("preset").GetString(), asked.GetProperty("steps").GetInt32(),
                                                   asked.GetProperty("checkpoint_every").GetInt32(), asked.GetProperty("batch").GetInt32()));
        var bad = await c.GetAsync("/api/training/defaults?preset=huge", Ct);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal("preset", (await bad.Json()).GetProperty("field").GetString());
        var none = await c.GetAsync("/api/training/defaults?steps=0", Ct);
        Assert.Equal(HttpStatusCode.BadRequest, none.StatusCode);
        Assert.Equal("steps", (await none.Json()).GetProperty("field").GetString());
    }
}
