using System.Globalization;

namespace Noisette.Pipelines;

/// <summary>Seeds as people type them: "7", "1,2,5", "10-25", or a mix such as "1,4-6".</summary>
public static class SeedList
{
    public const int MaxSeeds = 10_000;

    public static long[] Parse(string text)
    {
        var seeds = new List<long>();
        foreach (var raw in text.Split(',', StringSplitOptions.TrimEntries))
        {
            if (raw.Length == 0) throw Bad(text, "an empty item");
            int dash = raw.IndexOf('-', 1);   // a leading '-' is a negative seed
            if (dash < 0) { seeds.Add(Number(raw, text)); continue; }
            long from = Number(raw[..dash], text), to = Number(raw[(dash + 1)..], text);
            if (to < from) throw Bad(text, $"the range {raw} runs backwards");
            if (to - from >= MaxSeeds) throw Bad(text, $"the range {raw} holds more than {MaxSeeds} seeds");
            for (long s = from; s <= to; s++) seeds.Add(s);
        }
        if (seeds.Count > MaxSeeds) throw Bad(text, $"more than {MaxSeeds} seeds");
        return seeds.ToArray();
    }

    private static long Number(string s, string text) =>
        long.TryParse(s.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v) ? v : throw Bad(text, $"'{s}' is not a whole number");

    private static NoisetteInputException Bad(string text, string why) =>
        new($"the seeds '{text}': {why}. Write seeds like 7, 1,2,5 or 10-25");
}
