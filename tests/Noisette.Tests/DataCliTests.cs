using System.Text.Json;

namespace Noisette.Tests;

/// <summary>`noisette check`, `prepare` and `glyphs` end to end, in process.</summary>
public class DataCliTests
{
    private static int Run(params string[] args) => Noisette.Cli.Cli.Run(args);

    private static string Capture(Func<int> run, out int code)
    {
        var old = Console.Out;
        var sw = new StringWriter();
        Console.SetOut(sw);
        try { code = run(); }
        finally { Console.SetOut(old); }
        return sw.ToString();
    }

    [Fact]
    public void CheckReportsAsJsonAndHtmlAndExitsTwoOnAFatalFolder()
    {
        using var dir = new TestData.TempDir();
        var data = Directory.CreateDirectory(dir["data"]).FullName;
        foreach (var f in Directory.GetFiles(Fixtures.Path("letters", "A"), "*.png").Order(StringComparer.Ordinal).Take(12))
            File.Copy(f, Path.Combine(data, Path.GetFileName(f)));
        File.WriteAllBytes(Path.Combine(data, "empty.png"), []);

        var json = Capture(() => Run("check", "--data", data, "--image-size", "32", "--json", "--report", dir["report.html"]), out var code);
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
        using var dir = new TestData.TempDir();
        var glyphs = dir["glyphs"];
        Capture(() => Run("glyphs", "--fonts", Fixtures.Path("fonts"), "--chars", "AH", "--size", "64", "--out", glyphs), out var code);
        Assert.Equal(0, code);
        var rendered = Directory.GetFiles(glyphs, "*.png", SearchOption.AllDirectories);
        Assert.Equal(2, rendered.Length);                                    // one font, two characters

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
