using Noisette.Data;

namespace Noisette.Tests.Data;

public class PngWriterTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(4)]
    public void RoundTripsThroughSkia(int channels)
    {
        int w = 13, h = 7;
        var px = new byte[channels * w * h];
        var rng = new Random(channels);
        rng.NextBytes(px);
        if (channels == 4) px.AsSpan(3 * w * h).Fill(255); // opaque, so unpremultiplied values survive exactly
        var image = new PlanarImage(channels, w, h, px);
        using var dir = new TempFolder();
        var path = dir["out.png"];
        PngWriter.Write(path, image);
        var decoded = ImageDecoder.Decode(path);
        Assert.Equal(w, decoded.Width);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                int o = (y * w + x) * 4;
                for (int c = 0; c < 3; c++)
                    Assert.Equal(image[channels == 1 ? 0 : c, y, x], decoded.Rgba[o + c]);
                Assert.Equal(channels == 4 ? image[3, y, x] : 255, decoded.Rgba[o + 3]);
            }
        Assert.Equal(channels == 1 ? "gray" : channels == 3 ? "RGB" : "RGBA", decoded.Source.PixelLayout);
    }

    [Fact]
    public void TextChunksRoundTripAndBytesAreDeterministic()
    {
        var image = new PlanarImage(1, 4, 4, Enumerable.Range(0, 16).Select(i => (byte)(i * 16)).ToArray());
        var text = new[]
        {
            new KeyValuePair<string, string>("noisette:run", "{\"steps\": 1000}"),
            new KeyValuePair<string, string>("Comment", "Café crème"),
            new KeyValuePair<string, string>("prompt", "字母 A — ☃"),
        };
        var a = PngWriter.Encode(image, text);
        var b = PngWriter.Encode(image, text);
        Assert.Equal(a, b);
        Assert.Equal(text, PngText.Parse(a));
        using var dir = new TempFolder();
        var path = dir["sub/t.png"];
        PngWriter.Write(path, image, text);
        Assert.Equal(text, PngText.Read(path));
        Assert.Equal(image.Pixels, ImagePreprocessor.LoadImage(path, new DataConfig { ImageSize = 4 }, ChannelMode.Gray));
        Assert.Empty(Directory.GetFiles(dir["sub"], "*.partial"));
        Assert.Throws<ArgumentException>(() => PngWriter.Encode(image, [new("", "x")]));
    }

    [Fact]
    public void Crc32MatchesTheKnownValue() =>
        Assert.Equal(0xCBF43926u, Crc32.Compute("123456789"u8));
}
