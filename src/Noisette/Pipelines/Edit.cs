using Noisette.Data;
using Noisette.Sampling;
using static TorchSharp.torch;

namespace Noisette.Pipelines;

/// <summary>What to change in an image: how strongly, from which seeds, with which sampler.</summary>
public sealed record EditRequest
{
    public required string ImagePath { get; init; }
    /// <summary>0 keeps the input, 1 ignores it; in between, how far into the noise the input is pushed.</summary>
    public double Strength { get; init; } = 0.5;
    public long Seed { get; init; }
    /// <summary>Variations: images from seeds Seed, Seed+1, ...</summary>
    public int Count { get; init; } = 1;
    public string Sampler { get; init; } = Samplers.Default;
    public int Steps { get; init; }
    public double Eta { get; init; }
    public int BatchSize { get; init; } = 16;
    /// <summary>For a class-conditional model: the class to steer towards, and the guidance scale.</summary>
    public string? Class { get; init; }
    public double Guidance { get; init; } = 2.0;
    /// <summary>Regeneration: make the one image (<see cref="Count"/> 1) as this slot of a batch of copies of it (see <see cref="SampleRequest.Slot"/>).</summary>
    public BatchSlot? Slot { get; init; }
}

/// <summary>
/// Image-to-image (SDEdit, Meng et al.): noise the input to the timestep matching the strength, then let a sampler
/// denoise it from there. Low strengths keep the composition and change details; high strengths keep little.
/// </summary>
public static class Edit
{
    public static void CheckStrength(double strength)
    {
        if (!(strength >= 0 && strength <= 1)) throw new NoisetteInputException($"--strength must be between 0 and 1, got {strength}");
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

    /// <summary>Edits an image (uint8 CHW) once per seed; returns uint8 CHW images.</summary>
    /// <param name="preview">Called after every network call of every batch with the current x̂₀ (for previews).</param>
    public static List<byte[]> Images(Denoiser denoiser, ISampler sampler, SamplerOptions options, byte[] input, double strength,
                                      IReadOnlyList<long> seeds, int batchSize = 16, Action<int, int>? onImagesDone = null,
                                      Action<GenerationPreview>? preview = null)
    {
        CheckStrength(strength);
        var cfg = denoiser.Model.Config;
        if (strength == 0) return seeds.Select(_ => (byte[])input.Clone()).ToList();   // exactly the input
        return Generation.InBatches(denoiser, seeds, batchSize, (generators, start) =>
        {
            var x0 = Generation.FromBytes(input, cfg.InChannels, cfg.ImageSize, denoiser.Model.parameters().First().device);
            return Run(denoiser, sampler, options, x0, strength, generators, Generation.ForBatch(preview, start));
        }, onImagesDone);
    }

    /// <summary>Edits an image file with a loaded model and writes one PNG per seed, each with its provenance.</summary>
    public static SamplePipeline.Result ToFolder(LoadedModel model, EditRequest request, string outDir, Action<int, int>? progress = null,
                                                 Action<GenerationPreview>? preview = null)
    {
        CheckStrength(request.Strength);
        if (request.Count < 1) throw new NoisetteInputException($"--n must be at least 1, got {request.Count}");
        if (request.Eta < 0) throw new NoisetteInputException($"--eta must not be negative, got {request.Eta}");
        if (request.Steps < 0) throw new NoisetteInputException($"--steps must not be negative, got {request.Steps}");
        var inputPath = Path.GetFullPath(request.ImagePath);
        var input = model.LoadImage(inputPath);
        var sampler = Samplers.Get(request.Sampler);
        var options = new SamplerOptions { Steps = request.Steps, Eta = request.Eta };
        int steps = Generation.ResolvedSteps(sampler, options, model.Diffusion.T);
        var seeds = Enumerable.Range(0, request.Count).Select(i => request.Seed + i).ToArray();
        int calls = NetworkCalls(sampler, options with { Steps = steps }, model.Diffusion, request.Strength);
        var images = Generation.BatchedOrInSlot(seeds, request.BatchSize, request.Slot, progress, (items, batch, report) =>
            Images(model.Denoiser(request.Class, request.Guidance), sampler, options with { Steps = steps }, input, request.Strength, items,
                   batch, report, preview));
        var cfg = model.Model.Config;
        Directory.CreateDirectory(outDir);
        var files = new List<string>();
        var stem = Path.GetFileNameWithoutExtension(inputPath);
        for (int i = 0; i < images.Count; i++)
        {
            var provenance = Provenance.For(model, Provenance.Edit, sampler.Name, steps, request.Eta, seeds[i]) with
            {
                Class = request.Class,
                Guidance = request.Class is null ? null : request.Guidance,
                Strength = request.Strength,
                NetworkCalls = calls,
                Input = inputPath,
                InputSha256 = Provenance.FileSha256(inputPath),
                Batch = request.Slot ?? BatchSlot.Of(i, seeds.Length, request.BatchSize),
            };
            var path = Path.Combine(outDir, $"edit-{stem}-s{request.Strength.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture)}-" +
                                            SamplePipeline.FileName(sampler.Name, model.State.Step, seeds[i]));
            PngWriter.Write(path, new PlanarImage(cfg.InChannels, cfg.ImageSize, cfg.ImageSize, images[i]), provenance.ToText());
            files.Add(path);
        }
        return new SamplePipeline.Result(files, null);
    }
}
