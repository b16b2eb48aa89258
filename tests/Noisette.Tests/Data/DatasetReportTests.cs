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
    public void FullLettersSetFlagsFewerThanOnePercent()
    {
        // Every letter A of letters64: text faces, scripts, display faces, 253 fonts shrunk to fit A–Z.
        var report = DatasetReport.Run(DatasetFixtures.FullLetters);
        Assert.Equal(1158, report.ReadableCount);
        Assert.True(report.FlaggedImages.Count < 0.01 * report.ReadableCount, report.Summary());
        Assert.False(report.HasFatal);
        Assert.Equal(ChannelMode.Gray, report.ResolvedChannels);
        Assert.Equal(1158, report.TrainCount + report.ValidationCount);
        Assert.InRange(report.Framing.Measures.Single(m => m.Name == "bottom").Median, 51.5, 52.5);
        Assert.Equal(1158, report.Sizes["64×64"]);
        Assert.Equal(1158, report.AspectRatios["1:1"]);
        Assert.Equal(1158, report.Formats["PNG"]);
        // What is flagged is genuinely odd: an identical file pair, a reversed-out design, As far off the baseline.
        Assert.Equal(["monoid-regular.png", "monoid-retina.png"], Assert.Single(report.ExactDuplicates).Files);
        Assert.Contains(report.Outliers, o => o.RelativePath == "rotund.png");
        Assert.Contains(report.Framing.Deviations, d => d.RelativePath == "spheroix.png" && d.Measure == "baseline");
    }

    [Fact]
    public void CleanGlyphSubsetStaysQuiet()
    {
        var report = DatasetReport.Run(DatasetFixtures.CleanLetters);
        Assert.Equal(193, report.ReadableCount);
        Assert.True(report.FlaggedImages.Count < 0.01 * report.ReadableCount, report.Summary());
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
        File.Copy(dir[names[3]], dir["copy.png"]);
        dir.Write("bigger.png", DatasetFixtures.EnlargedGlyph(names[5], 2));
        dir.Write("resaved.jpg", DatasetFixtures.JpegGlyph(names[8], 85));
        dir.Write("brighter.png", DatasetFixtures.BrighterGlyph(names[10], 2));
        dir.Write("darker.png", DatasetFixtures.BrighterGlyph(names[11], -1));
        dir.Write("moved.png", DatasetFixtures.ShiftedGlyph(names[12], 1, -1));
        // Two typefaces whose capital A look alike (both Courier designs) but are different drawings.
        File.Copy(Path.Combine(DatasetFixtures.FullLetters, "freemono.png"), dir["freemono.png"]);
        File.Copy(Path.Combine(DatasetFixtures.FullLetters, "induni-c-regular.png"), dir["induni-c-regular.png"]);
        var report = Check(dir);
        var exact = Assert.Single(report.ExactDuplicates);
        Assert.Equal(new[] { "copy.png", names[3] }.Order(StringComparer.Ordinal), exact.Files.Order(StringComparer.Ordinal));
        var groups = report.NearDuplicates.Select(g => string.Join(" ", g.Files.Order(StringComparer.Ordinal))).Order(StringComparer.Ordinal).ToList();
        var expected = new[] { ("bigger.png", names[5]), ("resaved.jpg", names[8]), ("brighter.png", names[10]), ("darker.png", names[11]), ("moved.png", names[12]) }
            .Select(p => string.Join(" ", new[] { p.Item1, p.Item2 }.Order(StringComparer.Ordinal))).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(expected, groups);
        Assert.Contains(report.Problems, p => p.Kind == "exact-duplicates" && p.Message.Contains("overweight"));
        Assert.Contains(report.Problems, p => p.Kind == "near-duplicates" && p.Message.Contains("overweight"));
        Assert.DoesNotContain(report.Problems, p => p.Severity >= ProblemSeverity.Warning && p.Kind is not ("exact-duplicates" or "near-duplicates"));
        // The look-alike typefaces are not within the threshold, and not because the search missed them.
        var mono = report.Images.Single(m => m.RelativePath == "freemono.png");
        var induni = report.Images.Single(m => m.RelativePath == "induni-c-regular.png");
        Assert.InRange(NearDuplicates.Difference(mono.Thumbnail, induni.Thumbnail), new DatasetCheckOptions().NearDuplicateDifference, 5);
    }

    [Fact]
    public void NearDuplicateSearchFindsEveryPairThatAllPairsWould()
    {
        // The grid index must find exactly what comparing every pair finds, at any threshold.
        var report = DatasetReport.Run(DatasetFixtures.FullLetters);
        var images = report.Images.GroupBy(m => m.ContentHash).Select(g => g.First()).Where(m => !m.IsBlank).Take(500).ToList();
        foreach (var threshold in new[] { 0.6, 1.5, 3.0 })
        {
            var options = new DatasetCheckOptions { NearDuplicateDifference = threshold };
            var groups = NearDuplicates.Find(images, options);
            var parent = Enumerable.Range(0, images.Count).ToArray();
            int Root(int i) => parent[i] == i ? i : parent[i] = Root(parent[i]);
            int pairs = 0;
            for (int a = 0; a < images.Count; a++)
                for (int b = a + 1; b < images.Count; b++)
                    if (NearDuplicates.Difference(images[a].Thumbnail, images[b].Thumbnail) <= threshold) { parent[Root(b)] = Root(a); pairs++; }
            var brute = Enumerable.Range(0, images.Count).GroupBy(Root).Where(g => g.Count() > 1)
                .Select(g => string.Join(" ", g.Select(i => images[i].RelativePath).Order(StringComparer.Ordinal))).Order(StringComparer.Ordinal).ToList();
            Assert.Equal(brute, groups.Select(g => string.Join(" ", g.Files.Order(StringComparer.Ordinal))).Order(StringComparer.Ordinal).ToList());
            Assert.True(pairs > 0 || threshold < 1, $"no pair within {threshold}");
        }
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

        File.Delete(dir["photo.png"]);
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
        File.Delete(dir[names[7]]);
        dir.Write(names[7], DatasetFixtures.ShiftedGlyph(names[7], -11));
        var report = Check(dir);
        var d = Assert.Single(report.Framing.Deviations);
        Assert.Equal(names[7], d.RelativePath);
        Assert.Equal("baseline", d.Measure);
        Assert.InRange(d.Value, 40, 42);
        AssertOnly(report, "framing", names[7]);
    }

    [Fact]
    public void AFourPixelShiftAndATwentyPercentHeightChangeAreFlagged()
    {
        using var dir = new TempFolder();
        var uniform = DatasetFixtures.UniformGlyphs();
        Assert.True(uniform.Count > 100);
        foreach (var f in uniform) File.Copy(Path.Combine(DatasetFixtures.CleanLetters, f), dir[f]);
        var report = Check(dir);
        Assert.Empty(report.Framing.Deviations);

        // Pick plain glyphs standing on the baseline with the full height.
        var plain = report.Images.Where(m => Math.Abs(m.Ink!.Value.Bottom - 52) < 0.2 && Math.Abs(m.Ink!.Value.Height - 40) < 0.5).Select(m => m.RelativePath).ToList();
        string down = plain[3], up = plain[10], small = plain[20], big = plain[30], slight = plain[40];
        dir.Write(down, DatasetFixtures.ShiftedGlyph(down, 4));
        dir.Write(up, DatasetFixtures.ShiftedGlyph(up, -4));
        dir.Write(small, DatasetFixtures.ScaledGlyph(small, 0.8));
        dir.Write(big, DatasetFixtures.ScaledGlyph(big, 1.2));
        dir.Write(slight, DatasetFixtures.ShiftedGlyph(slight, 2));
        report = Check(dir);
        var flagged = report.Framing.Deviations.ToDictionary(d => d.RelativePath, d => d.Measure);
        Assert.Equal(new Dictionary<string, string> { [down] = "baseline", [up] = "baseline", [small] = "ink height", [big] = "ink height" }, flagged);
        Assert.InRange(report.Framing.BaselineTolerance, 3, 4);
        AssertOnly(report, "framing", down, up, small, big);
    }

    [Fact]
    public void UnreadableFilesAreFatalOnlyWhenNothingUsableRemains()
    {
        using var dir = new TempFolder();
        DatasetFixtures.CopyCleanGlyphs(dir, 3);
        for (int i = 0; i < 10; i++) dir.Write($"broken{i}.png", "not an image"u8.ToArray());
        var report = Check(dir);
        Assert.False(report.HasFatal, report.Summary());                  // 3 usable images: training goes on
        var warning = report.Problems.Single(p => p.Kind == "unreadable");
        Assert.Equal(ProblemSeverity.Warning, warning.Severity);
        Assert.Equal(10, warning.Files.Count);
        Assert.Contains("more than the 3 readable", warning.Message);

        foreach (var f in Directory.GetFiles(dir.Path, "*.png").Where(f => !Path.GetFileName(f).StartsWith("broken", StringComparison.Ordinal))) File.Delete(f);
        report = Check(dir);
        Assert.Equal("no-images", Assert.Single(report.Fatal).Kind);          // nothing readable
        Assert.Equal(10, report.Fatal[0].Files.Count);

        foreach (var f in Directory.GetFiles(dir.Path)) File.Delete(f);
        for (int i = 0; i < 4; i++) dir.Write($"white{i}.png", TestImages.GrayPng(16, 16, (x, y) => (byte)(250 - i)));
        dir.Write("broken.png", []);
        report = Check(dir);
        Assert.Equal("all-blank", Assert.Single(report.Fatal).Kind);          // every image blank
    }

    [Fact]
    public void AHugeFileIsRefusedFromItsHeaderWithoutReadingItAll()
    {
        using var dir = new TempFolder();
        var header = TestImages.HugePngHeader(20000, 20000);
        var bytes = new byte[ImageDecoder.HeaderFirstBytes + (4 << 20)];
        header.CopyTo(bytes, 0);
        dir.Write("bomb.png", bytes);
        long before = GC.GetAllocatedBytesForCurrentThread();
        Assert.False(ImageDecoder.TryReadBytes(dir["bomb.png"], out _, out var reason));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Contains("megapixels", reason);
        Assert.True(allocated < 4 << 20, $"{allocated} bytes allocated");
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
        File.Move(dir[names[0]], dir["lettre é 字.png"]);
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
        Assert.Throws<NoisetteInputException>(() => DatasetReport.Run(dir["missing"]));
    }
}
