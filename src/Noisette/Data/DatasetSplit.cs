using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Noisette.Data;

/// <summary>
/// The train/validation split. Each image's membership depends only on the seed and its own relative path
/// (SHA-256 of both, mapped to [0, 1), compared with the fraction), so adding or removing a file never moves
/// another one. When a set of at least <see cref="MinimumForValidation"/> images would get no validation image at all,
/// the image with the smallest hash is moved to validation.
/// </summary>
public static class DatasetSplit
{
    public const int MinimumForValidation = 20;

    /// <summary>A stable value in [0, 1) for a path under a seed.</summary>
    public static double HashUnit(string relativePath, int seed)
    {
        var bytes = Encoding.UTF8.GetBytes($"noisette-split\0{seed}\0{relativePath}");
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(bytes, digest);
        ulong v = BinaryPrimitives.ReadUInt64BigEndian(digest);
        return (v >> 11) * (1.0 / (1UL << 53));
    }

    /// <summary>Splits indices 0..n-1 of <paramref name="relativePaths"/>; both arrays are in ascending order.</summary>
    public static (int[] Train, int[] Validation) Assign(IReadOnlyList<string> relativePaths, double validationFraction, int seed)
    {
        var train = new List<int>();
        var validation = new List<int>();
        int smallest = -1;
        double smallestValue = double.MaxValue;
        for (int i = 0; i < relativePaths.Count; i++)
        {
            double u = HashUnit(relativePaths[i], seed);
            if (u < validationFraction) validation.Add(i); else train.Add(i);
            if (u < smallestValue) { smallestValue = u; smallest = i; }
        }
        if (validation.Count == 0 && validationFraction > 0 && relativePaths.Count >= MinimumForValidation)
        {
            train.Remove(smallest);
            validation.Add(smallest);
        }
        return (train.ToArray(), validation.ToArray());
    }
}
