using System.Diagnostics.CodeAnalysis;
using SkiaSharp;

namespace Noisette.Data;

/// <summary>
/// Decodes one image file (PNG, JPEG, WebP, BMP, GIF) with SkiaSharp into 8-bit straight-alpha RGBA.
/// Never throws for bad content: a file that cannot be used comes back with a short reason
/// ("zero-byte file", "truncated file", "not an image (text file)", ...). Images over
/// <see cref="MaxPixels"/> are refused from their header, before any pixel is decoded.
/// JPEG orientation (EXIF) is applied; animated images give their first frame and a note.
/// </summary>
public static class ImageDecoder
{
    /// <summary>Largest image accepted: 100 megapixels. Anything bigger is treated as a decompression bomb.</summary>
    public const long MaxPixels = 100_000_000;

    /// <summary>Largest file read at all.</summary>
    public const long MaxFileBytes = 1L << 30;

    /// <summary>Decodes a file, or throws <see cref="NoisetteInputException"/> naming the file and the reason.</summary>
    public static DecodedImage Decode(string path)
    {
        if (!TryDecode(path, out var image, out var reason))
            throw new NoisetteInputException($"Cannot read image '{path}': {reason}.");
        return image;
    }

    /// <summary>Decodes a file; on failure returns false and a reason such as "truncated file".</summary>
    public static bool TryDecode(string path, [NotNullWhen(true)] out DecodedImage? image, [NotNullWhen(false)] out string? reason)
    {
        image = null;
        if (!TryReadBytes(path, out var bytes, out reason)) return false;
        return TryDecode(bytes, Path.GetExtension(path), out image, out reason);
    }

    /// <summary>Reads a whole file for decoding; refuses missing, empty, unreadable and huge files with a reason.</summary>
    public static bool TryReadBytes(string path, [NotNullWhen(true)] out byte[]? bytes, [NotNullWhen(false)] out string? reason)
    {
        bytes = null;
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists) { reason = "file not found"; return false; }
            if (info.Length == 0) { reason = "zero-byte file"; return false; }
            if (info.Length > MaxFileBytes) { reason = $"file too large ({info.Length / (1 << 20)} MB)"; return false; }
            if (info.Length > HeaderFirstBytes && TooLargeByHeader(path, out reason)) return false;
            bytes = File.ReadAllBytes(path);
            if (bytes.Length == 0) { reason = "zero-byte file"; return false; }
            reason = null;
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            reason = $"cannot read file ({e.Message})";
            return false;
        }
    }

    /// <summary>Files larger than this have their header read first, so a decompression bomb is refused before the whole file is read.</summary>
    public const long HeaderFirstBytes = 8L << 20;

    /// <summary>True (with the reason) when the first megabyte of a file already shows more than <see cref="MaxPixels"/>.</summary>
    private static bool TooLargeByHeader(string path, [NotNullWhen(true)] out string? reason)
    {
        reason = null;
        byte[] head;
        using (var fs = File.OpenRead(path))
        {
            head = new byte[1 << 20];
            head = head[..fs.ReadAtLeast(head, head.Length, throwOnEndOfStream: false)];
        }
        if (!TryOpen(head, Path.GetExtension(path), out var codec, out _, out _)) return false; // the full read gives the reason
        using (codec)
        {
            var size = codec.Info;
            if ((long)size.Width * size.Height <= MaxPixels) return false;
            reason = TooLargeReason(size.Width, size.Height);
            return true;
        }
    }

    private static string TooLargeReason(int width, int height) =>
        $"too large: {width}x{height} is {(long)width * height / 1e6:0.#} megapixels (limit {MaxPixels / 1_000_000}); refused without decoding";

    /// <summary>
    /// Reads only the header of encoded bytes: format, size, frame count and pixel layout.
    /// Fails (with a reason) for anything that is not a supported image.
    /// </summary>
    public static bool TryProbe(byte[] bytes, string extension, [NotNullWhen(true)] out ImageSourceInfo? info, [NotNullWhen(false)] out string? reason)
    {
        info = null;
        if (!TryOpen(bytes, extension, out var codec, out var format, out reason)) return false;
        using (codec)
        {
            info = MakeInfo(codec, format, bytes);
            return true;
        }
    }

    /// <summary>Decodes encoded bytes; <paramref name="extension"/> (".png") is only used to notice a wrong extension.</summary>
    public static bool TryDecode(byte[] bytes, string extension, [NotNullWhen(true)] out DecodedImage? image, [NotNullWhen(false)] out string? reason)
    {
        image = null;
        if (!TryOpen(bytes, extension, out var codec, out var format, out reason)) return false;
        using (codec)
        {
            var source = MakeInfo(codec, format, bytes);
            if (source.Width <= 0 || source.Height <= 0) { reason = "corrupt header (no size)"; return false; }
            if (source.Pixels > MaxPixels)
            {
                reason = TooLargeReason(source.Width, source.Height);
                return false;
            }
            int w = source.Width, h = source.Height;
            var rgba = new byte[checked(w * h * 4)];
            var dstInfo = new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Unpremul);
            SKCodecResult result;
            unsafe
            {
                fixed (byte* p = rgba) result = codec.GetPixels(dstInfo, (IntPtr)p);
            }
            if (result == SKCodecResult.IncompleteInput) { reason = "truncated file (image data ends early)"; return false; }
            if (result == SKCodecResult.ErrorInInput) { reason = "corrupt image data"; return false; }
            if (result != SKCodecResult.Success) { reason = $"cannot decode ({result})"; return false; }

            var notes = new List<string>();
            if (source.IsAnimated) notes.Add($"animated {ImageFormats.Name(format)}, {source.FrameCount} frames: the first frame is used");
            var expected = ImageFormats.FromExtension(extension);
            if (expected != ImageFormat.Unknown && expected != format)
                notes.Add($"wrong extension: {ImageFormats.Name(format)} data in a {extension.ToLowerInvariant()} file");
            var origin = codec.EncodedOrigin;
            if (origin != SKEncodedOrigin.TopLeft)
            {
                (rgba, w, h) = ApplyOrigin(rgba, w, h, origin);
                source = source with { Width = w, Height = h };
            }
            image = new DecodedImage(w, h, rgba, source, notes);
            reason = null;
            return true;
        }
    }

    private static bool TryOpen(byte[] bytes, string extension, [NotNullWhen(true)] out SKCodec? codec, out ImageFormat format,
        [NotNullWhen(false)] out string? reason)
    {
        codec = null;
        format = ImageFormat.Unknown;
        if (bytes.Length == 0) { reason = "zero-byte file"; return false; }
        format = ImageHeader.SniffFormat(bytes);
        var ext = extension.ToLowerInvariant();
        if (format == ImageFormat.Unknown)
        {
            var other = ImageHeader.DescribeOtherContent(bytes);
            reason = other switch
            {
                null => $"not an image: the content is not PNG, JPEG, WebP, BMP or GIF (wrong extension {ext}?)",
                "text file" => $"not an image: a text file with a {ext} extension",
                _ when other.EndsWith(" image", StringComparison.Ordinal) => $"unsupported format: {other} (named {ext})",
                _ => $"not an image: {other} with a {ext} extension",
            };
            return false;
        }
        var stream = new MemoryStream(bytes, writable: false);
        codec = SKCodec.Create(stream, out var result);
        if (codec is null)
        {
            stream.Dispose();
            reason = result == SKCodecResult.IncompleteInput
                ? $"truncated file (the {ImageFormats.Name(format)} header is incomplete)"
                : $"corrupt {ImageFormats.Name(format)} header";
            return false;
        }
        reason = null;
        return true;
    }

    private static ImageSourceInfo MakeInfo(SKCodec codec, ImageFormat format, byte[] bytes)
    {
        var info = codec.Info;
        int frames = Math.Max(1, codec.FrameCount);
        return new ImageSourceInfo(format, info.Width, info.Height, frames, ImageHeader.ReadPixelLayout(format, bytes));
    }

    /// <summary>Turns stored pixels into display orientation for the eight EXIF origins.</summary>
    private static (byte[] Rgba, int Width, int Height) ApplyOrigin(byte[] src, int w, int h, SKEncodedOrigin origin)
    {
        bool swap = origin is SKEncodedOrigin.LeftTop or SKEncodedOrigin.RightTop or SKEncodedOrigin.RightBottom or SKEncodedOrigin.LeftBottom;
        int ow = swap ? h : w, oh = swap ? w : h;
        var dst = new byte[src.Length];
        for (int oy = 0; oy < oh; oy++)
        for (int ox = 0; ox < ow; ox++)
        {
            var (sx, sy) = origin switch
            {
                SKEncodedOrigin.TopRight => (w - 1 - ox, oy),
                SKEncodedOrigin.BottomRight => (w - 1 - ox, h - 1 - oy),
                SKEncodedOrigin.BottomLeft => (ox, h - 1 - oy),
                SKEncodedOrigin.LeftTop => (oy, ox),
                SKEncodedOrigin.RightTop => (oy, h - 1 - ox),
                SKEncodedOrigin.RightBottom => (w - 1 - oy, h - 1 - ox),
                SKEncodedOrigin.LeftBottom => (w - 1 - oy, ox),
                _ => (ox, oy),
            };
            Buffer.BlockCopy(src, (sy * w + sx) * 4, dst, (oy * ow + ox) * 4, 4);
        }
        return (dst, ow, oh);
    }
}
