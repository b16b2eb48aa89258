namespace Noisette.Data;

/// <summary>
/// Pictures beside what became of them (an autoencoder's reconstructions): rows of up to eight originals, each row
/// followed by the row of their counterparts, written as one PNG.
/// </summary>
public static class ComparisonGrid
{
    public const int Columns = 8;

    /// <summary>Writes the grid of CHW byte images (same count in both lists) and returns it.</summary>
    public static PlanarImage Write(string path, IReadOnlyList<byte[]> originals, IReadOnlyList<byte[]> counterparts, int channels, int size)
    {
        if (originals.Count != counterparts.Count) throw new ArgumentException("every original needs its counterpart", nameof(counterparts));
        var blank = Enumerable.Repeat((byte)255, channels * size * size).ToArray();
        var cells = new List<PlanarImage>();
        for (int start = 0; start < originals.Count; start += Columns)
        {
            int n = Math.Min(Columns, originals.Count - start);
            foreach (var row in new[] { originals, counterparts })
                for (int i = 0; i < Columns; i++)
                    cells.Add(new PlanarImage(channels, size, size, i < n ? row[start + i] : blank));
        }
        var image = ImageGrid.Compose(cells, Columns);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        PngWriter.Write(path, image);
        return image;
    }
}
