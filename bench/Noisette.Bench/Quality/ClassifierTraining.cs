using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Serialization;
using Noisette.IO;
using Noisette.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Noisette.Bench.Quality;

/// <summary>What <c>bench quality-train</c> records beside the weights.</summary>
public sealed record ClassifierRecord
{
    [JsonPropertyName("data")] public string Data { get; init; } = "";
    [JsonPropertyName("manifest_sha256")] public string ManifestSha256 { get; init; } = "";
    [JsonPropertyName("split")] public string Split { get; init; } = "";
    [JsonPropertyName("fonts")] public Dictionary<string, int> FontCounts { get; init; } = new();
    [JsonPropertyName("reference_fonts")] public List<string> ReferenceFonts { get; init; } = [];
    [JsonPropertyName("ceiling_fonts")] public List<string> CeilingFonts { get; init; } = [];
    [JsonPropertyName("seed")] public int Seed { get; init; }
    [JsonPropertyName("epochs")] public int Epochs { get; init; }
    [JsonPropertyName("batch")] public int Batch { get; init; }
    [JsonPropertyName("learning_rate")] public double LearningRate { get; init; }
    [JsonPropertyName("augmentation")] public string Augmentation { get; init; } = "";
    [JsonPropertyName("threads")] public int Threads { get; init; }
    [JsonPropertyName("minutes")] public double Minutes { get; init; }
    [JsonPropertyName("train_accuracy")] public double TrainAccuracy { get; init; }
    /// <summary>Accuracy on the held-out fonts (reference and ceiling together), overall and per letter.</summary>
    [JsonPropertyName("held_out_accuracy")] public double HeldOutAccuracy { get; init; }
    [JsonPropertyName("held_out_accuracy_per_letter")] public Dictionary<string, double> HeldOutPerLetter { get; init; } = new();
    [JsonPropertyName("reference_accuracy")] public double ReferenceAccuracy { get; init; }
    [JsonPropertyName("ceiling_accuracy")] public double CeilingAccuracy { get; init; }
    [JsonPropertyName("junk")] public string Junk { get; init; } = "";
    /// <summary>Fraction of 1,000 fresh junk images (another seed) classified "not a letter".</summary>
    [JsonPropertyName("junk_rejected")] public double JunkRejected { get; init; }
    [JsonPropertyName("weights_sha256")] public string WeightsSha256 { get; init; } = "";
}

/// <summary>
/// <c>bench quality-train</c>: trains the <see cref="LetterClassifier"/> on the training fonts of letters32,
/// deterministically (fixed seeds for initialisation, order and augmentation; one thread count), and writes its
/// weights and a JSON record of the split, data hash, settings and held-out accuracy per letter. Augmentation, per
/// image: a shift of −1, 0 or +1 px on each axis (white fill), a stroke-weight change (blended towards a 3×3 min
/// or max filter, i.e. bolder or lighter, by up to half), half of the images on gray paper or with gray ink, and
/// Gaussian pixel noise (light for half of the images, up to σ = 0.4 for the other half), so that a letter on a
/// speckled or gray ground still reads as its letter: the judge asks whether the shape is the letter, and leaves
/// the texture to the Fréchet distance. Every batch also holds <see cref="JunkPerBatch"/> generated images of the
/// class "not a letter" (<see cref="Junk"/>). AdamW with a cosine learning-rate decay.
/// </summary>
public static class ClassifierTraining
{
    public const string WeightsFile = "letters32-classifier.safetensors";
    public const string RecordFile = "letters32-classifier.json";
    public const string Augmentation = "shift ±1 px per axis (white fill); stroke weight: blend towards 3×3 min or max filter by U(0, 0.5), each with p = 1/3; with p = 1/2 paper and ink levels moved (paper to U(0.2, 1), ink to U(−1, −0.4), on the [−1, 1] scale); Gaussian noise σ ~ U(0, 0.05), or with p = 1/2 σ ~ U(0.05, 0.4)";
    public const int JunkPerBatch = 8;
    public const string JunkDescription = "8 per batch, class 26 'not a letter': uniform noise; blurred Gaussian noise at random contrast and level; flat fields with noise; filled ellipses and rounded boxes (40–95% of the frame) with noise and blur";

    public static ClassifierRecord Run(string lettersRoot, string outDir, int epochs, int batch, double lr, int seed, int threads, Action<string> log)
    {
        TorchRuntime.ConfigureThreads(threads);
        var clock = Stopwatch.StartNew();
        var data = LetterData.Load(lettersRoot);
        log($"{data.Fonts.Count} fonts from {data.Root}: {data.FontsIn(FontRole.Train).Count()} train, " +
            $"{data.FontsIn(FontRole.Reference).Count()} reference, {data.FontsIn(FontRole.Ceiling).Count()} ceiling ({clock.Elapsed.TotalSeconds:0} s)");
        var train = Examples(data, FontRole.Train);
        random.manual_seed(seed);
        using var model = new LetterClassifier();
        using var optimizer = optim.AdamW(model.parameters(), lr, weight_decay: 1e-4);
        using var augmentNoise = new Generator((ulong)seed + 1);
        var order = new Random(seed);
        int stepsPerEpoch = (train.Labels.Length + batch - 1) / batch, totalSteps = epochs * stepsPerEpoch, step = 0;
        for (int epoch = 0; epoch < epochs; epoch++)
        {
            model.train();
            var perm = Enumerable.Range(0, train.Labels.Length).ToArray();
            order.Shuffle(perm);
            double lossSum = 0; int seen = 0;
            for (int start = 0; start < perm.Length; start += batch, step++)
            {
                using var scope = NewDisposeScope();
                int count = Math.Min(batch, perm.Length - start);
                var pixels = new byte[count * 1024];
                var labels = new long[count];
                for (int i = 0; i < count; i++)
                {
                    train.Images[perm[start + i]].CopyTo(pixels, i * 1024);
                    labels[i] = train.Labels[perm[start + i]];
                }
                var x = cat([Augment(LetterClassifier.ToInput(pixels, count), augmentNoise, order), Junk(JunkPerBatch, augmentNoise, order)], 0);
                var y = cat([tensor(labels), full(JunkPerBatch, (long)LetterClassifier.NotALetter, dtype: int64)], 0);
                var loss = nn.functional.cross_entropy(model.forward(x), y);
                foreach (var g in optimizer.ParamGroups) g.LearningRate = lr * 0.5 * (1 + Math.Cos(Math.PI * step / totalSteps));
                optimizer.zero_grad();
                loss.backward();
                optimizer.step();
                lossSum += loss.item<float>() * count; seen += count;
            }
            var (heldOut, _) = Accuracy(model, data, [FontRole.Reference, FontRole.Ceiling]);
            log($"epoch {epoch + 1}/{epochs}: loss {lossSum / seen:0.0000}, held-out accuracy {heldOut:0.0000} ({clock.Elapsed.TotalMinutes:0.0} min)");
        }

        var (trainAcc, _) = Accuracy(model, data, [FontRole.Train]);
        var (held, perLetter) = Accuracy(model, data, [FontRole.Reference, FontRole.Ceiling]);
        var (reference, _) = Accuracy(model, data, [FontRole.Reference]);
        var (ceiling, _) = Accuracy(model, data, [FontRole.Ceiling]);
        double junkRejected = JunkRejected(model, seed + 2);
        Directory.CreateDirectory(outDir);
        var weights = Path.Combine(outDir, WeightsFile);
        model.Save(weights, new Dictionary<string, string> { ["format"] = "noisette-letter-classifier-1", ["manifest_sha256"] = data.ManifestSha256 });
        var record = new ClassifierRecord
        {
            Data = "letters32 (" + data.Fonts.Count + " fonts × 26 letters)",
            ManifestSha256 = data.ManifestSha256,
            Split = $"fonts ranked by SHA-256(\"{LetterData.SplitSalt}\" + font_id): first {LetterData.ReferenceFraction:0%} reference, next {LetterData.CeilingFraction:0%} ceiling, rest train",
            FontCounts = Enum.GetValues<FontRole>().ToDictionary(r => r.ToString().ToLowerInvariant(), r => data.FontsIn(r).Count()),
            ReferenceFonts = data.FontsIn(FontRole.Reference).Select(f => data.Fonts[f]).ToList(),
            CeilingFonts = data.FontsIn(FontRole.Ceiling).Select(f => data.Fonts[f]).ToList(),
            Seed = seed, Epochs = epochs, Batch = batch, LearningRate = lr, Augmentation = Augmentation,
            Threads = get_num_threads(),
            Minutes = Math.Round(clock.Elapsed.TotalMinutes, 1),
            TrainAccuracy = Math.Round(trainAcc, 4),
            HeldOutAccuracy = Math.Round(held, 4),
            HeldOutPerLetter = perLetter.Select((a, l) => (a, l)).ToDictionary(p => LetterData.Letters[p.l].ToString(), p => Math.Round(p.a, 4)),
            ReferenceAccuracy = Math.Round(reference, 4),
            CeilingAccuracy = Math.Round(ceiling, 4),
            Junk = JunkDescription,
            JunkRejected = Math.Round(junkRejected, 4),
            WeightsSha256 = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(weights))).ToLowerInvariant(),
        };
        Json.Write(Path.Combine(outDir, RecordFile), record);
        return record;
    }

    private static (byte[][] Images, int[] Labels) Examples(LetterData data, FontRole role)
    {
        var fonts = data.FontsIn(role).ToList();
        var images = new List<byte[]>(fonts.Count * 26);
        var labels = new List<int>(fonts.Count * 26);
        foreach (var f in fonts)
            for (int l = 0; l < LetterData.Letters.Length; l++) { images.Add(data.Image(f, l)); labels.Add(l); }
        return (images.ToArray(), labels.ToArray());
    }

    /// <summary>Overall accuracy and accuracy per letter on the fonts of the given roles.</summary>
    public static (double Overall, double[] PerLetter) Accuracy(LetterClassifier model, LetterData data, FontRole[] roles)
    {
        var perLetter = new double[LetterData.Letters.Length];
        int right = 0, total = 0;
        for (int l = 0; l < perLetter.Length; l++)
        {
            var images = roles.SelectMany(r => data.LetterImages(l, r)).ToList();
            var (features, predicted) = model.Evaluate(images);
            features.Dispose();
            int ok = predicted.Count(p => p == l);
            perLetter[l] = (double)ok / images.Count;
            right += ok; total += images.Count;
        }
        return ((double)right / total, perLetter);
    }

    /// <summary>The augmentation of the class summary, on a batch in [−1, 1] (white = 1).</summary>
    private static Tensor Augment(Tensor x, Generator noise, Random rng)
    {
        int n = (int)x.shape[0], size = (int)x.shape[2];
        var padded = nn.functional.pad(x, [1, 1, 1, 1], value: 1.0);
        var shifted = new Tensor[n];
        for (int i = 0; i < n; i++)
            shifted[i] = padded[i].narrow(1, rng.Next(3), size).narrow(2, rng.Next(3), size);
        x = stack(shifted, 0);
        var bolder = -nn.functional.max_pool2d(-x, 3, 1, 1);    // ink is dark: the min filter thickens it
        var lighter = nn.functional.max_pool2d(x, 3, 1, 1);
        var towardsBold = new float[n];
        var towardsLight = new float[n];
        var paper = new float[n];
        var ink = new float[n];
        var sigma = new float[n];
        for (int i = 0; i < n; i++)
        {
            int kind = rng.Next(3);
            if (kind == 1) towardsBold[i] = (float)(rng.NextDouble() * 0.5);
            else if (kind == 2) towardsLight[i] = (float)(rng.NextDouble() * 0.5);
            bool levels = rng.Next(2) == 0;
            paper[i] = levels ? (float)(0.2 + rng.NextDouble() * 0.8) : 1;
            ink[i] = levels ? (float)(-1 + rng.NextDouble() * 0.6) : -1;
            sigma[i] = (float)(rng.Next(2) == 0 ? rng.NextDouble() * 0.05 : 0.05 + rng.NextDouble() * 0.35);
        }
        Tensor PerImage(float[] v) => tensor(v).reshape(n, 1, 1, 1);
        x = x + PerImage(towardsBold) * (bolder - x) + PerImage(towardsLight) * (lighter - x);
        x = PerImage(ink) + (x + 1) * 0.5 * (PerImage(paper) - PerImage(ink));     // −1 → ink, 1 → paper
        return (x + PerImage(sigma) * randn(x.shape, generator: noise)).clamp(-1, 1);
    }

    /// <summary>Fraction of 1,000 fresh junk images that the classifier calls "not a letter".</summary>
    private static double JunkRejected(LetterClassifier model, int seed)
    {
        using var scope = NewDisposeScope();
        using var g = new Generator((ulong)seed);
        var junk = Junk(1000, g, new Random(seed));
        var bytes = junk.add(1).mul(127.5).round().clamp(0, 255).to(ScalarType.Byte).contiguous().data<byte>().ToArray();
        var images = Enumerable.Range(0, 1000).Select(i => bytes.AsSpan(i * 1024, 1024).ToArray()).ToList();
        var (features, predicted) = model.Evaluate(images);
        features.Dispose();
        return predicted.Count(p => p == LetterClassifier.NotALetter) / 1000.0;
    }

    /// <summary>
    /// <paramref name="count"/> images that are not letters, in [−1, 1]: uniform noise; Gaussian noise blurred by a
    /// 3, 5 or 9 px box at a random contrast and level; a flat field with noise; or a filled ellipse or rounded box
    /// covering 40–95% of the frame, of a random gray on a random background, with noise and a slight blur.
    /// </summary>
    public static Tensor Junk(int count, Generator g, Random rng)
    {
        using var scope = NewDisposeScope();
        const int S = LetterClassifier.ImageSize;
        var images = new Tensor[count];
        var grid = arange(S, dtype: float32).sub((S - 1) / 2.0).div(S / 2.0);    // −1..1 across the frame
        var yy = grid.reshape(S, 1); var xx = grid.reshape(1, S);
        for (int i = 0; i < count; i++)
        {
            double U(double lo, double hi) => lo + rng.NextDouble() * (hi - lo);
            Tensor img;
            switch (rng.Next(4))
            {
                case 0:
                    img = rand([1, 1, S, S], generator: g) * 2 - 1;
                    break;
                case 1:
                    int k = new[] { 3, 5, 9 }[rng.Next(3)];
                    var smooth = nn.functional.avg_pool2d(randn([1, 1, S + k - 1, S + k - 1], generator: g), k, 1);
                    img = smooth / smooth.std() * U(0.2, 1.5) + U(-0.8, 0.8);
                    break;
                case 2:
                    img = full([1, 1, S, S], U(-1, 1)) + randn([1, 1, S, S], generator: g) * U(0, 0.4);
                    break;
                default:
                    double ry = U(0.4, 0.95), rx = U(0.4, 0.95), p = rng.Next(2) == 0 ? 2 : 6;   // ellipse or rounded box
                    var inside = ((yy / ry).abs().pow(p) + (xx / rx).abs().pow(p)).le(1).to(float32).reshape(1, 1, S, S);
                    double ink = U(-1, 0.2), paper = U(-0.2, 1);
                    img = inside * ink + (1 - inside) * paper + randn([1, 1, S, S], generator: g) * U(0, 0.4);
                    if (rng.Next(2) == 0) img = nn.functional.avg_pool2d(nn.functional.pad(img, [1, 1, 1, 1], PaddingModes.Replicate), 3, 1);
                    break;
            }
            images[i] = img.clamp(-1, 1);
        }
        return cat(images, 0).MoveToOuterDisposeScope();
    }

    public static string Summary(ClassifierRecord r) =>
        FormattableString.Invariant($"held-out accuracy {r.HeldOutAccuracy:0.0000} (reference {r.ReferenceAccuracy:0.0000}, ceiling {r.CeilingAccuracy:0.0000}), train {r.TrainAccuracy:0.0000}, junk rejected {r.JunkRejected:0.000}, {r.Minutes} min; worst letters: ") +
        string.Join(", ", r.HeldOutPerLetter.OrderBy(kv => kv.Value).Take(5).Select(kv => FormattableString.Invariant($"{kv.Key} {kv.Value:0.000}")));
}
