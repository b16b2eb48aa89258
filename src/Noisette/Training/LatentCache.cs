using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Noisette.Data;
using Noisette.IO;
using Noisette.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Noisette.Training;

/// <summary>
/// A training set encoded once by an autoencoder: each picture's posterior (mean and log-variance of its latents),
/// and its mirror image's when training flips pictures. A latent run draws a fresh latent from the posterior at every
/// step, so caching the posterior (not one draw) keeps training what it would be with the encoder in the loop, at a
/// fraction of the cost. The cache is a safetensors file keyed by the pictures' fingerprint, the autoencoder's
/// weights hash, the flips and the picture size: change any of them and it is built again; otherwise it is read.
/// Tensors live on the CPU as float32; batches are moved to the device as they are drawn. Pictures are encoded one at
/// a time by default: on this project's 2-core CPU, 1,000 pictures of 256 px encoded at 0.16 s a picture one by one,
/// 0.45 s in fours and 0.93 s in sixteens (docs/benchmarks.md), with a sixth of the memory.
/// </summary>
public sealed class LatentCache : IDisposable
{
    public const string KeyMetadata = "noisette_latent_cache_key";

    /// <summary>(N, c, h, w): the posterior means, in the picture set's order.</summary>
    public Tensor Mean { get; }
    /// <summary>(N, c, h, w): the posterior log-variances (clamped as the posterior clamps them).</summary>
    public Tensor LogVariance { get; }
    /// <summary>The same for the mirrored pictures, when the run flips; else null.</summary>
    public Tensor? FlippedMean { get; }
    public Tensor? FlippedLogVariance { get; }
    public string Key { get; }
    /// <summary>True when this cache was computed now, false when it was read from its file.</summary>
    public bool Built { get; }

    public int Count => (int)Mean.shape[0];

    private LatentCache(Tensor mean, Tensor logVariance, Tensor? flippedMean, Tensor? flippedLogVariance, string key, bool built)
    {
        (Mean, LogVariance, FlippedMean, FlippedLogVariance, Key, Built) = (mean, logVariance, flippedMean, flippedLogVariance, key, built);
    }

    /// <summary>The key of a cache: what decides its contents.</summary>
    public static string KeyOf(string datasetFingerprint, string autoencoderSha256, bool flips, int imageSize) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(
            string.Create(CultureInfo.InvariantCulture, $"latents v1|{datasetFingerprint}|{autoencoderSha256}|flips={flips}|size={imageSize}"))));

    /// <summary>
    /// Reads the cache in <paramref name="folder"/> whose key matches, or encodes the pictures and writes it there
    /// (atomically), removing caches of other keys.
    /// </summary>
    public static LatentCache LoadOrBuild(string folder, string key, AutoencoderKL autoencoder, IImageSet pictures, bool flips,
                                          int batch = 1, IProgress<int>? progress = null)
    {
        var path = Path.Combine(folder, $"latents-{key[..16]}.safetensors");
        if (File.Exists(path))
        {
            var header = SafeTensors.ReadHeader(path);
            if (header.Metadata.TryGetValue(KeyMetadata, out var stored) && stored == key)
            {
                using var file = SafeTensors.Load(path);
                Tensor Take(string name) => file.Take(name);
                return new LatentCache(Take("mean"), Take("logvar"), flips ? Take("flipped_mean") : null, flips ? Take("flipped_logvar") : null, key, built: false);
            }
        }
        var cache = Build(autoencoder, pictures, flips, key, batch, progress);
        Directory.CreateDirectory(folder);
        var tensors = new List<(string, Tensor)> { ("mean", cache.Mean), ("logvar", cache.LogVariance) };
        if (flips) tensors.AddRange([("flipped_mean", cache.FlippedMean!), ("flipped_logvar", cache.FlippedLogVariance!)]);
        SafeTensors.Save(path, tensors, new Dictionary<string, string> { [KeyMetadata] = key });
        foreach (var old in Directory.EnumerateFiles(folder, "latents-*.safetensors"))
            if (old != path) File.Delete(old);
        return cache;
    }

    /// <summary>Encodes every picture (and its mirror image when <paramref name="flips"/>) to its posterior.</summary>
    public static LatentCache Build(AutoencoderKL autoencoder, IImageSet pictures, bool flips, string key, int batch = 1, IProgress<int>? progress = null)
    {
        if (pictures.Channels != autoencoder.Config.InChannels)
            throw new NoisetteInputException($"the pictures have {pictures.Channels} channel(s), the autoencoder takes {autoencoder.Config.InChannels}");
        var device = autoencoder.parameters().First().device;
        var parts = new List<(Tensor Mean, Tensor LogVar, Tensor? FMean, Tensor? FLogVar)>();
        bool wasTraining = autoencoder.training;
        autoencoder.eval();
        try
        {
            using var _ = inference_mode();
            for (int start = 0; start < pictures.Count; start += batch)
            {
                using var scope = NewDisposeScope();
                int n = Math.Min(batch, pictures.Count - start);
                var x = Bundles.Pixels.FromImages(pictures, Enumerable.Range(start, n).ToArray(), device);
                using var posterior = autoencoder.Encode(x);
                Tensor? fm = null, fl = null;
                if (flips)
                {
                    using var mirrored = autoencoder.Encode(x.flip(3));
                    fm = mirrored.Mean.cpu().MoveToOuterDisposeScope();
                    fl = mirrored.LogVariance.cpu().MoveToOuterDisposeScope();
                }
                parts.Add((posterior.Mean.cpu().MoveToOuterDisposeScope(), posterior.LogVariance.cpu().MoveToOuterDisposeScope(), fm, fl));
                progress?.Report(start + n);
            }
        }
        finally
        {
            if (wasTraining) autoencoder.train();
        }
        try
        {
            return new LatentCache(cat(parts.Select(p => p.Mean).ToList(), 0), cat(parts.Select(p => p.LogVar).ToList(), 0),
                                   flips ? cat(parts.Select(p => p.FMean!).ToList(), 0) : null,
                                   flips ? cat(parts.Select(p => p.FLogVar!).ToList(), 0) : null, key, built: true);
        }
        finally
        {
            foreach (var p in parts) { p.Mean.Dispose(); p.LogVar.Dispose(); p.FMean?.Dispose(); p.FLogVar?.Dispose(); }
        }
    }

    /// <summary>
    /// The scale that gives the latents unit variance, as latent diffusion measures it (<c>scale_by_std</c>):
    /// 1 / the standard deviation of one draw from every cached posterior, drawn with a fixed seed.
    /// </summary>
    public double MeasuredScale()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(0);
        var draw = Mean + (0.5 * LogVariance).exp() * randn(Mean.shape, generator: generator);
        double std = draw.to(float64).std().item<double>();
        if (!(std > 0) || !double.IsFinite(std)) throw new NoisetteInputException("the autoencoder's latents of these pictures do not vary; their scale cannot be measured");
        return 1 / std;
    }

    public void Dispose()
    {
        Mean.Dispose();
        LogVariance.Dispose();
        FlippedMean?.Dispose();
        FlippedLogVariance?.Dispose();
    }
}
