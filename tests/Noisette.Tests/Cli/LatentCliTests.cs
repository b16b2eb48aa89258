using Noisette.Runs;
using SkiaSharp;

namespace Noisette.Tests;

/// <summary>`noisette train --autoencoder` from the command line: a latent run that trains, resumes and samples pixels, and the inputs it refuses.</summary>
[Collection("RunsAlone")]
public sealed class LatentCliTests
{
    [Fact]
    public void ALatentRunTrainsResumesAndSamplesPicturesAndBadInputExitsTwoSayingWhat()
    {
        using var dir = new TempFolder("latent-cli");
        var letters = Fixtures.Path("letters", "A");
        Assert.Equal(0, CliCapture.Run("autoencoder", "import", Fixtures.Path("stable-diffusion", "vae_tiny.safetensors"), "--out", dir["vae"]).Code);
        string[] common = ["train", "--data", letters, "--batch", "4", "--threads", "1"];
        string[] train = [.. common, "--autoencoder", dir["vae"], "--image-size", "32"];

        var (code, output, error) = CliCapture.Run([.. train, "--out", dir["run"], "--steps", "2", "--checkpoint-every", "2"]);
        Assert.True(code == 0, error);
        Assert.Contains("to latents", output);
        var config = new RunFolder(dir["run"]).ReadConfig();
        Assert.Equal((RunComponents.Kl, "latent256", 8, 4), (config.Components!.Autoencoder, config.Training.Preset, config.Training.Model.ImageSize, config.Training.Model.InChannels));
        Assert.Equal(0, CliCapture.Run("resume", dir["run"], "--steps", "3").Code);

        Assert.Equal(0, CliCapture.Run("sample", dir["run"], "--n", "2", "--steps", "3", "--out", dir["samples"]).Code);
        foreach (var png in Directory.GetFiles(dir["samples"], "*.png"))
        {
            using var bitmap = SKBitmap.Decode(png);
            Assert.Equal(32, bitmap.Width);   // decoded pictures, not 8×8 latents
        }

        // Interpolation and the copy check work in pixels too; a likelihood of latents is refused as no likelihood of pictures.
        Assert.Equal(0, CliCapture.Run("interpolate", dir["run"], "--seeds", "1,2", "--frames", "3", "--steps", "3", "--out", dir["walk"]).Code);
        Assert.Equal(3, Directory.GetFiles(dir["walk"], "*-frame*.png").Length);
        var copies = CliCapture.Run("copycheck", dir["run"], "--n", "8", "--steps", "3", "--out", dir["copies.html"]);
        Assert.True(copies.Code == 0, copies.Err);
        var nll = CliCapture.Run("eval", dir["run"], "--nll", "--timesteps", "2");
        Assert.Equal(2, nll.Code);
        Assert.Contains("learned an autoencoder's latents", nll.Err);

        var missing = CliCapture.Run([.. common, "--out", dir["a"], "--autoencoder", dir["nowhere"]]);
        Assert.Equal(2, missing.Code);
        Assert.Contains("no such autoencoder folder", missing.Err);
        var size = CliCapture.Run([.. common, "--out", dir["b"], "--autoencoder", dir["vae"], "--image-size", "30"]);
        Assert.Equal(2, size.Code);
        Assert.Contains("not a multiple of the autoencoder's factor 4", size.Err);
        var pixelPreset = CliCapture.Run([.. common, "--out", dir["c"], "--autoencoder", dir["vae"], "--preset", "tiny"]);
        Assert.Equal(2, pixelPreset.Code);
        Assert.Contains("choose a latent preset", pixelPreset.Err);
        var noAutoencoder = CliCapture.Run("train", "--data", letters, "--out", dir["d"], "--preset", "latent256");
        Assert.Equal(2, noAutoencoder.Code);
        Assert.Contains("choose an autoencoder folder", noAutoencoder.Err);
        foreach (var refused in new[] { "a", "b", "c", "d" })
            Assert.False(File.Exists(Path.Combine(dir[refused], "config.json")), $"a refused run wrote {refused}/config.json");
    }
}
