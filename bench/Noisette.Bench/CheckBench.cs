using System.Diagnostics;
using System.Text.Json;
using Noisette.Data;

namespace Noisette.Bench;

/// <summary>
/// The dataset check on a large folder of small glyph images: <c>images</c> gray 64×64 PNGs made from the committed
/// letter-A fixtures (all 1158 of tests/fixtures/letters64-A, in turn), each moved by −3…3 px both ways and its ink
/// lightened by up to 20%, in sub-folders of 1000, in a temporary folder that is deleted afterwards. Times
/// <see cref="DatasetReport.Run"/> alone (the images are written first) and reports the process's peak resident memory.
/// Copies of one glyph are near-duplicates of each other, so the near-duplicate search meets large groups as well as
/// many distinct drawings.
/// </summary>
public static class CheckBench
{
    public static string Run(int images)
    {
        if (images < 1) throw new NoisetteInputException("--images must be at least 1");
        var sources = Directory.GetFiles(FixtureFolder(), "*.png").Order(StringComparer.Ordinal).Select(f => Gray(ImageDecoder.Decode(f))).ToList();
        var root = Path.Combine(Path.GetTempPath(), $"noisette-check-bench-{Environment.ProcessId}");
        Directory.CreateDirectory(root);
        try
        {
            var rng = new Random(0);
            var generate = Stopwatch.StartNew();
            for (int i = 0; i < images; i++)
            {
                var src = sources[i % sources.Count];
                int dx = rng.Next(-3, 4), dy = rng.Next(-3, 4);
                double lighten = rng.NextDouble() * 0.2;
                var px = new byte[64 * 64];
                Array.Fill(px, (byte)255);
                for (int y = 0; y < 64; y++)
                    for (int x = 0; x < 64; x++)
                    {
                        int sx = x - dx, sy = y - dy;
                        if (sx < 0 || sy < 0 || sx >= 64 || sy >= 64) continue;
                        int v = src[sy * 64 + sx];
                        px[y * 64 + x] = (byte)Math.Round(v + (255 - v) * lighten);
                    }
                var dir = Path.Combine(root, $"{i / 1000:D3}");
                Directory.CreateDirectory(dir);
                File.WriteAllBytes(Path.Combine(dir, $"{i:D6}.png"), PngWriter.Encode(new PlanarImage(1, 64, 64, px)));
            }
            generate.Stop();
            sources.Clear();
            GC.Collect();

            var sw = Stopwatch.StartNew();
            var report = DatasetReport.Run(root, new DatasetCheckOptions { Config = new DataConfig { ImageSize = 64 } });
            sw.Stop();
            // The near-duplicate search alone, run again on the same measurements (it is part of check_seconds).
            var reps = report.Images.Where(m => !m.IsBlank).GroupBy(m => m.ContentHash).Select(g => g.First()).ToList();
            var near = Stopwatch.StartNew();
            NearDuplicates.Find(reps, new DatasetCheckOptions());
            near.Stop();
            return JsonSerializer.Serialize(new
            {
                benchmark = "check",
                images,
                cores = Environment.ProcessorCount,
                generate_seconds = Math.Round(generate.Elapsed.TotalSeconds, 2),
                check_seconds = Math.Round(sw.Elapsed.TotalSeconds, 2),
                images_per_second = Math.Round(images / sw.Elapsed.TotalSeconds, 0),
                near_duplicate_search_seconds = Math.Round(near.Elapsed.TotalSeconds, 2),
                peak_rss_mib = PeakMemory.Mib(),
                readable = report.ReadableCount,
                exact_duplicate_groups = report.ExactDuplicates.Count,
                near_duplicate_groups = report.NearDuplicates.Count,
                largest_near_duplicate_group = report.NearDuplicates.Count == 0 ? 0 : report.NearDuplicates.Max(g => g.Files.Count),
                flagged = report.FlaggedImages.Count,
            });
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static byte[] Gray(DecodedImage d) => Enumerable.Range(0, d.Width * d.Height).Select(i => d.Rgba[i * 4]).ToArray();

    /// <summary>tests/fixtures/letters64-A of the repository this benchmark was built from (searched upwards from the binary).</summary>
    private static string FixtureFolder()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "fixtures", "letters64-A");
            if (Directory.Exists(candidate)) return candidate;
        }
        throw new NoisetteInputException("tests/fixtures/letters64-A not found above the benchmark's folder: run it from the repository");
    }
}
