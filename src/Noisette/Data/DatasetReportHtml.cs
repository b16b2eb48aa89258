using System.Net;
using System.Text;

namespace Noisette.Data;

/// <summary>
/// Renders a <see cref="DatasetReport"/> as one self-contained HTML page: the summary, the inventory, and the
/// flagged images grouped by problem, each with an inline PNG thumbnail (decoded again from the data folder, read only).
/// </summary>
public static class DatasetReportHtml
{
    /// <summary>Most thumbnails shown per problem.</summary>
    public const int MaxThumbnailsPerProblem = 60;

    public static string Render(DatasetReport report)
    {
        var h = new StringBuilder();
        h.Append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Noisette dataset check</title><style>")
         .Append("body{font-family:system-ui,sans-serif;margin:2em;max-width:70em;color:#222}table{border-collapse:collapse;margin:.5em 0}")
         .Append("td,th{border:1px solid #ccc;padding:.2em .6em;text-align:left}.fatal{color:#b00}.warning{color:#a60}.info{color:#555}")
         .Append(".thumbs{display:flex;flex-wrap:wrap;gap:.6em}.thumbs figure{margin:0;width:8em;font-size:.75em;word-break:break-all}")
         .Append(".thumbs img{width:8em;height:8em;image-rendering:pixelated;border:1px solid #ccc;background:#fff}</style></head><body>");
        h.Append("<h1>Dataset check</h1><p>").Append(E(report.Folder)).Append("</p><p>")
         .Append($"{report.ReadableCount} readable of {report.ImageFileCount} image files; {report.TrainCount} for training, {report.ValidationCount} for validation; channels: {report.ResolvedChannels}.</p>");
        h.Append("<h2>Problems</h2>");
        if (report.Problems.Count == 0) h.Append("<p>None found.</p>");
        foreach (var p in report.Problems)
        {
            var cls = p.Severity.ToString().ToLowerInvariant();
            h.Append($"<h3 class=\"{cls}\">{E(p.Severity.ToString())}: {E(p.Kind)}</h3><p>{E(p.Message)}</p>");
            var readable = report.Images.Select(i => i.RelativePath).ToHashSet(StringComparer.Ordinal);
            var shown = p.Files.Where(readable.Contains).Take(MaxThumbnailsPerProblem).ToList();
            if (shown.Count == 0 || p.Severity == ProblemSeverity.Info) continue;
            h.Append("<div class=\"thumbs\">");
            foreach (var f in shown)
            {
                var uri = Thumbnail(report, f);
                h.Append("<figure>").Append(uri is null ? "" : $"<img alt=\"{E(f)}\" src=\"{uri}\">").Append($"<figcaption>{E(f)}</figcaption></figure>");
            }
            h.Append("</div>");
        }
        h.Append("<h2>Inventory</h2>");
        Table(h, "Formats", report.Formats);
        Table(h, "Channel modes", report.ChannelModes);
        Table(h, "Sizes (short side)", report.SizeHistogram);
        Table(h, "Sizes", report.Sizes.Take(20).ToDictionary());
        Table(h, "Aspect ratios", report.AspectRatios.Take(20).ToDictionary());
        if (report.Framing.Measures.Count > 0)
        {
            h.Append($"<h3>Framing ({report.Framing.Measured} images with a plain background, pixels at {report.Framing.ImageSize}×{report.Framing.ImageSize})</h3>")
             .Append("<table><tr><th>measure</th><th>median</th><th>min</th><th>max</th><th>5%</th><th>95%</th></tr>");
            foreach (var m in report.Framing.Measures)
                h.Append(FormattableString.Invariant($"<tr><td>{E(m.Name)}</td><td>{m.Median:0.0}</td><td>{m.Min:0.0}</td><td>{m.Max:0.0}</td><td>{m.P5:0.0}</td><td>{m.P95:0.0}</td></tr>"));
            h.Append("</table>");
        }
        h.Append("</body></html>");
        return h.ToString();
    }

    public static void Write(DatasetReport report, string path) => Noisette.IO.AtomicFile.WriteAllText(path, Render(report));

    private static void Table(StringBuilder h, string title, IReadOnlyDictionary<string, int> counts)
    {
        if (counts.Count == 0) return;
        h.Append($"<h3>{E(title)}</h3><table>");
        foreach (var (k, v) in counts) h.Append($"<tr><td>{E(k)}</td><td>{v}</td></tr>");
        h.Append("</table>");
    }

    private static string? Thumbnail(DatasetReport report, string relativePath)
    {
        var path = Path.Combine(report.Folder, relativePath.Replace('/', Path.DirectorySeparatorChar));
        if (!ImageDecoder.TryDecode(path, out var image, out _)) return null;
        var config = report.Options.Config with { ImageSize = 64 };
        var px = ImagePreprocessor.Process(image, config, ChannelMode.Rgb);
        return "data:image/png;base64," + Convert.ToBase64String(PngWriter.Encode(new PlanarImage(3, 64, 64, px)));
    }

    private static string E(string s) => WebUtility.HtmlEncode(s);
}
