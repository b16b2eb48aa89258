namespace Noisette.Training;

/// <summary>
/// The deterministic order in which training images are visited: epoch e is a seeded Fisher–Yates shuffle, and
/// sample position p (counted from the start of the run) is image perm(p / n)[p mod n]. A resumed run therefore
/// continues with exactly the images an uninterrupted run would have seen.
/// </summary>
public sealed class DataOrder
{
    private readonly int n;
    private readonly long seed;
    private long cachedEpoch = -1;
    private int[] perm = [];

    public DataOrder(int count, long seed)
    {
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count));
        n = count;
        this.seed = seed;
    }

    public int IndexAt(long position)
    {
        long epoch = position / n;
        if (epoch != cachedEpoch)
        {
            perm = Permutation(n, Mix(seed, epoch));
            cachedEpoch = epoch;
        }
        return perm[position % n];
    }

    /// <summary>Whether the sample at this position is horizontally flipped (when augmentation is on).</summary>
    public bool FlipAt(long position) => (Mix(seed ^ 0x5DEECE66DL, position) & 1) == 1;

    private static int[] Permutation(int n, ulong state)
    {
        var p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        for (int i = n - 1; i > 0; i--)
        {
            state = SplitMix(state);
            int j = (int)(state % (ulong)(i + 1));
            (p[i], p[j]) = (p[j], p[i]);
        }
        return p;
    }

    internal static ulong Mix(long a, long b) => SplitMix(SplitMix((ulong)a) ^ (ulong)b);

    private static ulong SplitMix(ulong x)
    {
        x += 0x9E3779B97F4A7C15UL;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        return x ^ (x >> 31);
    }
}
