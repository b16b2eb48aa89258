using Noisette.IO;
using Noisette.Runs;

namespace Noisette.Tests.IO;

/// <summary>The run folder's own bookkeeping: taking over a used folder, and cutting metrics back for a resume.</summary>
public class RunFolderTests
{
    [Theory]
    [InlineData("{\"training\":null}", "training section")]
    [InlineData("{\"training\":{\"model\":null},\"run\":{\"data_path\":\"/x\"}}", "training.model")]
    [InlineData("{\"run\":null}", "run section")]
    public void ADamagedConfigIsAnInputErrorForEveryCaller(string json, string named)
    {
        using var dir = new TempFolder();
        File.WriteAllText(dir["config.json"], json);
        var e = Assert.Throws<NoisetteInputException>(() => new RunFolder(dir.Path).ReadConfig());
        Assert.Contains(named, e.Message);
        var (code, _, err) = CliCapture.Run("resume", dir.Path);
        Assert.Equal(Noisette.Cli.Cli.BadInput, code);                 // exit 2 with the reason, not an internal error
        Assert.Contains(named, err);
    }

    [Fact]
    public void ForceNeverMovesAKeptPath()
    {
        using var dir = new TempFolder();
        var run = new RunFolder(dir.Path);
        var data = Directory.CreateDirectory(dir["imgs"]).FullName;
        File.WriteAllText(Path.Combine(data, "a.png"), "x");
        File.WriteAllText(dir["notes.txt"], "y");

        var e = Assert.Throws<NoisetteInputException>(() => run.PrepareForNewRun(force: true, [("data folder", data)]));
        Assert.Contains(data, e.Message);
        Assert.Contains(dir.Path, e.Message);
        // Nothing moved, not even the entries that were free to go.
        Assert.True(File.Exists(Path.Combine(data, "a.png")));
        Assert.True(File.Exists(dir["notes.txt"]));
        Assert.Empty(Directory.GetDirectories(dir.Path, "previous-*"));

        // A kept path outside the folder does not stop it.
        using var elsewhere = new TempFolder();
        var other = new RunFolder(elsewhere.Path);
        File.WriteAllText(elsewhere["old.txt"], "z");
        other.PrepareForNewRun(force: true, [("data folder", data)]);
        Assert.True(File.Exists(Path.Combine(Directory.GetDirectories(elsewhere.Path, "previous-*").Single(), "old.txt")));
    }

    [Fact]
    public void ContainmentSeesThroughSymbolicLinks()
    {
        using var dir = new TempFolder();
        var real = Directory.CreateDirectory(dir["real"]).FullName;
        var inner = Directory.CreateDirectory(Path.Combine(real, "imgs")).FullName;
        var link = dir["link"];
        Directory.CreateSymbolicLink(link, real);
        Assert.True(PathContainment.IsSameOrInside(Path.Combine(link, "imgs"), real));
        Assert.True(PathContainment.IsSameOrInside(inner, link));
        Assert.True(PathContainment.IsSameOrInside(real, real + Path.DirectorySeparatorChar));
        Assert.False(PathContainment.IsSameOrInside(dir["realistic"], real));      // a prefix of the name is not containment
        Assert.False(PathContainment.IsSameOrInside(real, inner));
    }

    [Fact]
    public void MetricsAreCutBackToAStepAndATornLineIsDropped()
    {
        using var dir = new TempFolder();
        var run = new RunFolder(dir.Path);
        File.WriteAllText(run.MetricsPath,
            "{\"step\":1,\"loss\":0.5}\n{\"step\":2,\"loss\":0.4}\n{\"step\":2,\"val_loss\":0.45}\n{\"step\":3,\"loss\":0.3}\n{\"step\":4,\"lo");
        Assert.Equal(2, run.TruncateMetrics(2));
        Assert.Equal("{\"step\":1,\"loss\":0.5}\n{\"step\":2,\"loss\":0.4}\n{\"step\":2,\"val_loss\":0.45}\n", File.ReadAllText(run.MetricsPath));
        var before = File.GetLastWriteTimeUtc(run.MetricsPath);
        Assert.Equal(0, run.TruncateMetrics(2));                             // nothing to drop: the file is left as it is
        Assert.Equal(before, File.GetLastWriteTimeUtc(run.MetricsPath));
        Assert.Equal(0, new RunFolder(dir["none"]).TruncateMetrics(5));      // no file yet
        Assert.Empty(Directory.GetFiles(dir.Path, "*" + AtomicFile.TempSuffix));
    }
}
