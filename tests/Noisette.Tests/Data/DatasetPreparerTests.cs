using Noisette.Data;

namespace Noisette.Tests.Data;

public class DatasetPreparerTests
{
    private static double[] Gray(string path)
    {
        var d = ImageDecoder.Decode(path);
        return Enumerable.Range(0, d.Width * d.Height).Select(i => (double)d.Rgba[i * 4]).ToArray();
    }

    [Fact]
    public void BaselineAlignmentBringsShiftedGlyphsToOneBaseline()
    {
        using var data = new TempFolder();
        using var outParent = new TempFolder();
        var names = Directory.GetFiles(DatasetFixtures.CleanLetters).Select(Path.GetFileName).Order(StringComparer.Ordinal).Take(12).ToList();
        int[] shifts = [-7, -4, -2, 0, 1, 3, 5, 6, -5, 2, 4, -3];
        for (int i = 0; i < names.Count; i++) data.Write(names[i]!, DatasetFixtures.ShiftedGlyph(names[i]!, shifts[i], shifts[i] / 2));
        double Spread(IEnumerable<string> files)
        {
            var bottoms = files.Select(f => InkBox.Measure(Gray(f), 64, 64, out _)!.Value.Bottom).ToList();
            return bottoms.Max() - bottoms.Min();
        }
        Assert.True(Spread(Directory.GetFiles(data.Path)) > 10);
        var before = TestImages.TreeHash(data.Path);
        var outDir = outParent["prepared"];
        var result = DatasetPreparer.Prepare(data.Path, outDir, new PrepareOptions { Align = FramingAlignment.Baseline });
        Assert.Equal(before, TestImages.TreeHash(data.Path));
        Assert.Equal(12, result.Written);
        Assert.Empty(result.NotAligned);
        var outputs = Directory.GetFiles(outDir, "*.png");
        Assert.Equal(12, outputs.Length);
        Assert.True(Spread(outputs) <= 1.0, $"baseline spread {Spread(outputs):0.00} px");
        Assert.All(outputs, f => Assert.InRange(InkBox.Measure(Gray(f), 64, 64, out _)!.Value.CenterX, 31, 33));
        Assert.Equal(ImageFormat.Png, ImageDecoder.Decode(outputs[0]).Source.Format);
        Assert.Equal("gray", ImageDecoder.Decode(outputs[0]).Source.PixelLayout);
        Assert.Contains(PngText.Read(outputs[0]), kv => kv.Key == "Source");
    }

    [Fact]
    public void TargetHeightAndCentreAlignment()
    {
        using var data = new TempFolder();
        using var outParent = new TempFolder();
        DatasetFixtures.CopyCleanGlyphs(data, 4);
        var result = DatasetPreparer.Prepare(data.Path, outParent["o"],
            new PrepareOptions { Align = FramingAlignment.Center, TargetHeightPercent = 50, Config = new DataConfig { ImageSize = 32 } });
        foreach (var f in Directory.GetFiles(result.OutputFolder))
        {
            var box = InkBox.Measure(Gray(f), 32, 32, out _)!.Value;
            Assert.InRange(box.Height, 15, 17);
            Assert.InRange(box.CenterY, 15, 17);
        }
    }

    /// <summary>
    /// A prepare that crashed leaves its half-filled temp folder beside the output; the next prepare of the same
    /// output removes it, and leaves alone the leftovers of other folders and anything that is not a leftover.
    /// </summary>
    [Fact]
    public void TheTempFolderOfAnInterruptedPrepareIsRemovedByTheNext()
    {
        using var data = new TempFolder();
        using var outParent = new TempFolder();
        DatasetFixtures.CopyCleanGlyphs(data, 2);
        var outDir = outParent["prepared"];
        var crashed = Noisette.IO.AtomicFile.LeftoverPath(outDir, Noisette.IO.AtomicFile.TempSuffix);
        Directory.CreateDirectory(crashed);
        File.WriteAllBytes(Path.Combine(crashed, "half.png"), [1, 2, 3]);
        var otherLeftover = Noisette.IO.AtomicFile.LeftoverPath(outParent["elsewhere"], Noisette.IO.AtomicFile.TempSuffix);
        Directory.CreateDirectory(otherLeftover);
        Directory.CreateDirectory(outParent[".prepared.notes"]);

        var result = DatasetPreparer.Prepare(data.Path, outDir);
        Assert.Equal(2, result.Written);
        Assert.False(Directory.Exists(crashed));
        Assert.True(Directory.Exists(otherLeftover));
        Assert.True(Directory.Exists(outParent[".prepared.notes"]));
        Assert.Equal(new[] { ".prepared.notes", Path.GetFileName(otherLeftover), "prepared" }.Order(StringComparer.Ordinal),
                     Directory.GetDirectories(outParent.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void OutputInsideTheDataFolderOrNotEmptyIsRefused()
    {
        using var data = new TempFolder();
        DatasetFixtures.CopyCleanGlyphs(data, 2);
        var before = TestImages.TreeHash(data.Path);
        var e = Assert.Throws<NoisetteInputException>(() => DatasetPreparer.Prepare(data.Path, data["out"]));
        Assert.Contains("inside", e.Message);
        Assert.Throws<NoisetteInputException>(() => DatasetPreparer.Prepare(data.Path, data.Path));
        using var other = new TempFolder();
        other.Write("x.txt", [1]);
        e = Assert.Throws<NoisetteInputException>(() => DatasetPreparer.Prepare(data.Path, other.Path));
        Assert.Contains("not empty", e.Message);
        Assert.Equal(before, TestImages.TreeHash(data.Path));
    }
}
