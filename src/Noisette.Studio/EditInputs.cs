using System.Globalization;
using Noisette.Data;

namespace Noisette.Studio;

/// <summary>
/// The pictures an edit or inpainting starts from: an upload (decoded and checked before it is kept) or a picture the
/// run already made. Uploads and painted masks are kept in RUN/inputs/, where the provenance of the results points.
/// </summary>
public static class EditInputs
{
    public const long MaxBytes = 16L << 20;
    public const int MaxSide = 4096;

    /// <summary>Keeps an uploaded picture in RUN/inputs/ after decoding it; a bad one is a 400 naming <paramref name="field"/>.</summary>
    public static string SaveUpload(string runPath, IFormFile file, string field, string role)
    {
        if (file.Length == 0) throw StudioError.BadField(field, "is an empty file");
        if (file.Length > MaxBytes) throw StudioError.BadField(field, $"is larger than {MaxBytes >> 20} MB");
        byte[] bytes;
        using (var s = file.OpenReadStream())
        using (var ms = new MemoryStream())
        {
            s.CopyTo(ms);
            bytes = ms.ToArray();
        }
        var name = Path.GetFileName((file.FileName ?? "").Replace('\\', '/'));
        if (ImageDecoder.TryProbe(bytes, Path.GetExtension(name), out var info, out _) && (info.Width > MaxSide || info.Height > MaxSide))
            throw StudioError.BadField(field, $"is {info.Width}×{info.Height} px; pictures to edit may be at most {MaxSide} px on a side");
        if (!ImageDecoder.TryDecode(bytes, Path.GetExtension(name), out var image, out var reason))
            throw StudioError.BadField(field, $"{(name.Length > 0 ? name : "the file")} is not a picture Noisette can read: {reason}");
        var extension = image.Source.Format switch
        {
            ImageFormat.Jpeg => ".jpg",
            ImageFormat.WebP => ".webp",
            ImageFormat.Bmp => ".bmp",
            ImageFormat.Gif => ".gif",
            _ => ".png",
        };
        var stem = DatasetCatalog.SuggestName(Path.GetFileNameWithoutExtension(name));
        if (stem.Length > 40) stem = stem[..40];
        var dir = Path.Combine(runPath, "inputs");
        Directory.CreateDirectory(dir);
        var stamp = DateTimeOffset.UtcNow.ToString("yyyyMMdd-HHmmss-fff", CultureInfo.InvariantCulture);
        var path = Path.Combine(dir, $"{stamp}-{role}-{stem}{extension}");
        for (int i = 2; File.Exists(path); i++) path = Path.Combine(dir, $"{stamp}-{role}-{stem}-{i}{extension}");
        Noisette.IO.AtomicFile.WriteAllBytes(path, bytes);
        return path;
    }

    /// <summary>A picture of the run (generated/ or favourites/) named by its path inside the run.</summary>
    public static string Existing(string runPath, string relative, string field)
    {
        var file = SafePath.Resolve(runPath, relative, field);
        var rel = Path.GetRelativePath(runPath, file).Replace('\\', '/');
        if (!(rel.StartsWith("generated/", StringComparison.Ordinal) || rel.StartsWith("favourites/", StringComparison.Ordinal))
            || !file.EndsWith(".png", StringComparison.OrdinalIgnoreCase))
            throw StudioError.BadField(field, "must be a PNG in the run's generated/ or favourites/ folder");
        if (!File.Exists(file)) throw StudioError.NotFound($"there is no picture {rel}");
        return file;
    }

    /// <summary>A mask must mark something to regenerate: at least one white (≥ 128) pixel.</summary>
    public static void CheckMask(string path, string field)
    {
        var image = ImageDecoder.Decode(path);
        for (int i = 0; i < image.Rgba.Length; i += 4)
        {
            var a = image.Rgba[i + 3];
            if (a >= 128 && (image.Rgba[i] + image.Rgba[i + 1] + image.Rgba[i + 2]) / 3 >= 128) return;
        }
        throw StudioError.BadField(field, "has no white area: paint what should be made anew");
    }
}
