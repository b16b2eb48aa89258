using Noisette.Data;
using Noisette.Evaluation;
using Noisette.Runs;

namespace Noisette.Tests.Evaluation;

public class SampleDistanceTests
{
    /// <summary>Gray 32 px pictures of random mid-range pixels (50..199), so that a shift of ±50 never clips.</summary>
    private static List<byte[]> Pictures(int count, int seed, int shift = 0)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, count).Select(_ =>
        {
            var b = new byte[32 * 32];
            for (int i = 0; i < b.Length; i++) b[i] = (byte)(rng.Next(50, 200) + shift);
            return b;
        }).ToList();
    }

    private static InMemoryImageSet Set(IReadOnlyList<byte[]> pictures, int channels = 1, int size = 32) =>
        new(pictures.SelectMany(p => p).ToArray(), pictures.Count, channels, size);

    [Fact]
    public void FeaturesAreTheAreaMeansAtSixteenPixelsInMinusOneToOne()
    {
        var picture = new byte[32 * 32];
        for (int i = 0; i < picture.Length; i++) picture[i] = (byte)(i * 7 % 256);
        using var f = SampleDistance.Features([picture], 1, 32);
        Assert.Equal(new long[] { 1, 256 }, f.shape);
        var values = f.data<double>().ToArray();
        for (int y = 0; y < 16; y++)
            for (int x = 0; x < 16; x++)
            {
                double sum = 0;
                for (int dy = 0; dy < 2; dy++)
                    for (int dx = 0; dx < 2; dx++) sum += picture[(2 * y + dy) * 32 + 2 * x + dx];
                Assert.Equal(sum / 4 / 127.5 - 1, values[y * 16 + x], 12);
            }
        // Pictures of 16 px or less are compared as they are.
        var small = new byte[3 * 8 * 8];
        small[5] = 255;
        using var g = SampleDistance.Features([small], 3, 8);
        Assert.Equal(192, g.shape[1]);
        Assert.Equal(1.0, g[0, 5].item<double>());
        Assert.Equal(-1.0, g[0, 6].item<double>());
    }

    [Fact]
    public void ThePicturesThemselvesAreAtDistanceZero()
    {
        var pictures = Pictures(40, seed: 1);
        using var distance = SampleDistance.To(Set(pictures));
        Assert.Equal(40, distance.ReferenceCount);
        Assert.Equal(0, distance.Of(pictures), 6);
    }

    [Fact]
    public void AUniformShiftInBrightnessCostsItsSquareInEveryDimension()
    {
        // Same covariance, means apart by δ in each of the 256 coarse pixels: d² = 256·δ² exactly.
        var pictures = Pictures(60, seed: 2);
        using var distance = SampleDistance.To(Set(pictures));
        foreach (int shift in new[] { -30, 10, 50 })
        {
            double delta = shift / 127.5;
            var shifted = pictures.Select(p => p.Select(b => (byte)(b + shift)).ToArray()).ToList();
            Assert.Equal(256 * delta * delta, distance.Of(shifted), 1e-5);   // the matrix square roots round in the 7th digit
        }
        // Another draw of the same distribution is closer than the same draw darkened.
        double other = distance.Of(Pictures(60, seed: 3)), darker = distance.Of(Pictures(60, seed: 3, shift: -40));
        Assert.True(other < darker, $"{other} vs {darker}");
    }

    [Fact]
    public void ALargeReferenceIsThinnedEvenlyAndTooFewPicturesAreRefused()
    {
        var many = Pictures(SampleDistance.MaxReference + 500, seed: 4);
        using (var thinned = SampleDistance.To(Set(many))) Assert.Equal(SampleDistance.MaxReference, thinned.ReferenceCount);
        var e = Assert.Throws<NoisetteInputException>(() => SampleDistance.To(Set(Pictures(SampleDistance.MinPictures - 1, seed: 5))));
        Assert.Contains($"at least {SampleDistance.MinPictures} reference pictures", e.Message);
        using var distance = SampleDistance.To(Set(Pictures(20, seed: 6)));
        e = Assert.Throws<NoisetteInputException>(() => distance.Of(Pictures(3, seed: 7)));
        Assert.Contains($"at least {SampleDistance.MinPictures} sampled pictures, got 3", e.Message);
    }

    private sealed record Candidate(long Step, double? Distance, double? Validation);

    [Fact]
    public void BestGoesBySampleDistanceWhereMeasuredElseByValidationLoss()
    {
        Candidate? Best(params Candidate[] c) => Checkpoint.BestOf(c, x => x.Step, x => x.Distance, x => x.Validation);
        // The lowest distance wins, whatever the validation losses say; checkpoints without a distance do not compete.
        Assert.Equal(200, Best(new(100, 9.0, 0.01), new(200, 3.0, 0.05), new(300, 5.0, 0.02), new(400, null, 0.001))!.Step);
        // Without any distance: the lowest validation loss; NaN is never best.
        Assert.Equal(300, Best(new(100, null, 0.04), new(200, double.NaN, 0.03), new(300, null, 0.02))!.Step);
        // A tie goes to the earlier step; nothing measured, no best.
        Assert.Equal(100, Best(new(200, 2.0, null), new(100, 2.0, null))!.Step);
        Assert.Null(Best(new(100, null, null), new(200, null, double.NaN)));
    }
}
