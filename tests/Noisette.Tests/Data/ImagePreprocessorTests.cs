using Noisette.Data;
using SkiaSharp;

namespace Noisette.Tests.Data;

public class ImagePreprocessorTests
{
    private static DecodedImage Image(int w, int h, Func<int, int, (byte R, byte G, byte B, byte A)> f)
    {
        var rgba = new byte[w * h * 4];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                var (r, g, b, a) = f(x, y);
                int o = (y * w + x) * 4;
                rgba[o] = r; rgba[o + 1] = g; rgba[o + 2] = b; rgba[o + 3] = a;
            }
        return new DecodedImage(w, h, rgba, new ImageSourceInfo(ImageFormat.Png, w, h, 1, "RGBA"));
    }

    [Fact]
    public void AlphaIsCompositedOntoWhite()
    {
        // Transparent left half, half-transparent black right half.
        var img = Image(4, 4, (x, y) => x < 2 ? ((byte)0, (byte)0, (byte)0, (byte)0) : ((byte)0, (byte)0, (byte)0, (byte)128));
        var px = ImagePreprocessor.Process(img, new DataConfig { ImageSize = 4 }, ChannelMode.Gray);
        Assert.Equal(255, px[0]);
        Assert.Equal(127, px[3]); // 255 * (1 - 128/255)
    }

    [Fact]
    public void AlphaIsCompositedOntoACustomColour()
    {
        var img = Image(2, 2, (x, y) => x == 0 ? ((byte)0, (byte)0, (byte)0, (byte)0) : ((byte)255, (byte)255, (byte)255, (byte)255));
        var px = ImagePreprocessor.Process(img, new DataConfig { ImageSize = 2, Background = "#102030" }, ChannelMode.Rgb);
        // CHW: R plane, G plane, B plane.
        Assert.Equal([0x10, 255, 0x10, 255, 0x20, 255, 0x20, 255, 0x30, 255, 0x30, 255], px);
    }

    [Fact]
    public void CropKeepsTheCentreSquare()
    {
        // 12×6: a 3-wide red band at each end, green in the middle 6 columns.
        var img = Image(12, 6, (x, y) => x < 3 || x >= 9 ? ((byte)255, (byte)0, (byte)0, (byte)255) : ((byte)0, (byte)255, (byte)0, (byte)255));
        var px = ImagePreprocessor.Process(img, new DataConfig { ImageSize = 3, Resize = ResizeMode.Crop }, ChannelMode.Rgb);
        Assert.All(px[..9], v => Assert.Equal(0, v));       // no red left
        Assert.All(px[9..18], v => Assert.Equal(255, v));   // all green
    }

    [Fact]
    public void PadLetterboxesOntoTheBackground()
    {
        // 8×4 black image padded into 8×8 on white: rows 0-1 and 6-7 white, rows 2-5 black.
        var img = Image(8, 4, (x, y) => ((byte)0, (byte)0, (byte)0, (byte)255));
        var px = ImagePreprocessor.Process(img, new DataConfig { ImageSize = 8, Resize = ResizeMode.Pad }, ChannelMode.Gray);
        for (int y = 0; y < 8; y++)
            for (int x = 0; x < 8; x++)
                Assert.Equal(y is >= 2 and < 6 ? 0 : 255, px[y * 8 + x]);
        // 16×8 → 4: content 4×2 centred.
        var small = ImagePreprocessor.Process(Image(16, 8, (x, y) => ((byte)0, (byte)0, (byte)0, (byte)255)),
            new DataConfig { ImageSize = 4, Resize = ResizeMode.Pad, Background = "#808080" }, ChannelMode.Gray);
        Assert.Equal([128, 128, 128, 128, 0, 0, 0, 0, 0, 0, 0, 0, 128, 128, 128, 128], small);
    }

    [Fact]
    public void BoxFilterIsTheExactMean()
    {
        var img = Image(4, 4, (x, y) => { byte v = (byte)(x * 10 + y * 40); return (v, v, v, 255); });
        var px = ImagePreprocessor.Process(img, new DataConfig { ImageSize = 2 }, ChannelMode.Gray);
        // top-left 2×2: 0, 10, 40, 50 → 25
        Assert.Equal([25, 45, 105, 125], px);
    }

    [Fact]
    public void UpscalingIsBilinear()
    {
        var img = Image(2, 1, (x, y) => x == 0 ? ((byte)0, (byte)0, (byte)0, (byte)255) : ((byte)200, (byte)200, (byte)200, (byte)255));
        var px = ImagePreprocessor.Process(img, new DataConfig { ImageSize = 4, Resize = ResizeMode.Pad }, ChannelMode.Gray);
        // 2×1 → 4×2 content rows 1-2: 0, 50, 150, 200.
        Assert.Equal([0, 50, 150, 200], px[4..8]);
        Assert.True(ImagePreprocessor.NeedsUpscale(2, 1, new DataConfig { ImageSize = 4 }));
    }

    [Fact]
    public void ColourToGrayUsesLuma()
    {
        var img = Image(1, 1, (x, y) => ((byte)255, (byte)0, (byte)0, (byte)255));
        Assert.Equal([76], ImagePreprocessor.Process(img, new DataConfig { ImageSize = 1 }, ChannelMode.Gray));
    }

    [Theory]
    [InlineData("dejavusanscondensed-bold")]
    [InlineData("dejavuserif-italic")]
    public void Letters64DownscaledEqualLetters32(string font)
    {
        var dir = Path.Combine(TestImages.FixturesDir, "letters");
        var px = ImagePreprocessor.LoadImage(Path.Combine(dir, $"A64-{font}.png"), new DataConfig { ImageSize = 32 }, ChannelMode.Gray);
        var expected = ImageDecoder.Decode(Path.Combine(dir, $"A32-{font}.png"));
        Assert.Equal(32, expected.Width);
        int maxDiff = 0;
        for (int i = 0; i < 32 * 32; i++) maxDiff = Math.Max(maxDiff, Math.Abs(px[i] - expected.Rgba[i * 4]));
        Assert.True(maxDiff <= 1, $"max difference {maxDiff} gray levels");
        // And 64 → 64 is the identity.
        var same = ImagePreprocessor.LoadImage(Path.Combine(dir, $"A64-{font}.png"), new DataConfig { ImageSize = 64 }, ChannelMode.Gray);
        var orig = ImageDecoder.Decode(Path.Combine(dir, $"A64-{font}.png"));
        for (int i = 0; i < 64 * 64; i++) Assert.Equal(orig.Rgba[i * 4], same[i]);
    }

    [Fact]
    public void BadBackgroundIsAnInputError()
    {
        var img = Image(1, 1, (x, y) => ((byte)0, (byte)0, (byte)0, (byte)255));
        var e = Assert.Throws<NoisetteInputException>(() => ImagePreprocessor.Process(img, new DataConfig { Background = "white" }, ChannelMode.Gray));
        Assert.Contains("#RRGGBB", e.Message);
    }
}
