namespace Noisette.Bench;

/// <summary>The process's peak resident set size (VmHWM of /proc/self/status), in MiB; null where there is no /proc.</summary>
public static class PeakMemory
{
    public static double? Mib()
    {
        const string path = "/proc/self/status";
        if (!File.Exists(path)) return null;
        foreach (var line in File.ReadLines(path))
        {
            if (!line.StartsWith("VmHWM:", StringComparison.Ordinal)) continue;
            var parts = line[6..].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length >= 1 && long.TryParse(parts[0], out long kb)) return Math.Round(kb / 1024.0, 1);
        }
        return null;
    }
}
