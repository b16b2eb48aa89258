using System.Diagnostics;
using System.Globalization;
using Noisette.Bundles;
using Noisette.Diffusion;
using Noisette.Models;
using Noisette.Pipelines;
using Noisette.Runtime;
using Noisette.Sampling;
using Noisette.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Noisette.Bench;

/// <summary>
/// Seconds per image of the samplers on a preset with random weights, on the CPU, at a batch of 16 by default:
/// DDIM with 50 steps, DPM-Solver++ with 20, and DDPM's 1,000 steps extrapolated from 20 of its calls (every DDPM
/// step costs one network call and the same few element-wise operations, so time is linear in the steps).
/// Sampling time does not depend on the weights' values.
/// </summary>
public static class SamplerBench
{
    public const int Batch = 16;
    private const int DdpmMeasuredSteps = 20;

    /// <summary>Runs the measurement; returns one JSON line.</summary>
    public static string Run(string preset, int threads, Precision requested, int batch = Batch)
    {
        TorchRuntime.ConfigureThreads(threads);
        var precision = PrecisionSupport.Resolve(requested, CPU, w => Console.Error.WriteLine("warning: " + w));
        random.manual_seed(0);
        using var model = new UNet(ModelPresets.Get(preset).Model);
        using (no_grad())
            foreach (var p in model.parameters()) p.add_(randn_like(p) * 0.02);
        if (precision != Precision.Fp32) model.to(PrecisionSupport.ScalarTypeOf(precision));
        var denoiser = new Denoiser(model, new GaussianDiffusion(new DiffusionConfig()));
        var seeds = Enumerable.Range(0, batch).Select(i => (long)i).ToArray();
        ImageBatches.Sample(denoiser, new DdimSampler(), new SamplerOptions { Steps = 2 }, seeds, batch);   // warm-up

        var results = new List<(string Name, double SecondsPerImage)>();
        foreach (var (name, sampler, steps, scale) in new (string, ISampler, int, double)[]
                 {
                     ("ddim-50", new DdimSampler(), 50, 1),
                     ("dpm++-20", new DpmSolverSampler(), 20, 1),
                     ("ddpm-1000", new DdpmSampler(), DdpmMeasuredSteps, 1000.0 / DdpmMeasuredSteps),
                 })
        {
            var clock = Stopwatch.StartNew();
            ImageBatches.Sample(denoiser, sampler, new SamplerOptions { Steps = steps }, seeds, batch);
            results.Add((name, clock.Elapsed.TotalSeconds * scale / batch));
        }
        string F(double v) => v.ToString("0.0000", CultureInfo.InvariantCulture);
        return "{\"bench\":\"samplers\",\"preset\":\"" + preset + "\",\"batch\":" + batch + ",\"threads\":" + get_num_threads() +
               ",\"precision\":\"" + PrecisionSupport.Name(precision) + "\"" +
               ",\"seconds_per_image\":{" + string.Join(",", results.Select(r => $"\"{r.Name}\":{F(r.SecondsPerImage)}")) + "}" +
               ",\"ddpm_extrapolated_from_steps\":" + DdpmMeasuredSteps + ",\"peak_rss_mib\":" +
               (PeakMemory.Mib() is { } mib ? mib.ToString(CultureInfo.InvariantCulture) : "null") + "}";
    }
}
