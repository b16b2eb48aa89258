using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace Noisette.Data;

/// <summary>Reads the text chunks (tEXt, zTXt, iTXt) of a PNG file, in file order: where provenance is kept.</summary>
public static class PngText
{
    /// <summary>Key/value pairs of a PNG file's text chunks; throws <see cref="NoisetteInputException"/> if it is not a PNG.</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> Read(string path)
    {
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new NoisetteInputException($"Cannot read '{path}': {e.Message}", e);
        }
        return Parse(bytes, path);
    }

    /// <summary>Key/value pairs of encoded PNG bytes.</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> Parse(ReadOnlySpan<byte> png, string name = "PNG data")
    {
        if (ImageHeader.SniffFormat(png) != ImageFormat.Png) throw new NoisetteInputException($"'{name}' is not a PNG file.");
        var result = new List<KeyValuePair<string, string>>();
        int i = 8;
        while (i + 8 <= png.Length)
        {
            int len = BinaryPrimitives.ReadInt32BigEndian(png[i..]);
            if (len < 0 || i + 12L + len > png.Length) throw new NoisetteInputException($"'{name}' is a truncated or corrupt PNG file.");
            var type = png.Slice(i + 4, 4);
            var data = png.Slice(i + 8, len);
            if (type.SequenceEqual("tEXt"u8) || type.SequenceEqual("zTXt"u8) || type.SequenceEqual("iTXt"u8))
            {
                int z = data.IndexOf((byte)0);
                if (z > 0)
                {
                    var key = Encoding.Latin1.GetString(data[..z]);
                    var rest = data[(z + 1)..];
                    string? value = null;
                    if (type.SequenceEqual("tEXt"u8)) value = Encoding.Latin1.GetString(rest);
                    else if (type.SequenceEqual("zTXt"u8) && rest.Length >= 1) value = Encoding.Latin1.GetString(Inflate(rest[1..]));
                    else if (rest.Length >= 2)
                    {
                        bool compressed = rest[0] != 0;
                        var tail = rest[2..];
                        int lang = tail.IndexOf((byte)0);
                        if (lang >= 0)
                        {
                            tail = tail[(lang + 1)..];
                            int translated = tail.IndexOf((byte)0);
                            if (translated >= 0)
                            {
                                tail = tail[(translated + 1)..];
                                value = Encoding.UTF8.GetString(compressed ? Inflate(tail) : tail);
                            }
                        }
                    }
                    if (value is not null) result.Add(new(key, value));
                }
            }
            if (type.SequenceEqual("IEND"u8)) break;
            i += 12 + len;
        }
        return result;
    }

    private static byte[] Inflate(ReadOnlySpan<byte> data)
    {
        using var input = new MemoryStream(data.ToArray());
        using var z = new ZLibStream(input, CompressionMode.Decompress);
        using var output = new MemoryStream();
        z.CopyTo(output);
        return output.ToArray();
    }
}
