using System.Globalization;
using Noisette.Bundles;
using Noisette.Data;
using Noisette.Models;
using Noisette.Runs;
using TorchSharp;
using static TorchSharp.torch;

namespace Noisette.Training;

/// <summary>
/// What a latent run trains on, ready for the trainer: its autoencoder (checked against the SHA-256 the run
/// recorded), the training pictures encoded once into the run's <see cref="LatentCache"/>, and the latent scale
/// (the autoencoder's own, else measured on these latents when the run starts and recorded in its config). Each step
/// draws fresh latents from the cached posteriors (<see cref="Draw"/>); validation uses the posterior means, so that
/// its loss compares across checkpoints.
/// </summary>
public sealed class LatentTrainingData : IDisposable
{
    /// <summary>The run's latent space, with its scale resolved.</summary>
    public LatentSpace Space { get; }
    public AutoencoderKL Network { get; }
    /// <summary>The autoencoder as a bundle component (decodes checkpoint grids; encodes validation pictures).</summary>
    public LatentAutoencoder Autoencoder { get; }
    public LatentCache Cache { get; }
    public double Scale => Autoencoder.Scale;

    private LatentTrainingData(LatentSpace space, AutoencoderKL network, LatentCache cache, double scale)
    {
        Network = network;
        Cache = cache;
        Autoencoder = new LatentAutoencoder(network, scale);
        Space = space with { Scale = scale };
    }

    /// <summary>
    /// Loads the run's autoencoder onto <paramref name="device"/> and the latents of <paramref name="train"/> from the
    /// run's cache, encoding them first when the cache is missing or stale.
    /// </summary>
    public static LatentTrainingData Open(LatentSpace space, RunFolder run, IImageSet train, string fingerprint, bool flips, Device device,
                                          Action<string>? info = null)
    {
        var folder = space.Verify();
        var network = folder.Load(out var aeInfo);
        try
        {
            if (aeInfo.Config.Factor != space.Factor || aeInfo.Config.LatentChannels != space.LatentChannels || aeInfo.Config.InChannels != space.PixelChannels)
                throw new NoisetteInputException($"the autoencoder {folder.Root} (factor {aeInfo.Config.Factor}, {aeInfo.Config.LatentChannels} latent channels) " +
                                                 $"is not the one this run records (factor {space.Factor}, {space.LatentChannels} latent channels)");
            network.to(device);
            var key = LatentCache.KeyOf(fingerprint, space.Sha256, flips, train.ImageSize);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var cache = LatentCache.LoadOrBuild(run.LatentsDir, key, network, train, flips,
                progress: info is null ? null : new Progress(train.Count, info));
            if (cache.Built)
            {
                var line = $"encoded {train.Count} training picture(s){(flips ? " and their mirror images" : "")} to latents in " +
                           $"{clock.Elapsed.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture)} s (cached in {run.LatentsDir})";
                run.Log(line);
                info?.Invoke(line);
            }
            double scale;
            try
            {
                scale = space.Scale ?? cache.MeasuredScale();
            }
            catch
            {
                cache.Dispose();
                throw;
            }
            if (space.Scale is null)
            {
                var line = $"latent scale {scale.ToString("G6", CultureInfo.InvariantCulture)} (1/std of the training pictures' latents; recorded in config.json)";
                run.Log(line);
                info?.Invoke(line);
                space = space with { ScaleSource = LatentSpace.ScaleMeasured };
            }
            return new LatentTrainingData(space, network, cache, scale);
        }
        catch
        {
            network.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A draw from the posteriors of a batch (means and log-variances as <see cref="BatchLoader"/> gathers them from
    /// the cache), times the scale, on the device: z = (μ + σ·ε)·scale, ε from <paramref name="random"/>.
    /// </summary>
    public Tensor Draw(Batch batch, Device device, Generator random) =>
        Draw(batch.Images.to(device), batch.LogVariance!.to(device), Scale, random);

    /// <summary>z = (μ + exp(½·log σ²)·ε)·scale, with ε drawn from <paramref name="random"/> on the means' device.</summary>
    public static Tensor Draw(Tensor mean, Tensor logVariance, double scale, Generator random) =>
        (mean + (0.5 * logVariance).exp() * randn(mean.shape, dtype: mean.dtype, device: mean.device, generator: random)) * scale;

    /// <summary>The posterior means of <paramref name="pictures"/>, times the scale, on the CPU: fixed latents for validation.</summary>
    public Tensor Encode(IImageSet pictures, IReadOnlyList<int> indices)
    {
        var device = Network.parameters().First().device;
        bool wasTraining = Network.training;
        Network.eval();
        try
        {
            using var _ = inference_mode();
            var parts = new List<Tensor>();
            // In the autoencoder's own slices, so that only one slice of pictures is in memory at a time.
            int slice = Autoencoder.SliceSize;
            for (int start = 0; start < indices.Count; start += slice)
            {
                using var scope = NewDisposeScope();
                var x = Pixels.FromImages(pictures, indices.Skip(start).Take(slice).ToArray(), device);
                parts.Add(Autoencoder.Encode(x).cpu().MoveToOuterDisposeScope());
            }
            var all = cat(parts, 0);
            foreach (var p in parts) p.Dispose();
            return all;
        }
        finally
        {
            if (wasTraining) Network.train();
        }
    }

    private sealed class Progress(int total, Action<string> info) : IProgress<int>
    {
        private int lastTenth = -1;
        public void Report(int done)
        {
            int tenth = (int)(10L * done / Math.Max(total, 1));
            if (tenth == lastTenth) return;
            lastTenth = tenth;
            info($"encoding the training pictures to latents: {done}/{total}");
        }
    }

    public void Dispose()
    {
        Cache.Dispose();
        Network.Dispose();
    }
}
