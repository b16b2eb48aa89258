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
        try
        {
            using var s = file.OpenReadStream();
            using var ms = new MemoryStream();
            s.CopyTo(ms);
            bytes = ms.ToArray();
        }
        catch (IOException e) { throw StudioError.BadField(field, $"could not be read ({e.Message.Trim()})"); }
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
        try
        {
            Directory.CreateDirectory(dir);
            var stamp = DateTimeOffset.UtcNow.ToString("yyyyMMdd-HHmmss-fff", CultureInfo.InvariantCulture);
            var path = Path.Combine(dir, $"{stamp}-{role}-{stem}{extension}");
            for (int i = 2; File.Exists(path); i++) path = Path.Combine(dir, $"{stamp}-{role}-{stem}-{i}{extension}");
            Noisette.IO.AtomicFile.WriteAllBytes(path, bytes);   // a failure leaves no half-written file
            return path;
        }
        catch (IOException e) when (DatasetUpload.IsDiskFull(e))
        {
            throw new StudioError(StatusCodes.Status507InsufficientStorage, $"{field}: the disk is full, so the picture could not be kept; free some space and try again", field);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new StudioError(StatusCodes.Status400BadRequest, $"{field}: the picture could not be kept in the run's inputs folder ({e.Message.Trim()})", field);
        }
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

    /// <summary>
    /// A mask must mark something to regenerate (at least one white, ≥ 128, pixel) and have the picture's proportions:
    /// the library brings both to the model's size the same way (centre crop or letterbox), so a mask of the
    /// picture's shape, at any resolution, lands on the same pixels; one of another shape would not.
    /// </summary>
    public static void CheckMask(string path, string picture, string field)
    {
        var image = ImageDecoder.Decode(path);
        var bytes = File.ReadAllBytes(picture);
        var (w, h) = ImageDecoder.TryProbe(bytes, Path.GetExtension(picture), out var info, out _) ? (info.Width, info.Height)
            : ImageDecoder.TryDecode(bytes, Path.GetExtension(picture), out var decoded, out _) ? (decoded.Width, decoded.Height)
            : throw StudioError.BadField("image", "is not a picture Noisette can read");
        // Within a pixel of rounding: |mw·h − mh·w| at most the picture's longer side.
        if (Math.Abs((long)image.Width * h - (long)image.Height * w) > Math.Max(w, h))
            throw StudioError.BadField(field, $"is {image.Width}×{image.Height} px but the picture is {w}×{h}; paint the mask over the picture, with its proportions");
        for (int i = 0; i < image.Rgba.Length; i += 4)
        {
            var a = image.Rgba[i + 3];
            if (a >= 128 && (image.Rgba[i] + image.Rgba[i + 1] + image.Rgba[i + 2]) / 3 >= 128) return;
        }
        throw StudioError.BadField(field, "has no white area: paint what should be made anew");
    }
}
