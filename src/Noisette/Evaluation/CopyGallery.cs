using System.Globalization;
using System.Net;
using System.Text;
using Noisette.Data;
using Noisette.IO;

namespace Noisette.Evaluation;

/// <summary>
/// The copy check as a self-contained HTML page: each sample beside its nearest training image, worst first,
/// with the distances and the verdict. Images are embedded as PNG data: URIs, so the file can be mailed around.
/// </summary>
public static class CopyGallery
{
    /// <param name="trainingName">A display name for a training image index (its file), or null.</param>
    public static string Render(CopyCheckResult result, IReadOnlyList<byte[]> samples, IImageSet training,
                                Func<int, string>? trainingName = null, string title = "Noisette copy check")
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>").Append(WebUtility.HtmlEncode(title)).Append("</title>\n");
        sb.Append("<style>body{font-family:system-ui,sans-serif;margin:2em;color:#222}")
          .Append("table{border-collapse:collapse}td,th{padding:6px 12px;border-bottom:1px solid #ddd;text-align:left;vertical-align:middle}")
          .Append("img{width:128px;height:128px;image-rendering:pixelated;border:1px solid #ccc}")
          .Append("tr.copy{background:#fde8e8}.flag{color:#b00;font-weight:bold}</style></head><body>\n");
        sb.Append("<h1>").Append(WebUtility.HtmlEncode(title)).Append("</h1>\n");
        sb.Append(string.Format(inv,
            "<p>{0} of {1} samples ({2:P1}) are near-copies: their nearest training image is closer than {3} × their mean distance " +
            "to their {4} nearest training images (out of {5}). Worst first.</p>\n",
            result.NearCopies, result.Matches.Count, result.Rate, result.Threshold, result.Neighbours, result.TrainingImages));
        sb.Append("<table><tr><th>#</th><th>sample</th><th>nearest training image</th><th>distance</th><th>mean of nearest</th><th>ratio</th><th>verdict</th></tr>\n");
        int c = training.Channels, size = training.ImageSize;
        var buffer = new byte[c * size * size];
        int rank = 0;
        foreach (var m in result.Matches)
        {
            rank++;
            training.CopyImage(m.NearestTraining, buffer);
            var name = trainingName?.Invoke(m.NearestTraining) ?? $"training image {m.NearestTraining}";
            sb.Append(m.IsNearCopy ? "<tr class=\"copy\">" : "<tr>")
              .Append(inv, $"<td>{rank}</td>")
              .Append("<td><img alt=\"sample ").Append(m.Sample.ToString(inv)).Append("\" src=\"").Append(DataUri(samples[m.Sample], c, size)).Append("\"><br>sample ").Append(m.Sample.ToString(inv)).Append("</td>")
              .Append("<td><img alt=\"").Append(WebUtility.HtmlEncode(name)).Append("\" src=\"").Append(DataUri(buffer, c, size)).Append("\"><br>").Append(WebUtility.HtmlEncode(name)).Append("</td>")
              .Append(inv, $"<td>{m.NearestDistance:F3}</td><td>{m.MeanNeighbourDistance:F3}</td><td>{m.Ratio:F3}</td>")
              .Append(m.IsNearCopy ? "<td class=\"flag\">near-copy</td>" : "<td>ok</td>")
              .Append("</tr>\n");
        }
        sb.Append("</table></body></html>\n");
        return sb.ToString();
    }

    public static void Write(string path, CopyCheckResult result, IReadOnlyList<byte[]> samples, IImageSet training,
                             Func<int, string>? trainingName = null, string title = "Noisette copy check")
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        AtomicFile.WriteAllText(path, Render(result, samples, training, trainingName, title));
    }

    private static string DataUri(byte[] chw, int channels, int size) =>
        "data:image/png;base64," + Convert.ToBase64String(PngWriter.Encode(new PlanarImage(channels, size, size, chw.ToArray())));
}
