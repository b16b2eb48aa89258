using System.Diagnostics;
using System.Text.Json;
using Noisette.Data;
using Noisette.Diffusion;
using Noisette.Models;
using Noisette.Runtime;
using Noisette.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Noisette.Bench;

/// <summary>
/// Training throughput measured as the reference measures it, but with Noisette's whole training step: batches
/// from a prefetching <see cref="BatchLoader"/>, the forward and backward passes in the chosen precision, the
/// float32 loss, gradient clipping, AdamW and the EMA on flat buffers. Each phase is timed (on the CPU every op
/// completes before the next starts, so wall-clock phases are exact). <c>--image-size</c> and <c>--channels</c> run a
/// preset's U-Net at another size (resized as <c>train --image-size</c> resizes it) or channel count: the latent256
/// U-Net on 256 px RGB pixels is the pixel-space peer of latent training at 256 px (docs/benchmarks.md); with
/// <c>--no-attention</c> (attention at 128×128 would cost more than the rest) it is the cheapest such peer.
/// </summary>
public static class TrainBench
{
    public static string Run(string preset, int batch, int steps, int threads, Precision requested, int? imageSize = null, int? channels = null,
                             bool noAttention = false)
    {
        TorchRuntime.ConfigureThreads(threads);
        var precision = PrecisionSupport.Resolve(requested, CPU, w => Console.Error.WriteLine("warning: " + w));
        random.manual_seed(0);

        var cfg = ModelPresets.Get(preset).Model;
        if (imageSize is int size) cfg = cfg.Resized(size);
        if (channels is int c) cfg = cfg with { InChannels = c, OutChannels = 0 };
        if (noAttention) cfg = cfg with { AttentionResolutions = [] };
        using var model = new UNet(cfg);
        long parameterCount = model.ParameterCount();
        using var flat = new FlatParameters(model, withGrad: true);
        using var opt = new AdamW(flat, 0.9, 0.999, 1e-8, 0.0);
        var emaModel = new UNet(cfg);
        using var ema = new Ema(flat, emaModel, 0.999, warmup: true);
        using var low = precision == Precision.Fp32 ? null : new LowPrecisionCopy(model, flat, PrecisionSupport.ScalarTypeOf(precision), CPU);
        var network = low?.Model ?? model;
        var diffusion = new GaussianDiffusion(new DiffusionConfig());

        // Random images, as the reference's; the loader builds batches from them on its own thread.
        var rng = new Random(0);
        int images = Math.Max(4 * batch, 256), per = cfg.InChannels * cfg.ImageSize * cfg.ImageSize;
        var pixels = new byte[images * per];
        rng.NextBytes(pixels);
        var set = new InMemoryImageSet(pixels, images, cfg.InChannels, cfg.ImageSize);
        using var loader = new BatchLoader(set, seed: 0, batch, flip: false, startPosition: 0);

        var phases = new double[5];    // data, forward, backward, optimizer, EMA (seconds)
        var clock = new Stopwatch();
        void Lap(int phase) { phases[phase] += clock.Elapsed.TotalSeconds; clock.Restart(); }
        void Step()
        {
            using var scope = NewDisposeScope();
            clock.Restart();
            using var b = loader.Next();
            var x0 = b.Images;
            var t = randint(0, diffusion.T, [batch], dtype: int64);
            var eps = randn_like(x0);
            var xt = diffusion.QSample(x0, t, eps);
            Lap(0);
            var loss = nn.functional.mse_loss(network.Forward(xt, t, null).to(float32), eps);
            Lap(1);
            loss.backward();
            low?.MoveGradients();
            Lap(2);
            using (no_grad())
            {
                var g = flat.Grad!;
                g.mul_((1.0 / (g.norm() + 1e-6)).clamp_max(1.0));
            }
            opt.Step(2e-4);
            low?.Refresh();
            flat.Grad!.zero_();
            Lap(3);
            ema.Update();
            Lap(4);
        }

        network.train();
        for (int i = 0; i < 2; i++) Step();
        Array.Clear(phases);
        var waitBefore = loader.WaitTime;
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < steps; i++) Step();
        double elapsed = sw.Elapsed.TotalSeconds;
        double trainIps = batch * steps / elapsed;
        double waitFraction = (loader.WaitTime - waitBefore).TotalSeconds / elapsed;

        double? trainingPeak = PeakMemory.Mib();   // before the network calls below, which would otherwise count too

        // One network call at batch 16 as DDIM makes it: eval mode, inference mode, in the precision sampling uses,
        // each call in its own dispose scope (as each sampling step is).
        network.eval();
        double callS;
        using (inference_mode())
        {
            using var x = randn(16, cfg.InChannels, cfg.ImageSize, cfg.ImageSize);
            using var tt = full(16, 500L, dtype: int64);
            void Call() { using var scope = NewDisposeScope(); network.Forward(x, tt, null).to(float32); }
            Call();
            sw.Restart();
            for (int i = 0; i < 5; i++) Call();
            callS = sw.Elapsed.TotalSeconds / 5;
        }

        string[] names = ["data", "forward", "backward", "optimizer", "ema"];
        return JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["impl"] = "noisette-torchsharp-0.107.0",
            ["preset"] = preset,
            ["image_size"] = cfg.ImageSize,
            ["channels"] = cfg.InChannels,
            ["attention"] = cfg.AttentionResolutions,
            ["params"] = parameterCount,
            ["batch"] = batch,
            ["threads"] = threads,
            ["precision"] = PrecisionSupport.Name(precision),
            ["train_images_per_s"] = Math.Round(trainIps, 2),
            ["sample_batch16_s_per_call"] = Math.Round(callS, 4),
            ["phase_ms_per_step"] = names.Select((n, i) => (n, i)).ToDictionary(p => p.n, p => Math.Round(phases[p.i] * 1000 / steps, 1)),
            ["data_wait_fraction"] = Math.Round(waitFraction, 4),
            ["peak_rss_mib"] = trainingPeak,
        });
    }
}
