using System.Diagnostics;
using Noisette.Diffusion;
using Noisette.Models;
using Noisette.Runs;
using Noisette.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Noisette.Training;

/// <summary>How long a training run will take on this machine: a few real training steps of the model, timed.</summary>
public sealed record TrainingEstimate(string Preset, int Batch, double SecondsPerStep, int Steps)
{
    public TimeSpan Total => TimeSpan.FromSeconds(SecondsPerStep * Steps);
    public double ImagesPerSecond => Batch / SecondsPerStep;

    /// <summary>Times <paramref name="measuredSteps"/> AdamW steps (after one warm-up) of the model on random images.</summary>
    public static TrainingEstimate Measure(TrainingConfig config, int steps, int measuredSteps = 3)
    {
        TorchRuntime.ConfigureThreads(config.Threads);
        var device = TorchRuntime.ResolveDevice(config.Device);
        var m = config.Model;
        var precision = PrecisionSupport.Resolve(config.Precision, device);
        using var model = new UNet(m);
        model.to(device);
        using var parameters = new FlatParameters(model, withGrad: true);
        using var opt = new AdamW(parameters, config.Beta1, config.Beta2, config.AdamEpsilon, config.WeightDecay);
        using var low = precision == Precision.Fp32 ? null : new LowPrecisionCopy(model, parameters, PrecisionSupport.ScalarTypeOf(precision), device);
        var network = low?.Model ?? model;
        network.train();
        // Its own generator, so that measuring never moves the random draws of a training running beside it.
        using var random = new Generator(0, device);
        network.DrawFrom(random);
        var diffusion = new GaussianDiffusion(config.Diffusion);
        int batch = config.ImagesPerStep;
        void Step()
        {
            using var scope = NewDisposeScope();
            var x0 = rand(new long[] { batch, m.InChannels, m.ImageSize, m.ImageSize }, device: device, generator: random) * 2 - 1;
            var t = randint(0, diffusion.T, [batch], dtype: int64, device: device, generator: random);
            var noise = randn(x0.shape, device: device, generator: random);
            diffusion.Loss(network.call(diffusion.QSample(x0, t, noise), t).to(float32), x0, noise, t).mean().backward();
            low?.MoveGradients();
            opt.Step(config.LearningRate);
            low?.Refresh();
            parameters.Grad!.zero_();
        }
        Step();
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < measuredSteps; i++) Step();
        return new TrainingEstimate(config.Preset, batch, sw.Elapsed.TotalSeconds / measuredSteps, steps);
    }

    public string Describe() =>
        $"training {Steps:N0} steps of {Preset} at batch {Batch} takes about {Format(Total)} on this machine ({ImagesPerSecond:F0} images/s, measured)";

    private static string Format(TimeSpan t) =>
        t.TotalHours >= 1 ? $"{(int)t.TotalHours} h {t.Minutes} min" : t.TotalMinutes >= 1 ? $"{(int)t.TotalMinutes} min" : $"{t.Seconds} s";
}
