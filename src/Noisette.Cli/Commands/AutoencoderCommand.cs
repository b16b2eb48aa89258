using System.CommandLine;
using System.Globalization;
using Noisette.Interop;

namespace Noisette.Cli.Commands;

/// <summary><c>noisette autoencoder import|reconstruct</c>: the autoencoders latent runs train in.</summary>
public static class AutoencoderCommand
{
    public static Command Create() => new("autoencoder", "Autoencoders for latent diffusion: import a released one, or check one on your pictures")
    {
        Import(),
        ReconstructCommand.Create(),
    };

    private static Command Import()
    {
        var file = new Argument<string>("FILE")
        {
            Description = "A Stable Diffusion VAE (.safetensors, or .ckpt read safely: nothing in it is executed), or a whole SD 1.x/2.x checkpoint, whose first_stage_model is read",
        };
        var output = new Option<string>("--out") { Description = "Autoencoder folder to create (new or empty)", Required = true };
        var scale = new Option<double?>("--scale") { Description = "Latent scale to record (default: the file's, else 0.18215 for Stable Diffusion's shape, else measured by each latent run)" };
        var cmd = new Command("import", "Import a released latent-diffusion autoencoder (Stable Diffusion's VAE) into an autoencoder folder") { file, output, scale };
        cmd.SetAction(p => Cli.Guard(() =>
        {
            var path = p.GetValue(file)!;
            Cli.Info($"importing {path}");
            var result = AutoencoderImport.ImportToFolder(path, p.GetValue(output)!, p.GetValue(scale));
            foreach (var n in result.Notes) Cli.Info(n);
            var c = result.Info.Config;
            Cli.Info(string.Create(CultureInfo.InvariantCulture,
                $"{result.Parameters:N0} parameters; {c.InChannels} image channels, factor {c.Factor} ({c.LatentChannels} latent channels), " +
                $"{c.BaseChannels} channels × {string.Join(",", c.ChannelMultipliers)}, {c.ResBlocksPerLevel} blocks per level" +
                $"{(c.AttentionLevels.Length > 0 ? $", attention at levels {string.Join(",", c.AttentionLevels)}" : "")}"));
            Cli.Info($"wrote {result.Folder.Root}: check it on your pictures with `noisette autoencoder reconstruct \"{result.Folder.Root}\" --data FOLDER`");
            return Cli.Ok;
        }));
        return cmd;
    }
}
