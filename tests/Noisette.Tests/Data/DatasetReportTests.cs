using Noisette.Data;
using SkiaSharp;

namespace Noisette.Tests.Data;

public class DatasetReportTests
{
    private static DatasetReport Check(TempFolder dir) => DatasetReport.Run(dir.Path, new DatasetCheckOptions());

    private static void AssertOnly(DatasetReport report, string kind, params string[] files)
    {
        var warnings = report.Problems.Where(p => p.Severity >= ProblemSeverity.Warning).ToList();
        var p = Assert.Single(warnings);
        Assert.Equal(kind, p.Kind);
        Assert.Equal(files.Order(StringComparer.Ordinal), p.Files.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void CleanGlyphSetFlagsFewerThanOnePercent()
    {
        var report = DatasetReport.Run(DatasetFixtures.CleanLetters);
        Assert.Equal(193, report.ReadableCount);
        Assert.True(report.FlaggedImages.Count < 0.01 * report.ReadableCount, report.Summary());
        Assert.False(report.HasFatal);
        Assert.Equal(ChannelMode.Gray, report.ResolvedChannels);
        Assert.Equal(193, report.TrainCount + report.ValidationCount);
        Assert.InRange(report.Framing.Measures.Single(m => m.Name == "bottom").Median, 51.5, 52.5);
        Assert.Equal(193, report.Sizes["64×64"]);
        Assert.Equal(193, report.AspectRatios["1:1"]);
        Assert.Equal(193, report.Formats["PNG"]);
    }

    [Fact]
    public void UnreadableFilesAreListedWithReasons()
    {
        using var dir = new TempFolder();
        DatasetFixtures.CopyCleanGlyphs(dir);
        var good = File.ReadAllBytes(Directory.GetFiles(DatasetFixtures.CleanLetters)[0]);
        dir.Write("zero.png", []);
        dir.Write("trunc.png", good[..(good.Length / 2)]);
        var corrupt = TestImages.Png(32, 32, (x, y) => new SKColor((byte)(x * 7), (byte)(y * 5), 0));
        for (int i = 60; i < corrupt.Length - 16; i++) corrupt[i] ^= 0x5A;
        dir.Write("corrupt.png", corrupt);
        dir.Write("notes.png", "just text"u8.ToArray());
        dir.Write("bomb.png", TestImages.HugePngHeader(12000, 12000));
        var report = Check(dir);
        var reasons = report.Unreadable.ToDictionary(u => u.RelativePath, u => u.Reason);
        Assert.Contains("zero-byte", reasons["zero.png"]);
        Assert.Contains("truncated", reasons["trunc.png"]);
        Assert.Matches("corrupt|truncated", reasons["corrupt.png"]);
        Assert.Contains("not an image", reasons["notes.png"]);
        Assert.Contains("megapixels", reasons["bomb.png"]);
        AssertOnly(report, "unreadable", "zero.png", "trunc.png", "corrupt.png", "notes.png", "bomb.png");
        Assert.False(report.HasFatal);
    }

    [Fact]
    public void ExactAndNearDuplicatesAreGrouped()
    {
        using var dir = new TempFolder();
        var names = DatasetFixtures.CopyCleanGlyphs(dir);
        File.Copy(dir.File(names[3]), dir.File("copy.png"));
        dir.Write("bigger.png", DatasetFixtures.EnlargedGlyph(names[5], 2));
        var report = Check(dir);
        var exact = Assert.Single(report.ExactDuplicates);
        Assert.Equal(new[] { "copy.png", names[3] }.Order(StringComparer.Ordinal), exact.Files.Order(StringComparer.Ordinal));
        var near = Assert.Single(report.NearDuplicates);
        Assert.Equal(new[] { "bigger.png", names[5] }.Order(StringComparer.Ordinal), near.Files.Order(StringComparer.Ordinal));
        Assert.Contains(report.Problems, p => p.Kind == "exact-duplicates" && p.Message.Contains("overweight"));
        Assert.Contains(report.Problems, p => p.Kind == "near-duplicates" && p.Message.Contains("overweight"));
        Assert.DoesNotContain(report.Problems, p => p.Severity >= ProblemSeverity.Warning && p.Kind is not ("exact-duplicates" or "near-duplicates"));
    }

    [Fact]
    public void APhotoAndABlankImageAreOutliers()
    {
        using var dir = new TempFolder();
        DatasetFixtures.CopyCleanGlyphs(dir);
        dir.Write("photo.png", TestImages.Png(64, 64, (x, y) => new SKColor((byte)(40 + x * 2), (byte)(60 + y), (byte)(150 - x - y))));
        var report = Check(dir);
        var photo = report.Outliers.Where(o => o.RelativePath == "photo.png").ToList();
        Assert.Contains(photo, o => o.Statistic == "colourfulness");
        Assert.Contains(photo, o => o.Statistic == "brightness");
        Assert.All(report.Outliers, o => Assert.Equal("photo.png", o.RelativePath));
        AssertOnly(report, "outliers", "photo.png");

        File.Delete(dir.File("photo.png"));
        dir.Write("white.png", TestImages.GrayPng(64, 64, (x, y) => 255));
        report = Check(dir);
        Assert.Equal(["white.png"], report.BlankImages);
        AssertOnly(report, "blank", "white.png");
    }

    [Fact]
    public void AMisalignedGlyphIsFlagged()
    {
        using var dir = new TempFolder();
        var names = DatasetFixtures.CopyCleanGlyphs(dir);
        File.Delete(dir.File(names[7]));
        dir.Write(names[7], DatasetFixtures.ShiftedGlyph(names[7], -11));
        var report = Check(dir);
        var d = Assert.Single(report.Framing.Deviations);
        Assert.Equal(names[7], d.RelativePath);
        Assert.Equal("baseline", d.Measure);
        Assert.InRange(d.Value, 40, 42);
        AssertOnly(report, "framing", names[7]);
    }

    [Fact]
    public void ATinyImageIsFlaggedAsSmall()
    {
        using var dir = new TempFolder();
        DatasetFixtures.CopyCleanGlyphs(dir);
        var tiny = ImagePreprocessor.LoadImage(Path.Combine(DatasetFixtures.CleanLetters, Directory.GetFiles(DatasetFixtures.CleanLetters)[0]),
            new DataConfig { ImageSize = 16 }, ChannelMode.Gray);
        dir.Write("tiny.png", PngWriter.Encode(new PlanarImage(1, 16, 16, tiny)));
        var report = Check(dir);
        Assert.Equal(["tiny.png"], report.SmallImages);
        AssertOnly(report, "small", "tiny.png");
        Assert.Equal(1, report.SizeHistogram["<32"]);
    }

    [Fact]
    public void CmykSixteenBitAndAnimatedFilesAreInventoried()
    {
        using var dir = new TempFolder();
        DatasetFixtures.CopyCleanGlyphs(dir, 6);
        dir.Write("cmyk.jpg", DatasetFixtures.CmykJpeg());
        dir.Write("deep.png", DatasetFixtures.Png16(8, 8));
        dir.Write("anim.gif", TestImages.AnimatedGif(4, 4, Enumerable.Repeat((byte)1, 16).ToArray(), Enumerable.Repeat((byte)0, 16).ToArray()));
        var report = DatasetReport.Run(dir.Path, new DatasetCheckOptions { Config = new DataConfig { ImageSize = 8 } });
        Assert.Empty(report.Unreadable);
        Assert.Equal(1, report.ChannelModes["CMYK"]);
        Assert.Equal(1, report.ChannelModes["16-bit RGB"]);
        Assert.Equal(1, report.ChannelModes["palette"]);
        Assert.Equal(1, report.Formats["JPEG"]);
        Assert.Equal(1, report.Formats["GIF"]);
        Assert.Contains(report.Notes, n => n.RelativePath == "anim.gif" && n.Note.Contains("first frame"));
        Assert.Contains(report.Problems, p => p.Kind == "animated" && p.Files.Contains("anim.gif"));
        Assert.Contains(report.Problems, p => p.Kind == "converted" && p.Files.Contains("cmyk.jpg"));
        Assert.Contains(report.Problems, p => p.Kind == "converted" && p.Files.Contains("deep.png"));
    }

    [Fact]
    public void NonAsciiNamesWorkAndTheFolderIsUntouched()
    {
        using var dir = new TempFolder("é ");
        var names = DatasetFixtures.CopyCleanGlyphs(dir, 5);
        File.Move(dir.File(names[0]), dir.File("lettre é 字.png"));
        dir.Write("sous dossier/ü.png", []);
        var before = TestImages.TreeHash(dir.Path);
        var report = Check(dir);
        Assert.Contains(report.Images, m => m.RelativePath == "lettre é 字.png");
        Assert.Equal("sous dossier/ü.png", Assert.Single(report.Unreadable).RelativePath);
        Assert.Equal(before, TestImages.TreeHash(dir.Path));
        var json = report.ToJson();
        Assert.Contains("lettre é 字.png", json);
        Assert.Equal(5, System.Text.Json.JsonDocument.Parse(json).RootElement.GetProperty("images").GetArrayLength());
    }

    [Fact]
    public void EmptyFolderIsFatalAndMissingFolderIsAnInputError()
    {
        using var dir = new TempFolder();
        var report = Check(dir);
        Assert.True(report.HasFatal);
        Assert.Equal("no-images", Assert.Single(report.Fatal).Kind);
        dir.Write("a.png", []);
        Assert.True(Check(dir).HasFatal);
        Assert.Throws<NoisetteInputException>(() => DatasetReport.Run(dir.File("missing")));
    }
}
