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
        var result = GlyphRenderer.RenderFolder(FontsDir, "AH字", outParent.File("glyphs"));
        var font = Assert.Single(result.Fonts);
        Assert.Equal("dejavuserif-italic", font.FontId);
        Assert.Equal(["字"], font.MissingCharacters);
        Assert.Single(result.FontsMissingGlyphs);
        Assert.Equal(2, result.Written);
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

    [Fact]
    public void OutputInsideTheFontFolderIsRefused()
    {
        var e = Assert.Throws<NoisetteInputException>(() => GlyphRenderer.RenderFolder(FontsDir, "A", Path.Combine(FontsDir, "out")));
        Assert.Contains("inside", e.Message);
        Assert.False(Directory.Exists(Path.Combine(FontsDir, "out")));
    }
}
