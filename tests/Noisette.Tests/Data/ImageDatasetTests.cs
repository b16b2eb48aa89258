using Noisette.Data;
using SkiaSharp;

namespace Noisette.Tests.Data;

public class ImageDatasetTests
{
    private static byte[] Gray(byte v) => TestImages.GrayPng(8, 8, (x, y) => (byte)(x == y ? 0 : v));

    [Fact]
    public void LoadsSortedGrayImagesAndCachesThem()
    {
        using var dir = new TempFolder();
        dir.Write("b.png", Gray(200));
        dir.Write("a.PNG", Gray(100));
        dir.Write("sub/c.png", Gray(150));
        dir.Write("notes.txt", "hello"u8.ToArray());
        var ds = ImageDataset.Load(dir.Path, new DataConfig { ImageSize = 4 });
        Assert.Equal(["a.PNG", "b.png", "sub/c.png"], ds.RelativePaths);
        Assert.Equal(3, ds.Count);
        Assert.Equal(ChannelMode.Gray, ds.ResolvedChannels);
        Assert.Equal(1, ds.Channels);
        Assert.Equal(4, ds.ImageSize);
        Assert.True(ds.IsCached);
        Assert.Empty(ds.Skipped);
        Assert.Empty(ds.Upscaled);
        Assert.Equal(3 * 16, ds.Pixels.Length);
        var one = new byte[16];
        ds.CopyImage(1, one);
        Assert.Equal(ds.Pixels.Span.Slice(16, 16).ToArray(), one);
        Assert.Equal(100, one[0]); // top-left 2×2 of b.png: 0, 200, 200, 0
        Assert.Equal(200, one[1]);
    }

    [Fact]
    public void AutoChoosesRgbWhenAnyImageHasColour()
    {
        using var dir = new TempFolder();
        dir.Write("gray.png", Gray(100));
        dir.Write("red.png", TestImages.Png(8, 8, (x, y) => new SKColor(255, 0, 0)));
        var ds = ImageDataset.Load(dir.Path, new DataConfig { ImageSize = 4 });
        Assert.Equal(ChannelMode.Rgb, ds.ResolvedChannels);
        Assert.Equal(3, ds.Channels);
        var red = new byte[48];
        ds.CopyImage(1, red);
        Assert.All(red[..16], v => Assert.Equal(255, v));
        Assert.All(red[16..], v => Assert.Equal(0, v));
        var forced = ImageDataset.Load(dir.Path, new DataConfig { ImageSize = 4, Channels = ChannelMode.Gray });
        Assert.Equal(1, forced.Channels);
    }

    [Fact]
    public void BadFilesAreSkippedWithReasonsWhileTheRestLoads()
    {
        using var dir = new TempFolder();
        dir.Write("good1.png", Gray(100));
        dir.Write("good2.png", Gray(120));
        dir.Write("zero.png", []);
        dir.Write("text.png", "not an image"u8.ToArray());
        var png = Gray(90);
        dir.Write("trunc.png", png[..(png.Length - 30)]);
        var corrupt = TestImages.Png(32, 32, (x, y) => new SKColor((byte)(x * 7), (byte)(y * 5), 0));
        for (int i = 60; i < corrupt.Length - 16; i++) corrupt[i] ^= 0x5A;
        dir.Write("corrupt.png", corrupt);
        dir.Write("scan.tiff", [.. "II*\0"u8, 0, 0]);
        var ds = ImageDataset.Load(dir.Path, new DataConfig { ImageSize = 8 });
        Assert.Equal(["good1.png", "good2.png"], ds.RelativePaths);
        var reasons = ds.Skipped.ToDictionary(s => s.RelativePath, s => s.Reason);
        Assert.Contains("zero-byte", reasons["zero.png"]);
        Assert.Contains("not an image", reasons["text.png"]);
        Assert.Contains("truncated", reasons["trunc.png"]);
        Assert.Matches("corrupt|truncated", reasons["corrupt.png"]);
        Assert.Contains("unsupported", reasons["scan.tiff"]);
    }

    [Fact]
    public void NoReadableImageIsAnInputErrorNamingTheFiles()
    {
        using var dir = new TempFolder();
        dir.Write("a.png", []);
        dir.Write("b.jpg", "text"u8.ToArray());
        var e = Assert.Throws<NoisetteInputException>(() => ImageDataset.Load(dir.Path, new DataConfig()));
        Assert.Contains("found 2 image files, none readable", e.Message);
        Assert.Contains("a.png (zero-byte file)", e.Message);
        Assert.Contains("b.jpg (not an image", e.Message);
    }

    [Fact]
    public void EmptyAndMissingFoldersAreInputErrors()
    {
        using var dir = new TempFolder();
        var e = Assert.Throws<NoisetteInputException>(() => ImageDataset.Load(dir.Path, new DataConfig()));
        Assert.Contains("empty", e.Message);
        dir.Write("readme.md", "x"u8.ToArray());
        e = Assert.Throws<NoisetteInputException>(() => ImageDataset.Load(dir.Path, new DataConfig()));
        Assert.Contains("readme.md", e.Message);
        e = Assert.Throws<NoisetteInputException>(() => ImageDataset.Load(Path.Combine(dir.Path, "nope"), new DataConfig()));
        Assert.Contains("does not exist", e.Message);
    }

    [Fact]
    public void TheFolderIsUnchangedAndTheFingerprintIsStable()
    {
        using var dir = new TempFolder();
        for (int i = 0; i < 6; i++) dir.Write($"img{i}.png", Gray((byte)(40 * i)));
        dir.Write("bad.png", []);
        var before = TestImages.TreeHash(dir.Path);
        var config = new DataConfig { ImageSize = 4 };
        var a = ImageDataset.Load(dir.Path, config);
        var b = ImageDataset.Load(dir.Path, config, memoryBudgetBytes: 0);
        Assert.Equal(before, TestImages.TreeHash(dir.Path));
        Assert.True(a.IsCached);
        Assert.False(b.IsCached);
        Assert.Equal(a.Fingerprint, b.Fingerprint);
        Assert.Equal(64, a.Fingerprint.Length);
        var x = new byte[16];
        var y = new byte[16];
        for (int i = 0; i < a.Count; i++)
        {
            a.CopyImage(i, x);
            b.CopyImage(i, y);
            Assert.Equal(x, y);
        }
        Assert.NotEqual(a.Fingerprint, ImageDataset.Load(dir.Path, config with { ImageSize = 8 }).Fingerprint);
        Assert.Equal(before, TestImages.TreeHash(dir.Path));
    }

    [Fact]
    public void SmallImagesAreListedAsUpscaled()
    {
        using var dir = new TempFolder();
        dir.Write("big.png", Gray(10));
        dir.Write("tiny.png", TestImages.GrayPng(3, 3, (x, y) => 7));
        var ds = ImageDataset.Load(dir.Path, new DataConfig { ImageSize = 8 });
        Assert.Equal(["tiny.png"], ds.Upscaled);
    }

    [Fact]
    public void SymlinkLoopsEnd()
    {
        using var dir = new TempFolder();
        dir.Write("a/x.png", Gray(10));
        try { Directory.CreateSymbolicLink(dir["a/loop"], dir.Path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or PlatformNotSupportedException)
        {
            Assert.Skip("symbolic links are not available here: " + e.Message);
        }
        var ds = ImageDataset.Load(dir.Path, new DataConfig { ImageSize = 4 });
        Assert.Equal(["a/x.png"], ds.RelativePaths);
    }

    [Fact]
    public void NonAsciiAndSpacedNamesWork()
    {
        using var dir = new TempFolder("ünï code ");
        dir.Write("lettre é/à b.png", Gray(50));
        dir.Write("字.png", Gray(60));
        var ds = ImageDataset.Load(dir.Path, new DataConfig { ImageSize = 4 });
        Assert.Equal(["lettre é/à b.png", "字.png"], ds.RelativePaths);
    }

    [Fact]
    public void ProgressIsReported()
    {
        using var dir = new TempFolder();
        for (int i = 0; i < 3; i++) dir.Write($"{i}.png", Gray(10));
        int last = 0;
        var progress = new SyncProgress(v => last = Math.Max(last, v));
        ImageDataset.Load(dir.Path, new DataConfig { ImageSize = 4 }, progress);
        Assert.Equal(3, last);
    }

    private sealed class SyncProgress(Action<int> report) : IProgress<int>
    {
        public void Report(int value) { lock (this) report(value); }
    }
}
