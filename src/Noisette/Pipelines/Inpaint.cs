using Noisette.Bundles;
using Noisette.Data;
using Noisette.Sampling;
using static TorchSharp.torch;

namespace Noisette.Pipelines;

/// <summary>What to fill in: an image, a mask (white = regenerate), the resampling settings and the generation settings.</summary>
public sealed record InpaintRequest
{
    public required string ImagePath { get; init; }
    public required string MaskPath { get; init; }
    /// <summary>Times each stretch of the walk is denoised (1 = no resampling).</summary>
    public int Jumps { get; init; } = 5;
    /// <summary>Timesteps the walk jumps back up before denoising a stretch again.</summary>
    public int JumpLength { get; init; } = 5;
    /// <summary>
    /// Seeds, sampler and at most one class. Ancestral sampling suits RePaint best (any sampler can take its single
    /// steps); the steps are the timesteps of the walk down (respaced).
    /// </summary>
    public GenerationSettings Settings { get; init; } = new() { Sampler = "ddpm", Steps = 50 };
}

/// <summary>
/// Inpainting with any unconditional model, RePaint-style (Lugmayr et al.): at every step the regenerated region
/// comes from the sampler and the known region from the input noised to the same timestep; to let the two agree,
/// the walk now and then jumps back up (re-noising) and denoises the stretch again. The known pixels of the input
/// are pasted into the result at the end, so they stay exactly as they were.
/// </summary>
public static class Inpaint
{
    public static void Check(int jumps, int jumpLength)
    {
        if (jumps < 1) throw new NoisetteInputException($"the number of jumps must be at least 1, got {jumps}");
        if (jumpLength < 1) throw new NoisetteInputException($"the jump length must be at least 1, got {jumpLength}");
    }

    /// <summary>
    /// RePaint's walk over positions n−1 … 0 of the respaced timesteps, ending at −1 (the clean image): going down
    /// one position at a time, and after every <paramref name="jumpLength"/> positions jumping back up by as many,
    /// <paramref name="jumps"/> − 1 times.
    /// </summary>
    public static int[] Walk(int n, int jumps, int jumpLength)
    {
        Check(jumps, jumpLength);
        var remaining = new Dictionary<int, int>();
        for (int j = 0; j < n - jumpLength; j += jumpLength) remaining[j] = jumps - 1;
        var walk = new List<int>();
        int pos = n;
        while (pos >= 1)
        {
            walk.Add(--pos);
            if (remaining.TryGetValue(pos, out var left) && left > 0)
            {
                remaining[pos] = left - 1;
                for (int k = 0; k < jumpLength; k++) walk.Add(++pos);
            }
        }
        walk.Add(-1);
        return walk.ToArray();
    }

    /// <summary>The network calls of an inpainting: one per downward move of the RePaint walk over the sampler's timesteps.</summary>
    public static int NetworkCalls(ISampler sampler, SamplerOptions options, Diffusion.GaussianDiffusion diffusion, int jumps, int jumpLength)
    {
        var walk = Walk(options.Path(diffusion.T, sampler.DefaultSteps(diffusion.T)).Length - 1, jumps, jumpLength);
        return Enumerable.Range(1, walk.Length - 1).Count(k => walk[k] < walk[k - 1]);
    }

    /// <summary>
    /// The inpainting loop for one batch. <paramref name="known"/> is the input in [−1, 1] and <paramref name="regenerate"/>
    /// is 1 where the image is to be made anew, 0 where it is known (both broadcast over the batch).
    /// </summary>
    public static Tensor Run(Denoiser denoiser, ISampler sampler, SamplerOptions options, Tensor known, Tensor regenerate,
                             int jumps, int jumpLength, IReadOnlyList<Generator> generators, Action<SamplerProgress>? progress = null)
    {
        var d = denoiser.Diffusion;
        var steps = Enumerable.Reverse(options.Path(d.T, sampler.DefaultSteps(d.T))[..^1]).ToArray();   // ascending
        var walk = Walk(steps.Length, jumps, jumpLength);
        int calls = Enumerable.Range(1, walk.Length - 1).Count(k => walk[k] < walk[k - 1]), done = 0;
        int At(int position) => position < 0 ? -1 : steps[position];
        var x = Noise.Normal(generators, known.shape[1], known.shape[2], known.device, known.dtype);
        for (int k = 0; k + 1 < walk.Length; k++)
        {
            using var scope = NewDisposeScope();
            int t = At(walk[k]), s = At(walk[k + 1]);
            Tensor next;
            if (s < t)
            {
                // One sampler step on the whole image, then the known region from the input noised to s.
                done++;
                var generated = sampler.Sample(denoiser, x, options with { Timesteps = [t], StopAt = s }, generators,
                                               p => progress?.Invoke(new SamplerProgress(done, calls, p.PredictedX0)));
                var knownAtS = s < 0 ? known : d.QSample(known.expand_as(x), full(x.shape[0], (long)s, dtype: int64, device: x.device),
                                                         Noise.NormalLike(x, generators));
                next = generated * regenerate + knownAtS * (1 - regenerate);
            }
            else
            {
                // A jump back up: q(x_s | x_t) re-noises the image.
                var (coef, std) = d.ForwardBetween(t, s);
                next = x * coef + Noise.NormalLike(x, generators) * std;
            }
            x.Dispose();
            x = next.MoveToOuterDisposeScope();
        }
        return x;
    }

    /// <summary>
    /// Inpaints an image (uint8 CHW) once per seed. <paramref name="mask"/> is one uint8 plane: ≥ 128 (white) means
    /// regenerate. The known pixels of the result are the input's, byte for byte.
    /// </summary>
    /// <param name="preview">Called after every network call of every batch with the current x̂₀ (for previews).</param>
    public static List<byte[]> Images(Denoiser denoiser, ISampler sampler, SamplerOptions options, byte[] input, byte[] mask,
                                      int jumps, int jumpLength, IReadOnlyList<long> seeds, int batchSize = 16, Action<int, int>? onImagesDone = null,
                                      Action<GenerationPreview>? preview = null, IAutoencoder? autoencoder = null)
    {
        Check(jumps, jumpLength);
        var ae = autoencoder ?? IdentityAutoencoder.Instance;
        var cfg = denoiser.Model.Config;
        var latent = new SampleShape(cfg.InChannels, cfg.ImageSize);
        var shape = ae.Decoded(latent);
        int plane = shape.Size * shape.Size, factor = shape.Size / latent.Size;
        if (input.Length != shape.Length || mask.Length != plane)
            throw new NoisetteInputException($"the image and mask must be {shape.Size} px with {shape.Channels} and 1 channel(s)");
        var images = ImageBatches.InBatches(denoiser, seeds, batchSize, (generators, start) =>
        {
            var device = denoiser.Model.parameters().First().device;
            var known = ae.Encode(Pixels.FromBytes(input, shape.Channels, shape.Size, device));
            // The known region is pasted in the denoiser's space at every step, with the mask at its resolution. A
            // latent covers factor × factor pixels: it is regenerated when any of them is, so that the latents kept
            // are those of wholly known pixels (the pixels themselves are pasted back after decoding).
            var regenerate = tensor(mask.Select(m => m >= 128 ? 1f : 0f).ToArray(), device: device).reshape(1, 1, shape.Size, shape.Size);
            if (factor > 1) regenerate = nn.functional.max_pool2d(regenerate, factor, factor);
            return Run(denoiser, sampler, options, known, regenerate, jumps, jumpLength, generators, ImageBatches.ForBatch(preview, start));
        }, onImagesDone, ae);
        foreach (var image in images)
            for (int c = 0; c < shape.Channels; c++)
                for (int i = 0; i < plane; i++)
                    if (mask[i] < 128) image[c * plane + i] = input[c * plane + i];
        return images;
    }

    /// <summary>Inpaints an image file with a loaded model and writes one PNG per seed, each with its provenance.</summary>
    public static SamplePipeline.Result ToFolder(LoadedModel model, InpaintRequest request, string outDir, Action<int, int>? progress = null,
                                                 Action<GenerationPreview>? preview = null)
    {
        Check(request.Jumps, request.JumpLength);
        var s = request.Settings;
        var sampler = s.Validate();
        var className = s.Class;
        var bundle = model.Bundle;
        var inputPath = Path.GetFullPath(request.ImagePath);
        var maskPath = Path.GetFullPath(request.MaskPath);
        var input = model.LoadImage(inputPath);
        var mask = model.LoadImage(maskPath, gray: true);
        if (mask.All(m => m < 128)) throw new NoisetteInputException($"the mask '{maskPath}' has no white pixels: nothing to regenerate");
        var options = s.SamplerOptions;
        int steps = Generation.ResolvedSteps(sampler, options, bundle.Diffusion.T);
        var seeds = s.ResolvedSeeds;
        int calls = NetworkCalls(sampler, options with { Steps = steps }, bundle.Diffusion, request.Jumps, request.JumpLength);
        double guidance = s.GuidanceFor(bundle);
        var images = Generation.BatchedOrInSlot(seeds, s.BatchSize, s.Slot, progress, (items, batch, report) =>
            Images(bundle.Denoiser(className, guidance), sampler, options with { Steps = steps }, input, mask, request.Jumps, request.JumpLength,
                   items, batch, report, preview, bundle.Autoencoder));
        Directory.CreateDirectory(outDir);
        var files = new List<string>();
        var stem = Path.GetFileNameWithoutExtension(inputPath);
        for (int i = 0; i < images.Count; i++)
        {
            var provenance = Provenance.For(model, Provenance.Inpaint, sampler.Name, steps, s.Eta, seeds[i]) with
            {
                Class = className,
                Guidance = className is null ? null : guidance,
                NetworkCalls = calls,
                Input = inputPath,
                InputSha256 = Provenance.FileSha256(inputPath),
                Mask = maskPath,
                MaskSha256 = Provenance.FileSha256(maskPath),
                Jumps = request.Jumps,
                JumpLength = request.JumpLength,
                Batch = s.Slot ?? BatchSlot.Of(i, seeds.Count, s.BatchSize),
            };
            var path = Path.Combine(outDir, $"inpaint-{stem}-" + SamplePipeline.FileName(sampler.Name, model.State.Step, seeds[i]));
            PngWriter.Write(path, Generation.Image(bundle, images[i]), provenance.ToText());
            files.Add(path);
        }
        return new SamplePipeline.Result(files, null);
    }
}
