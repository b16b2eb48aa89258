namespace Noisette.Data;

/// <summary>The container format of an image file, as recognised from its first bytes.</summary>
public enum ImageFormat { Unknown, Png, Jpeg, WebP, Bmp, Gif }

/// <summary>What the file extensions and formats the data part reads.</summary>
public static class ImageFormats
{
    /// <summary>Extensions (lower case, with the dot) of files that an image folder scan picks up.</summary>
    public static readonly IReadOnlyList<string> Extensions = [".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif"];

    /// <summary>Extensions of image formats that exist but that Noisette does not read; reported, never loaded.</summary>
    public static readonly IReadOnlyList<string> UnsupportedExtensions =
        [".tif", ".tiff", ".heic", ".heif", ".avif", ".svg", ".psd", ".ico", ".jxl", ".raw", ".cr2", ".nef", ".dng", ".tga", ".exr", ".hdr"];

    public static bool IsImageExtension(string path) =>
        Extensions.Contains(Path.GetExtension(path).ToLowerInvariant());

    public static bool IsUnsupportedImageExtension(string path) =>
        UnsupportedExtensions.Contains(Path.GetExtension(path).ToLowerInvariant());

    /// <summary>The format a file extension promises, or <see cref="ImageFormat.Unknown"/>.</summary>
    public static ImageFormat FromExtension(string path) => Path.GetExtension(path).ToLowerInvariant() switch
    {
        ".png" => ImageFormat.Png,
        ".jpg" or ".jpeg" => ImageFormat.Jpeg,
        ".webp" => ImageFormat.WebP,
        ".bmp" => ImageFormat.Bmp,
        ".gif" => ImageFormat.Gif,
        _ => ImageFormat.Unknown,
    };

    public static string Name(ImageFormat format) => format switch
    {
        ImageFormat.Png => "PNG",
        ImageFormat.Jpeg => "JPEG",
        ImageFormat.WebP => "WebP",
        ImageFormat.Bmp => "BMP",
        ImageFormat.Gif => "GIF",
        _ => "unknown",
    };
}
