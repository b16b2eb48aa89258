using Noisette.Data;
using Noisette.Evaluation;
using Noisette.Runs;

namespace Noisette.Tests.Evaluation;

/// <summary>
/// Run alone: the memorisation case trains a model at libtorch's process-wide thread count, which a test beside it may
/// set. (A fresh-clone run once flagged only 7 of its 12 samples; trainings then still drew from the process-wide
/// generator, as they no longer do.)
/// </summary>
[Collection(RunsAlone.Name)]
public class CopyCheckTests
{
    /// <summary>The 32 px gray glyphs of the letter A in the fixtures, in file order.</summary>
    private static InMemoryImageSet Glyphs(int size = 32)
    {
        var ds = ImageDataset.Load(Fixtures.Path("letters", "A"), new DataConfig { ImageSize = size, Channels = ChannelMode.Gray });
        var px = new byte[ds.Count * ds.ImageBytes];
        for (int i = 0; i < ds.Count; i++) ds.CopyImage(i, px.AsSpan(i * ds.ImageBytes, ds.ImageBytes));
        return new InMemoryImageSet(px, ds.Count, 1, size);
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

    /// <summary>
    /// The case end to end: the tiny preset (at 16 px, predicting x₀, which memorises fastest) trained on four
    /// glyphs until it reproduces them, then sampled. Its samples are flagged; real glyphs it never saw are not.
    /// </summary>
    [Fact]
    public void ATinyModelThatMemorisedFourImagesIsFlagged()
    {
        var glyphs = Glyphs(16);
        var training = Subset(glyphs, [0, 1, 2, 3]);
        using var dir = new TempFolder();
        var run = new Noisette.Runs.RunFolder(dir["run"]);
        var config = TestData.TinyConfig(300, 300) with
        {
            Batch = 32, LearningRate = 4e-3, WarmupSteps = 20, LogEvery = 100, Threads = 2,
            Model = Noisette.Models.ModelPresets.Get("tiny").Model with { Dropout = 0, ImageSize = 16 },
            Diffusion = new Noisette.Diffusion.DiffusionConfig { Prediction = Noisette.Diffusion.Prediction.X0 },
        };
        using (var trainer = Noisette.Training.Trainer.Start(config, run, training, TestData.Info()))
            trainer.Train(CancellationToken.None);

        using var model = Noisette.Pipelines.LoadedModel.Load(run.Root, ema: false);
        var samples = Noisette.Bundles.ImageBatches.Sample(model.Bundle.Denoiser(), new Noisette.Sampling.DdimSampler(),
                                                           new Noisette.Sampling.SamplerOptions { Steps = 20 }, Enumerable.Range(0, 12).Select(i => (long)i).ToArray());
        var copies = CopyCheck.Run(samples, training);
        var ratios = string.Join(", ", copies.Matches.Select(m => m.Ratio.ToString("F2", System.Globalization.CultureInfo.InvariantCulture)));
        Assert.True(copies.Rate >= 0.75, $"only {copies.NearCopies} of 12 samples flagged; ratios {ratios}");
        // Most of the four are among the ones copied: the model memorised the set, not one picture.
        Assert.True(copies.Matches.Where(m => m.IsNearCopy).Select(m => m.NearestTraining).Distinct().Count() >= 3, $"ratios {ratios}");

        // Real glyphs it never saw are not flagged against the same four.
        var heldOut = CopyCheck.Run(Enumerable.Range(4, 40).Select(i => Image(glyphs, i)).ToList(), training);
        Assert.Equal(0.0, heldOut.Rate);
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

        using var dir = new TempFolder();
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
