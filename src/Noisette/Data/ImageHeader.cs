using System.Buffers.Binary;
using System.Text;

namespace Noisette.Data;

/// <summary>
/// Recognises an image format from a file's first bytes and reads how its pixels are stored,
/// without decoding any pixels. SkiaSharp converts everything to 8-bit RGBA; this keeps what the file really held
/// (16-bit, palette, CMYK...) so that a dataset check can report it.
/// </summary>
public static class ImageHeader
{
    /// <summary>The supported format whose signature starts <paramref name="head"/>, or Unknown.</summary>
    public static ImageFormat SniffFormat(ReadOnlySpan<byte> head)
    {
        if (head.Length >= 8 && head[..8].SequenceEqual(PngSignature)) return ImageFormat.Png;
        if (head.Length >= 3 && head[0] == 0xFF && head[1] == 0xD8 && head[2] == 0xFF) return ImageFormat.Jpeg;
        if (head.Length >= 6 && (head[..6].SequenceEqual("GIF87a"u8) || head[..6].SequenceEqual("GIF89a"u8))) return ImageFormat.Gif;
        if (head.Length >= 12 && head[..4].SequenceEqual("RIFF"u8) && head[8..12].SequenceEqual("WEBP"u8)) return ImageFormat.WebP;
        if (head.Length >= 14 && head[0] == (byte)'B' && head[1] == (byte)'M') return ImageFormat.Bmp;
        return ImageFormat.Unknown;
    }

    /// <summary>
    /// Names content that is not a supported image: another image format we do not read, or text,
    /// or null when nothing is recognised.
    /// </summary>
    public static string? DescribeOtherContent(ReadOnlySpan<byte> head)
    {
        if (head.Length >= 4 && (head[..4].SequenceEqual("II*\0"u8) || head[..4].SequenceEqual("MM\0*"u8))) return "TIFF image";
        if (head.Length >= 12 && head[4..8].SequenceEqual("ftyp"u8))
        {
            var brand = Encoding.ASCII.GetString(head[8..12]);
            return brand switch
            {
                "avif" or "avis" => "AVIF image",
                "heic" or "heix" or "mif1" or "msf1" or "hevc" => "HEIC image",
                _ => "video or ISO media file",
            };
        }
        if (head.Length >= 4 && head[..4].SequenceEqual("8BPS"u8)) return "Photoshop document";
        if (head.Length >= 4 && head[0] == 0 && head[1] == 0 && head[2] == 1 && head[3] == 0) return "ICO icon";
        if (head.Length >= 2 && head[0] == 0xFF && head[1] == 0x0A) return "JPEG XL image";
        if (head.Length >= 4 && head[..4].SequenceEqual("%PDF"u8)) return "PDF document";
        if (head.Length >= 4 && head[..4].SequenceEqual("PK\x03\x04"u8)) return "ZIP archive";
        var text = head.Length > 512 ? head[..512] : head;
        if (text.IndexOf("<svg"u8) >= 0) return "SVG drawing";
        if (LooksLikeText(text)) return "text file";
        return null;
    }

    /// <summary>
    /// How the pixels are stored: "gray", "gray+alpha", "RGB", "RGBA", "palette", "CMYK", with a "16-bit " prefix
    /// for 16-bit PNGs. Reads only headers; returns "unknown" when they cannot be parsed.
    /// </summary>
    public static string ReadPixelLayout(ImageFormat format, ReadOnlySpan<byte> bytes) => format switch
    {
        ImageFormat.Png => PngLayout(bytes),
        ImageFormat.Jpeg => JpegLayout(bytes),
        ImageFormat.Gif => "palette",
        ImageFormat.Bmp => BmpLayout(bytes),
        ImageFormat.WebP => WebPLayout(bytes),
        _ => "unknown",
    };

    private static ReadOnlySpan<byte> PngSignature => [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    private static bool LooksLikeText(ReadOnlySpan<byte> head)
    {
        if (head.Length == 0) return false;
        foreach (var b in head)
            if (b < 0x09 || (b > 0x0D && b < 0x20 && b != 0x1B)) return false;
        return true;
    }

    private static string PngLayout(ReadOnlySpan<byte> b)
    {
        if (b.Length < 29 || !b[12..16].SequenceEqual("IHDR"u8)) return "unknown";
        int depth = b[24], colorType = b[25];
        var name = colorType switch
        {
            0 => "gray",
            2 => "RGB",
            3 => "palette",
            4 => "gray+alpha",
            6 => "RGBA",
            _ => "unknown",
        };
        return depth == 16 ? "16-bit " + name : name;
    }

    private static string JpegLayout(ReadOnlySpan<byte> b)
    {
        int i = 2;
        while (i + 4 <= b.Length)
        {
            if (b[i] != 0xFF) return "unknown";
            var marker = b[i + 1];
            if (marker == 0xFF) { i++; continue; }
            if (marker is 0xD8 or 0x01 || (marker >= 0xD0 && marker <= 0xD7)) { i += 2; continue; }
            int len = BinaryPrimitives.ReadUInt16BigEndian(b[(i + 2)..]);
            bool sof = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
            if (sof)
            {
                if (i + 10 > b.Length) return "unknown";
                int components = b[i + 9];
                return components switch
                {
                    1 => "gray",
                    3 => "RGB",
                    4 => "CMYK",
                    _ => "unknown",
                };
            }
            if (marker == 0xDA) return "unknown";
            i += 2 + len;
        }
        return "unknown";
    }

    private static string BmpLayout(ReadOnlySpan<byte> b)
    {
        if (b.Length < 30) return "unknown";
        int bits = BinaryPrimitives.ReadUInt16LittleEndian(b[28..]);
        return bits switch
        {
            1 or 2 or 4 or 8 => "palette",
            16 or 24 => "RGB",
            32 => "RGBA",
            _ => "unknown",
        };
    }

    private static string WebPLayout(ReadOnlySpan<byte> b)
    {
        if (b.Length < 30) return "unknown";
        var chunk = b[12..16];
        if (chunk.SequenceEqual("VP8 "u8)) return "RGB";
        if (chunk.SequenceEqual("VP8L"u8))
        {
            uint bits = BinaryPrimitives.ReadUInt32LittleEndian(b[21..]);
            return ((bits >> 28) & 1) != 0 ? "RGBA" : "RGB";
        }
        if (chunk.SequenceEqual("VP8X"u8)) return (b[20] & 0x10) != 0 ? "RGBA" : "RGB";
        return "unknown";
    }
}
