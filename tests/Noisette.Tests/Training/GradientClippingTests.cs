using Noisette.Training;
using static TorchSharp.torch;

namespace Noisette.Tests.Training;

/// <summary>Global-norm gradient clipping.</summary>
public class GradientClippingTests
{
    /// <summary>10 000 values (two full 4096-element rows and a remainder), of mixed sign and size.</summary>
    private static float[] Gradient() => Enumerable.Range(0, 10_000).Select(i => (float)(Math.Sin(i * 0.37) * (1 + i % 7))).ToArray();

    private static double Norm(float[] v) => Math.Sqrt(v.Sum(x => (double)x * x));

    [Fact]
    public void GlobalNormIsTheL2Norm()
    {
        var g = Gradient();
        using var t = tensor(g);
        using var n = GradientClipping.GlobalNorm(t);
        Assert.True(Math.Abs(n.item<float>() - Norm(g)) < 1e-6 * Norm(g));
        using var small = tensor(new float[] { 3, 4 });
        using var five = GradientClipping.GlobalNorm(small);
        Assert.Equal(5f, five.item<float>());
    }

    [Fact]
    public void AboveTheLimitTheNormBecomesTheLimitAndTheDirectionStays()
    {
        var g = Gradient();
        double before = Norm(g), max = before / 4;
        using var t = tensor(g);
        GradientClipping.Clip(t, max);
        var after = t.data<float>().ToArray();
        Assert.True(Math.Abs(Norm(after) - max) < 1e-5 * max, $"norm after clipping {Norm(after)}, limit {max}");
        for (int i = 0; i < g.Length; i += 97)
            Assert.Equal(g[i] * max / before, after[i], 1e-5);
    }

    [Fact]
    public void BelowTheLimitOrWithClippingOffTheGradientIsUntouched()
    {
        var g = Gradient();
        using var t = tensor(g);
        GradientClipping.Clip(t, Norm(g) * 1.01);
        Assert.Equal(g, t.data<float>().ToArray());
        GradientClipping.Clip(t, 0);
        Assert.Equal(g, t.data<float>().ToArray());
    }
}
