using Noisette.Bundles;
using Noisette.Data;
using Noisette.Sampling;
using static TorchSharp.torch;

namespace Noisette.Pipelines;

/// <summary>What to change in an image: the image, how strongly, and the generation settings (seeds, sampler, class...).</summary>
public sealed record EditRequest
{
    public required string ImagePath { get; init; }
    /// <summary>0 keeps the input, 1 ignores it; in between, how far into the noise the input is pushed.</summary>
    public double Strength { get; init; } = 0.5;
    /// <summary>Variations from seeds Seed, Seed+1, ...; at most one class, to steer towards.</summary>
    public GenerationSettings Settings { get; init; } = new();
}

/// <summary>
/// Image-to-image (SDEdit, Meng et al.): noise the input to the timestep matching the strength, then let a sampler
/// denoise it from there. Low strengths keep the composition and change details; high strengths keep little.
/// </summary>
public static class Edit
{
    public static void CheckStrength(double strength)
    {
        if (!(strength >= 0 && strength <= 1)) throw new NoisetteInputException($"the strength must be between 0 and 1, got {strength.ToString(System.Globalization.CultureInfo.InvariantCulture)}");
    }

    /// <summary>
    /// The timesteps an edit visits, ascending: the sampler's own schedule for <paramref name="steps"/> calls (evenly in
    /// time for DDIM and DDPM, evenly in log-SNR for DPM-Solver++ and Euler ancestral) cut at the start timestep
    /// round(strength·(T−1)): the scheduled timesteps below it, then the start itself. At strength 1 it is the whole
    /// schedule, exactly as when sampling.
    /// </summary>
    public static int[] Timesteps(ISampler sampler, Diffusion.GaussianDiffusion diffusion, int steps, double strength)
    {
        CheckStrength(strength);
        var schedule = sampler.Timesteps(diffusion, steps);
        if (strength >= 1) return schedule;
        int start = (int)Math.Round(strength * (diffusion.T - 1));
        return [.. schedule.Where(t => t < start), start];
    }

    /// <summary>The network calls of an edit: none at strength 0, otherwise one per visited timestep.</summary>
    public static int NetworkCalls(ISampler sampler, SamplerOptions options, Diffusion.GaussianDiffusion diffusion, double strength)
    {
        CheckStrength(strength);
        if (strength == 0) return 0;
        if (strength >= 1) return (options with { Timesteps = null, StopAt = -1 }).NetworkCalls(sampler, diffusion);
        return Timesteps(sampler, diffusion, Generation.ResolvedSteps(sampler, options, diffusion.T), strength).Length;
    }

    /// <summary>
    /// The edit loop for one batch: <paramref name="input"/> (1 or B, C, H, W, in [−1, 1]) gives one edited image per
    /// generator. Strength 0 returns the input; strength 1 starts from pure noise, exactly like sampling that seed.
    /// </summary>
    public static Tensor Run(Denoiser denoiser, ISampler sampler, SamplerOptions options, Tensor input, double strength,
                             IReadOnlyList<Generator> generators, Action<SamplerProgress>? progress = null)
    {
        CheckStrength(strength);
        var d = denoiser.Diffusion;
        var noise = Noise.Normal(generators, input.shape[1], input.shape[2], input.device, input.dtype);
        var clean = input.expand_as(noise);
        if (strength == 0) return clean.clone();
        var timesteps = Timesteps(sampler, d, Generation.ResolvedSteps(sampler, options, d.T), strength);
        var x = strength >= 1
            ? noise
            : d.QSample(clean, full(noise.shape[0], (long)timesteps[^1], dtype: int64, device: noise.device), noise);
        // At strength 1 the sampler picks its own timesteps, exactly as when sampling.
        var walk = strength >= 1 ? options with { Timesteps = null, StopAt = -1 } : options with { Timesteps = timesteps, StopAt = -1 };
        return sampler.Sample(denoiser, x, walk, generators, progress);
    }

    /// <summary>Edits an image (uint8 CHW pixels) once per seed; returns uint8 CHW images.</summary>
    /// <param name="preview">Called after every network call of every batch with the current x̂₀ (for previews).</param>
    /// <param name="autoencoder">Encodes the input to the denoiser's space and decodes the results (default: the identity).</param>
    public static List<byte[]> Images(Denoiser denoiser, ISampler sampler, SamplerOptions options, byte[] input, double strength,
                                      IReadOnlyList<long> seeds, int batchSize = 16, Action<int, int>? onImagesDone = null,
                                      Action<GenerationPreview>? preview = null, IAutoencoder? autoencoder = null)
    {
        CheckStrength(strength);
        var ae = autoencoder ?? IdentityAutoencoder.Instance;
        var cfg = denoiser.Model.Config;
        var pixels = ae.Decoded(new SampleShape(cfg.InChannels, cfg.ImageSize));
        if (strength == 0) return seeds.Select(_ => (byte[])input.Clone()).ToList();   // exactly the input
        return ImageBatches.InBatches(denoiser, seeds, batchSize, (generators, start) =>
        {
            var x0 = ae.Encode(Pixels.FromBytes(input, pixels.Channels, pixels.Size, denoiser.Model.parameters().First().device));
            return Run(denoiser, sampler, options, x0, strength, generators, ImageBatches.ForBatch(preview, start));
        }, onImagesDone, ae);
    }

    /// <summary>Edits an image file with a loaded model and writes one PNG per seed, each with its provenance.</summary>
    public static SamplePipeline.Result ToFolder(LoadedModel model, EditRequest request, string outDir, Action<int, int>? progress = null,
                                                 Action<GenerationPreview>? preview = null)
    {
        CheckStrength(request.Strength);
        var s = request.Settings;
        var sampler = s.Validate();
        var className = s.Class;
        var bundle = model.Bundle;
        var inputPath = Path.GetFullPath(request.ImagePath);
        var input = model.LoadImage(inputPath);
        var options = s.SamplerOptions;
        int steps = Generation.ResolvedSteps(sampler, options, bundle.Diffusion.T);
        var seeds = s.ResolvedSeeds;
        int calls = NetworkCalls(sampler, options with { Steps = steps }, bundle.Diffusion, request.Strength);
        double guidance = s.GuidanceFor(bundle);
        var images = Generation.BatchedOrInSlot(seeds, s.BatchSize, s.Slot, progress, (items, batch, report) =>
            Images(bundle.Denoiser(className, guidance), sampler, options with { Steps = steps }, input, request.Strength, items,
                   batch, report, preview, bundle.Autoencoder));
        Directory.CreateDirectory(outDir);
        var files = new List<string>();
        var stem = Path.GetFileNameWithoutExtension(inputPath);
        for (int i = 0; i < images.Count; i++)
        {
            var provenance = Provenance.For(model, Provenance.Edit, sampler.Name, steps, s.Eta, seeds[i]) with
            {
                Class = className,
                Guidance = className is null ? null : guidance,
                Strength = request.Strength,
                NetworkCalls = calls,
                Input = inputPath,
                InputSha256 = Provenance.FileSha256(inputPath),
                Batch = s.Slot ?? BatchSlot.Of(i, seeds.Count, s.BatchSize),
            };
            var path = Path.Combine(outDir, $"edit-{stem}-s{request.Strength.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture)}-" +
                                            SamplePipeline.FileName(sampler.Name, model.State.Step, seeds[i]));
            PngWriter.Write(path, Generation.Image(bundle, images[i]), provenance.ToText());
            files.Add(path);
        }
        return new SamplePipeline.Result(files, null);
    }
}
