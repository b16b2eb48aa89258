using System.Globalization;
using System.Text;
using SkiaSharp;

namespace Noisette.Data;

/// <summary>Settings of <see cref="GlyphRenderer"/>; the defaults are the rules of the letters64 set.</summary>
public sealed record GlyphOptions
{
    /// <summary>Side of the square images.</summary>
    public int ImageSize { get; init; } = 64;
    /// <summary>Ink height of 'H' as a fraction of the side (40/64).</summary>
    public double CapHeight { get; init; } = 40.0 / 64;
    /// <summary>Baseline, from the top, as a fraction of the side (52/64).</summary>
    public double Baseline { get; init; } = 52.0 / 64;
    /// <summary>Glyphs are drawn this many times larger and area-averaged down.</summary>
    public int Supersampling { get; init; } = 10;
    /// <summary>
    /// Characters that must fit on the canvas besides the rendered ones: a font is shrunk until all of them fit
    /// (those it lacks are ignored). The default, A–Z, is the letters64 rule, so a font is framed the same whichever
    /// letters are rendered; "" fits only the rendered characters.
    /// </summary>
    public string FitCharacters { get; init; } = LatinCapitals;

    public const string LatinCapitals = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
}

/// <summary>One font's outcome: its id (file stem, lower case), file, family and style, cap height used and what is missing.</summary>
public sealed record FontResult(string FontId, string File, string Family, string Style, double CapPixels, string ShrunkBy, IReadOnlyList<string> MissingCharacters, string? Error);

/// <summary>What <see cref="GlyphRenderer.RenderFolder"/> did.</summary>
public sealed record GlyphRenderResult(string OutputFolder, int Written, IReadOnlyList<FontResult> Fonts)
{
    /// <summary>Fonts that lack at least one of the requested characters (nothing is drawn for those).</summary>
    public IReadOnlyList<FontResult> FontsMissingGlyphs => Fonts.Where(f => f.MissingCharacters.Count > 0).ToList();
    /// <summary>Font files that could not be opened.</summary>
    public IReadOnlyList<FontResult> FailedFonts => Fonts.Where(f => f.Error is not null).ToList();
}

/// <summary>
/// Renders characters from every TrueType/OpenType font of a folder with one framing for all: each font is scaled so
/// that the ink of its 'H' is <see cref="GlyphOptions.CapHeight"/> of the side, the font's baseline sits at
/// <see cref="GlyphOptions.Baseline"/>, and each glyph is centred horizontally on its own ink box. A font whose glyph
/// would leave the canvas is shrunk uniformly (keeping the baseline); by default the glyphs that must fit are A–Z and
/// the rendered ones (<see cref="GlyphOptions.FitCharacters"/>), as in letters64. Glyphs are drawn at about ten times the size and
/// box-filtered down, black on white, 8-bit gray. Fonts without a glyph for a character are listed, never drawn as a box.
/// </summary>
public static class GlyphRenderer
{
    public static readonly IReadOnlyList<string> FontExtensions = [".ttf", ".otf", ".ttc", ".otc"];

    /// <summary>Renders <paramref name="characters"/> from every font under <paramref name="fontFolder"/> into a new folder.</summary>
    public static GlyphRenderResult RenderFolder(string fontFolder, string characters, string outputFolder, GlyphOptions? options = null)
    {
        options ??= new GlyphOptions();
        var chars = SplitCharacters(characters);
        if (chars.Count == 0) throw new NoisetteInputException("No characters to render were given.");
        if (options.ImageSize is < 8 or > 1024) throw new NoisetteInputException($"Glyph image size {options.ImageSize} is out of range: use 8 to 1024.");
        var fullFonts = Path.GetFullPath(fontFolder);
        if (!Directory.Exists(fullFonts)) throw new NoisetteInputException($"Font folder '{fontFolder}' does not exist.");
        var fontFiles = Directory.EnumerateFiles(fullFonts, "*", new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true })
            .Where(f => FontExtensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
            .OrderBy(f => Path.GetRelativePath(fullFonts, f).Replace('\\', '/'), StringComparer.Ordinal).ToList();
        if (fontFiles.Count == 0) throw new NoisetteInputException($"Font folder '{fontFolder}' holds no .ttf or .otf files.");
        var outFull = OutputFolder.Check(fullFonts, outputFolder, "font folder");

        var temp = OutputFolder.CreateTemp(outFull);
        var results = new List<FontResult>();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        int written = 0;
        try
        {
            foreach (var file in fontFiles)
            {
                var id = UniqueId(FontId(Path.GetFileNameWithoutExtension(file)), ids);
                var rel = Path.GetRelativePath(fullFonts, file).Replace('\\', '/');
                var result = RenderFont(file, id, rel, chars, options, out var images);
                results.Add(result);
                foreach (var (ch, image) in images)
                {
                    PngWriter.Write(Path.Combine(temp, FolderName(ch), id + ".png"), image,
                        [new("Font", $"{result.Family} {result.Style}".Trim()), new("Source", rel), new("Software", "Noisette glyphs")]);
                    written++;
                }
            }
            var tsv = new StringBuilder("font_id\tfamily\tstyle\tfile\tcap_px\tshrunk_by\tmissing\terror\n");
            foreach (var r in results)
                tsv.Append(CultureInfo.InvariantCulture, $"{r.FontId}\t{Clean(r.Family)}\t{Clean(r.Style)}\t{Clean(r.File)}\t{r.CapPixels:0.0}\t{r.ShrunkBy}\t{string.Join(' ', r.MissingCharacters)}\t{Clean(r.Error ?? "")}\n");
            Noisette.IO.AtomicFile.WriteAllText(Path.Combine(temp, "manifest.tsv"), tsv.ToString());
            OutputFolder.Publish(temp, outFull);
        }
        catch
        {
            try { Directory.Delete(temp, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
        return new GlyphRenderResult(outFull, written, results);
    }

    /// <summary>Renders characters of one font file; images for the characters it has, the others listed as missing.</summary>
    public static FontResult RenderFont(string fontFile, string fontId, string displayName, IReadOnlyList<string> characters, GlyphOptions options,
        out List<(string Character, PlanarImage Image)> images)
    {
        images = [];
        using var typeface = SKTypeface.FromFile(fontFile);
        if (typeface is null)
            return new FontResult(fontId, displayName, "", "", 0, "", [], "not a font SkiaSharp can open");
        int n = options.ImageSize, r = options.Supersampling, big = n * r;
        const float probeSize = 1000;
        using var probe = new SKFont(typeface, probeSize);
        var missing = characters.Where(ch => Glyph(probe, ch) == 0).ToList();
        var present = characters.Where(ch => Glyph(probe, ch) != 0).ToList();
        var family = typeface.FamilyName ?? "";
        var style = StyleName(typeface);

        // Cap height from the ink of 'H' (or the font's own cap-height metric when it has no 'H').
        double capInk;
        using (var hPath = Glyph(probe, "H") is var hg && hg != 0 ? probe.GetGlyphPath(hg) : null)
            capInk = hPath is not null && !hPath.TightBounds.IsEmpty ? hPath.TightBounds.Height : probe.Metrics.CapHeight;
        if (!(capInk > 0))
            return new FontResult(fontId, displayName, family, style, 0, "", missing, "has neither an 'H' nor a cap-height metric to scale by");

        double scale = options.CapHeight * big / capInk; // from probe units to supersampled pixels
        double baseline = options.Baseline * big;
        // Shrink the whole font if any glyph of the fit set (A–Z by default) or any requested glyph would leave the canvas.
        double fit = 1;
        string shrunkBy = "";
        var mustFit = SplitCharacters(options.FitCharacters).Concat(present).Distinct().Where(ch => Glyph(probe, ch) != 0).ToList();
        foreach (var ch in mustFit)
        {
            using var path = probe.GetGlyphPath(Glyph(probe, ch));
            if (path is null || path.TightBounds.IsEmpty) continue;
            var b = path.TightBounds;
            void Limit(double f, string edge) { if (f < fit) { fit = f; shrunkBy = $"{ch}:{edge}"; } }
            if (-b.Top * scale > baseline) Limit(baseline / (-b.Top * scale), "top");
            if (b.Bottom * scale > big - baseline) Limit((big - baseline) / (b.Bottom * scale), "bottom");
            if (b.Width * scale > big) Limit(big / (b.Width * scale), b.Width > 0 ? "width" : "");
        }
        scale *= fit;

        foreach (var ch in present)
        {
            using var path = probe.GetGlyphPath(Glyph(probe, ch));
            var hi = new byte[big * big];
            if (path is not null && !path.TightBounds.IsEmpty)
            {
                var b = path.TightBounds;
                float s = (float)scale;
                float dx = (float)(big / 2.0 - (b.Left + b.Right) / 2.0 * scale);
                path.Transform(SKMatrix.CreateScale(s, s).PostConcat(SKMatrix.CreateTranslation(dx, (float)baseline)));
                var info = new SKImageInfo(big, big, SKColorType.Gray8, SKAlphaType.Opaque);
                unsafe
                {
                    fixed (byte* p = hi)
                    {
                        using var surface = SKSurface.Create(info, (IntPtr)p, big);
                        surface.Canvas.Clear(SKColors.White);
                        using var paint = new SKPaint { Color = SKColors.Black, IsAntialias = true, Style = SKPaintStyle.Fill };
                        surface.Canvas.DrawPath(path, paint);
                        surface.Canvas.Flush();
                    }
                }
            }
            else Array.Fill(hi, (byte)255); // a space or other empty glyph
            var plane = hi.Select(v => (double)v).ToArray();
            var small = ImageResampler.Resample(plane, big, big, 0, 0, big, big, n, n);
            images.Add((ch, new PlanarImage(1, n, n, small.Select(ImageResampler.ToByte).ToArray())));
        }
        return new FontResult(fontId, displayName, family, style, options.CapHeight * n * fit, shrunkBy, missing, null);
    }

    /// <summary>The characters of a string as text elements (so "É" or an emoji counts once).</summary>
    public static List<string> SplitCharacters(string text)
    {
        var list = new List<string>();
        var e = StringInfo.GetTextElementEnumerator(text ?? "");
        while (e.MoveNext())
        {
            var s = e.GetTextElement();
            if (!string.IsNullOrWhiteSpace(s) && !list.Contains(s)) list.Add(s);
        }
        return list;
    }

    private static ushort Glyph(SKFont font, string character)
    {
        int cp = char.ConvertToUtf32(character, 0);
        return font.GetGlyph(cp);
    }

    private static string StyleName(SKTypeface t)
    {
        var weight = t.FontWeight switch { <= 250 => "Light", >= 600 => "Bold", _ => "" };
        var slant = t.FontSlant == SKFontStyleSlant.Upright ? "" : "Italic";
        var s = (weight + " " + slant).Trim();
        return s.Length == 0 ? "Regular" : s;
    }

    /// <summary>A folder name for a character: itself when safe (letters, digits), else its code point ("U+0026").</summary>
    public static string FolderName(string character) =>
        character.Length == 1 && char.IsAsciiLetterOrDigit(character[0]) ? character
        : "U+" + char.ConvertToUtf32(character, 0).ToString("X4", CultureInfo.InvariantCulture);

    /// <summary>File stem in lower case, keeping letters, digits and '-'.</summary>
    public static string FontId(string stem)
    {
        var sb = new StringBuilder();
        foreach (var ch in stem.ToLowerInvariant())
            if (char.IsAsciiLetterOrDigit(ch) || ch == '-') sb.Append(ch);
        return sb.Length == 0 ? "font" : sb.ToString();
    }

    private static string UniqueId(string id, HashSet<string> taken)
    {
        var candidate = id;
        for (int k = 2; !taken.Add(candidate); k++) candidate = $"{id}-{k}";
        return candidate;
    }

    private static string Clean(string s) => s.Replace('\t', ' ').Replace('\n', ' ');
}
