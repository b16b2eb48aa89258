using System.CommandLine;
using Noisette.Data;

namespace Noisette.Cli.Commands;

public static class GlyphsCommand
{
    public static Command Create()
    {
        var fonts = new Option<string>("--fonts") { Description = "Folder of .ttf/.otf fonts (searched recursively)", Required = true };
        var chars = new Option<string>("--chars") { Description = "Characters to render, for example ABC", DefaultValueFactory = _ => "A" };
        var size = new Option<int>("--size") { Description = "Image size in pixels", DefaultValueFactory = _ => 64 };
        var fitOnly = new Option<bool>("--fit-only-requested") { Description = "Shrink a font only for the rendered characters (default: A–Z and the rendered ones must all fit, as in letters64)" };
        var output = new Option<string>("--out") { Description = "New folder for the images (one sub-folder per character) and manifest.tsv", Required = true };
        var cmd = new Command("glyphs", "Render characters from every font of a folder with one cap height and baseline (the letters64 rules)")
        {
            fonts, chars, size, fitOnly, output,
        };
        cmd.SetAction(p => Cli.Guard(() =>
        {
            var result = GlyphRenderer.RenderFolder(p.GetValue(fonts)!, p.GetValue(chars)!, p.GetValue(output)!, new GlyphOptions { ImageSize = p.GetValue(size), FitCharacters = p.GetValue(fitOnly) ? "" : GlyphOptions.LatinCapitals });
            Cli.Info($"wrote {result.Written} image(s) from {result.Fonts.Count} font(s) to {result.OutputFolder}");
            foreach (var f in result.FontsMissingGlyphs) Cli.Warn($"{f.File} has no glyph for {string.Join(" ", f.MissingCharacters)} (nothing drawn)");
            foreach (var f in result.FailedFonts) Cli.Warn($"{f.File}: {f.Error}");
            return Cli.Ok;
        }));
        return cmd;
    }
}
