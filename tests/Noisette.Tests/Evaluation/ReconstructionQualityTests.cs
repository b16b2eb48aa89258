using Noisette.Evaluation;
using static TorchSharp.torch;

namespace Noisette.Tests;

/// <summary>PSNR and SSIM against their closed forms.</summary>
public sealed class ReconstructionQualityTests
{
    [Fact]
    public void PsnrIsTheClosedFormOfTheMeanSquaredError()
    {
        using var scope = NewDisposeScope();
        var a = zeros(2, 3, 16, 16);
        var b = a.clone();
        b[0] += 0.2;                       // 0.1 in [0, 1]: MSE 0.01, 20 dB
        Assert.Equal([20.0, ReconstructionQuality.IdenticalPsnr], ReconstructionQuality.Psnr(a, b).Select(p => Math.Round(p, 5)));
    }

    [Fact]
    public void SsimOfConstantImagesIsTheLuminanceTermAndIdenticalImagesGiveOne()
    {
        using var scope = NewDisposeScope();
        // Constant images a and b (in [0, 1]): no variance, so SSIM = (2ab + C₁) / (a² + b² + C₁).
        double ua = 0.25, ub = 0.75, c1 = 1e-4;
        var a = full(1, 1, 20, 20, ua * 2 - 1);
        var b = full(1, 1, 20, 20, ub * 2 - 1);
        Assert.Equal((2 * ua * ub + c1) / (ua * ua + ub * ub + c1), ReconstructionQuality.Ssim(a, b)[0], 1e-9);
        random.manual_seed(1);
        var x = rand(2, 3, 24, 24) * 2 - 1;
        Assert.All(ReconstructionQuality.Ssim(x, x), s => Assert.Equal(1.0, s, 1e-9));
        // Noise lowers it, more noise lowers it more.
        double little = ReconstructionQuality.Ssim(x, (x + 0.05 * randn_like(x)).clamp(-1, 1)).Average();
        double much = ReconstructionQuality.Ssim(x, (x + 0.5 * randn_like(x)).clamp(-1, 1)).Average();
        Assert.True(1 > little && little > much, $"SSIM {little} with little noise, {much} with much");
        // Images smaller than the 11-pixel window use a smaller one.
        Assert.Equal(1.0, ReconstructionQuality.Ssim(x[.., .., ..8, ..8], x[.., .., ..8, ..8])[0], 1e-9);
    }
}
