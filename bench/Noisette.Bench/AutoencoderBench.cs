using System.Diagnostics;
using System.Globalization;
using Noisette.Bundles;
using Noisette.Models;
using Noisette.Runs;
using Noisette.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Noisette.Bench;

/// <summary>
/// Seconds per picture of encoding (to the posterior's moments) and decoding (from latents) with Stable Diffusion's
/// autoencoder shape (kl-f8, base 128, 2 blocks) and with `autoencoder train`'s default (base 64, 1 block), at a
/// picture size and batch, on the CPU in inference mode, with the process's peak memory so far (the SD shape is
/// measured first). Random weights: the time does not depend on their values. One warm-up call each, then the median of
/// <c>repeats</c> calls.
/// </summary>
public static class AutoencoderBench
{
    /// <param name="only">"sd-kl-f8" or "default-f8" to measure one (the peak memory is then that one's alone), or null for both.</param>
    /// <param name="tile">Decode and encode in blended tiles of this many latents (<see cref="LatentAutoencoder.TileLatents"/>), or whole.</param>
    public static string Run(int size, int batch, int repeats, int threads, string? only = null, int? tile = null)
    {
        TorchRuntime.ConfigureThreads(threads);
        var rows = new List<string>();
        foreach (var (name, config) in new[] { ("sd-kl-f8", AutoencoderConfig.StableDiffusion), ("default-f8", AutoencoderTrainingConfig.Preset(8, 4, 3)) })
        {
            if (only is not null && only != name) continue;
            using var model = AutoencoderKL.Seeded(config, 0);
            model.eval();
            var autoencoder = new LatentAutoencoder(model, 1.0) { TileLatents = tile, SliceSize = batch };
            long parameters = model.parameters().Sum(p => p.numel());
            var x = rand(batch, 3, size, size) * 2 - 1;
            var z = randn(batch, config.LatentChannels, size / config.Factor, size / config.Factor);
            double encode, decode;
            using (inference_mode())
            {
                encode = Median(repeats, () => autoencoder.Encode(x).Dispose()) / batch;
                decode = Median(repeats, () => autoencoder.Decode(z).Dispose()) / batch;
            }
            rows.Add(string.Create(CultureInfo.InvariantCulture,
                $"{{\"autoencoder\":\"{name}\",\"parameters\":{parameters},\"size\":{size},\"batch\":{batch},\"tile_latents\":{(tile is int t ? t.ToString(CultureInfo.InvariantCulture) : "null")},\"threads\":{threads},\"encode_s_per_image\":{encode:F4},\"decode_s_per_image\":{decode:F4},\"peak_rss_mib_so_far\":{(PeakMemory.Mib() ?? 0):F0}}}"));
        }
        return string.Join("\n", rows);
    }

    /// <summary>
    /// Seconds to build a latent run's cache (<see cref="Noisette.Training.LatentCache.Build"/>) of <paramref name="images"/>
    /// random RGB pictures with `autoencoder train`'s default autoencoder, and the peak memory so far.
    /// </summary>
    public static string CacheBuild(int images, int size, int threads, bool flips, int batch = 16)
    {
        TorchRuntime.ConfigureThreads(threads);
        var config = AutoencoderTrainingConfig.Preset(8, 4, 3);
        using var model = AutoencoderKL.Seeded(config, 0);
        var pixels = new byte[(long)images * 3 * size * size];
        new Random(0).NextBytes(pixels);
        var set = new Noisette.Data.InMemoryImageSet(pixels, images, 3, size);
        var clock = Stopwatch.StartNew();
        using var cache = Noisette.Training.LatentCache.Build(model, set, flips, "bench", batch);
        double seconds = clock.Elapsed.TotalSeconds;
        return string.Create(CultureInfo.InvariantCulture,
            $"{{\"autoencoder\":\"default-f8\",\"images\":{images},\"size\":{size},\"flips\":{(flips ? "true" : "false")},\"batch\":{batch},\"threads\":{threads},\"seconds\":{seconds:F1},\"seconds_per_image\":{seconds / images:F4},\"peak_rss_mib_so_far\":{(PeakMemory.Mib() ?? 0):F0}}}");
    }

    private static double Median(int repeats, Action call)
    {
        call();
        var times = new List<double>();
        for (int i = 0; i < repeats; i++)
        {
            var clock = Stopwatch.StartNew();
            using (NewDisposeScope()) call();
            times.Add(clock.Elapsed.TotalSeconds);
        }
        times.Sort();
        return times[times.Count / 2];
    }
}
