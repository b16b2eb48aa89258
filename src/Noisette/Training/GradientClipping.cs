using static TorchSharp.torch;

namespace Noisette.Training;

/// <summary>
/// Clipping of the global gradient norm: the whole flat gradient is scaled by min(1, maxNorm / (‖g‖ + 1e-6)), so a
/// gradient below the limit is left exactly as it is and one above it ends with norm maxNorm (to within 1e-6 relative).
/// Nothing is read back from the device.
/// </summary>
public static class GradientClipping
{
    /// <summary>Scales <paramref name="flatGrad"/> in place so that its L2 norm is at most <paramref name="maxNorm"/>; 0 or less turns clipping off.</summary>
    public static void Clip(Tensor flatGrad, double maxNorm)
    {
        if (maxNorm <= 0) return;
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var coef = (maxNorm / (GlobalNorm(flatGrad) + 1e-6)).clamp_max(1.0);
        flatGrad.mul_(coef);
    }

    /// <summary>
    /// The L2 norm of a flat tensor, with the same bits whatever the number of threads: a single reduction over a
    /// long tensor is split among the threads, and so rounds differently with their number; the norms of fixed
    /// 4096-element rows are each computed by one thread, and so is the norm of those few norms.
    /// </summary>
    public static Tensor GlobalNorm(Tensor flat)
    {
        const long row = 4096;
        long n = flat.numel(), rows = n / row;
        var parts = new List<Tensor>(2);
        if (rows > 0) parts.Add(flat.narrow(0, 0, rows * row).view(rows, row).norm(1, false, 2));
        if (n > rows * row) parts.Add(flat.narrow(0, rows * row, n - rows * row).norm().unsqueeze(0));
        return (parts.Count == 1 ? parts[0] : cat(parts, 0)).norm();
    }
}
