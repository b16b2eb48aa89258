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
    [JsonPropertyName("weights_sha256")] public string WeightsSha256 { get; init; } = "";
}

/// <summary>
/// <c>bench quality-train</c>: trains the <see cref="LetterClassifier"/> on the training fonts of letters32,
/// deterministically (fixed seeds for initialisation, order and augmentation; one thread count), and writes its
/// weights and a JSON record of the split, data hash, settings and held-out accuracy per letter. Augmentation, per
/// image: a shift of −1, 0 or +1 px on each axis (white fill), a stroke-weight change (blended towards a 3×3 min
/// or max filter, i.e. bolder or lighter, by up to half), and Gaussian pixel noise of σ up to 0.05, so that slightly
/// off samples still read as their letter. AdamW with a cosine learning-rate decay.
/// </summary>
public static class ClassifierTraining
{
    public const string WeightsFile = "letters32-classifier.safetensors";
    public const string RecordFile = "letters32-classifier.json";
    public const string Augmentation = "shift ±1 px per axis (white fill); stroke weight: blend towards 3×3 min or max filter by U(0, 0.5), each with p = 1/3; Gaussian noise σ ~ U(0, 0.05)";

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
                var x = Augment(LetterClassifier.ToInput(pixels, count), augmentNoise, order);
                var loss = nn.functional.cross_entropy(model.forward(x), tensor(labels));
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
        var sigma = new float[n];
        for (int i = 0; i < n; i++)
        {
            int kind = rng.Next(3);
            if (kind == 1) towardsBold[i] = (float)(rng.NextDouble() * 0.5);
            else if (kind == 2) towardsLight[i] = (float)(rng.NextDouble() * 0.5);
            sigma[i] = (float)(rng.NextDouble() * 0.05);
        }
        Tensor PerImage(float[] v) => tensor(v).reshape(n, 1, 1, 1);
        x = x + PerImage(towardsBold) * (bolder - x) + PerImage(towardsLight) * (lighter - x);
        return x + PerImage(sigma) * randn(x.shape, generator: noise);
    }

    public static string Summary(ClassifierRecord r) =>
        FormattableString.Invariant($"held-out accuracy {r.HeldOutAccuracy:0.0000} (reference {r.ReferenceAccuracy:0.0000}, ceiling {r.CeilingAccuracy:0.0000}), train {r.TrainAccuracy:0.0000}, {r.Minutes} min; worst letters: ") +
        string.Join(", ", r.HeldOutPerLetter.OrderBy(kv => kv.Value).Take(5).Select(kv => FormattableString.Invariant($"{kv.Key} {kv.Value:0.000}")));
}
