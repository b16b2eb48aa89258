namespace Noisette.Sampling;

/// <summary>Respacing: which of the T training timesteps a sampler visits, shared by every sampler.</summary>
public static class Timesteps
{
    /// <summary>
    /// <paramref name="count"/> timesteps spread evenly over 0..T−1, ascending, always including T−1 and 0 (and
    /// every step when count ≥ T).
    /// </summary>
    public static int[] Evenly(int T, int count)
    {
        if (count < 1) throw new NoisetteInputException($"steps must be at least 1, got {count}");
        if (count >= T) return Enumerable.Range(0, T).ToArray();
        if (count == 1) return [T - 1];
        var set = new SortedSet<int>();
        for (int i = 0; i < count; i++) set.Add((int)Math.Round((double)i * (T - 1) / (count - 1)));
        return set.ToArray();
    }
}
