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

    /// <summary>
    /// guided-diffusion's respacing (<c>space_timesteps</c>), ascending. <c>"ddimN"</c> takes every k-th step from 0
    /// with the integer stride k that gives exactly N steps (so "ddim10" of 1000 is 0, 100, ..., 900). Otherwise
    /// the string is a comma-separated list of counts: the T steps are cut into that many equal sections (the
    /// first T mod n one step longer), and each section contributes its count of steps spaced evenly within it,
    /// first and last included, at positions rounded half to even.
    /// </summary>
    public static int[] Space(int T, string sectionCounts)
    {
        ArgumentNullException.ThrowIfNull(sectionCounts);
        var spec = sectionCounts.Trim();
        if (spec.StartsWith("ddim", StringComparison.Ordinal))
        {
            if (!int.TryParse(spec.AsSpan(4), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var desired) || desired < 1)
                throw new NoisetteInputException($"respacing '{spec}': expected ddimN with a positive N");
            for (int stride = 1; stride < T; stride++)
                if ((T + stride - 1) / stride == desired)
                    return Enumerable.Range(0, desired).Select(i => i * stride).ToArray();
            throw new NoisetteInputException($"respacing '{spec}': {T} steps cannot give exactly {desired} steps with an integer stride");
        }
        var counts = new List<int>();
        foreach (var part in spec.Split(','))
        {
            if (!int.TryParse(part.Trim(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var c))
                throw new NoisetteInputException($"respacing '{spec}': '{part}' is not a step count (expected ddimN or counts such as 10,15,20)");
            counts.Add(c);
        }
        int sizePer = T / counts.Count, extra = T % counts.Count, start = 0;
        var steps = new SortedSet<int>();
        for (int i = 0; i < counts.Count; i++)
        {
            int size = sizePer + (i < extra ? 1 : 0);
            if (size < counts[i])
                throw new NoisetteInputException($"respacing '{spec}': section {i + 1} has {size} steps, fewer than the {counts[i]} asked for");
            double stride = counts[i] <= 1 ? 1 : (double)(size - 1) / (counts[i] - 1);
            double position = 0;
            for (int k = 0; k < counts[i]; k++)
            {
                steps.Add(start + (int)Math.Round(position, MidpointRounding.ToEven));
                position += stride;
            }
            start += size;
        }
        if (steps.Count == 0) throw new NoisetteInputException($"respacing '{spec}' selects no steps");
        return steps.ToArray();
    }
}
