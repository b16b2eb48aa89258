using Noisette.IO;
using Noisette.Runs;
using Noisette.Runtime;
using SkiaSharp;

namespace Noisette.Tests;

/// <summary>The `noisette` command end to end, in process: exit codes, files written, bad input.</summary>
public class CliTests
{
    private static string DemoImages => Path.Combine(Fixtures.Path(), "..", "..", "data", "demo", "letters-A");

    /// <summary>A data folder with the first <paramref name="count"/> demo glyphs.</summary>
    internal static TempFolder GlyphFolder(int count)
    {
        var dir = new TempFolder();
        foreach (var f in Directory.GetFiles(DemoImages, "*.png").Order(StringComparer.Ordinal).Take(count))
            File.Copy(f, Path.Combine(dir.Path, Path.GetFileName(f)));
        return dir;
    }

    private static string TreeHash(string folder)
    {
        using var sha = System.Security.Cryptography.SHA256.Create();
        foreach (var f in Directory.GetFiles(folder, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            var name = System.Text.Encoding.UTF8.GetBytes(Path.GetRelativePath(folder, f));
            sha.TransformBlock(name, 0, name.Length, null, 0);
            var bytes = File.ReadAllBytes(f);
            sha.TransformBlock(bytes, 0, bytes.Length, null, 0);
        }
        sha.TransformFinalBlock([], 0, 0);
        return Convert.ToHexString(sha.Hash!);
    }

    private static int Run(params string[] args) => Noisette.Cli.Cli.Run(args);

    internal static readonly string[] Quick = ["--preset", "tiny", "--batch", "4", "--threads", "1"];

    [Fact]
    public void TrainThenSampleWritesValidPngs()
    {
        using var data = GlyphFolder(12);
        File.WriteAllText(Path.Combine(data.Path, "notes.png"), "not an image");   // skipped, listed, not fatal
        var before = TreeHash(data.Path);
        using var outDir = new TempFolder();
        var run = outDir["run"];

        Assert.Equal(0, Run(["train", "--data", data.Path, "--out", run, "--steps", "4", "--checkpoint-every", "2", .. Quick]));
        var folder = new RunFolder(run);
        Assert.Equal(new long[] { 2, 4 }, folder.CheckpointSteps());
        Assert.True(File.Exists(folder.SampleGridPath(4)));
        var metrics = Noisette.Monitoring.Metrics.Read(folder.MetricsPath);
        Assert.Equal([2L, 4L], metrics.Where(m => m.Loss is not null).Select(m => m.Step));             // logged at each checkpoint (log_every is 10)
        Assert.Equal([2L, 4L], metrics.Where(m => m.SampleDistance is not null).Select(m => m.Step));   // and each checkpoint's sample distance
        Assert.Equal(4, File.ReadAllLines(folder.MetricsPath).Length);
        Assert.Contains("notes.png", File.ReadAllText(folder.LogPath));
        Assert.Equal(before, TreeHash(data.Path));                     // the data folder is untouched

        var samples = outDir["samples"];
        Assert.Equal(0, Run("sample", run, "--n", "3", "--steps", "4", "--seed", "9", "--out", samples, "--grid"));
        var pngs = Directory.GetFiles(samples, "*.png");
        Assert.Equal(4, pngs.Length);                                  // three images and a grid
        foreach (var png in pngs)
        {
            using var bmp = SKBitmap.Decode(png);
            Assert.NotNull(bmp);
        }
        using var one = SKBitmap.Decode(pngs.First(p => !Path.GetFileName(p).StartsWith("grid")));
        Assert.Equal(32, one.Width);

        // Resume to a higher total continues from step 4.
        Assert.Equal(0, Run("resume", run, "--steps", "6"));
        Assert.Equal(6, folder.CheckpointSteps()[^1]);
    }

    [Fact]
    public void BadInputExitsWithTwo()
    {
        using var empty = new TempFolder();
        using var outDir = new TempFolder();
        Assert.Equal(2, Run(["train", "--data", Path.Combine(empty.Path, "missing"), "--out", outDir["a"], .. Quick]));
        Assert.Equal(2, Run(["train", "--data", empty.Path, "--out", outDir["b"], .. Quick]));

        File.WriteAllBytes(empty["zero.png"], []);
        File.WriteAllBytes(empty["cut.png"], File.ReadAllBytes(Directory.GetFiles(DemoImages)[0])[..40]);
        Assert.Equal(2, Run(["train", "--data", empty.Path, "--out", outDir["c"], .. Quick]));

        using var data = GlyphFolder(6);
        Assert.Equal(2, Run(["train", "--data", data.Path, "--out", outDir["d"], "--preset", "nope"]));
        Assert.Equal(2, Run(["train", "--data", data.Path, "--out", outDir["e"], "--threads", "999"]));
        Assert.Equal(2, Run(["train", "--data", data.Path, "--out", outDir["e"], "--threads", "0"]));
        Assert.Equal(2, Run(["demo", "--out", outDir["e"], "--threads", "-1"]));
        Assert.False(Directory.Exists(outDir["e"]));                                   // refused before anything is written
        Assert.Equal(2, Run(["train", "--data", data.Path, "--out", Path.Combine(data.Path, "run"), .. Quick]));
        Assert.Equal(2, Run(["train", "--data", data.Path]));                           // --out missing: usage error
        Assert.Equal(2, Run("resume", outDir.Path));                                        // not a run
        Assert.Equal(2, Run("sample", outDir.Path));
    }

    /// <summary>
    /// fp32 is the default precision; a CPU that computes bf16 natively is told once that --precision auto may be
    /// faster, and only when no precision was chosen. (On a CPU without bf16 there is nothing to say.)
    /// </summary>
    [Fact]
    public void TrainSuggestsBf16OnlyWhereTheCpuHasItAndNoPrecisionWasChosen()
    {
        using var data = GlyphFolder(4);
        using var outDir = new TempFolder();
        const string Hint = "--precision auto trains in bf16";
        var byDefault = CliCapture.Run(["train", "--data", data.Path, "--out", outDir["a"], "--steps", "1", "--checkpoint-every", "1", .. Quick]);
        Assert.Equal(0, byDefault.Code);
        Assert.Equal(Noisette.Runtime.PrecisionSupport.CpuHasBf16, (byDefault.Out + byDefault.Err).Contains(Hint));
        Assert.Equal("fp32", System.Text.Json.JsonDocument.Parse(File.ReadAllText(new RunFolder(outDir["a"]).ConfigPath))
            .RootElement.GetProperty("training").GetProperty("precision").GetString());

        var chosen = CliCapture.Run(["train", "--data", data.Path, "--out", outDir["b"], "--steps", "1", "--checkpoint-every", "1", "--precision", "fp32", .. Quick]);
        Assert.Equal(0, chosen.Code);
        Assert.DoesNotContain(Hint, chosen.Out + chosen.Err);
    }

    [Fact]
    public void AnOutputFolderHoldingARunIsRefusedWithoutForce()
    {
        using var data = GlyphFolder(6);
        using var outDir = new TempFolder();
        var run = outDir["run"];
        Assert.Equal(0, Run(["train", "--data", data.Path, "--out", run, "--steps", "2", "--checkpoint-every", "2", .. Quick]));
        Assert.Equal(2, Run(["train", "--data", data.Path, "--out", run, "--steps", "2", .. Quick]));
        Assert.Equal(0, Run(["train", "--data", data.Path, "--out", run, "--steps", "2", "--checkpoint-every", "2", "--force", .. Quick]));
        // Nothing was deleted: the first run was moved aside.
        var previous = Directory.GetDirectories(run, "previous-*").Single();
        Assert.True(new RunFolder(previous).Exists);
        Assert.Equal(2, Run("sample", run, "--sampler", "euler-of-nowhere"));
    }

    [Fact]
    public void ForceNeverMovesTheDataFolderOrTheInitFromCheckpoint()
    {
        using var outDir = new TempFolder();
        var run = outDir["run"];
        // The data folder inside the output folder: refused, with or without --force, and nothing moves.
        var imgs = Path.Combine(run, "imgs");
        Directory.CreateDirectory(imgs);
        foreach (var f in Directory.GetFiles(DemoImages, "*.png").Order(StringComparer.Ordinal).Take(6))
            File.Copy(f, Path.Combine(imgs, Path.GetFileName(f)));
        var before = TreeHash(imgs);
        Assert.Equal(2, Run(["train", "--data", imgs, "--out", run, "--steps", "2", "--force", .. Quick]));
        Assert.Equal(2, Run(["train", "--data", imgs, "--out", run, "--steps", "2", .. Quick]));
        Assert.Equal(2, Run(["train", "--data", run, "--out", run, "--steps", "2", "--force", .. Quick]));
        Assert.Equal(before, TreeHash(imgs));
        Assert.Equal(new[] { "imgs" }, Directory.GetFileSystemEntries(run).Select(e => Path.GetFileName(e)));

        // Fine-tuning from the run that --force would move aside: refused before anything moves.
        using var data = GlyphFolder(6);
        var source = outDir["source"];
        Assert.Equal(0, Run(["train", "--data", data.Path, "--out", source, "--steps", "2", "--checkpoint-every", "2", .. Quick]));
        Assert.Equal(2, Run(["train", "--data", data.Path, "--out", source, "--init-from", source, "--steps", "2", "--force", .. Quick]));
        Assert.Equal(new long[] { 2 }, new RunFolder(source).CheckpointSteps());
        Assert.Empty(Directory.GetDirectories(source, "previous-*"));
        // One in a previous-* subfolder is never moved, so that is allowed.
        Assert.Equal(0, Run(["train", "--data", data.Path, "--out", source, "--steps", "2", "--checkpoint-every", "2", "--force", .. Quick]));
        var previous = Directory.GetDirectories(source, "previous-*").Single();
        Assert.Equal(0, Run(["train", "--data", data.Path, "--out", source, "--init-from", previous, "--steps", "2", "--checkpoint-every", "2", "--force", .. Quick]));
        Assert.True(new RunFolder(previous).Exists);
        Assert.Equal(new long[] { 2 }, new RunFolder(previous).CheckpointSteps());
    }

    [Fact]
    public void PlainOutputNeverWrapsLongPaths()
    {
        Assert.SkipWhen(Noisette.Cli.Cli.Interactive, "stdout is a terminal here; the plain lines are for redirected output");
        var path = "/tmp/" + string.Join("/", Enumerable.Repeat("a-rather-long-folder-name", 6)) + "/grid-00000001.png";
        var sw = new StringWriter();
        Noisette.Cli.Cli.WithOutput(sw, TextWriter.Null, () =>
        {
            Noisette.Cli.Cli.Info($"  grid:          {path}");
            Noisette.Cli.Cli.Warn($"could not read {path}");
            return 0;
        });
        var lines = sw.ToString().Split(Environment.NewLine);
        Assert.Contains($"  grid:          {path}", lines);
        Assert.Contains($"warning: could not read {path}", lines);
    }

    [Fact]
    public void TheDocsGiveTheDemoSetsRealSize()
    {
        int count = Directory.GetFiles(DemoImages, "*.png").Length;
        var root = Path.Combine(Fixtures.Path(), "..", "..");
        Assert.Contains($"holds {count} grayscale", File.ReadAllText(Path.Combine(root, "data", "demo", "README.md")));
        Assert.Contains($"set of {count} letter-A glyphs", File.ReadAllText(Path.Combine(root, "README.md")));
        Assert.Equal(count + 1, File.ReadAllLines(Path.Combine(root, "data", "demo", "manifest.tsv")).Count(l => l.Length > 0));   // a header and a line per font
    }

    [Fact]
    public void ResumeFallsBackPastADamagedCheckpoint()
    {
        using var data = GlyphFolder(6);
        using var outDir = new TempFolder();
        var run = outDir["run"];
        Assert.Equal(0, Run(["train", "--data", data.Path, "--out", run, "--steps", "4", "--checkpoint-every", "2", .. Quick]));
        File.WriteAllText(Path.Combine(new RunFolder(run).CheckpointDir(4), Checkpoint.StateFile), "{ broken");
        Assert.Equal(0, Run("resume", run, "--steps", "5"));
        Assert.Contains("resumed from step-00000002", File.ReadAllText(new RunFolder(run).LogPath));
    }

    [Fact]
    public void InitWritesAConfigThatTrainAccepts()
    {
        using var dir = new TempFolder();
        var file = dir["my.json"];
        Assert.Equal(0, Run("init", "--preset", "tiny", "--out", file));
        Assert.Contains("// ", File.ReadAllText(file));
        Assert.Equal(2, Run("init", "--preset", "tiny", "--out", file));               // exists
        using var data = GlyphFolder(6);
        Assert.Equal(0, Run(["train", "--data", data.Path, "--out", dir["run"], "--config", file, "--steps", "2", "--checkpoint-every", "2", "--batch", "2", "--threads", "1"]));
        var cfg = new RunFolder(dir["run"]).ReadConfig();
        Assert.Equal("tiny", cfg.Training.Preset);
        Assert.Equal(2, cfg.Training.Steps);
    }
}
