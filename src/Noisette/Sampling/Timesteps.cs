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

    /// <summary>
    /// <paramref name="count"/> timesteps evenly spaced in log-SNR λ (as DPM-Solver recommends) between T−1 and 0,
    /// ascending: each is the timestep whose λ is nearest the target (duplicates merge, so a few fewer may come back).
    /// </summary>
    public static int[] UniformLogSnr(Diffusion.GaussianDiffusion diffusion, int count)
    {
        int T = diffusion.T;
        if (count < 1) throw new NoisetteInputException($"steps must be at least 1, got {count}");
        if (count >= T) return Enumerable.Range(0, T).ToArray();
        if (count == 1) return [T - 1];
        double lo = diffusion.LogSnr(T - 1), hi = diffusion.LogSnr(0);
        var set = new SortedSet<int>();
        int t = T - 1;                      // λ falls as t grows: walk t down as the target λ rises
        for (int i = 0; i < count; i++)
        {
            double target = lo + (hi - lo) * i / (count - 1);
            while (t > 0 && Math.Abs(diffusion.LogSnr(t - 1) - target) <= Math.Abs(diffusion.LogSnr(t) - target)) t--;
            set.Add(t);
        }
        return set.ToArray();
    }
}
