using Noisette.Data;
using Noisette.Diffusion;
using Noisette.Models;
using static TorchSharp.torch;

namespace Noisette.Evaluation;

/// <summary>The held-out loss at one checkpoint, overall and by noise level.</summary>
public sealed record ValidationResult(double Loss, double LowNoise, double MidNoise, double HighNoise, int Images)
{
    /// <summary>For a class-conditional model: the loss of each class's images, indexed by label.</summary>
    public double[]? ByClass { get; init; }
}

/// <summary>
/// The denoising loss on the validation images with fixed noise and fixed timesteps: image i is evaluated at
/// <see cref="Repeats"/> timesteps spread over the whole range (one in each of as many equal strata), with noise
/// drawn from a generator seeded by i alone. The same images therefore always meet the same noise, so the number
/// compares across checkpoints and across runs on the same data. Low/mid/high are the thirds of the timestep range.
/// When there are more than <see cref="MaxImages"/> validation images, the subset is taken in turn from each class
/// (<see cref="Select"/>), so every class of a class-conditional set gets a per-class loss. A latent model's loss is
/// computed on the pictures' latents, given as <c>encoded</c> (the posterior means, scaled), with noise of their shape.
/// </summary>
public static class ValidationLoss
{
    public const int Repeats = 6;
    public const int MaxImages = 512;

    /// <param name="encoded">For a latent model: the latents of the pictures <see cref="Select"/>(images, <see cref="MaxImages"/>)
    /// chooses, in that order (N, c, h, w); null for a pixel model.</param>
    public static ValidationResult? Compute(UNet model, GaussianDiffusion diffusion, IImageSet images, int batchSize = 64, Tensor? encoded = null)
    {
        var chosen = Select(images, MaxImages);
        int n = chosen.Count;
        if (n == 0) return null;
        if (encoded is not null && encoded.shape[0] != n) throw new ArgumentException($"{encoded.shape[0]} latents for {n} pictures", nameof(encoded));
        var row = chosen.Select((image, k) => (image, k)).ToDictionary(p => p.image, p => p.k);
        var device = model.parameters().First().device;
        int c = encoded is null ? images.Channels : (int)encoded.shape[1], s = encoded is null ? images.ImageSize : (int)encoded.shape[2];
        int per = images.Channels * images.ImageSize * images.ImageSize, T = diffusion.T;
        bool wasTraining = model.training;
        model.eval();
        double[] sum = new double[3];
        int[] count = new int[3];
        bool conditional = model.IsConditional;
        int classes = model.Config.NumClasses;
        var classSum = new double[Math.Max(classes, 0)];
        var classCount = new int[Math.Max(classes, 0)];
        try
        {
            using var _ = inference_mode();
            // Every (image, repeat) pair, in a fixed order.
            var pairs = new List<(int Image, int Repeat)>();
            foreach (int i in chosen) for (int r = 0; r < Repeats; r++) pairs.Add((i, r));
            var buffer = new byte[per];
            for (int start = 0; start < pairs.Count; start += batchSize)
            {
                using var scope = NewDisposeScope();
                var chunk = pairs.Skip(start).Take(batchSize).ToArray();
                var x0s = new List<Tensor>();
                var noises = new List<Tensor>();
                var ts = new long[chunk.Length];
                var ys = new long[chunk.Length];
                for (int k = 0; k < chunk.Length; k++)
                {
                    var (i, r) = chunk[k];
                    if (encoded is null)
                    {
                        images.CopyImage(i, buffer);
                        x0s.Add(tensor(buffer, dtype: ScalarType.Byte).reshape(1, c, s, s).to(float32).div_(127.5).sub_(1));
                    }
                    else x0s.Add(encoded.narrow(0, row[i], 1));
                    using var g = new Generator((ulong)(1_000_003L * i + r + 1));
                    noises.Add(randn(new long[] { 1, c, s, s }, generator: g));
                    // Stratum r of Repeats, offset by a fixed per-image fraction so strata are covered evenly.
                    double u = (r + Frac(i)) / Repeats;
                    ts[k] = Math.Min(T - 1, (long)(u * T));
                    int label = images.LabelOf(i);
                    ys[k] = label >= 0 ? label : Math.Max(model.NullLabel, 0);
                }
                var x0 = cat(x0s, 0).to(float32).to(device);
                var noise = cat(noises, 0).to(device);
                var t = tensor(ts, dtype: int64, device: device);
                var xt = diffusion.QSample(x0, t, noise);
                var output = model.Forward(xt, t, conditional ? tensor(ys, dtype: int64, device: device) : null);
                var pred = diffusion.Config.LearnSigma ? output.chunk(2, 1)[0] : output;
                var perImage = (pred - diffusion.Target(x0, noise, t)).square().mean([1, 2, 3]).cpu().data<float>().ToArray();
                for (int k = 0; k < chunk.Length; k++)
                {
                    int bucket = (int)Math.Min(2, ts[k] * 3 / T);
                    sum[bucket] += perImage[k];
                    count[bucket]++;
                    if (conditional && ys[k] < classes) { classSum[ys[k]] += perImage[k]; classCount[ys[k]]++; }
                }
            }
        }
        finally
        {
            if (wasTraining) model.train();
        }
        double Mean(int b) => count[b] > 0 ? sum[b] / count[b] : double.NaN;
        return new ValidationResult(sum.Sum() / count.Sum(), Mean(0), Mean(1), Mean(2), n)
        {
            ByClass = conditional ? classSum.Select((v, c) => classCount[c] > 0 ? v / classCount[c] : double.NaN).ToArray() : null,
        };
    }

    /// <summary>
    /// The images evaluated, deterministically: all of them when there are at most <paramref name="max"/>; otherwise one
    /// from each label in turn (in index order within each label, labels in order, unlabelled images as one more group)
    /// until <paramref name="max"/> are chosen. For an unlabelled set that is the first <paramref name="max"/> images.
    /// </summary>
    public static IReadOnlyList<int> Select(IImageSet images, int max)
    {
        if (images.Count <= max) return Enumerable.Range(0, images.Count).ToList();
        var queues = Enumerable.Range(0, images.Count).GroupBy(images.LabelOf).OrderBy(g => g.Key < 0 ? int.MaxValue : g.Key)
            .Select(g => new Queue<int>(g)).ToList();
        var chosen = new List<int>(max);
        while (chosen.Count < max)
            foreach (var q in queues)
                if (q.Count > 0 && chosen.Count < max) chosen.Add(q.Dequeue());
        chosen.Sort();
        return chosen;
    }

    private static double Frac(int i) => (i * 0.6180339887498949) % 1.0;
}
