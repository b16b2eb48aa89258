using System.Globalization;
using System.Text.Json;
using Noisette.Data;
using Noisette.IO;
using Noisette.Runtime;

namespace Noisette.Bench.Quality;

/// <summary>
/// The two verbs of the quality benchmark (docs/quality.md):
/// <code>
/// bench quality-train [--letters DIR] [--out bench/Noisette.Bench/quality] [--epochs 12] [--batch 128] [--lr 2e-3] [--seed 0] [--threads 2]
/// bench quality --samples DIR [--letter A] [--train DIR] [--json]
/// bench quality --run RUN [--n 200] [--letter A[,B...]] [--sampler S] [--steps K] [--checkpoint STEP] [--seed0 0] [--json] [--save DIR]
///               [--spacing time|logsnr|quadratic] [--x0 clip|none|dynamic:P] [--train DIR] [--precision fp32] [--threads 2]
/// </code>
/// Common options: --letters DIR (the letters32 folder with manifest.tsv; default shared/data/letters32 above the
/// working directory), --classifier FILE (default quality/letters32-classifier.safetensors beside the program).
/// </summary>
public static class QualityCommand
{
    public static int Run(string verb, IReadOnlyList<string> argv)
    {
        var o = new Options(argv);
        if (verb == "quality-train")
        {
            var record = ClassifierTraining.Run(LetterData.Locate(o.Get("letters")), o.Get("out") ?? Path.Combine("bench", "Noisette.Bench", "quality"),
                o.Int("epochs", 12), o.Int("batch", 128), o.Double("lr", 2e-3), o.Int("seed", 0), o.Int("threads", 2), Console.Error.WriteLine);
            Console.WriteLine(ClassifierTraining.Summary(record));
            return 0;
        }
        TorchRuntime.ConfigureThreads(o.Int("threads", 2));
        var classifierPath = o.Get("classifier") ?? Path.Combine(AppContext.BaseDirectory, "quality", ClassifierTraining.WeightsFile);
        using var judge = new QualityJudge(LetterClassifier.Load(classifierPath), LetterData.Load(LetterData.Locate(o.Get("letters"))));
        if (o.Get("samples") is { } samples)
            return ScoreFolder(judge, samples, o);
        if (o.Get("run") is { } run)
            return RunQuality.Score(judge, run, o);
        throw new NoisetteInputException("bench quality needs --samples DIR or --run RUN");
    }

    private static int ScoreFolder(QualityJudge judge, string folder, Options o)
    {
        if (!Directory.Exists(folder)) throw new NoisetteInputException($"--samples {folder} does not exist");
        var training = o.Get("train") is { } train ? TrainingImages(train) : null;
        if (o.Get("letter") is { } letter)
        {
            var score = judge.Score(QualityJudge.LetterIndex(letter), LetterData.ReadFolder(folder, recursive: false), training);
            Console.WriteLine(o.Flag("json") ? JsonSerializer.Serialize(score, QualityCommand.JsonOptions) : Lines(score));
            return 0;
        }
        var letters = LetterData.Letters.Select(c => c.ToString()).Where(c => Directory.Exists(Path.Combine(folder, c))).ToList();
        if (letters.Count == 0) throw new NoisetteInputException($"{folder} has no subfolders A/ … Z/; pass --letter for a folder of one letter");
        var scores = letters.Select(l => judge.Score(QualityJudge.LetterIndex(l), LetterData.ReadFolder(Path.Combine(folder, l), recursive: false), training)).ToList();
        var overall = QualityJudge.Overall(scores);
        if (o.Flag("json"))
            Console.WriteLine(JsonSerializer.Serialize(new { overall, letters = scores.ToDictionary(s => s.Letter) }, QualityCommand.JsonOptions));
        else
        {
            Console.WriteLine(Table(scores, s => s.Letter, "letter"));
            Console.WriteLine(Lines(overall));
        }
        return 0;
    }

    /// <summary>Every image under a folder (recursively) as 1×32×32 training images for the near-copy check.</summary>
    public static InMemoryImageSet TrainingImages(string folder)
    {
        var images = LetterData.ReadFolder(folder, recursive: true);
        if (images.Count == 0) throw new NoisetteInputException($"--train {folder} holds no images");
        return new InMemoryImageSet(images.SelectMany(b => b).ToArray(), images.Count, 1, LetterClassifier.ImageSize);
    }

    /// <summary>Compact JSON that leaves "+" and other text as it is.</summary>
    public static JsonSerializerOptions JsonOptions { get; } = new(Json.Compact) { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string F(double v, string format = "0.000") => v.ToString(format, CultureInfo.InvariantCulture);

    /// <summary>The plain lines of one score: "accuracy 0.970", "fd 31.5", ...</summary>
    public static string Lines(LetterScore s) => string.Join('\n',
        $"accuracy {F(s.Accuracy)}",
        $"fd {F(s.Fd, "0.0")}",
        $"fd_real {F(s.FdReal, "0.0")}",
        $"precision {F(s.Precision)}",
        $"recall {F(s.Recall)}",
        $"near_copies {(s.NearCopies is { } c ? F(c) : "n/a")}",
        $"near_copies_real {(s.NearCopiesReal is { } cr ? F(cr) : "n/a")}",
        $"sample_distance {(s.SampleDistance is { } d ? F(d, "0.00") : "n/a")}",
        $"n {s.N}",
        $"fd_real_n {s.FdRealN}",
        $"precision_real {F(s.PrecisionReal)}",
        $"recall_real {F(s.RecallReal)}",
        $"reference_n {s.ReferenceN}");

    /// <summary>A table of scores, one row each, with a leading column named <paramref name="head"/>.</summary>
    public static string Table(IEnumerable<LetterScore> scores, Func<LetterScore, string> first, string head, Func<LetterScore, string>? extra = null, string extraHead = "")
    {
        var rows = new List<string> { $"{head,-8} {extraHead}{"n",5} {"accuracy",8} {"fd",8} {"fd_real",8} {"precision",9} {"recall",7} {"near_copies",11}" };
        foreach (var s in scores)
            rows.Add($"{first(s),-8} {extra?.Invoke(s) ?? ""}{s.N,5} {F(s.Accuracy),8} {F(s.Fd, "0.0"),8} {F(s.FdReal, "0.0"),8} {F(s.Precision),9} {F(s.Recall),7} {(s.NearCopies is { } c ? F(c) : "n/a"),11}");
        return string.Join('\n', rows);
    }

    /// <summary>"--name value" options and "--flag" switches.</summary>
    public sealed class Options(IReadOnlyList<string> argv)
    {
        public string? Get(string name)
        {
            for (int i = 0; i < argv.Count; i++)
                if (argv[i] == "--" + name)
                    return i + 1 < argv.Count && !argv[i + 1].StartsWith("--", StringComparison.Ordinal)
                        ? argv[i + 1] : throw new NoisetteInputException($"--{name} needs a value");
            return null;
        }

        public bool Flag(string name) => argv.Contains("--" + name);

        public int Int(string name, int fallback) => Get(name) is { } v
            ? int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i) ? i : throw new NoisetteInputException($"--{name} must be a whole number, got '{v}'")
            : fallback;

        public double Double(string name, double fallback) => Get(name) is { } v
            ? double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : throw new NoisetteInputException($"--{name} must be a number, got '{v}'")
            : fallback;
    }
}
