using Noisette.Data;
using Noisette.Interop;
using Noisette.Models;
using Noisette.Pipelines;
using Noisette.Runs;
using Noisette.Training;
using static TorchSharp.torch;

namespace Noisette.Tests;

/// <summary>The latent cache: what the encoder computes, read back while nothing changed, rebuilt when something did.</summary>
public sealed class LatentCacheTests
{
    [Fact]
    public void TheCacheHoldsTheEncodersPosteriorsAndIsRebuiltOnlyWhenItsKeyChanges()
    {
        using var dir = new TempFolder("latent-cache");
        using var scope = NewDisposeScope();
        AutoencoderImport.ImportToFolder(Fixtures.Path("stable-diffusion", "vae_tiny.safetensors"), dir["vae"]);
        var folder = new AutoencoderFolder(dir["vae"]);
        using var autoencoder = folder.Load(out _);
        var data = ImageDataset.Load(Fixtures.Path("letters", "A"), new DataConfig { ImageSize = 32, Channels = ChannelMode.Rgb });
        var pictures = new SubsetImageSet(data, data.TrainIndices.Take(10).ToArray(), null);
        var key = LatentCache.KeyOf(data.Fingerprint, folder.WeightsSha256(), flips: true, 32);

        using var built = LatentCache.LoadOrBuild(dir["cache"], key, autoencoder, pictures, flips: true, batch: 4);
        Assert.True(built.Built);
        Assert.Equal([10L, 4, 8, 8], built.Mean.shape);
        // Picture 7's posterior, and its mirror image's, as the encoder gives them one at a time.
        var bytes = new byte[3 * 32 * 32];
        pictures.CopyImage(7, bytes);
        var x = tensor(bytes, dtype: ScalarType.Byte).reshape(1, 3, 32, 32).to(float32).div(127.5).sub(1);
        using (inference_mode())
        {
            using var posterior = autoencoder.Encode(x);
            Assert.True((posterior.Mean[0] - built.Mean[7]).abs().max().item<float>() < 1e-5);
            Assert.True((posterior.LogVariance[0] - built.LogVariance[7]).abs().max().item<float>() < 1e-5);
            using var mirrored = autoencoder.Encode(x.flip(3));
            Assert.True((mirrored.Mean[0] - built.FlippedMean![7]).abs().max().item<float>() < 1e-5);
        }

        // Nothing changed: read back, the same tensors.
        using (var again = LatentCache.LoadOrBuild(dir["cache"], key, autoencoder, pictures, flips: true))
        {
            Assert.False(again.Built);
            Assert.True(again.Mean.eq(built.Mean).all().item<bool>());
            Assert.True(again.FlippedLogVariance!.eq(built.FlippedLogVariance!).all().item<bool>());
        }
        // Other pictures (another fingerprint), or no flips: built again, and the stale file replaced.
        var otherKey = LatentCache.KeyOf("other pictures", folder.WeightsSha256(), flips: false, 32);
        Assert.NotEqual(key, otherKey);
        using (var rebuilt = LatentCache.LoadOrBuild(dir["cache"], otherKey, autoencoder, pictures, flips: false))
        {
            Assert.True(rebuilt.Built);
            Assert.Null(rebuilt.FlippedMean);
        }
        Assert.Single(Directory.GetFiles(dir["cache"]));
        Assert.NotEqual(key, LatentCache.KeyOf(data.Fingerprint, "another autoencoder", flips: true, 32));

        // The measured scale makes one draw from every posterior unit-variance.
        double scale = built.MeasuredScale();
        Assert.True(scale > 0 && double.IsFinite(scale));
        using var generator = new TorchSharp.torch.Generator(0);
        var draw = built.Mean + (0.5 * built.LogVariance).exp() * randn(built.Mean.shape, generator: generator);
        Assert.Equal(1.0, (draw * scale).to(float64).std().item<double>(), 1e-6);
    }
}
