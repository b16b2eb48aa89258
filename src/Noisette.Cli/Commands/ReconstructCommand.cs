using System.CommandLine;
using System.Globalization;
using Noisette.Pipelines;

namespace Noisette.Cli.Commands;

/// <summary><c>noisette autoencoder reconstruct AE --data DIR [--image-size N] [--n N] [--grid FILE.png]</c>.</summary>
public static class ReconstructCommand
{
    public static Command Create()
    {
        var autoencoder = new Argument<string>("AE") { Description = "An autoencoder folder (from `autoencoder import` or `autoencoder train`)" };
        var data = new Option<string>("--data") { Description = "Folder of pictures (never written to)", Required = true };
        var size = new Option<int?>("--image-size") { Description = "Picture size in pixels (default: the size it was trained at, else 256)" };
        var count = new Option<int>("--n") { Description = "Pictures to reconstruct (default 32)", DefaultValueFactory = _ => 32 };
        var grid = new Option<string?>("--grid") { Description = "Write originals beside their reconstructions to this PNG" };
        var device = new Option<string>("--device") { Description = "cpu or cuda (default cpu)", DefaultValueFactory = _ => "cpu" };
        var threads = Cli.ThreadsOption();
        var cmd = new Command("reconstruct", "Encode and decode pictures with an autoencoder and report how close they come back (PSNR, SSIM)")
        {
            autoencoder, data, size, count, grid, device, threads,
        };
        cmd.SetAction(p => Cli.Guard(() =>
        {
            var report = Reconstruction.Run(new ReconstructionRequest
            {
                Autoencoder = p.GetValue(autoencoder)!,
                Data = p.GetValue(data)!,
                ImageSize = p.GetValue(size),
                Count = p.GetValue(count),
                GridPath = p.GetValue(grid),
                Device = p.GetValue(device)!,
                Threads = p.GetValue(threads) ?? 0,
            }, Cli.Info);
            var inv = CultureInfo.InvariantCulture;
            Cli.Out.WriteLine(string.Create(inv, $"psnr {report.MeanPsnr:0.00}"));
            Cli.Out.WriteLine(string.Create(inv, $"ssim {report.MeanSsim:0.0000}"));
            int worst = Array.IndexOf(report.Psnr, report.Psnr.Min());
            Cli.Info(string.Create(inv, $"{report.Images} pictures at {report.ImageSize} px through {report.LatentSize}×{report.LatentSize} latents, " +
                                        $"{report.SecondsPerImage:0.000} s each; worst: {report.Files[worst]} ({report.Psnr[worst]:0.0} dB)"));
            if (report.Grid is not null) Cli.Info($"wrote {report.Grid} (rows of originals, each above its reconstructions)");
            return Cli.Ok;
        }));
        return cmd;
    }
}
