namespace Noisette.Training;

/// <summary>
/// The deterministic order in which training images are visited: epoch e is a seeded Fisher–Yates shuffle, and
/// sample position p (counted from the start of the run) is entry p mod L of epoch p / L. A resumed run therefore
/// continues with exactly the images an uninterrupted run would have seen.
/// With class balancing, an epoch holds every class as often as the largest one (smaller classes repeat, each
/// repetition reshuffled), so an imbalanced folder trains every class equally.
/// </summary>
public sealed class DataOrder
{
    private readonly int n;
    private readonly long seed;
    private readonly int[][]? byClass;
    private long cachedEpoch = -1;
    private int[] order = [];

    public DataOrder(int count, long seed, IReadOnlyList<int>? labels = null, bool balanced = false)
    {
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count));
        n = count;
        this.seed = seed;
        if (balanced && labels is not null && labels.Any(l => l >= 0))
            byClass = Enumerable.Range(0, count).GroupBy(i => labels[i]).OrderBy(g => g.Key).Select(g => g.ToArray()).ToArray();
    }

    /// <summary>Entries per epoch.</summary>
    public long EpochLength => byClass is null ? n : (long)byClass.Length * byClass.Max(c => c.Length);

    public int IndexAt(long position)
    {
        long len = EpochLength;
        long epoch = position / len;
        if (epoch != cachedEpoch)
        {
            order = BuildEpoch(epoch);
            cachedEpoch = epoch;
        }
        return order[position % len];
    }

    private int[] BuildEpoch(long epoch)
    {
        if (byClass is null)
        {
            var identity = Enumerable.Range(0, n).ToArray();
            Shuffle(identity, Mix(seed, epoch));
            return identity;
        }
        int max = byClass.Max(c => c.Length);
        var all = new List<int>(byClass.Length * max);
        for (int c = 0; c < byClass.Length; c++)
        {
            var members = byClass[c];
            for (int rep = 0; rep * members.Length < max; rep++)
            {
                var copy = (int[])members.Clone();
                Shuffle(copy, Mix((long)(Mix(seed, epoch) >> 1), c * 1_000_003L + rep));
                all.AddRange(copy.Take(Math.Min(copy.Length, max - rep * members.Length)));
            }
        }
        var result = all.ToArray();
        Shuffle(result, Mix(seed ^ 0x2545F4914F6CDD1DL, epoch));
        return result;
    }

    /// <summary>Whether the sample at this position is horizontally flipped (when augmentation is on).</summary>
    public bool FlipAt(long position) => (Mix(seed ^ 0x5DEECE66DL, position) & 1) == 1;

    private static void Shuffle(int[] p, ulong state)
    {
        for (int i = p.Length - 1; i > 0; i--)
        {
            state = SplitMix(state);
            int j = (int)(state % (ulong)(i + 1));
            (p[i], p[j]) = (p[j], p[i]);
        }
    }

    /// <summary>The seed of a training step's random draws: a mix of the run's seed and the step, so that a resumed run draws the same.</summary>
    public static long StepSeed(long runSeed, long step) => (long)(Mix(runSeed, step) >> 1);

    internal static ulong Mix(long a, long b) => SplitMix(SplitMix((ulong)a) ^ (ulong)b);

    private static ulong SplitMix(ulong x)
    {
        x += 0x9E3779B97F4A7C15UL;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        return x ^ (x >> 31);
    }
}
