using System.Text.Json.Serialization;
using Noisette.Data;
using Noisette.Evaluation;
using static TorchSharp.torch;

namespace Noisette.Bench.Quality;

/// <summary>The benchmark's figures for a set of samples of one letter (or, overall, of several).</summary>
public sealed record LetterScore
{
    [JsonPropertyName("letter")] public string Letter { get; init; } = "";
    [JsonPropertyName("n")] public int N { get; init; }
    /// <summary>Fraction of samples the classifier reads as the intended letter.</summary>
    [JsonPropertyName("accuracy")] public double Accuracy { get; init; }
    /// <summary>Fréchet distance between the samples' features and the reference fonts' features of the letter.</summary>
    [JsonPropertyName("fd")] public double Fd { get; init; }
    /// <summary>The same distance for <see cref="FdRealN"/> real letters of the ceiling fonts (unseen by the classifier, like the samples).</summary>
    [JsonPropertyName("fd_real")] public double FdReal { get; init; }
    [JsonPropertyName("fd_real_n")] public int FdRealN { get; init; }
    [JsonPropertyName("precision")] public double Precision { get; init; }
    [JsonPropertyName("recall")] public double Recall { get; init; }
    /// <summary>Precision and recall of the same ceiling reals, for comparison.</summary>
    [JsonPropertyName("precision_real")] public double PrecisionReal { get; init; }
    [JsonPropertyName("recall_real")] public double RecallReal { get; init; }
    /// <summary>Fraction of samples that are near-copies of a training image; null when no training images were given.</summary>
    [JsonPropertyName("near_copies")] public double? NearCopies { get; init; }
    /// <summary>
    /// The same check's rate for the training images themselves, each against the others (five folds, each against
    /// the other four): how often real letters of this set are "near-copies" of another font's, the level a model
    /// that draws new fonts from the same families would show. Null without training images.
    /// </summary>
    [JsonPropertyName("near_copies_real")] public double? NearCopiesReal { get; init; }
    /// <summary>The library's sample distance (Evaluation.SampleDistance) of the samples to the training images, the measure "best" chooses by; null without training images.</summary>
    [JsonPropertyName("sample_distance")] public double? SampleDistance { get; init; }
    [JsonPropertyName("reference_n")] public int ReferenceN { get; init; }
    /// <summary>The class the classifier gave each sample (26 = not a letter); not printed.</summary>
    [JsonIgnore] public int[] Predicted { get; init; } = [];
}

/// <summary>
/// Scores samples of a letter with the <see cref="LetterClassifier"/>: accuracy on the intended letter; Fréchet
/// distance (the library's <see cref="Fid"/>) between the samples' 128 penultimate features and those of the
/// letter in the held-out reference fonts, beside the same distance for as many real letters of the held-out
/// ceiling fonts (disjoint from both the reference and the classifier's training fonts), so that the bias of a
/// small set compares; k-NN precision and recall (k = 3, <see cref="PrecisionRecall"/>) against the reference
/// letters; and the near-copy rate of <see cref="CopyCheck"/> against training images.
/// </summary>
public sealed class QualityJudge : IDisposable
{
    private readonly LetterClassifier classifier;
    private readonly LetterData data;
    private readonly Dictionary<int, (Tensor Reference, Tensor Ceiling)> realFeatures = new();

    public QualityJudge(LetterClassifier classifier, LetterData data)
    {
        this.classifier = classifier;
        this.data = data;
    }

    public static int LetterIndex(string letter)
    {
        int i = letter.Length == 1 ? LetterData.Letters.IndexOf(char.ToUpperInvariant(letter[0])) : -1;
        return i >= 0 ? i : throw new NoisetteInputException($"'{letter}' is not a capital letter A–Z");
    }

    /// <param name="samples">uint8 32×32 gray samples (at least 4, for k = 3 and the covariances).</param>
    /// <param name="training">Training images (1×32×32) for the near-copy check, or null to skip it.</param>
    public LetterScore Score(int letter, IReadOnlyList<byte[]> samples, IImageSet? training)
    {
        if (samples.Count <= PrecisionRecall.DefaultNeighbours)
            throw new NoisetteInputException($"{samples.Count} samples of {LetterData.Letters[letter]}: the benchmark needs at least {PrecisionRecall.DefaultNeighbours + 1}");
        var (reference, ceiling) = RealFeatures(letter);
        var stats = training is null ? null : TrainingStatistics(training);   // cached across calls: made outside this call's dispose scope
        var (features, predicted) = classifier.Evaluate(samples);
        using (features)
        using (var scope = NewDisposeScope())
        {
            // As many ceiling letters as samples (all of them when there are fewer), always the same ones.
            int m = Math.Min(samples.Count, (int)ceiling.shape[0]);
            var pick = Enumerable.Range(0, (int)ceiling.shape[0]).ToArray();
            new Random(letter).Shuffle(pick);
            var ceilingSubset = ceiling.index_select(0, tensor(pick.Take(m).Select(i => (long)i).ToArray()));
            var pr = PrecisionRecall.Compute(reference, features);
            var prReal = PrecisionRecall.Compute(reference, ceilingSubset);
            double? copies = training is null ? null : CopyCheck.Run(samples, training).Rate;
            double? distance = stats?.Distance is { } to && samples.Count >= Evaluation.SampleDistance.MinPictures ? to.Of(samples) : null;
            return new LetterScore
            {
                Letter = LetterData.Letters[letter].ToString(),
                N = samples.Count,
                Accuracy = (double)predicted.Count(p => p == letter) / samples.Count,
                Fd = Fid.Compute(features, reference),
                FdReal = Fid.Compute(ceilingSubset, reference),
                FdRealN = m,
                Precision = pr.Precision,
                Recall = pr.Recall,
                PrecisionReal = prReal.Precision,
                RecallReal = prReal.Recall,
                NearCopies = copies,
                NearCopiesReal = stats?.RealCopies,
                SampleDistance = distance,
                ReferenceN = (int)reference.shape[0],
                Predicted = predicted,
            };
        }
    }

    /// <summary>What a training set contributes to every score, computed once per set (a run's checkpoints share one).</summary>
    private sealed record TrainingStats(Evaluation.SampleDistance? Distance, double RealCopies);

    private readonly Dictionary<IImageSet, TrainingStats> trainingStats = new(ReferenceEqualityComparer.Instance);

    private TrainingStats TrainingStatistics(IImageSet training)
    {
        if (!trainingStats.TryGetValue(training, out var stats))
            trainingStats[training] = stats = new TrainingStats(
                training.Count >= Evaluation.SampleDistance.MinPictures ? Evaluation.SampleDistance.To(training) : null, RealNearCopies(training));
        return stats;
    }

    /// <summary>
    /// The near-copy rate of the training images among themselves: five folds (image i in fold i mod 5), each fold's
    /// images checked against the other four folds' by <see cref="CopyCheck"/>.
    /// </summary>
    public double RealNearCopies(IImageSet training)
    {
        const int folds = 5;
        int size = training.Channels * training.ImageSize * training.ImageSize, copies = 0, checkedImages = 0;
        var images = Enumerable.Range(0, training.Count).Select(i => { var b = new byte[size]; training.CopyImage(i, b); return b; }).ToArray();
        for (int f = 0; f < folds; f++)
        {
            var fold = images.Where((_, i) => i % folds == f).ToList();
            var rest = images.Where((_, i) => i % folds != f).ToArray();
            if (fold.Count == 0 || rest.Length == 0) continue;
            var others = new InMemoryImageSet(rest.SelectMany(b => b).ToArray(), rest.Length, training.Channels, training.ImageSize);
            copies += CopyCheck.Run(fold, others).NearCopies;
            checkedImages += fold.Count;
        }
        return checkedImages == 0 ? 0 : (double)copies / checkedImages;
    }

    /// <summary>
    /// Several letters together: accuracy, precision, recall and the near-copy rate over all samples (per-letter
    /// figures weighted by their counts); the distances are the mean of the letters' distances.
    /// </summary>
    public static LetterScore Overall(IReadOnlyList<LetterScore> letters)
    {
        int n = letters.Sum(l => l.N);
        double Weighted(Func<LetterScore, double> f) => letters.Sum(l => f(l) * l.N) / n;
        return new LetterScore
        {
            Letter = "all",
            N = n,
            Accuracy = Weighted(l => l.Accuracy),
            Fd = letters.Average(l => l.Fd),
            FdReal = letters.Average(l => l.FdReal),
            FdRealN = letters.Sum(l => l.FdRealN),
            Precision = Weighted(l => l.Precision),
            Recall = Weighted(l => l.Recall),
            PrecisionReal = letters.Average(l => l.PrecisionReal),
            RecallReal = letters.Average(l => l.RecallReal),
            NearCopies = letters.All(l => l.NearCopies is not null) ? Weighted(l => l.NearCopies!.Value) : null,
            NearCopiesReal = letters[0].NearCopiesReal,
            SampleDistance = letters.All(l => l.SampleDistance is not null) ? letters.Average(l => l.SampleDistance!.Value) : null,
            ReferenceN = letters.Sum(l => l.ReferenceN),
        };
    }

    private (Tensor Reference, Tensor Ceiling) RealFeatures(int letter)
    {
        if (!realFeatures.TryGetValue(letter, out var cached))
        {
            var (reference, _) = classifier.Evaluate(data.LetterImages(letter, FontRole.Reference));
            var (ceiling, _) = classifier.Evaluate(data.LetterImages(letter, FontRole.Ceiling));
            realFeatures[letter] = cached = (reference, ceiling);
        }
        return cached;
    }

    public void Dispose()
    {
        foreach (var (r, c) in realFeatures.Values) { r.Dispose(); c.Dispose(); }
        foreach (var stats in trainingStats.Values) stats.Distance?.Dispose();
        classifier.Dispose();
    }
}
