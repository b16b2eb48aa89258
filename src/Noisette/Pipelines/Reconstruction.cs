using System.Diagnostics;
using Noisette.Bundles;
using Noisette.Data;
using Noisette.Evaluation;
using Noisette.Runs;
using Noisette.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Noisette.Pipelines;

/// <summary>What to reconstruct: an autoencoder folder, a folder of pictures and how many of them, where to draw the grid.</summary>
public sealed record ReconstructionRequest
{
    public required string Autoencoder { get; init; }
    public required string Data { get; init; }
    /// <summary>Picture size; null = the size the autoencoder was trained at, else 256.</summary>
    public int? ImageSize { get; init; }
    /// <summary>Pictures to reconstruct (the first of the folder's validation split, then of the rest).</summary>
    public int Count { get; init; } = 32;
    /// <summary>A PNG to draw originals beside their reconstructions in, or null.</summary>
    public string? GridPath { get; init; }
    public string Device { get; init; } = "cpu";
    public int Threads { get; init; }
}

/// <summary>The reconstruction quality of an autoencoder on some pictures.</summary>
public sealed record ReconstructionReport(int Images, int ImageSize, int LatentSize, double MeanPsnr, double MeanSsim,
                                          IReadOnlyList<string> Files, double[] Psnr, double[] Ssim, double SecondsPerImage, string? Grid);

/// <summary>
/// <c>noisette autoencoder reconstruct</c>: encodes pictures to the posterior's mean and decodes them, and reports how
/// close the result is (<see cref="ReconstructionQuality"/>: PSNR and SSIM) — the first thing to know about a released
/// autoencoder before training a latent model on your pictures with it, since a latent model can draw nothing its
/// autoencoder cannot reconstruct.
/// </summary>
public static class Reconstruction
{
    public static ReconstructionReport Run(ReconstructionRequest request, Action<string>? info = null)
    {
        if (request.Count < 1) throw new NoisetteInputException($"--n must be at least 1, got {request.Count}");
        var folder = new AutoencoderFolder(request.Autoencoder);
        var described = folder.ReadInfo();
        int size = request.ImageSize ?? described.ImageSize ?? 256;
        int factor = described.Config.Factor;
        if (size % factor != 0)
            throw new NoisetteInputException($"the autoencoder's factor {factor} does not divide the image size {size}: use a multiple of {factor}");
        var device = TorchRuntime.ResolveDevice(request.Device);
        if (request.Threads > 0) TorchRuntime.ConfigureThreads(TorchRuntime.CheckThreads(request.Threads));
        int channels = described.Config.InChannels;
        if (channels is not (1 or 3)) throw new NoisetteInputException($"the autoencoder reads {channels}-channel images; reconstruct takes gray (1) or RGB (3)");
        var data = ImageDataset.Load(request.Data, new DataConfig { ImageSize = size, Channels = channels == 1 ? ChannelMode.Gray : ChannelMode.Rgb });
        var order = data.ValidationIndices.Concat(data.TrainIndices).Take(request.Count).ToArray();
        info?.Invoke($"reconstructing {order.Length} of {data.Count} pictures at {size} px ({size / factor}×{size / factor}×{described.Config.LatentChannels} latents)");

        using var network = folder.Load(out _);
        network.to(device);
        // Pictures larger than the autoencoder was trained at go through in tiles of its training size (blended where
        // they overlap), so that the memory is that of a picture it was made for.
        var autoencoder = new LatentAutoencoder(network, described.Scale ?? 1.0)
        {
            TileLatents = described.ImageSize is int trained && size > trained ? trained / factor : null,
        };
        if (autoencoder.TileLatents is int tile)
            info?.Invoke($"the autoencoder was trained at {described.ImageSize} px: encoding and decoding in blended tiles of {tile * factor} px");
        var psnr = new List<double>();
        var ssim = new List<double>();
        var originalsBytes = new List<byte[]>();
        var reconstructedBytes = new List<byte[]>();
        var clock = Stopwatch.StartNew();
        using (inference_mode())
            foreach (var chunk in order.Chunk(autoencoder.SliceSize))
            {
                using var scope = NewDisposeScope();
                var x = Pixels.FromImages(data, chunk, device);
                var y = autoencoder.Decode(autoencoder.Encode(x)).clamp(-1, 1);
                psnr.AddRange(ReconstructionQuality.Psnr(x, y));
                ssim.AddRange(ReconstructionQuality.Ssim(x, y));
                if (request.GridPath is not null)
                {
                    originalsBytes.AddRange(Pixels.ToBytes(x));
                    reconstructedBytes.AddRange(Pixels.ToBytes(y));
                }
            }
        double seconds = clock.Elapsed.TotalSeconds / order.Length;
        string? grid = null;
        if (request.GridPath is not null)
        {
            grid = Path.GetFullPath(request.GridPath);
            ComparisonGrid.Write(grid, originalsBytes, reconstructedBytes, channels, size);
        }
        return new ReconstructionReport(order.Length, size, size / factor, psnr.Average(), ssim.Average(),
                                        order.Select(i => data.RelativePaths[i]).ToList(), psnr.ToArray(), ssim.ToArray(), seconds, grid);
    }
}
