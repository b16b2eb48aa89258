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
}
