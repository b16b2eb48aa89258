using System.Text.Json.Nodes;
using Noisette.Data;
using Noisette.IO;
using Noisette.Runs;

namespace Noisette.Tests.Runs;

/// <summary>
/// Run folders and config files written before the picture size and channels followed the model (their
/// <c>data.image_size</c> and <c>data.channels</c> repeat the model's) still read, resume and sample.
/// </summary>
public class EarlierRunFolderTests
{
    /// <summary>A copy of a fixture run whose data path points at this checkout's copy of its pictures.</summary>
    private static string CopyRun(TempFolder dir, string name, string data)
    {
        var source = Fixtures.Path("runs-v0", name);
        var target = dir[name];
        foreach (var file in Directory.GetFiles(source, "*", SearchOption.AllDirectories))
        {
            var to = Path.Combine(target, Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(to)!);
            File.Copy(file, to);
        }
        var config = Path.Combine(target, "config.json");
        var node = JsonNode.Parse(File.ReadAllText(config))!;
        Assert.Equal(32, node["training"]!["data"]!["image_size"]!.GetValue<int>());   // written by the earlier version
        node["run"]!["data_path"] = data;
        File.WriteAllText(config, node.ToJsonString());
        return target;
    }

    [Theory]
    [InlineData("pixel-v0", "letters/A", null)]
    [InlineData("pixel-classes-v0", "letters-IO", "I")]
    public void AnEarlierRunReadsResumesAndSamples(string name, string data, string? cls)
    {
        using var dir = new TempFolder();
        var run = new RunFolder(CopyRun(dir, name, Fixtures.Path(data.Split('/'))));
        var config = run.ReadConfig().Training;
        Assert.Equal((32, ChannelMode.Gray), (config.Pictures.ImageSize, config.Pictures.Channels));
        Assert.Equal(ChannelMode.Gray, config.Data.Channels);
        // Settings that came later read as what the run trained with, not as today's defaults.
        Assert.Equal((0.0, 0), (config.Diffusion.OffsetNoise, config.DistanceSamples));
        Assert.NotEqual(0.0, new Noisette.Diffusion.DiffusionConfig().OffsetNoise);

        // The pictures load as they did when the run was made: the dataset's fingerprint matches without --force.
        var (code, _, err) = CliCapture.Run("resume", run.Root, "--steps", "8");
        Assert.True(code == 0, err);
        Assert.Equal([6L, 8L], run.CheckpointSteps());
        var rewritten = run.ReadConfig();
        Assert.Equal(8, rewritten.Training.Steps);
        Assert.DoesNotContain("image_size", JsonNode.Parse(File.ReadAllText(run.ConfigPath))!["training"]!["data"]!.ToJsonString());

        string[] sample = ["sample", run.Root, "--n", "2", "--steps", "4", "--out", dir["out"]];
        (code, _, err) = CliCapture.Run(cls is null ? sample : [.. sample, "--class", cls]);
        Assert.True(code == 0, err);
        var pngs = Directory.GetFiles(dir["out"], "*.png");
        Assert.Equal(2, pngs.Length);
        Assert.All(pngs, p => Assert.Equal((32, 32, 1), PngSize(p)));
    }

    private static (int Width, int Height, int Channels) PngSize(string path)
    {
        var image = ImageDecoder.Decode(path);
        return (image.Width, image.Height, image.IsGray ? 1 : 3);
    }

    [Fact]
    public void AnEarlierConfigFileAskingForAnotherSizeResizesTheModel()
    {
        using var dir = new TempFolder();
        var node = JsonNode.Parse(Json.Serialize(TrainingConfig.FromPreset("tiny")))!;
        node["data"]!["image_size"] = 64;
        node["data"]!["channels"] = "gray";
        File.WriteAllText(dir["old.json"], "// written by an earlier init\n" + node.ToJsonString());
        var config = ConfigUpgrade.ReadConfigFile(dir["old.json"]);
        Assert.Equal(64, config.Model.ImageSize);
        Assert.Equal(64, config.Pictures.ImageSize);
        Assert.Equal(ChannelMode.Gray, config.Data.Channels);

        node["data"]!["image_size"] = 32;
        File.WriteAllText(dir["same.json"], node.ToJsonString());
        Assert.Equal(Json.Serialize(TrainingConfig.FromPreset("tiny").Model), Json.Serialize(ConfigUpgrade.ReadConfigFile(dir["same.json"]).Model));
    }

    [Fact]
    public void ARunWhoseDataSizeDiffersFromItsModelIsDamaged()
    {
        using var dir = new TempFolder();
        var run = new RunFolder(CopyRun(dir, "pixel-v0", Fixtures.Path("letters", "A")));
        var node = JsonNode.Parse(File.ReadAllText(run.ConfigPath))!;
        node["training"]!["data"]!["image_size"] = 64;
        File.WriteAllText(run.ConfigPath, node.ToJsonString());
        var e = Assert.Throws<NoisetteInputException>(run.ReadConfig);
        Assert.Contains("data.image_size 64 differs from the model's image_size 32", e.Message);
    }

    [Fact]
    public void InitShowsTheDefaultsWithoutAPictureSizeOfItsOwn()
    {
        using var dir = new TempFolder();
        var (code, _, err) = CliCapture.Run("init", "--preset", "letters32", "--out", dir["c.json"]);
        Assert.True(code == 0, err);
        var text = File.ReadAllText(dir["c.json"]);
        Assert.Contains("\"checkpoint_every\": 1000", text);
        Assert.Contains("a tenth of the steps, at most 1000", text);
        Assert.Contains($"\"steps\": {TrainingDefaults.Steps}", text);
        var config = ConfigUpgrade.ReadConfigFile(dir["c.json"]);
        Assert.Equal(Json.Serialize(TrainingConfig.FromPreset("letters32")), Json.Serialize(config));
        Assert.Null(JsonNode.Parse(Json.Serialize(config))!["data"]!["image_size"]);
    }
}
