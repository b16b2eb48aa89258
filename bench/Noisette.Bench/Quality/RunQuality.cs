using System.Diagnostics;
using System.Text.Json;
using Noisette.Bundles;
using Noisette.Data;
using Noisette.IO;
using Noisette.Pipelines;
using Noisette.Runs;
using Noisette.Runtime;
using Noisette.Sampling;
using static TorchSharp.torch;

namespace Noisette.Bench.Quality;

/// <summary>
/// <c>bench quality --run RUN</c>: samples N images (seeds seed0 … seed0+N−1) of each letter at each checkpoint of a
/// run, with its EMA weights and the default sampler and steps unless told, and scores them with the
/// <see cref="QualityJudge"/>, against the training minutes at that step and the validation loss the trainer logged
/// there (both from the run's metrics.jsonl), so that one can see whether the validation loss tracks sample quality.
/// For experiments, and only here (the library's samplers are untouched): --spacing picks the visited timesteps
/// (evenly in time, evenly in log-SNR, or quadratic in time, as in the DDIM paper), --x0 how the predicted clean
/// image is bounded (clip to [−1, 1], the library's default for pixel models; none, its default for latent ones; or dynamic:P, Imagen's dynamic thresholding at
/// the P-th quantile of |x̂₀|), --noise zero-mean removes each initial noise image's mean, and --per-seed FILE
/// appends per sample: step, letter, seed, initial noise mean, sample mean gray level, the class read.
/// </summary>
public static class RunQuality
{
    public static int Score(QualityJudge judge, string runPath, QualityCommand.Options o)
    {
        var run = new RunFolder(runPath);
        if (!run.Exists) throw new NoisetteInputException($"--run {runPath} is not a run folder (no config.json)");
        var config = run.ReadConfig();
        int n = o.Int("n", 200), seed0 = o.Int("seed0", 0);
        var steps = o.Get("checkpoint") is { } which
            ? which == "latest" ? [run.CheckpointSteps().Max()] : which.Split(',').Select(long.Parse).ToArray()
            : run.CheckpointSteps().ToArray();
        if (steps.Length == 0) throw new NoisetteInputException($"{runPath} has no checkpoints yet");
        var sampler = Samplers.Get(o.Get("sampler") ?? Samplers.Default);
        var precision = PrecisionSupport.Parse(o.Get("precision") ?? "fp32");
        var trainFolder = o.Get("train") ?? config.Run.DataPath;
        var training = string.IsNullOrEmpty(trainFolder) ? null : QualityCommand.TrainingImages(trainFolder);
        var minutes = TrainingMinutes(run.MetricsPath, config.Training.Batch * config.Training.GradAccumulation);
        var validation = ValidationLoss(run.MetricsPath);
        string? save = o.Get("save");
        var letters = Letters(config, o.Get("letter"));
        var rows = new List<(long Step, double? Minutes, double? ValidationLoss, double SecondsPerImage, LetterScore Score, IReadOnlyList<LetterScore> PerLetter)>();
        string setting = "";
        foreach (var step in steps)
        {
            using var model = LoadedModel.Load(run.Root, step.ToString(System.Globalization.CultureInfo.InvariantCulture), precision: precision);
            var options = Options(model, sampler, o);
            setting = $"{sampler.Name}, {options.NetworkCalls(sampler, model.Bundle.Diffusion)} network calls ({o.Get("spacing") ?? "its own spacing"}, x0 {o.Get("x0") ?? (model.Bundle.ClipDenoised ? "clip" : "none")}{(o.Get("noise") is { } nm ? ", noise " + nm : "")})";
            var scores = new List<LetterScore>();
            var clock = Stopwatch.StartNew();
            double sampling = 0;
            foreach (var letter in letters)
            {
                var denoiser = Denoiser(model, letter.Label, o);
                var seeds = Enumerable.Range(seed0, n).Select(i => (long)i).ToArray();
                var noiseMeans = new double[n];
                clock.Restart();
                var images = ImageBatches.InBatches(denoiser, seeds, model.AutoBatchSize, (generators, start) =>
                {
                    var noise = Noise(generators, model, o.Get("noise"));
                    var means = noise.mean([1, 2, 3]).to(float64).data<double>().ToArray();
                    means.CopyTo(noiseMeans, start);
                    return sampler.Sample(denoiser, noise, options, generators);
                }, autoencoder: model.Bundle.Autoencoder);
                sampling += clock.Elapsed.TotalSeconds;
                var gray = images.Select(b => ToClassifierSize(b, model.Bundle.ImageShape.Channels, model.Bundle.ImageShape.Size)).ToList();
                if (save is not null) Save(save, step, letter.Name, images, model.Bundle.ImageShape.Channels, model.Bundle.ImageShape.Size, seed0);
                var score = judge.Score(QualityJudge.LetterIndex(letter.Name), gray, training);
                scores.Add(score);
                if (o.Get("per-seed") is { } perSeed)
                    File.AppendAllLines(perSeed, Enumerable.Range(0, n).Select(i => FormattableString.Invariant(
                        $"{step}\t{letter.Name}\t{seeds[i]}\t{noiseMeans[i]:0.00000}\t{gray[i].Average(b => (double)b):0.0}\t{(score.Predicted[i] == LetterClassifier.NotALetter ? "-" : LetterData.Letters[score.Predicted[i]].ToString())}")));
            }
            var overall = scores.Count == 1 ? scores[0] : QualityJudge.Overall(scores);
            rows.Add((step, MinutesAt(minutes, step), validation.TryGetValue(step, out var v) ? v : null,
                      sampling / (n * letters.Count), overall, scores));
            Console.Error.WriteLine($"step {step}: accuracy {QualityCommand.F(overall.Accuracy)}, fd {QualityCommand.F(overall.Fd, "0.0")}");
        }
        if (o.Flag("json"))
        {
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                run = run.Root, sampler = setting, n, seed0, fd_real = rows[0].Score.FdReal, fd_real_n = rows[0].Score.FdRealN,
                checkpoints = rows.Select(r => new { step = r.Step, minutes = r.Minutes, val_loss = r.ValidationLoss, seconds_per_image = r.SecondsPerImage, overall = r.Score, letters = r.PerLetter }),
            }, QualityCommand.JsonOptions));
            return 0;
        }
        Console.WriteLine($"run {run.Root}; {setting}; {n} samples per letter ({string.Join(",", letters.Select(l => l.Name))}), seeds {seed0}–{seed0 + n - 1}");
        Console.WriteLine($"fd_real {QualityCommand.F(rows[0].Score.FdReal, "0.0")} ({rows[0].Score.FdRealN} ceiling reals); precision_real {QualityCommand.F(rows[0].Score.PrecisionReal)}, recall_real {QualityCommand.F(rows[0].Score.RecallReal)}{(rows[0].Score.NearCopiesReal is { } cr ? $"; near_copies_real {QualityCommand.F(cr)}" : "")}");
        Console.WriteLine(QualityCommand.Table(rows.Select(r => r.Score), s => rows.First(r => r.Score == s).Step.ToString(System.Globalization.CultureInfo.InvariantCulture), "step",
            s => { var r = rows.First(x => x.Score == s); return $"{(r.Minutes is { } mm ? QualityCommand.F(mm, "0.0") : "?"),7} {(r.ValidationLoss is { } vl ? QualityCommand.F(vl, "0.00000") : "?"),8} {QualityCommand.F(r.SecondsPerImage, "0.000"),7} "; },
            $"{"minutes",7} {"val_loss",8} {"s/image",7} "));
        return 0;
    }

    /// <summary>The letters to sample: one class per requested letter, or for an unconditional model the one letter it draws.</summary>
    private static List<(string Name, int? Label)> Letters(RunConfig config, string? requested)
    {
        var names = config.Training.ClassNames;
        if (config.Training.Model.NumClasses > 0)
        {
            if (names is null) throw new NoisetteInputException("this class-conditional run has no class names to match letters with");
            var wanted = requested?.Split(',').Select(s => s.Trim().ToUpperInvariant()).ToList()
                         ?? names.Where(c => c.Length == 1 && LetterData.Letters.Contains(c, StringComparison.Ordinal)).ToList();
            return wanted.Select(w =>
            {
                int label = Array.IndexOf(names, w);
                return label >= 0 ? (w, (int?)label) : throw new NoisetteInputException($"--letter {w}: the run has no class '{w}' (classes: {string.Join(",", names)})");
            }).ToList();
        }
        var letter = requested ?? Path.GetFileName(Path.TrimEndingDirectorySeparator(config.Run.DataPath ?? ""));
        if (letter is null || letter.Contains(',') || letter.Length != 1)
            throw new NoisetteInputException("this run is unconditional: say which letter it draws with --letter (one letter)");
        QualityJudge.LetterIndex(letter);
        return [(letter.ToUpperInvariant(), null)];
    }

    /// <summary>
    /// The initial noise, drawn as the library draws it (one generator per image). --noise zero-mean removes each
    /// image's mean (its lowest frequency), an experiment: the DC component of the noise is what a sampler cannot
    /// tell from the image's brightness at the last timestep.
    /// </summary>
    private static Tensor Noise(TorchSharp.torch.Generator[] generators, LoadedModel model, string? mode)
    {
        var shape = model.Bundle.SampleShape;
        var noise = Sampling.Noise.Normal(generators, shape.Channels, shape.Size, model.Device);
        return mode switch
        {
            null or "plain" => noise,
            "zero-mean" => noise - noise.mean([1, 2, 3], keepdim: true),
            var other => throw new NoisetteInputException($"--noise {other}: expected plain or zero-mean"),
        };
    }

    private static SamplerOptions Options(LoadedModel model, ISampler sampler, QualityCommand.Options o)
    {
        var d = model.Bundle.Diffusion;
        int count = o.Int("steps", 0) is > 0 and var s ? s : sampler.DefaultSteps(d.T);
        IReadOnlyList<int>? timesteps = o.Get("spacing") switch
        {
            null => null,
            "time" => Timesteps.Evenly(d.T, count),
            "logsnr" => Timesteps.UniformLogSnr(d, count),
            "quadratic" => Enumerable.Range(0, count).Select(i => (int)Math.Round((d.T - 1) * Math.Pow((double)i / (count - 1), 2))).Distinct().ToArray(),
            var other => throw new NoisetteInputException($"--spacing {other}: expected time, logsnr or quadratic"),
        };
        return new SamplerOptions { Steps = o.Int("steps", 0), Timesteps = timesteps };
    }

    private static Denoiser Denoiser(LoadedModel model, int? label, QualityCommand.Options o)
    {
        double guidance = label is null ? 1.0 : o.Double("guidance", model.Bundle.DefaultGuidance);
        return o.Get("x0") switch
        {
            null => new Denoiser(model.Bundle.Network, model.Bundle.Diffusion) { Label = label, GuidanceScale = guidance, ClipDenoised = model.Bundle.ClipDenoised },
            "clip" => new Denoiser(model.Bundle.Network, model.Bundle.Diffusion) { Label = label, GuidanceScale = guidance },
            "none" => new Denoiser(model.Bundle.Network, model.Bundle.Diffusion) { Label = label, GuidanceScale = guidance, ClipDenoised = false },
            var d when d.StartsWith("dynamic:", StringComparison.Ordinal) &&
                       double.TryParse(d.AsSpan(8), System.Globalization.CultureInfo.InvariantCulture, out var q) && q is > 0 and <= 1 =>
                new ThresholdingDenoiser(model.Bundle.Network, model.Bundle.Diffusion, q) { Label = label, GuidanceScale = guidance, ClipDenoised = false },
            var other => throw new NoisetteInputException($"--x0 {other}: expected clip, none or dynamic:P with 0 < P ≤ 1"),
        };
    }

    /// <summary>A sample as the classifier reads it: gray 32 px (a 64 px sample by the library's exact 2×2 mean; RGB by its luma).</summary>
    private static byte[] ToClassifierSize(byte[] chw, int channels, int size)
    {
        if (channels == 1 && size == LetterClassifier.ImageSize) return chw;
        if (size is not (32 or 64)) throw new NoisetteInputException($"the run's images are {size} px; the quality benchmark reads 32 or 64 px letters");
        int plane = size * size;
        var gray = new double[plane];
        for (int i = 0; i < plane; i++)
            gray[i] = channels == 1 ? chw[i] : ImagePreprocessor.Luma(chw[i], chw[plane + i], chw[2 * plane + i]);
        var small = size == LetterClassifier.ImageSize ? gray : ImageResampler.Resample(gray, size, size, 0, 0, size, size, LetterClassifier.ImageSize, LetterClassifier.ImageSize);
        return small.Select(ImageResampler.ToByte).ToArray();
    }

    private static void Save(string folder, long step, string letter, List<byte[]> images, int channels, int size, int seed0)
    {
        var dir = Path.Combine(folder, $"step{step}", letter);
        Directory.CreateDirectory(dir);
        var planar = images.Select(b => new PlanarImage(channels, size, size, b)).ToList();
        for (int i = 0; i < planar.Count; i++) PngWriter.Write(Path.Combine(dir, $"seed{seed0 + i}.png"), planar[i]);
        PngWriter.Write(Path.Combine(folder, $"grid-step{step}-{letter}.png"), ImageGrid.Compose(planar, 16));
    }

    /// <summary>
    /// The training minutes at a checkpoint: the logged value, or for a step between log lines (a checkpoint written
    /// when the training was stopped) the last logged step's minutes plus the remaining steps at that step's average pace.
    /// </summary>
    public static double? MinutesAt(IReadOnlyDictionary<long, double> minutes, long step)
    {
        if (minutes.TryGetValue(step, out var exact)) return exact;
        var before = minutes.Keys.Where(k => k < step && k > 0).DefaultIfEmpty(0).Max();
        return before == 0 ? null : minutes[before] * step / before;
    }

    /// <summary>
    /// Wall-clock training minutes at each logged step of metrics.jsonl: the time between consecutive log lines,
    /// summed, plus the first line's steps at its own speed. A gap much longer than the logged speed explains (a
    /// resumed run) counts at that speed instead.
    /// </summary>
    public static Dictionary<long, double> TrainingMinutes(string metricsPath, int imagesPerStep)
    {
        var result = new Dictionary<long, double>();
        if (!File.Exists(metricsPath)) return result;
        long lastStep = 0; DateTimeOffset? lastTime = null; double seconds = 0;
        foreach (var line in File.ReadLines(metricsPath))
        {
            if (string.IsNullOrWhiteSpace(line)) continue;
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            if (!root.TryGetProperty("step", out var s) || !root.TryGetProperty("time", out var t) ||
                !root.TryGetProperty("images_per_s", out var ips) || ips.GetDouble() <= 0) continue;
            long step = s.GetInt64();
            var time = t.GetDateTimeOffset();
            double expected = (step - lastStep) * imagesPerStep / ips.GetDouble();
            double elapsed = lastTime is { } lt ? (time - lt).TotalSeconds : expected;
            seconds += elapsed > 3 * expected + 60 ? expected : elapsed;
            result[step] = seconds / 60;
            lastStep = step; lastTime = time;
        }
        return result;
    }

    /// <summary>The validation loss logged at each checkpoint step of metrics.jsonl (the EMA weights', as the trainer measures it).</summary>
    public static Dictionary<long, double> ValidationLoss(string metricsPath)
    {
        var result = new Dictionary<long, double>();
        if (!File.Exists(metricsPath)) return result;
        foreach (var line in File.ReadLines(metricsPath))
        {
            if (string.IsNullOrWhiteSpace(line)) continue;
            using var doc = JsonDocument.Parse(line);
            if (doc.RootElement.TryGetProperty("step", out var s) && doc.RootElement.TryGetProperty("val_loss", out var v))
                result[s.GetInt64()] = v.GetDouble();
        }
        return result;
    }

    /// <summary>Imagen's dynamic thresholding of x̂₀: s = max(1, the q-quantile of |x̂₀| per image); x̂₀ ← clamp(x̂₀, −s, s)/s; ε recomputed.</summary>
    private sealed class ThresholdingDenoiser(Noisette.Models.UNet model, Noisette.Diffusion.GaussianDiffusion diffusion, double quantile)
        : Denoiser(model, diffusion)
    {
        public override DenoiserOutput Predict(Tensor x, int t)
        {
            var raw = base.Predict(x, t);
            var s = raw.X0.abs().flatten(1).to(float64).quantile(quantile, dim: 1).clamp_min(1).reshape(-1, 1, 1, 1).to(raw.X0.dtype);
            var x0 = minimum(maximum(raw.X0, -s), s) / s;
            var tt = full(x.shape[0], (long)t, dtype: int64, device: x.device);
            return new DenoiserOutput(x0, Diffusion.EpsFromX0(x, tt, x0), raw.VarValues);
        }
    }
}
