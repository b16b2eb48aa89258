using Noisette.Data;
using SkiaSharp;

namespace Noisette.Tests.Data;

public class ImageDecoderTests
{
    private static SKColor Pattern(int x, int y) => x < 4 ? new SKColor(200, 30, 30) : new SKColor(30, 30, 200);

    [Theory]
    [InlineData("png", ImageFormat.Png)]
    [InlineData("jpg", ImageFormat.Jpeg)]
    [InlineData("webp", ImageFormat.WebP)]
    [InlineData("bmp", ImageFormat.Bmp)]
    public void EachFormatDecodes(string ext, ImageFormat format)
    {
        using var dir = new TempFolder();
        byte[] bytes = ext switch
        {
            "png" => TestImages.Png(8, 6, Pattern),
            "bmp" => TestImages.Bmp(8, 6, Pattern),
            _ => EncodeWith(ext == "jpg" ? SKEncodedImageFormat.Jpeg : SKEncodedImageFormat.Webp),
        };
        var path = dir.Write("img." + ext, bytes);
        var image = ImageDecoder.Decode(path);
        Assert.Equal(8, image.Width);
        Assert.Equal(6, image.Height);
        Assert.Equal(format, image.Source.Format);
        Assert.False(image.IsGray);
        Assert.True(image.IsOpaque);
        Assert.Empty(image.Notes);
        // Lossy formats within a tolerance: a reddish pixel on the left, a bluish one on the right.
        Assert.True(image.Rgba[(2 * 8 + 1) * 4] > 150 && image.Rgba[(2 * 8 + 1) * 4 + 2] < 90);
        Assert.True(image.Rgba[(2 * 8 + 6) * 4 + 2] > 150 && image.Rgba[(2 * 8 + 6) * 4] < 90);

        static byte[] EncodeWith(SKEncodedImageFormat f)
        {
            using var bmp = TestImages.Bitmap(8, 6, Pattern);
            return TestImages.Encode(bmp, f);
        }
    }

    [Fact]
    public void AnimatedGifGivesFirstFrameAndANote()
    {
        using var dir = new TempFolder();
        // Frame 1: white with a red top row; frame 2: all blue.
        var f1 = new byte[] { 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1 };
        var f2 = Enumerable.Repeat((byte)3, 12).ToArray();
        var path = dir.Write("anim.gif", TestImages.AnimatedGif(4, 3, f1, f2));
        var image = ImageDecoder.Decode(path);
        Assert.Equal(ImageFormat.Gif, image.Source.Format);
        Assert.Equal(2, image.Source.FrameCount);
        Assert.True(image.Source.IsAnimated);
        Assert.Contains(image.Notes, n => n.Contains("animated") && n.Contains("first frame"));
        Assert.Equal([255, 0, 0, 255], image.Rgba[..4]);
        Assert.Equal([255, 255, 255, 255], image.Rgba[32..36]);
    }

    [Fact]
    public void GrayIsDetected()
    {
        using var dir = new TempFolder();
        var path = dir.Write("g.png", TestImages.GrayPng(5, 5, (x, y) => (byte)(x * 40)));
        var image = ImageDecoder.Decode(path);
        Assert.True(image.IsGray);
        Assert.Equal((byte)160, image.Rgba[4 * 4]);
    }

    [Fact]
    public void BadFilesGiveReasons()
    {
        using var dir = new TempFolder();
        var good = TestImages.Png(16, 16, Pattern);
        var cases = new Dictionary<string, (byte[] Bytes, string Expect)>
        {
            ["zero.png"] = ([], "zero-byte"),
            ["text.png"] = ("hello, this is not an image\n"u8.ToArray(), "not an image"),
            ["trunc.png"] = (good[..(good.Length / 2)], "truncated"),
            ["head.png"] = (good[..20], "truncated"),
            ["tiff.png"] = ([.. "II*\0"u8, .. new byte[64]], "unsupported format"),
            ["bomb.png"] = (TestImages.HugePngHeader(20000, 20000), "megapixels"),
        };
        foreach (var (name, (bytes, expect)) in cases)
        {
            var path = dir.Write(name, bytes);
            Assert.False(ImageDecoder.TryDecode(path, out _, out var reason), name);
            Assert.Contains(expect, reason);
            var e = Assert.Throws<NoisetteInputException>(() => ImageDecoder.Decode(path));
            Assert.Contains(name, e.Message);
        }
    }

    [Fact]
    public void CorruptDataIsRefused()
    {
        using var dir = new TempFolder();
        var bytes = TestImages.Png(32, 32, (x, y) => new SKColor((byte)(x * 7), (byte)(y * 5), (byte)(x ^ y)));
        // Scramble the compressed pixel data but keep the header intact.
        for (int i = 60; i < bytes.Length - 16; i++) bytes[i] ^= 0x5A;
        var path = dir.Write("corrupt.png", bytes);
        Assert.False(ImageDecoder.TryDecode(path, out _, out var reason));
        Assert.Matches("corrupt|truncated", reason);
    }

    [Fact]
    public void WrongExtensionIsReadAndNoted()
    {
        using var dir = new TempFolder();
        using var bmp = TestImages.Bitmap(8, 8, Pattern);
        var path = dir.Write("photo.png", TestImages.Encode(bmp, SKEncodedImageFormat.Jpeg));
        var image = ImageDecoder.Decode(path);
        Assert.Equal(ImageFormat.Jpeg, image.Source.Format);
        Assert.Contains(image.Notes, n => n.Contains("wrong extension") && n.Contains("JPEG"));
    }

    [Fact]
    public void HeaderLayoutIsRead()
    {
        var gray = TestImages.GrayPng(4, 4, (x, y) => 10);
        Assert.Equal("gray", ImageHeader.ReadPixelLayout(ImageFormat.Png, PngWriter.EncodeInterleaved(new byte[16], 1, 4, 4)));
        Assert.Equal("RGBA", ImageHeader.ReadPixelLayout(ImageFormat.Png, PngWriter.EncodeInterleaved(new byte[64], 4, 4, 4)));
        Assert.Equal(ImageFormat.Png, ImageHeader.SniffFormat(gray));
        Assert.Equal("RGB", ImageHeader.ReadPixelLayout(ImageFormat.Bmp, TestImages.Bmp(2, 2, Pattern)));
    }
}
