using System.Text.Json;

namespace Noisette.Tests;

/// <summary>`noisette check`, `prepare` and `glyphs` end to end, in process.</summary>
public class DataCliTests
{
    private static int Run(params string[] args) => Noisette.Cli.Cli.Run(args);

    private static string Capture(Func<int> run, out int code) => Capture(run, out code, out _);

    private static string Capture(Func<int> run, out int code, out string error)
    {
        var (sw, ew) = (new StringWriter(), new StringWriter());
        code = Noisette.Cli.Cli.WithOutput(sw, ew, run);
        error = ew.ToString();
        return sw.ToString();
    }

    private static string GlyphFolder(TempFolder dir, string name, int count)
    {
        var data = Directory.CreateDirectory(dir[name]).FullName;
        foreach (var f in Directory.GetFiles(Fixtures.Path("letters", "A"), "*.png").Order(StringComparer.Ordinal).Take(count))
            File.Copy(f, Path.Combine(data, Path.GetFileName(f)));
        return data;
    }

    [Fact]
    public void TrainRefusesAFatalFolderWithTheReasonUnlessForced()
    {
        using var dir = new TempFolder();
        var data = Directory.CreateDirectory(dir["blank"]).FullName;
        for (int i = 0; i < 6; i++)
            File.WriteAllBytes(Path.Combine(data, $"white{i}.png"), Data.TestImages.GrayPng(32, 32, (x, y) => 255));
        string[] train = ["train", "--data", data, "--out", dir["run"], "--preset", "tiny", "--steps", "2", "--batch", "2", "--threads", "1", "--checkpoint-every", "2"];
        Capture(() => Run(train), out var code, out var error);
        Assert.Equal(2, code);
        Assert.Contains("fatal problem", error);
        Assert.Contains("single flat colour", error);
        Assert.Contains("--force", error);
        Assert.False(Directory.Exists(Path.Combine(dir["run"], "checkpoints")));

        Capture(() => Run([.. train, "--force"]), out code, out error);
        Assert.True(code == 0, error);
        Assert.Single(Directory.GetDirectories(Path.Combine(dir["run"], "checkpoints")));
    }

    [Fact]
    public void CheckMeasuresAtTheSizeTrainWouldUse()
    {
        using var dir = new TempFolder();
        var data = Directory.CreateDirectory(dir["data"]).FullName;
        // 48-pixel images: large enough for train's default 32, small for a 64-pixel preset.
        foreach (var f in Directory.GetFiles(Fixtures.Path("letters", "A"), "*.png").Order(StringComparer.Ordinal).Take(10))
        {
            var gray = Noisette.Data.ImagePreprocessor.LoadImage(f, new Noisette.Data.DataConfig { ImageSize = 48 }, Noisette.Data.ChannelMode.Gray);
            File.WriteAllBytes(Path.Combine(data, Path.GetFileName(f)), Noisette.Data.PngWriter.Encode(new Noisette.Data.PlanarImage(1, 48, 48, gray)));
        }
        using (var doc = JsonDocument.Parse(Capture(() => Run("check", "--data", data, "--json", "--no-estimate"), out var code)))
        {
            Assert.Equal(0, code);
            Assert.Equal(32, doc.RootElement.GetProperty("options").GetProperty("config").GetProperty("image_size").GetInt32());
            Assert.Equal(0, doc.RootElement.GetProperty("small_images").GetArrayLength());
        }
        using (var doc = JsonDocument.Parse(Capture(() => Run("check", "--data", data, "--json", "--no-estimate", "--preset", "letters64"), out _)))
        {
            Assert.Equal(64, doc.RootElement.GetProperty("options").GetProperty("config").GetProperty("image_size").GetInt32());
            Assert.Equal(10, doc.RootElement.GetProperty("small_images").GetArrayLength());
        }
    }

    [Fact]
    public void CheckJsonIncludesTheMeasuredTrainingEstimate()
    {
        using var dir = new TempFolder();
        var data = GlyphFolder(dir, "data", 8);
        using var doc = JsonDocument.Parse(Capture(() => Run("check", "--data", data, "--json", "--preset", "tiny", "--steps", "500"), out var code));
        Assert.Equal(0, code);
        var e = doc.RootElement.GetProperty("estimate");
        Assert.Equal("tiny", e.GetProperty("preset").GetString());
        Assert.Equal(500, e.GetProperty("steps").GetInt32());
        double perStep = e.GetProperty("seconds_per_step").GetDouble(), ips = e.GetProperty("images_per_second").GetDouble();
        Assert.True(perStep > 0 && ips > 0);
        Assert.Equal(e.GetProperty("batch").GetInt32() / perStep, ips, 6);
        Assert.Equal(500 * perStep, e.GetProperty("total_seconds").GetDouble(), 3);
        Assert.Contains("measured", e.GetProperty("description").GetString());
        using var skipped = JsonDocument.Parse(Capture(() => Run("check", "--data", data, "--json", "--no-estimate"), out _));
        Assert.Equal(JsonValueKind.Null, skipped.RootElement.GetProperty("estimate").ValueKind);
    }

    [Fact]
    public void HtmlReportEmbedsThumbnailsOfFlaggedImagesUnderTheirProblem()
    {
        using var dir = new TempFolder();
        var data = GlyphFolder(dir, "data", 12);
        var first = Directory.GetFiles(data).Order(StringComparer.Ordinal).First();
        File.Copy(first, Path.Combine(data, "copy.png"));
        File.WriteAllBytes(Path.Combine(data, "white.png"), Data.TestImages.GrayPng(64, 64, (x, y) => 255));
        Capture(() => Run("check", "--data", data, "--image-size", "64", "--no-estimate", "--report", dir["report.html"]), out var code);
        Assert.Equal(0, code);
        var html = File.ReadAllText(dir["report.html"]);
        // One section per problem: its heading, then the figures of its files.
        var sections = System.Text.RegularExpressions.Regex.Split(html, "(?=<h[23])").ToList();
        string Section(string kind) => Assert.Single(sections, x => x.StartsWith("<h3", StringComparison.Ordinal) && x.Contains($": {kind}</h3>"));
        void AssertThumbnails(string section, params string[] files)
        {
            var figures = System.Text.RegularExpressions.Regex.Matches(section, "<img alt=\"([^\"]*)\" src=\"data:image/png;base64,([^\"]+)\">");
            Assert.Equal(files.Order(StringComparer.Ordinal), figures.Select(m => m.Groups[1].Value).Order(StringComparer.Ordinal));
            foreach (System.Text.RegularExpressions.Match m in figures)
            {
                var png = Convert.FromBase64String(m.Groups[2].Value);
                Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47 }, png[..4]);
                using var bmp = SkiaSharp.SKBitmap.Decode(png);
                Assert.Equal(64, bmp.Width);
            }
        }
        AssertThumbnails(Section("exact-duplicates"), "copy.png", Path.GetFileName(first));
        AssertThumbnails(Section("blank"), "white.png");
        var white = System.Text.RegularExpressions.Regex.Match(Section("blank"), "base64,([^\"]+)").Groups[1].Value;
        using (var bmp = SkiaSharp.SKBitmap.Decode(Convert.FromBase64String(white))) Assert.Equal(255, bmp.GetPixel(10, 10).Red);
    }

    [Fact]
    public void CheckReportsAsJsonAndHtmlAndExitsTwoOnAFatalFolder()
    {
        using var dir = new TempFolder();
        var data = Directory.CreateDirectory(dir["data"]).FullName;
        foreach (var f in Directory.GetFiles(Fixtures.Path("letters", "A"), "*.png").Order(StringComparer.Ordinal).Take(12))
            File.Copy(f, Path.Combine(data, Path.GetFileName(f)));
        File.WriteAllBytes(Path.Combine(data, "empty.png"), []);

        var json = Capture(() => Run("check", "--data", data, "--image-size", "32", "--json", "--no-estimate", "--report", dir["report.html"]), out var code);
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(json);
        Assert.Equal(12, doc.RootElement.GetProperty("images").GetArrayLength());
        var unreadable = doc.RootElement.GetProperty("unreadable");
        Assert.Equal("empty.png", unreadable[0].GetProperty("relative_path").GetString());
        Assert.Contains("empty.png", File.ReadAllText(dir["report.html"]));

        var broken = Directory.CreateDirectory(dir["broken"]).FullName;
        File.WriteAllText(Path.Combine(broken, "a.png"), "not an image");
        Capture(() => Run("check", "--data", broken, "--no-estimate"), out code);
        Assert.Equal(2, code);
        Capture(() => Run("check", "--data", dir["missing"]), out code);
        Assert.Equal(2, code);
    }

    [Fact]
    public void PrepareWritesANewFolderAndGlyphsRendersAFont()
    {
        using var dir = new TempFolder();
        var glyphs = dir["glyphs"];
        Capture(() => Run("glyphs", "--fonts", Fixtures.Path("fonts"), "--chars", "AH", "--size", "64", "--out", glyphs), out var code);
        Assert.Equal(0, code);
        var rendered = Directory.GetFiles(glyphs, "*.png", SearchOption.AllDirectories);
        Assert.Equal(6, rendered.Length);                                    // three fonts, two characters

        var prepared = dir["prepared"];
        Capture(() => Run("prepare", "--data", glyphs, "--out", prepared, "--align", "baseline", "--image-size", "32"), out code);
        Assert.Equal(0, code);
        foreach (var png in Directory.GetFiles(prepared, "*.png", SearchOption.AllDirectories))
        {
            using var bmp = SkiaSharp.SKBitmap.Decode(png);
            Assert.Equal(32, bmp.Width);
        }
        // An output folder inside the data folder is refused; so is one that already has files.
        Capture(() => Run("prepare", "--data", glyphs, "--out", Path.Combine(glyphs, "inner")), out code);
        Assert.Equal(2, code);
        Capture(() => Run("prepare", "--data", glyphs, "--out", prepared), out code);
        Assert.Equal(2, code);
    }
}
