using static TorchSharp.torch;

namespace Noisette.Bundles;

/// <summary>Images between uint8 CHW arrays (what files hold) and tensors in [−1, 1] (what models take).</summary>
public static class Pixels
{
    /// <summary>A uint8 CHW image as a (1, C, H, W) tensor in [−1, 1]: the inverse of <see cref="ToBytes"/>.</summary>
    public static Tensor FromBytes(byte[] chw, int channels, int size, Device? device = null)
    {
        using var scope = NewDisposeScope();
        var x = tensor(chw, dtype: ScalarType.Byte).reshape(1, channels, size, size).to(float32).div(127.5).sub(1);
        if (device is not null) x = x.to(device);
        return x.MoveToOuterDisposeScope();
    }

    /// <summary>Images <paramref name="indices"/> of a set as one (B, C, H, W) tensor in [−1, 1], on <paramref name="device"/>.</summary>
    public static Tensor FromImages(Data.IImageSet images, IReadOnlyList<int> indices, Device? device = null)
    {
        int bytes = images.Channels * images.ImageSize * images.ImageSize;
        var raw = new byte[indices.Count * bytes];
        for (int i = 0; i < indices.Count; i++) images.CopyImage(indices[i], raw.AsSpan(i * bytes, bytes));
        using var scope = NewDisposeScope();
        var x = tensor(raw, dtype: ScalarType.Byte).reshape(indices.Count, images.Channels, images.ImageSize, images.ImageSize).to(float32).div(127.5).sub(1);
        if (device is not null) x = x.to(device);
        return x.MoveToOuterDisposeScope();
    }

    /// <summary>Converts images in [−1, 1] (B, C, H, W) to uint8 CHW arrays, rounding to the nearest level.</summary>
    public static List<byte[]> ToBytes(Tensor images)
    {
        using var scope = NewDisposeScope();
        var u8 = images.detach().to(float32).cpu().add(1).mul(127.5).round().clamp(0, 255).to(ScalarType.Byte).contiguous();
        var all = u8.data<byte>().ToArray();
        int n = (int)u8.shape[0], per = all.Length / Math.Max(n, 1);
        var list = new List<byte[]>(n);
        for (int i = 0; i < n; i++) list.Add(all.AsSpan(i * per, per).ToArray());
        return list;
    }
}
