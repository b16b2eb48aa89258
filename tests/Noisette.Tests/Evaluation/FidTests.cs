using Noisette.Evaluation;
using static TorchSharp.torch;

namespace Noisette.Tests.Evaluation;

public class FidTests
{
    private static string TinyNetwork => Fixtures.Path("eval", "tiny_inception.pt");

    /// <summary>Smooth random RGB (or gray) images: blobs of colour over a gradient, uint8 C×H×W.</summary>
    private static List<byte[]> Images(int count, int channels, int size, int seed, int brightnessShift = 0)
    {
        var rng = new Random(seed);
        var list = new List<byte[]>();
        for (int i = 0; i < count; i++)
        {
            var img = new byte[channels * size * size];
            double cx = rng.NextDouble() * size, cy = rng.NextDouble() * size, r = 2 + rng.NextDouble() * size / 3;
            var colour = Enumerable.Range(0, channels).Select(_ => rng.Next(256)).ToArray();
            int background = rng.Next(40, 200);
            for (int c = 0; c < channels; c++)
                for (int y = 0; y < size; y++)
                    for (int x = 0; x < size; x++)
                    {
                        double d = Math.Sqrt((x - cx) * (x - cx) + (y - cy) * (y - cy));
                        double v = d < r ? colour[c] : background + 2.0 * (x - size / 2);
                        img[(c * size + y) * size + x] = (byte)Math.Clamp(Math.Round(v + brightnessShift), 0, 255);
                    }
            list.Add(img);
        }
        return list;
    }

    [Fact]
    public void FrechetDistanceMatchesClosedFormForGaussians()
    {
        // Diagonal covariances: d² = ‖μ₁ − μ₂‖² + Σ (√a − √b)².
        var a = new double[] { 1, 4, 9, 0.25 };
        var b = new double[] { 4, 1, 1, 0.25 };
        var m1 = tensor(new double[] { 0, 1, 2, 3 });
        var m2 = tensor(new double[] { 1, 1, 2, 1 });
        double expected = 1 + 4 + a.Zip(b).Sum(p => Math.Pow(Math.Sqrt(p.First) - Math.Sqrt(p.Second), 2));
        Assert.Equal(expected, Fid.FrechetDistance(m1, diag(tensor(a)), m2, diag(tensor(b))), 1e-10);

        // A common rotation changes nothing, though the rotated covariances are full matrices.
        var (q, _) = linalg.qr(randn(4, 4, dtype: float64, generator: new Generator(3)));
        var ra = q.matmul(diag(tensor(a))).matmul(q.t());
        var rb = q.matmul(diag(tensor(b))).matmul(q.t());
        Assert.Equal(expected, Fid.FrechetDistance(q.matmul(m1), ra, q.matmul(m2), rb), 1e-9);
    }

    [Fact]
    public void TheTinyTorchScriptNetworkLoadsAndGivesFeatures()
    {
        using var net = FeatureNetwork.Load(TinyNetwork, inputSize: 32);
        var rgb = Images(5, 3, 16, seed: 1);
        using var f = net.Features(rgb, 3, 16, batchSize: 2);
        Assert.Equal(new long[] { 5, 19 }, f.shape);
        Assert.Equal(float64, f.dtype);

        // Gray images are repeated to three channels.
        var gray = Images(3, 1, 16, seed: 2);
        var asRgb = gray.Select(g => g.Concat(g).Concat(g).ToArray()).ToList();
        using var fg = net.Features(gray, 1, 16);
        using var fr = net.Features(asRgb, 3, 16);
        Assert.True(fg.allclose(fr, rtol: 0, atol: 1e-6));
    }

    [Fact]
    public void MissingOrBrokenNetworkFileIsBadInput()
    {
        using var dir = new TempFolder();
        Assert.Throws<NoisetteInputException>(() => FeatureNetwork.Load(dir["missing.pt"]));
        File.WriteAllText(dir["junk.pt"], "not a torchscript file");
        Assert.Throws<NoisetteInputException>(() => FeatureNetwork.Load(dir["junk.pt"]));
    }

    [Fact]
    public void FidAndKidAreZeroOnIdenticalSetsAndGrowWithAShift()
    {
        using var net = FeatureNetwork.Load(TinyNetwork, inputSize: 32);
        var real = Images(80, 3, 16, seed: 7);
        using var fReal = net.Features(real, 3, 16);
        double fidSame = Fid.Compute(fReal, fReal);
        var kidSame = Kid.Compute(fReal, fReal, subsets: 20, subsetSize: 40, seed: 1);
        Assert.InRange(fidSame, 0, 1e-6);

        var fids = new List<double>();
        var kids = new List<double>();
        foreach (int shift in new[] { 24, 48, 96, 160 })
        {
            using var f = net.Features(Images(80, 3, 16, seed: 7, brightnessShift: shift), 3, 16);
            fids.Add(Fid.Compute(f, fReal));
            kids.Add(Kid.Compute(f, fReal, subsets: 20, subsetSize: 40, seed: 1).Mean);
        }
        for (int i = 1; i < fids.Count; i++)
        {
            Assert.True(fids[i] > fids[i - 1], $"FID {string.Join(", ", fids)} does not grow with the shift");
            Assert.True(kids[i] > kids[i - 1], $"KID {string.Join(", ", kids)} does not grow with the shift");
        }
        Assert.True(fids[0] > 1000 * Math.Max(fidSame, 1e-12));
        // Identical sets: the unbiased estimate is slightly negative, −O(1/subset size), and tiny next to a shift.
        Assert.True(kidSame.Mean <= 0 && -kidSame.Mean < kids[0] / 10, $"KID of identical sets {kidSame.Mean} vs shifted {kids[0]}");

        // An independent draw of the same distribution scores far below a shifted set.
        using var other = net.Features(Images(80, 3, 16, seed: 8), 3, 16);
        Assert.True(Fid.Compute(other, fReal) < fids[^1]);
    }
}
