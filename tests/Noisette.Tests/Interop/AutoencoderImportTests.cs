using Noisette.Interop;
using Noisette.IO;
using Noisette.Models;
using Noisette.Runs;
using static TorchSharp.torch;

namespace Noisette.Tests;

/// <summary>
/// Importing released autoencoders: the standalone VAE file, and the first_stage_model of a Stable Diffusion single
/// file as safetensors and as a pickled .ckpt, read from tests/fixtures/stable-diffusion.
/// </summary>
public sealed class AutoencoderImportTests
{
    private static string Fixture(string name) => Fixtures.Path("stable-diffusion", name);

    [Fact]
    public void TheStandaloneFileAndBothSingleFilesImportToTheSameAutoencoder()
    {
        using var tmp = new TempFolder("ae-import");
        var vae = AutoencoderImport.ImportToFolder(Fixture("vae_tiny.safetensors"), tmp["vae"]);
        var single = AutoencoderImport.ImportToFolder(Fixture("sd_tiny.safetensors"), tmp["sd"]);
        var ckpt = AutoencoderImport.ImportToFolder(Fixture("sd_tiny.ckpt"), tmp["ckpt"]);

        Assert.Equal(Json.Serialize(vae.Info.Config), Json.Serialize(single.Info.Config));
        Assert.Equal(Json.Serialize(vae.Info.Config), Json.Serialize(ckpt.Info.Config));
        // The single file's own scale_factor metadata; the standalone file says none and is not SD's shape.
        Assert.Equal(AutoencoderImport.StableDiffusionScale, single.Info.Scale);
        Assert.Null(vae.Info.Scale);
        Assert.Contains(single.Notes, n => n.Contains("other tensors"));

        using var scope = NewDisposeScope();
        using var a = SafeTensors.Load(vae.Folder.WeightsPath);
        using var b = SafeTensors.Load(single.Folder.WeightsPath);
        using var c = SafeTensors.Load(ckpt.Folder.WeightsPath);
        Assert.Equal(a.Names, b.Names);
        Assert.Equal(a.Names, c.Names);
        foreach (var name in a.Names)
        {
            Assert.True(a[name].eq(b[name]).all().item<bool>(), $"{name} differs between vae_tiny and sd_tiny.safetensors");
            Assert.True(a[name].eq(c[name]).all().item<bool>(), $"{name} differs between vae_tiny and sd_tiny.ckpt");
        }

        // The imported folder loads and computes what the original computed.
        using var model = ckpt.Folder.Load(out var info);
        using var expected = SafeTensors.Load(Fixture("vae_tiny_outputs.safetensors"));
        using var _ = inference_mode();
        using var posterior = model.Encode(expected["image"]);
        Assert.True((posterior.Mean - expected["mean"]).abs().max().item<float>() < 1e-5);
        Assert.True((model.Decode(expected["z"]) - expected["decoded"]).abs().max().item<float>() < 1e-5);
    }

    [Fact]
    public void AGivenScaleIsRecordedAndABadOneRefused()
    {
        using var tmp = new TempFolder("ae-scale");
        var r = AutoencoderImport.ImportToFolder(Fixture("vae_tiny.safetensors"), tmp["vae"], 0.5);
        Assert.Equal(0.5, new AutoencoderFolder(tmp["vae"]).ReadInfo().Scale);
        Assert.Contains("--scale", Assert.Throws<NoisetteInputException>(() => AutoencoderImport.ImportToFolder(Fixture("vae_tiny.safetensors"), tmp["bad"], -1)).Message);
        Assert.False(Directory.Exists(tmp["bad"]));
    }

    [Fact]
    public void FilesWithoutAnAutoencoderAndOccupiedFoldersAreRefusedAndNothingIsWritten()
    {
        using var tmp = new TempFolder("ae-bad");
        // The U-Net output fixture holds tensors, but no autoencoder.
        var e = Assert.Throws<NoisetteInputException>(() => AutoencoderImport.ImportToFolder(Fixture("vae_tiny_outputs.safetensors"), tmp["out"]));
        Assert.Contains("holds no autoencoder", e.Message);
        Assert.False(Directory.Exists(tmp["out"]));
        var notModel = tmp.Write("notes.safetensors", "hello, this is not a model"u8.ToArray());
        Assert.Throws<NoisetteInputException>(() => AutoencoderImport.ImportToFolder(notModel, tmp["out"]));
        tmp.Write("full/keep.txt", "mine"u8.ToArray());
        e = Assert.Throws<NoisetteInputException>(() => AutoencoderImport.ImportToFolder(Fixture("vae_tiny.safetensors"), tmp["full"]));
        Assert.Contains("not empty", e.Message);
        Assert.Equal(["keep.txt"], Directory.GetFileSystemEntries(tmp["full"]).Select(Path.GetFileName));
        Assert.Contains("no such file", Assert.Throws<NoisetteInputException>(() => AutoencoderImport.ImportToFolder(tmp["missing.ckpt"], tmp["x"])).Message);
        // A folder that is not an autoencoder says so.
        Assert.Contains("not an autoencoder folder", Assert.Throws<NoisetteInputException>(() => new AutoencoderFolder(tmp["full"]).ReadInfo()).Message);
    }

    [Fact]
    public void TheCommandLineImportsAndReconstructs()
    {
        using var tmp = new TempFolder("ae-cli");
        var (code, output, err) = CliCapture.Run("autoencoder", "import", Fixture("sd_tiny.ckpt"), "--out", tmp["ae"]);
        Assert.True(code == 0, err);
        Assert.Contains("factor 4", output);
        (code, output, err) = CliCapture.Run("autoencoder", "reconstruct", tmp["ae"], "--data", Fixtures.Path("letters", "A"),
                                                 "--image-size", "32", "--n", "5", "--grid", tmp["grid.png"], "--threads", "1");
        Assert.True(code == 0, err);
        Assert.Matches(@"(?m)^psnr -?\d+\.\d\d$", output);
        Assert.Matches(@"(?m)^ssim -?\d\.\d{4}$", output);
        Assert.True(File.Exists(tmp["grid.png"]));
        // A size the factor does not divide: exit 2 with the reason.
        (code, _, err) = CliCapture.Run("autoencoder", "reconstruct", tmp["ae"], "--data", Fixtures.Path("letters", "A"), "--image-size", "30");
        Assert.Equal(2, code);
        Assert.Contains("factor 4 does not divide", err);
    }
}
