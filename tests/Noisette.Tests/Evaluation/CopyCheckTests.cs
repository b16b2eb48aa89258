using Noisette.Data;
using Noisette.Evaluation;

namespace Noisette.Tests.Evaluation;

public class CopyCheckTests
{
    /// <summary>The 32 px gray glyphs of the letter A in the fixtures, in file order.</summary>
    private static InMemoryImageSet Glyphs()
    {
        var ds = ImageDataset.Load(Fixtures.Path("letters", "A"), new DataConfig { ImageSize = 32, Channels = ChannelMode.Gray });
        var px = new byte[ds.Count * ds.ImageBytes];
        for (int i = 0; i < ds.Count; i++) ds.CopyImage(i, px.AsSpan(i * ds.ImageBytes, ds.ImageBytes));
        return new InMemoryImageSet(px, ds.Count, 1, 32);
    }

    private static byte[] Image(IImageSet set, int i)
    {
        var b = new byte[set.Channels * set.ImageSize * set.ImageSize];
        set.CopyImage(i, b);
        return b;
    }

    private static InMemoryImageSet Subset(IImageSet set, IEnumerable<int> indices)
    {
        var list = indices.ToList();
        return new InMemoryImageSet(list.SelectMany(i => Image(set, i)).ToArray(), list.Count, set.Channels, set.ImageSize);
    }

    [Fact]
    public void MemorisedSamplesAreFlaggedAndHeldOutImagesAreNot()
    {
        var glyphs = Glyphs();
        var training = Subset(glyphs, [0, 1, 2, 3]);     // a 4-image training set
        // What a model that memorised it produces: its training images with a little noise (±4 levels).
        var rng = new Random(5);
        var memorised = Enumerable.Range(0, 8)
            .Select(i => Image(training, i % 4).Select(v => (byte)Math.Clamp(v + rng.Next(-4, 5), 0, 255)).ToArray()).ToList();
        var copies = CopyCheck.Run(memorised, training);
        Assert.Equal(4, copies.Neighbours);                // min(50, training count)
        Assert.Equal(1.0, copies.Rate);
        Assert.All(copies.Matches, m => Assert.Equal(m.Sample % 4, m.NearestTraining));

        // Real glyphs the model never saw are not copies of these four.
        var heldOut = Enumerable.Range(4, 40).Select(i => Image(glyphs, i)).ToList();
        var fresh = CopyCheck.Run(heldOut, training);
        Assert.Equal(0.0, fresh.Rate);

        // Against a larger training set (k = 50) the memorised samples still stand out. (Held-out glyphs are not
        // checked against it: some fonts in the fixtures share one design, e.g. Latin Modern Sans and Computer Modern
        // Sans, and the check rightly calls those near-copies.)
        var bigTraining = Subset(glyphs, Enumerable.Range(0, 4).Concat(Enumerable.Range(60, 80)));
        var big = CopyCheck.Run(memorised, bigTraining);
        Assert.Equal(50, big.Neighbours);
        Assert.Equal(1.0, big.Rate);
    }

    [Fact]
    public void ChunkingDoesNotChangeTheAnswerAndTheGalleryIsWorstFirst()
    {
        var glyphs = Glyphs();
        var training = Subset(glyphs, Enumerable.Range(0, 30));
        var samples = new List<byte[]> { Image(glyphs, 40), Image(glyphs, 7), Image(glyphs, 41) };
        var whole = CopyCheck.Run(samples, training, neighbours: 10);
        var chunked = CopyCheck.Run(samples, training, neighbours: 10, chunk: 4);
        Assert.Equal(whole.Matches.Select(m => (m.Sample, m.NearestTraining)), chunked.Matches.Select(m => (m.Sample, m.NearestTraining)));
        Assert.All(whole.Matches.Zip(chunked.Matches), p => Assert.Equal(p.First.Ratio, p.Second.Ratio, 1e-9));
        Assert.Equal(1, whole.Matches[0].Sample);          // the exact training image comes first
        Assert.Equal(0, whole.Matches[0].NearestDistance, 1e-6);
        Assert.True(whole.Matches[0].IsNearCopy);
        Assert.Equal(whole.Matches.Select(m => m.Ratio).Order(), whole.Matches.Select(m => m.Ratio));

        using var dir = new TestData.TempDir();
        var path = dir["gallery.html"];
        CopyGallery.Write(path, whole, samples, training, i => $"glyph<{i}>.png");
        var html = File.ReadAllText(path);
        Assert.Equal(6, CountOf(html, "src=\"data:image/png;base64,"));
        Assert.Contains("glyph&lt;7&gt;.png", html);       // names are escaped
        Assert.True(html.IndexOf("sample 1<", StringComparison.Ordinal) < html.IndexOf("sample 0<", StringComparison.Ordinal));
        Assert.DoesNotContain("src=\"http", html);        // self-contained
    }

    [Fact]
    public void BadInputIsRefused()
    {
        var training = TestData.Bars(3);
        Assert.Throws<NoisetteInputException>(() => CopyCheck.Run([new byte[10]], training));
        Assert.Throws<NoisetteInputException>(() => CopyCheck.Run([new byte[32 * 32]], new InMemoryImageSet([], 0, 1, 32)));
    }

    private static int CountOf(string text, string what)
    {
        int n = 0;
        for (int i = text.IndexOf(what, StringComparison.Ordinal); i >= 0; i = text.IndexOf(what, i + 1, StringComparison.Ordinal)) n++;
        return n;
    }
}
