using System.Buffers.Binary;
using System.IO.Compression;
using System.Security.Cryptography;
using Noisette.Data;
using SkiaSharp;

namespace Noisette.Tests.Data;

/// <summary>Builds small test images in memory and encodes them.</summary>
public static class TestImages
{
    public static string FixturesDir
    {
        get
        {
            var dir = AppContext.BaseDirectory;
            while (dir is not null && !Directory.Exists(Path.Combine(dir, "tests", "fixtures"))) dir = Path.GetDirectoryName(dir);
            return Path.Combine(dir ?? throw new DirectoryNotFoundException("tests/fixtures not found above " + AppContext.BaseDirectory), "tests", "fixtures");
        }
    }

    /// <summary>An RGBA bitmap filled by a function of (x, y).</summary>
    public static SKBitmap Bitmap(int w, int h, Func<int, int, SKColor> color)
    {
        var bmp = new SKBitmap(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) bmp.SetPixel(x, y, color(x, y));
        return bmp;
    }

    public static byte[] Encode(SKBitmap bmp, SKEncodedImageFormat format, int quality = 100)
    {
        using var image = SKImage.FromBitmap(bmp);
        using var data = image.Encode(format, quality);
        return data.ToArray();
    }

    public static byte[] Png(int w, int h, Func<int, int, SKColor> color)
    {
        using var bmp = Bitmap(w, h, color);
        return Encode(bmp, SKEncodedImageFormat.Png);
    }

    public static byte[] GrayPng(int w, int h, Func<int, int, byte> value) =>
        Png(w, h, (x, y) => { var v = value(x, y); return new SKColor(v, v, v); });

    /// <summary>A 24-bit BMP, written by hand (Skia does not encode BMP).</summary>
    public static byte[] Bmp(int w, int h, Func<int, int, SKColor> color)
    {
        int stride = (w * 3 + 3) & ~3;
        var bytes = new byte[54 + stride * h];
        bytes[0] = (byte)'B'; bytes[1] = (byte)'M';
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(2), bytes.Length);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(10), 54);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(14), 40);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(18), w);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(22), h);
        BinaryPrimitives.WriteInt16LittleEndian(bytes.AsSpan(26), 1);
        BinaryPrimitives.WriteInt16LittleEndian(bytes.AsSpan(28), 24);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(34), stride * h);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                var c = color(x, y);
                int o = 54 + (h - 1 - y) * stride + x * 3;
                bytes[o] = c.Blue; bytes[o + 1] = c.Green; bytes[o + 2] = c.Red;
            }
        return bytes;
    }

    /// <summary>
    /// An animated GIF written by hand: a 4-colour palette (black, white, red, blue) and one frame per index array.
    /// The LZW stream sends a clear code before every pair of pixels so the code width stays at 3 bits.
    /// </summary>
    public static byte[] AnimatedGif(int w, int h, params byte[][] frames)
    {
        var o = new List<byte>();
        o.AddRange("GIF89a"u8.ToArray());
        o.AddRange([(byte)w, (byte)(w >> 8), (byte)h, (byte)(h >> 8), 0xF1, 0, 0]); // global table of 4 colours
        o.AddRange([0, 0, 0, 255, 255, 255, 255, 0, 0, 0, 0, 255]);
        o.AddRange([0x21, 0xFF, 11, .. "NETSCAPE2.0"u8.ToArray(), 3, 1, 0, 0, 0]);
        foreach (var frame in frames)
        {
            o.AddRange([0x21, 0xF9, 4, 0x04, 10, 0, 0, 0]); // graphic control: keep, 0.1 s
            o.AddRange([0x2C, 0, 0, 0, 0, (byte)w, (byte)(w >> 8), (byte)h, (byte)(h >> 8), 0]);
            o.Add(2); // LZW minimum code size
            var codes = new List<int>();
            for (int i = 0; i < frame.Length; i += 2)
            {
                codes.Add(4);
                codes.Add(frame[i]);
                if (i + 1 < frame.Length) codes.Add(frame[i + 1]);
            }
            codes.Add(5);
            var data = new List<byte>();
            int acc = 0, bits = 0;
            foreach (var code in codes)
            {
                acc |= code << bits;
                bits += 3;
                while (bits >= 8) { data.Add((byte)acc); acc >>= 8; bits -= 8; }
            }
            if (bits > 0) data.Add((byte)acc);
            for (int i = 0; i < data.Count; i += 255)
            {
                int n = Math.Min(255, data.Count - i);
                o.Add((byte)n);
                o.AddRange(data.GetRange(i, n));
            }
            o.Add(0);
        }
        o.Add(0x3B);
        return o.ToArray();
    }

    /// <summary>A valid PNG header that claims a huge size, followed by a tiny IDAT: a decompression bomb's shape.</summary>
    public static byte[] HugePngHeader(int w, int h)
    {
        using var ms = new MemoryStream();
        ms.Write([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, w);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), h);
        ihdr[8] = 8; ihdr[9] = 0;
        Chunk(ms, "IHDR", ihdr);
        using var z = new MemoryStream();
        using (var zs = new ZLibStream(z, CompressionLevel.Fastest, leaveOpen: true)) zs.Write(new byte[1024]);
        Chunk(ms, "IDAT", z.ToArray());
        Chunk(ms, "IEND", []);
        return ms.ToArray();
    }

    public static void Chunk(Stream s, string type, byte[] data)
    {
        var len = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(len, data.Length);
        s.Write(len);
        var t = System.Text.Encoding.ASCII.GetBytes(type);
        s.Write(t);
        s.Write(data);
        BinaryPrimitives.WriteUInt32BigEndian(len, Crc32.Append(Crc32.Compute(t), data));
        s.Write(len);
    }

    /// <summary>SHA-256 of every file's relative path, bytes and modification time under a folder.</summary>
    public static string TreeHash(string root)
    {
        using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var f in Directory.EnumerateFileSystemEntries(root, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            h.AppendData(System.Text.Encoding.UTF8.GetBytes(Path.GetRelativePath(root, f)));
            if (File.Exists(f))
            {
                h.AppendData(File.ReadAllBytes(f));
                h.AppendData(BitConverter.GetBytes(File.GetLastWriteTimeUtc(f).Ticks));
            }
        }
        return Convert.ToHexString(h.GetHashAndReset());
    }
}
