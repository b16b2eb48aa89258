using static TorchSharp.torch;

namespace Noisette.Evaluation;

/// <summary>
/// How closely reconstructions match their originals, per image, for images in [−1, 1] (read as [0, 1]):
/// <list type="bullet">
/// <item>PSNR, 10·log₁₀(1 / MSE) in dB (higher is better; identical images give +∞, reported as 100 dB);</item>
/// <item>SSIM (Wang, Bovik, Sheikh and Simoncelli 2004): luminance, contrast and structure compared in an 11×11
/// Gaussian window of σ 1.5 (smaller for images under 11 pixels), with C₁ = 0.01² and C₂ = 0.03², over the window
/// positions inside the image ("valid"), averaged over positions and channels; 1 for identical images.</item>
/// </list>
/// Computed in float64, the separable window as two matrix products. Written here because no kept library computes SSIM on tensors.
/// </summary>
public static class ReconstructionQuality
{
    /// <summary>The PSNR reported for identical images.</summary>
    public const double IdenticalPsnr = 100;

    /// <summary>PSNR per image (B) of images (B, C, H, W) in [−1, 1].</summary>
    public static double[] Psnr(Tensor originals, Tensor reconstructions)
    {
        using var scope = NewDisposeScope();
        var (a, b) = (Unit(originals), Unit(reconstructions));
        var mse = (a - b).square().mean([1, 2, 3]).data<double>().ToArray();
        return mse.Select(m => m <= 1e-10 ? IdenticalPsnr : Math.Min(IdenticalPsnr, 10 * Math.Log10(1 / m))).ToArray();
    }

    /// <summary>SSIM per image (B) of images (B, C, H, W) in [−1, 1].</summary>
    public static double[] Ssim(Tensor originals, Tensor reconstructions)
    {
        using var scope = NewDisposeScope();
        var (x, y) = (Unit(originals), Unit(reconstructions));
        int size = (int)Math.Min(x.shape[2], x.shape[3]);
        int window = Math.Min(11, size % 2 == 1 ? size : size - 1);
        // The separable Gaussian window as two banded matrices (valid positions only): rows, then columns.
        var rows = Band(x.shape[2], window);
        var columns = Band(x.shape[3], window);
        Tensor Blur(Tensor t) => matmul(rows.t(), matmul(t, columns));
        var (mx, my) = (Blur(x), Blur(y));
        var sxx = Blur(x * x) - mx * mx;
        var syy = Blur(y * y) - my * my;
        var sxy = Blur(x * y) - mx * my;
        const double c1 = 0.01 * 0.01, c2 = 0.03 * 0.03;
        var map = (2 * mx * my + c1) * (2 * sxy + c2) / ((mx * mx + my * my + c1) * (sxx + syy + c2));
        return map.mean([1, 2, 3]).data<double>().ToArray();
    }

    private static Tensor Unit(Tensor images) => ((images.to(float64, CPU) + 1) / 2).clamp(0, 1);

    /// <summary>(n, n − w + 1): column j holds the normalised Gaussian of width w and σ 1.5 at rows j … j + w − 1.</summary>
    private static Tensor Band(long n, int w)
    {
        var offsets = arange(w, dtype: float64) - (w - 1) / 2.0;
        var g = (-(offsets * offsets) / (2 * 1.5 * 1.5)).exp();
        g /= g.sum();
        var band = zeros(n, n - w + 1, dtype: float64);
        for (long j = 0; j < n - w + 1; j++) band[TensorIndex.Slice(j, j + w), j] = g;
        return band;
    }
}
