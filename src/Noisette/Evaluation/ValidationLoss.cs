using Noisette.Data;
using Noisette.Diffusion;
using Noisette.Models;
using static TorchSharp.torch;

namespace Noisette.Evaluation;

/// <summary>The held-out loss at one checkpoint, overall and by noise level.</summary>
public sealed record ValidationResult(double Loss, double LowNoise, double MidNoise, double HighNoise, int Images);

/// <summary>
/// The denoising loss on the validation images with fixed noise and fixed timesteps: image i is evaluated at
/// <see cref="Repeats"/> timesteps spread over the whole range (one in each of as many equal strata), with noise
/// drawn from a generator seeded by i alone. The same images therefore always meet the same noise, so the number
/// compares across checkpoints and across runs on the same data. Low/mid/high are the thirds of the timestep range.
/// </summary>
public static class ValidationLoss
{
    public const int Repeats = 6;
    public const int MaxImages = 512;

    public static ValidationResult? Compute(UNet model, GaussianDiffusion diffusion, IImageSet images, int batchSize = 64)
    {
        int n = Math.Min(images.Count, MaxImages);
        if (n == 0) return null;
        var device = model.parameters().First().device;
        int c = images.Channels, s = images.ImageSize, per = c * s * s, T = diffusion.T;
        bool wasTraining = model.training;
        model.eval();
        double[] sum = new double[3];
        int[] count = new int[3];
        try
        {
            using var _ = inference_mode();
            // Every (image, repeat) pair, in a fixed order.
            var pairs = new List<(int Image, int Repeat)>();
            for (int i = 0; i < n; i++) for (int r = 0; r < Repeats; r++) pairs.Add((i, r));
            var buffer = new byte[per];
            for (int start = 0; start < pairs.Count; start += batchSize)
            {
                using var scope = NewDisposeScope();
                var chunk = pairs.Skip(start).Take(batchSize).ToArray();
                var x0s = new List<Tensor>();
                var noises = new List<Tensor>();
                var ts = new long[chunk.Length];
                for (int k = 0; k < chunk.Length; k++)
                {
                    var (i, r) = chunk[k];
                    images.CopyImage(i, buffer);
                    x0s.Add(tensor(buffer, dtype: ScalarType.Byte).reshape(1, c, s, s));
                    using var g = new Generator((ulong)(1_000_003L * i + r + 1));
                    noises.Add(randn(new long[] { 1, c, s, s }, generator: g));
                    // Stratum r of Repeats, offset by a fixed per-image fraction so strata are covered evenly.
                    double u = (r + Frac(i)) / Repeats;
                    ts[k] = Math.Min(T - 1, (long)(u * T));
                }
                var x0 = cat(x0s, 0).to(float32).div_(127.5).sub_(1).to(device);
                var noise = cat(noises, 0).to(device);
                var t = tensor(ts, dtype: int64, device: device);
                var xt = diffusion.QSample(x0, t, noise);
                var output = model.call(xt, t);
                var pred = diffusion.Config.LearnSigma ? output.chunk(2, 1)[0] : output;
                var perImage = (pred - diffusion.Target(x0, noise, t)).square().mean([1, 2, 3]).cpu().data<float>().ToArray();
                for (int k = 0; k < chunk.Length; k++)
                {
                    int bucket = (int)Math.Min(2, ts[k] * 3 / T);
                    sum[bucket] += perImage[k];
                    count[bucket]++;
                }
            }
        }
        finally
        {
            if (wasTraining) model.train();
        }
        double Mean(int b) => count[b] > 0 ? sum[b] / count[b] : double.NaN;
        return new ValidationResult(sum.Sum() / count.Sum(), Mean(0), Mean(1), Mean(2), n);
    }

    private static double Frac(int i) => (i * 0.6180339887498949) % 1.0;
}
