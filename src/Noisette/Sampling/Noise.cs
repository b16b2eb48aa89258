using static TorchSharp.torch;

namespace Noisette.Sampling;

/// <summary>Per-image random numbers: image i of a batch draws from its own generator, seeded from its seed.</summary>
public static class Noise
{
    public static Generator[] Generators(IEnumerable<long> seeds) => seeds.Select(s => new Generator((ulong)s)).ToArray();

    /// <summary>Standard normal noise of shape (B, C, H, W), image i drawn from generators[i].</summary>
    public static Tensor Normal(IReadOnlyList<Generator> generators, long channels, long size, Device? device = null, ScalarType dtype = ScalarType.Float32)
    {
        using var scope = NewDisposeScope();
        var parts = generators.Select(g => randn(new long[] { 1, channels, size, size }, generator: g, dtype: dtype)).ToArray();
        var x = cat(parts, 0);
        if (device is not null) x = x.to(device);
        return x.MoveToOuterDisposeScope();
    }

    public static Tensor NormalLike(Tensor like, IReadOnlyList<Generator> generators) =>
        Normal(generators, like.shape[1], like.shape[2], like.device, like.dtype);

    /// <summary>
    /// Spherical interpolation between two noise images (each flattened to one vector): keeps the norm a Gaussian
    /// sample should have, where a straight line would pass through too-quiet noise. u = 0 gives a, u = 1 gives b.
    /// </summary>
    public static Tensor Slerp(Tensor a, Tensor b, double u)
    {
        if (u <= 0) return a.clone();
        if (u >= 1) return b.clone();
        using var scope = NewDisposeScope();
        double cos = (a.flatten().to(float64).dot(b.flatten().to(float64)) / (a.to(float64).norm() * b.to(float64).norm())).item<double>();
        double theta = Math.Acos(Math.Clamp(cos, -1, 1));
        var result = Math.Sin(theta) < 1e-6
            ? a * (1 - u) + b * u
            : a * (Math.Sin((1 - u) * theta) / Math.Sin(theta)) + b * (Math.Sin(u * theta) / Math.Sin(theta));
        return result.MoveToOuterDisposeScope();
    }
}
