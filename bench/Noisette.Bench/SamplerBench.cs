using System.Diagnostics;
using System.Globalization;
using Noisette.Diffusion;
using Noisette.Models;
using Noisette.Pipelines;
using Noisette.Sampling;
using static TorchSharp.torch;

namespace Noisette.Bench;

/// <summary>
/// Seconds per image of the samplers on the <c>letters32</c> preset with random weights, batch 16, on the CPU:
/// DDPM with all 1,000 steps, DDIM with 50 and DPM-Solver++ with 20. Sampling time does not depend on the weights.
/// </summary>
public static class SamplerBench
{
    public const int Batch = 16;

    /// <summary>Runs the measurement with <paramref name="threads"/> intra-op threads; returns one JSON line.</summary>
    public static string Run(int threads)
    {
        if (threads > 0) set_num_threads(threads);
        random.manual_seed(0);
        using var model = new UNet(ModelPresets.Get("letters32").Model);
        using (no_grad())
            foreach (var p in model.parameters()) p.add_(randn_like(p) * 0.02);
        var denoiser = new Denoiser(model, new GaussianDiffusion(new DiffusionConfig()));
        var seeds = Enumerable.Range(0, Batch).Select(i => (long)i).ToArray();
        Generation.Sample(denoiser, new DdimSampler(), new SamplerOptions { Steps = 2 }, seeds, Batch);   // warm-up

        var results = new List<(string Name, double SecondsPerImage)>();
        foreach (var (name, sampler, steps) in new (string, ISampler, int)[]
                 { ("ddpm-1000", new DdpmSampler(), 1000), ("ddim-50", new DdimSampler(), 50), ("dpm++-20", new DpmSolverSampler(), 20) })
        {
            var clock = Stopwatch.StartNew();
            Generation.Sample(denoiser, sampler, new SamplerOptions { Steps = steps }, seeds, Batch);
            results.Add((name, clock.Elapsed.TotalSeconds / Batch));
        }
        string F(double v) => v.ToString("0.0000", CultureInfo.InvariantCulture);
        return "{\"bench\":\"samplers\",\"preset\":\"letters32\",\"batch\":" + Batch + ",\"threads\":" + get_num_threads() +
               ",\"seconds_per_image\":{" + string.Join(",", results.Select(r => $"\"{r.Name}\":{F(r.SecondsPerImage)}")) + "}}";
    }
}
