using static TorchSharp.torch;

namespace Noisette.Bundles;

/// <summary>
/// Runs an encoder or decoder over a large picture (or latent grid) in overlapping square tiles and blends the tiles'
/// outputs, so that the memory it needs is that of one tile, whatever the picture's size. Each tile's output is
/// weighted by a ramp that rises across the overlap from the tile's inner edges (not at the picture's own border), and
/// the weighted sum is divided by the summed weights: where tiles overlap the result fades from one to the next
/// instead of showing a seam. Inputs no larger than a tile go through whole, unchanged. A convolutional network gives
/// nearly the same result tiled as whole away from the seams; the autoencoder's mid-block attention sees one tile at
/// a time, which is where the small differences come from.
/// </summary>
public static class LatentTiles
{
    /// <summary>
    /// <paramref name="f"/> applied to <paramref name="x"/> (B, C, H, W) in tiles of <paramref name="tile"/>×<paramref name="tile"/>
    /// input positions overlapping by <paramref name="overlap"/>; <paramref name="f"/> maps a tile of side s to one of
    /// side s·<paramref name="numerator"/>/<paramref name="denominator"/> (decoding: factor/1; encoding: 1/factor).
    /// </summary>
    public static Tensor Apply(Tensor x, Func<Tensor, Tensor> f, int tile, int overlap, int numerator = 1, int denominator = 1)
    {
        long h = x.shape[2], w = x.shape[3];
        if (h <= tile && w <= tile) return f(x);
        if (overlap < 0 || overlap >= tile) throw new ArgumentOutOfRangeException(nameof(overlap), overlap, "the overlap must be from 0 to less than the tile");
        if (tile * numerator % denominator != 0 || overlap * numerator % denominator != 0)
            throw new ArgumentException($"tiles of {tile} with overlap {overlap} do not map to whole output positions at {numerator}/{denominator}");
        var rows = Starts(h, tile, overlap);
        var columns = Starts(w, tile, overlap);
        using var outer = NewDisposeScope();
        Tensor? sum = null, weights = null;
        foreach (long top in rows)
            foreach (long left in columns)
            {
                using var scope = NewDisposeScope();
                long th = Math.Min(tile, h), tw = Math.Min(tile, w);
                var y = f(x.narrow(2, top, th).narrow(3, left, tw));
                if (sum is null)
                {
                    sum = zeros([y.shape[0], y.shape[1], h * numerator / denominator, w * numerator / denominator], dtype: y.dtype, device: y.device)
                        .MoveToOuterDisposeScope();
                    weights = zeros([1, 1, sum.shape[2], sum.shape[3]], dtype: y.dtype, device: y.device).MoveToOuterDisposeScope();
                }
                long ramp = overlap * numerator / denominator;
                var wy = Ramp(y.shape[2], ramp, top > 0, top + th < h, y.device, y.dtype);
                var wx = Ramp(y.shape[3], ramp, left > 0, left + tw < w, y.device, y.dtype);
                var weight = wy.reshape(1, 1, -1, 1) * wx.reshape(1, 1, 1, -1);
                long oy = top * numerator / denominator, ox = left * numerator / denominator;
                sum.narrow(2, oy, y.shape[2]).narrow(3, ox, y.shape[3]).add_(y * weight);
                weights!.narrow(2, oy, y.shape[2]).narrow(3, ox, y.shape[3]).add_(weight);
            }
        return (sum! / weights!).MoveToOuterDisposeScope();
    }

    /// <summary>Tile starts covering [0, length): every (tile − overlap) positions, the last one flush with the end.</summary>
    public static IReadOnlyList<long> Starts(long length, int tile, int overlap)
    {
        if (length <= tile) return [0];
        var starts = new List<long>();
        for (long s = 0; ; s += tile - overlap)
        {
            if (s + tile >= length) { starts.Add(length - tile); break; }
            starts.Add(s);
        }
        return starts;
    }

    /// <summary>1 inside; rising over <paramref name="ramp"/> positions from an edge that another tile overlaps.</summary>
    private static Tensor Ramp(long length, long ramp, bool rampStart, bool rampEnd, Device device, ScalarType dtype)
    {
        var position = arange(length, dtype: float32, device: device) + 0.5;
        var weight = ones(length, dtype: float32, device: device);
        if (ramp > 0)
        {
            if (rampStart) weight = minimum(weight, position / ramp);
            if (rampEnd) weight = minimum(weight, (length - position) / ramp);
        }
        return weight.to(dtype);
    }
}
