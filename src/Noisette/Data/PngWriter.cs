using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using Noisette.IO;

namespace Noisette.Data;

/// <summary>
/// Writes 8-bit gray, RGB and RGBA PNG files, with optional text chunks (tEXt for Latin-1 values, iTXt for
/// anything else). The same pixels and text always give the same bytes. Files are written atomically.
/// </summary>
public static class PngWriter
{
    private static ReadOnlySpan<byte> Signature => [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>Encodes a planar (C×H×W) image: 1 channel → gray, 3 → RGB, 4 → RGBA.</summary>
    public static byte[] Encode(PlanarImage image, IEnumerable<KeyValuePair<string, string>>? text = null)
    {
        int c = image.Channels, w = image.Width, h = image.Height, plane = w * h;
        var interleaved = new byte[c * plane];
        var src = image.Pixels;
        for (int i = 0; i < plane; i++)
            for (int ch = 0; ch < c; ch++)
                interleaved[i * c + ch] = src[ch * plane + i];
        return EncodeInterleaved(interleaved, c, w, h, text);
    }

    /// <summary>Encodes interleaved rows (H×W×C, C = 1 gray, 3 RGB, 4 RGBA).</summary>
    public static byte[] EncodeInterleaved(ReadOnlySpan<byte> pixels, int channels, int width, int height,
        IEnumerable<KeyValuePair<string, string>>? text = null)
    {
        if (channels is not (1 or 3 or 4)) throw new ArgumentException($"PNG output takes 1, 3 or 4 channels, not {channels}.", nameof(channels));
        if (width <= 0 || height <= 0) throw new ArgumentException($"Image size {width}x{height} is not positive.");
        int stride = width * channels;
        if (pixels.Length != (long)stride * height) throw new ArgumentException("Pixel buffer does not match the size.", nameof(pixels));

        using var output = new MemoryStream();
        output.Write(Signature);
        Span<byte> ihdr = stackalloc byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr[4..], height);
        ihdr[8] = 8;
        ihdr[9] = channels switch { 1 => 0, 3 => 2, _ => 6 };
        ihdr[10] = 0; ihdr[11] = 0; ihdr[12] = 0;
        WriteChunk(output, "IHDR"u8, ihdr);
        if (text is not null)
            foreach (var (key, value) in text) WriteText(output, key, value);
        WriteChunk(output, "IDAT"u8, Compress(Filter(pixels, stride, height, channels)));
        WriteChunk(output, "IEND"u8, []);
        return output.ToArray();
    }

    /// <summary>Writes a planar image as a PNG file, atomically.</summary>
    public static void Write(string path, PlanarImage image, IEnumerable<KeyValuePair<string, string>>? text = null) =>
        AtomicFile.WriteAllBytes(path, Encode(image, text));

    /// <summary>Picks per row the PNG filter with the smallest sum of absolute residuals (the usual heuristic).</summary>
    private static byte[] Filter(ReadOnlySpan<byte> pixels, int stride, int height, int bpp)
    {
        var result = new byte[(stride + 1) * height];
        var candidate = new byte[stride];
        var best = new byte[stride];
        for (int y = 0; y < height; y++)
        {
            var row = pixels.Slice(y * stride, stride);
            var prev = y > 0 ? pixels.Slice((y - 1) * stride, stride) : ReadOnlySpan<byte>.Empty;
            long bestScore = long.MaxValue;
            byte bestType = 0;
            for (byte type = 0; type < 5; type++)
            {
                long score = 0;
                for (int x = 0; x < stride; x++)
                {
                    int a = x >= bpp ? row[x - bpp] : 0;
                    int b = prev.IsEmpty ? 0 : prev[x];
                    int c = x >= bpp && !prev.IsEmpty ? prev[x - bpp] : 0;
                    int predictor = type switch
                    {
                        0 => 0,
                        1 => a,
                        2 => b,
                        3 => (a + b) >> 1,
                        _ => Paeth(a, b, c),
                    };
                    byte v = (byte)(row[x] - predictor);
                    candidate[x] = v;
                    score += v < 128 ? v : 256 - v;
                }
                if (score < bestScore)
                {
                    bestScore = score;
                    bestType = type;
                    candidate.AsSpan().CopyTo(best);
                }
            }
            result[y * (stride + 1)] = bestType;
            best.AsSpan().CopyTo(result.AsSpan(y * (stride + 1) + 1));
        }
        return result;
    }

    private static int Paeth(int a, int b, int c)
    {
        int p = a + b - c;
        int pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }

    private static byte[] Compress(byte[] data)
    {
        using var ms = new MemoryStream();
        using (var z = new ZLibStream(ms, CompressionLevel.SmallestSize, leaveOpen: true)) z.Write(data);
        return ms.ToArray();
    }

    private static void WriteText(Stream output, string key, string value)
    {
        if (key.Length is < 1 or > 79 || key.Any(ch => ch < 0x20 || ch > 0xFF || ch == 0x7F) || key.StartsWith(' ') || key.EndsWith(' '))
            throw new ArgumentException($"PNG text key '{key}' must be 1-79 printable Latin-1 characters without leading or trailing spaces.", nameof(key));
        var keyBytes = Encoding.Latin1.GetBytes(key);
        bool latin1 = value.All(ch => ch <= 0xFF && ch != 0);
        using var chunk = new MemoryStream();
        chunk.Write(keyBytes);
        chunk.WriteByte(0);
        if (latin1)
        {
            chunk.Write(Encoding.Latin1.GetBytes(value));
            WriteChunk(output, "tEXt"u8, chunk.ToArray());
        }
        else
        {
            chunk.Write([0, 0, 0, 0]); // not compressed, method 0, empty language tag, empty translated key
            chunk.Write(Encoding.UTF8.GetBytes(value));
            WriteChunk(output, "iTXt"u8, chunk.ToArray());
        }
    }

    private static void WriteChunk(Stream output, ReadOnlySpan<byte> type, ReadOnlySpan<byte> data)
    {
        Span<byte> len = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(len, data.Length);
        output.Write(len);
        output.Write(type);
        output.Write(data);
        uint crc = Crc32.Append(Crc32.Compute(type), data);
        BinaryPrimitives.WriteUInt32BigEndian(len, crc);
        output.Write(len);
    }
}
