using System.Buffers.Binary;
using System.IO.Compression;
using Noisette.Data;

namespace Noisette.Tests.Data;

/// <summary>Glyph folders and unusual image files for the dataset check tests.</summary>
public static class DatasetFixtures
{
    public static string CleanLetters => Path.Combine(TestImages.FixturesDir, "letters", "A");

    /// <summary>All 1158 letter A images of the shared letters64 set.</summary>
    public static string FullLetters => Path.Combine(TestImages.FixturesDir, "letters64-A");

    /// <summary>
    /// File names of the clean set's images whose font letters64 renders plainly: cap height 40 px and 'H' standing
    /// on y = 52 (from the fixtures' manifest), so their framing is uniform.
    /// </summary>
    public static List<string> UniformGlyphs() =>
        File.ReadLines(Path.Combine(TestImages.FixturesDir, "letters", "manifest.tsv")).Skip(1).Select(l => l.Split('\t'))
            .Where(c => c[6] == "40.0" && c[8] == "52.0" && File.Exists(Path.Combine(CleanLetters, c[0] + ".png")))
            .Select(c => c[0] + ".png").Order(StringComparer.Ordinal).ToList();

    private static byte[] GrayPixels(string path, out int w, out int h)
    {
        var src = ImageDecoder.Decode(path);
        w = src.Width; h = src.Height;
        var px = new byte[w * h];
        for (int i = 0; i < px.Length; i++) px[i] = src.Rgba[i * 4];
        return px;
    }

    /// <summary>A glyph of the clean set scaled by <paramref name="factor"/> about its bottom centre (the baseline stays), as a gray PNG.</summary>
    public static byte[] ScaledGlyph(string fixtureName, double factor)
    {
        var px = GrayPixels(Path.Combine(CleanLetters, fixtureName), out int w, out int h);
        // Put the glyph on a white canvas twice the size, then resample a window 1/factor as large onto w × h.
        var canvas = new double[4 * w * h];
        Array.Fill(canvas, 255.0);
        for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) canvas[(y + h / 2) * 2 * w + x + w / 2] = px[y * w + x];
        var ink = InkBox.Measure(px.Select(v => (double)v).ToArray(), w, h, out _)!.Value;
        double win = w / factor, cx = ink.CenterX + w / 2.0, by = ink.Bottom + h / 2.0;
        var scaled = ImageResampler.Resample(canvas, 2 * w, 2 * h, cx - win / 2, by - ink.Bottom / factor, win, h / factor, w, h);
        return PngWriter.Encode(new PlanarImage(1, w, h, scaled.Select(ImageResampler.ToByte).ToArray()));
    }

    /// <summary>A glyph of the clean set re-saved as a JPEG of the given quality.</summary>
    public static byte[] JpegGlyph(string fixtureName, int quality)
    {
        var px = GrayPixels(Path.Combine(CleanLetters, fixtureName), out int w, out int h);
        using var bmp = new SkiaSharp.SKBitmap(new SkiaSharp.SKImageInfo(w, h, SkiaSharp.SKColorType.Gray8, SkiaSharp.SKAlphaType.Opaque));
        System.Runtime.InteropServices.Marshal.Copy(px, 0, bmp.GetPixels(), px.Length);
        using var data = bmp.Encode(SkiaSharp.SKEncodedImageFormat.Jpeg, quality);
        return data.ToArray();
    }

    /// <summary>A glyph of the clean set with every level raised by <paramref name="delta"/> (clamped), as a gray PNG.</summary>
    public static byte[] BrighterGlyph(string fixtureName, int delta)
    {
        var px = GrayPixels(Path.Combine(CleanLetters, fixtureName), out int w, out int h);
        return PngWriter.Encode(new PlanarImage(1, w, h, px.Select(v => (byte)Math.Clamp(v + delta, 0, 255)).ToArray()));
    }

    /// <summary>Copies the first <paramref name="count"/> clean letter-A images into <paramref name="dir"/>.</summary>
    public static List<string> CopyCleanGlyphs(TempFolder dir, int count = 20, string sub = "")
    {
        var names = Directory.GetFiles(CleanLetters, "*.png").Order(StringComparer.Ordinal).Take(count).ToList();
        foreach (var f in names) File.Copy(f, dir[Path.Combine(sub, Path.GetFileName(f))]);
        return names.Select(Path.GetFileName).ToList()!;
    }

    /// <summary>A glyph from the clean set moved down by <paramref name="dy"/> rows (white fill), as a gray PNG.</summary>
    public static byte[] ShiftedGlyph(string fixtureName, int dy, int dx = 0)
    {
        var src = ImageDecoder.Decode(Path.Combine(CleanLetters, fixtureName));
        int w = src.Width, h = src.Height;
        var px = new byte[w * h];
        Array.Fill(px, (byte)255);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                int sy = y - dy, sx = x - dx;
                if (sy >= 0 && sy < h && sx >= 0 && sx < w) px[y * w + x] = src.Rgba[(sy * w + sx) * 4];
            }
        return PngWriter.Encode(new PlanarImage(1, w, h, px));
    }

    /// <summary>A glyph from the clean set enlarged ×<paramref name="factor"/> by repeating pixels.</summary>
    public static byte[] EnlargedGlyph(string fixtureName, int factor)
    {
        var src = ImageDecoder.Decode(Path.Combine(CleanLetters, fixtureName));
        int w = src.Width * factor, h = src.Height * factor;
        var px = new byte[w * h];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) px[y * w + x] = src.Rgba[((y / factor) * src.Width + x / factor) * 4];
        return PngWriter.Encode(new PlanarImage(1, w, h, px));
    }

    /// <summary>
    /// A baseline JPEG with four components (Adobe CMYK), 8×8 pixels, written by hand: every block is flat
    /// (DC difference 0, end of block), with one-symbol Huffman tables.
    /// </summary>
    public static byte[] CmykJpeg()
    {
        var o = new List<byte> { 0xFF, 0xD8 };
        o.AddRange([0xFF, 0xEE, 0, 14, .. "Adobe"u8.ToArray(), 0, 100, 0, 0, 0, 0, 0]);
        o.AddRange([0xFF, 0xDB, 0, 67, 0]);
        o.AddRange(Enumerable.Repeat((byte)1, 64));
        o.AddRange([0xFF, 0xC0, 0, 20, 8, 0, 8, 0, 8, 4]);
        for (byte id = 1; id <= 4; id++) o.AddRange([id, 0x11, 0]);
        var bits = new byte[16];
        bits[0] = 1;
        o.AddRange([0xFF, 0xC4, 0, 38, 0x00, .. bits, 0x00, 0x10, .. bits, 0x00]);
        o.AddRange([0xFF, 0xDA, 0, 14, 4]);
        for (byte id = 1; id <= 4; id++) o.AddRange([id, 0x00]);
        o.AddRange([0, 63, 0]);
        o.Add(0x00); // four blocks × (DC "0" + EOB "0") = 8 zero bits
        o.AddRange([0xFF, 0xD9]);
        return o.ToArray();
    }

    /// <summary>A 16-bit RGB PNG with a horizontal gradient, written by hand.</summary>
    public static byte[] Png16(int w, int h)
    {
        using var ms = new MemoryStream();
        ms.Write([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, w);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), h);
        ihdr[8] = 16; ihdr[9] = 2;
        TestImages.Chunk(ms, "IHDR", ihdr);
        var raw = new byte[h * (1 + w * 6)];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                for (int c = 0; c < 3; c++)
                    BinaryPrimitives.WriteUInt16BigEndian(raw.AsSpan(y * (1 + w * 6) + 1 + x * 6 + c * 2), (ushort)(x * 65535 / Math.Max(1, w - 1)));
        using var z = new MemoryStream();
        using (var zs = new ZLibStream(z, CompressionLevel.Fastest, leaveOpen: true)) zs.Write(raw);
        TestImages.Chunk(ms, "IDAT", z.ToArray());
        TestImages.Chunk(ms, "IEND", []);
        return ms.ToArray();
    }
}
