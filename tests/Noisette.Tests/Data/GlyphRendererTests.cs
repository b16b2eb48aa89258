using Noisette.Data;

namespace Noisette.Tests.Data;

public class GlyphRendererTests
{
    private static string FontsDir => Path.Combine(TestImages.FixturesDir, "fonts");

    private static InkBox Box(string path)
    {
        var d = ImageDecoder.Decode(path);
        return InkBox.Measure(Enumerable.Range(0, d.Width * d.Height).Select(i => (double)d.Rgba[i * 4]).ToArray(), d.Width, d.Height, out _)!.Value;
    }

    [Fact]
    public void ReproducesTheLetters64Framing()
    {
        using var outParent = new TempFolder();
        var result = GlyphRenderer.RenderFolder(FontsDir, "AH字", outParent["glyphs"]);
        Assert.Equal(["dejavuserif-italic", "ebgaramond08-italic", "genbasb"], result.Fonts.Select(f => f.FontId).Order(StringComparer.Ordinal));
        var font = result.Fonts.Single(f => f.FontId == "dejavuserif-italic");
        Assert.Equal(["字"], font.MissingCharacters);
        Assert.Equal(3, result.FontsMissingGlyphs.Count);
        Assert.Equal(6, result.Written);
        Assert.False(Directory.Exists(Path.Combine(result.OutputFolder, GlyphRenderer.FolderName("字"))));

        // 'H': cap height 40 px standing on y = 52, centred.
        var h = Box(Path.Combine(result.OutputFolder, "H", "dejavuserif-italic.png"));
        Assert.InRange(h.Height, 39, 41);
        Assert.InRange(h.Bottom, 51, 53);
        Assert.InRange(h.CenterX, 31, 33);

        // 'A' matches the shared set's rendering of the same font within 1 px on every edge.
        var a = Box(Path.Combine(result.OutputFolder, "A", "dejavuserif-italic.png"));
        var reference = Box(Path.Combine(TestImages.FixturesDir, "letters", "A64-dejavuserif-italic.png"));
        Assert.InRange(a.Top - reference.Top, -1, 1);
        Assert.InRange(a.Bottom - reference.Bottom, -1, 1);
        Assert.InRange(a.Left - reference.Left, -1, 1);
        Assert.InRange(a.Right - reference.Right, -1, 1);
        Assert.Contains("dejavuserif-italic", File.ReadAllText(Path.Combine(result.OutputFolder, "manifest.tsv")));
    }

    private static string Letters64A => Path.Combine(TestImages.FixturesDir, "letters64-A");

    /// <summary>cap_px of each font in the shared set's manifest.</summary>
    private static Dictionary<string, double> ManifestCapHeights() =>
        File.ReadLines(Path.Combine(Letters64A, "manifest.tsv")).Skip(1).Select(l => l.Split('\t'))
            .ToDictionary(c => c[0], c => double.Parse(c[6], System.Globalization.CultureInfo.InvariantCulture));

    private static void AssertSameFraming(string ours, string reference)
    {
        var a = Box(ours);
        var r = Box(reference);
        Assert.True(Math.Abs(a.Top - r.Top) <= 1 && Math.Abs(a.Bottom - r.Bottom) <= 1 && Math.Abs(a.Left - r.Left) <= 1
                    && Math.Abs(a.Right - r.Right) <= 1 && Math.Abs(a.Height - r.Height) <= 1,
            $"{Path.GetFileName(ours)}: ours {a}, letters64 {r}");
    }

    [Fact]
    public void GlyphsOfShrunkFontsMatchLetters64WhicheverLettersAreRendered()
    {
        // EB Garamond 08 Italic is shrunk to 26.5 px in letters64 by its Q, Gentium Basic Bold to 36.1 px by its J;
        // DejaVu Serif Italic keeps 40 px. Rendering only 'A' must frame them as letters64 does (A–Z must fit).
        using var outParent = new TempFolder();
        var capPx = ManifestCapHeights();
        var onlyA = GlyphRenderer.RenderFolder(FontsDir, "A", outParent["a"]);
        Assert.Equal(3, onlyA.Fonts.Count);
        foreach (var f in onlyA.Fonts)
        {
            Assert.InRange(f.CapPixels, capPx[f.FontId] - 0.2, capPx[f.FontId] + 0.2);
            AssertSameFraming(Path.Combine(onlyA.OutputFolder, "A", f.FontId + ".png"), Path.Combine(Letters64A, f.FontId + ".png"));
        }
        Assert.StartsWith("Q:", onlyA.Fonts.Single(f => f.FontId == "ebgaramond08-italic").ShrunkBy);
        Assert.StartsWith("J:", onlyA.Fonts.Single(f => f.FontId == "genbasb").ShrunkBy);
        Assert.Equal("", onlyA.Fonts.Single(f => f.FontId == "dejavuserif-italic").ShrunkBy);

        // The letters that forced the shrink come out framed the same too.
        var tails = GlyphRenderer.RenderFolder(FontsDir, "QJ", outParent["qj"]);
        foreach (var (letter, id) in new[] { ("Q", "ebgaramond08-italic"), ("J", "genbasb"), ("Q", "dejavuserif-italic"), ("J", "dejavuserif-italic") })
            AssertSameFraming(Path.Combine(tails.OutputFolder, letter, id + ".png"), Path.Combine(TestImages.FixturesDir, "letters", "glyphs", letter, id + ".png"));

        // Fitting only the rendered characters leaves an 'A' font at full size (the documented option).
        var own = GlyphRenderer.RenderFolder(FontsDir, "A", outParent["own"], new GlyphOptions { FitCharacters = "" });
        Assert.All(own.Fonts, f => Assert.Equal(40, f.CapPixels, 3));
        Assert.InRange(Box(Path.Combine(own.OutputFolder, "A", "ebgaramond08-italic.png")).Height
                       - Box(Path.Combine(Letters64A, "ebgaramond08-italic.png")).Height, 8, 20);
    }

    [Fact]
    public void OutputInsideTheFontFolderIsRefused()
    {
        var e = Assert.Throws<NoisetteInputException>(() => GlyphRenderer.RenderFolder(FontsDir, "A", Path.Combine(FontsDir, "out")));
        Assert.Contains("inside", e.Message);
        Assert.False(Directory.Exists(Path.Combine(FontsDir, "out")));
    }
}
