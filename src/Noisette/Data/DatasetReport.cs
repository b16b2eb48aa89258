using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Noisette.Data;

/// <summary>
/// A health check of a data folder before training: what is in it (formats, channel modes, sizes, aspect ratios),
/// what cannot be read and why, exact and near duplicates, outliers, framing consistency of glyph-like images,
/// small images and the train/validation split. Files are streamed: only statistics, hashes and 16×16
/// thumbnails are kept, so memory stays small however large the folder. Nothing is written into the folder.
/// <see cref="Problems"/> sums it up; <see cref="HasFatal"/> says whether training should refuse to start.
/// </summary>
public sealed class DatasetReport
{
    private DatasetReport() { }

    public required string Folder { get; init; }
    public required DatasetCheckOptions Options { get; init; }
    /// <summary>Every file found, images or not.</summary>
    public required int FileCount { get; init; }
    /// <summary>Files with an image extension.</summary>
    public required int ImageFileCount { get; init; }
    public int ReadableCount => Images.Count;
    /// <summary>Measurements of the readable images, in folder order.</summary>
    public required IReadOnlyList<ImageMeasurement> Images { get; init; }
    /// <summary>Image files that cannot be used, with the reason.</summary>
    public required IReadOnlyList<SkippedFile> Unreadable { get; init; }
    /// <summary>Other files (not images), which training ignores.</summary>
    public required IReadOnlyList<string> IgnoredFiles { get; init; }
    /// <summary>Remarks on readable files: animated (first frame used), wrong extension.</summary>
    public required IReadOnlyList<FileNote> Notes { get; init; }
    /// <summary>Readable images per format ("PNG", "JPEG"...).</summary>
    public required IReadOnlyDictionary<string, int> Formats { get; init; }
    /// <summary>Readable images per stored pixel layout ("gray", "RGB", "RGBA", "palette", "CMYK", "16-bit RGB"...).</summary>
    public required IReadOnlyDictionary<string, int> ChannelModes { get; init; }
    /// <summary>Readable images per exact size "W×H", most common first.</summary>
    public required IReadOnlyDictionary<string, int> Sizes { get; init; }
    /// <summary>Readable images per size class of the short side ("&lt;32", "32-63", ...).</summary>
    public required IReadOnlyDictionary<string, int> SizeHistogram { get; init; }
    /// <summary>Readable images per aspect ratio ("1:1", "4:3", "1.85:1"...).</summary>
    public required IReadOnlyDictionary<string, int> AspectRatios { get; init; }
    public required IReadOnlyList<DuplicateGroup> ExactDuplicates { get; init; }
    public required IReadOnlyList<DuplicateGroup> NearDuplicates { get; init; }
    /// <summary>Images with nothing drawn (one flat colour).</summary>
    public required IReadOnlyList<string> BlankImages { get; init; }
    public required IReadOnlyList<Outlier> Outliers { get; init; }
    public required FramingReport Framing { get; init; }
    /// <summary>Images smaller than the training size, which would be enlarged.</summary>
    public required IReadOnlyList<string> SmallImages { get; init; }
    /// <summary>Gray when every readable image is gray, else Rgb (what training with Channels = Auto would use).</summary>
    public required ChannelMode ResolvedChannels { get; init; }
    public required int TrainCount { get; init; }
    public required int ValidationCount { get; init; }
    /// <summary>Every finding, most severe first.</summary>
    public required IReadOnlyList<DatasetProblem> Problems { get; init; }

    public bool HasFatal => Problems.Any(p => p.Severity == ProblemSeverity.Fatal);
    public IReadOnlyList<DatasetProblem> Fatal => Problems.Where(p => p.Severity == ProblemSeverity.Fatal).ToList();

    /// <summary>Readable images named by at least one warning or fatal problem.</summary>
    public IReadOnlySet<string> FlaggedImages
    {
        get
        {
            var readable = Images.Select(i => i.RelativePath).ToHashSet(StringComparer.Ordinal);
            return Problems.Where(p => p.Severity >= ProblemSeverity.Warning).SelectMany(p => p.Files)
                .Where(readable.Contains).ToHashSet(StringComparer.Ordinal);
        }
    }

    /// <summary>A few lines for a log or a console: counts, split, and one line per warning or fatal problem.</summary>
    public string Summary()
    {
        var lines = new List<string>
        {
            $"{ReadableCount} readable image{(ReadableCount == 1 ? "" : "s")} of {ImageFileCount} image file{(ImageFileCount == 1 ? "" : "s")} in {Folder} " +
            $"({ResolvedChannels.ToString().ToLowerInvariant()}); {TrainCount} for training, {ValidationCount} for validation.",
        };
        foreach (var p in Problems.Where(p => p.Severity >= ProblemSeverity.Warning))
            lines.Add($"{(p.Severity == ProblemSeverity.Fatal ? "FATAL" : "warning")}: {p.Message}");
        return string.Join(Environment.NewLine, lines);
    }

    /// <summary>The whole report as indented JSON (per-image thumbnails left out).</summary>
    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        TypeInfoResolver = new System.Text.Json.Serialization.Metadata.DefaultJsonTypeInfoResolver
        {
            Modifiers =
            {
                ti =>
                {
                    if (ti.Type == typeof(ImageMeasurement))
                        foreach (var p in ti.Properties.Where(p => p.Name is "thumbnail").ToList()) ti.Properties.Remove(p);
                },
            },
        },
    };

    /// <summary>
    /// Checks <paramref name="folder"/>. Throws <see cref="NoisetteInputException"/> only when the folder does not exist;
    /// everything else, including a folder without a single readable image, is reported.
    /// <paramref name="progress"/> receives the number of image files examined so far.
    /// </summary>
    public static DatasetReport Run(string folder, DatasetCheckOptions? options = null, IProgress<int>? progress = null)
    {
        options ??= new DatasetCheckOptions();
        var config = options.Config;
        config.Validate();
        var scan = ImageFolder.Scan(folder);
        var files = scan.Images;
        var measured = new ImageMeasurement?[files.Count];
        var failures = new string?[files.Count];
        int done = 0;
        for (int start = 0; start < files.Count; start += Math.Max(1, options.BatchSize))
        {
            int count = Math.Min(Math.Max(1, options.BatchSize), files.Count - start);
            Parallel.For(start, start + count, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, i =>
            {
                var f = files[i];
                if (!ImageDecoder.TryReadBytes(f.FullPath, out var bytes, out var reason)) { failures[i] = reason; return; }
                if (!ImageDecoder.TryDecode(bytes, Path.GetExtension(f.FullPath), out var image, out reason)) { failures[i] = reason; return; }
                measured[i] = ImageMeasurement.Measure(f.RelativePath, bytes, image, config);
            });
            done += count;
            progress?.Report(done);
        }

        var images = measured.Where(m => m is not null).Select(m => m!).ToList();
        var unreadable = new List<SkippedFile>();
        for (int i = 0; i < files.Count; i++)
            if (failures[i] is { } r) unreadable.Add(new SkippedFile(files[i].RelativePath, r));
        foreach (var other in scan.OtherFiles)
            if (ImageFormats.IsUnsupportedImageExtension(other.RelativePath))
            {
                var head = ReadHead(other.FullPath);
                var what = ImageHeader.DescribeOtherContent(head) ?? Path.GetExtension(other.RelativePath).ToLowerInvariant() + " file";
                unreadable.Add(new SkippedFile(other.RelativePath, $"unsupported format: {what}"));
            }
        unreadable.AddRange(scan.UnreadableFolders);
        unreadable.Sort((a, b) => string.CompareOrdinal(a.RelativePath, b.RelativePath));
        var ignored = scan.OtherFiles.Where(o => !ImageFormats.IsUnsupportedImageExtension(o.RelativePath)).Select(o => o.RelativePath).ToList();

        return Analyse(scan.Root, options, scan.Images.Count + scan.OtherFiles.Count, files.Count, images, unreadable, ignored);
    }

    private static byte[] ReadHead(string path)
    {
        try
        {
            using var fs = File.OpenRead(path);
            var buf = new byte[512];
            int n = fs.ReadAtLeast(buf, buf.Length, throwOnEndOfStream: false);
            return buf[..n];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return []; }
    }

    private static DatasetReport Analyse(string folder, DatasetCheckOptions options, int fileCount, int imageFileCount,
        List<ImageMeasurement> images, List<SkippedFile> unreadable, List<string> ignored)
    {
        var config = options.Config;
        int n = config.ImageSize;
        var problems = new List<DatasetProblem>();
        var notes = images.SelectMany(m => m.Notes.Select(note => new FileNote(m.RelativePath, note))).ToList();

        // Inventory.
        var formats = CountBy(images, m => ImageFormats.Name(m.Source.Format));
        var layouts = CountBy(images, m => m.Source.PixelLayout);
        var sizes = CountBy(images, m => $"{m.Source.Width}×{m.Source.Height}");
        var histogram = CountBy(images, m => SizeClass(Math.Min(m.Source.Width, m.Source.Height)), ordered: false);
        var aspects = CountBy(images, m => AspectRatio(m.Source.Width, m.Source.Height));

        // Unreadable and fatal emptiness.
        if (images.Count == 0)
            problems.Add(new(ProblemSeverity.Fatal, "no-images",
                imageFileCount == 0 ? $"No image files (.png, .jpg, .jpeg, .webp, .bmp, .gif) in the folder ({fileCount} other files)."
                                    : $"None of the {imageFileCount} image files can be read.", unreadable.Select(u => u.RelativePath).ToList()));
        // Unreadable files are skipped: training goes on as long as usable images remain, however many are skipped.
        if (unreadable.Count > 0 && images.Count > 0)
            problems.Add(new(ProblemSeverity.Warning, "unreadable",
                $"{unreadable.Count} file{S(unreadable.Count)} cannot be read and will be skipped" +
                (unreadable.Count > images.Count ? $" (more than the {images.Count} readable: is this the right folder?)" : "") + ": " +
                Describe(unreadable.Select(u => $"{u.RelativePath} ({u.Reason})")),
                unreadable.Select(u => u.RelativePath).ToList()));

        foreach (var group in notes.GroupBy(x => x.Note.StartsWith("animated", StringComparison.Ordinal) ? "animated" : "wrong-extension"))
        {
            var list = group.ToList();
            problems.Add(group.Key == "animated"
                ? new(ProblemSeverity.Info, "animated", $"{list.Count} animated image{S(list.Count)}: only the first frame is used: " + Describe(list.Select(x => x.RelativePath)), list.Select(x => x.RelativePath).ToList())
                : new(ProblemSeverity.Warning, "wrong-extension", $"{list.Count} file{S(list.Count)} with a wrong extension (read by content anyway): " + Describe(list.Select(x => $"{x.RelativePath} ({x.Note})")), list.Select(x => x.RelativePath).ToList()));
        }
        foreach (var (layout, label) in new[] { ("CMYK", "CMYK JPEG"), ("16-bit", "16-bit"), ("palette", "palette") })
        {
            var list = images.Where(m => m.Source.PixelLayout.Contains(layout, StringComparison.Ordinal)).Select(m => m.RelativePath).ToList();
            if (list.Count > 0)
                problems.Add(new(ProblemSeverity.Info, "converted", $"{list.Count} {label} image{S(list.Count)}, converted to 8-bit RGB: " + Describe(list), list));
        }
        var transparent = images.Where(m => m.HasTransparency).Select(m => m.RelativePath).ToList();
        if (transparent.Count > 0)
            problems.Add(new(ProblemSeverity.Info, "transparency", $"{transparent.Count} image{S(transparent.Count)} with transparency, composited onto {config.Background}: " + Describe(transparent), transparent));

        // Duplicates.
        var exact = images.GroupBy(m => m.ContentHash).Where(g => g.Count() > 1)
            .Select(g => new DuplicateGroup(g.Select(m => m.RelativePath).ToList(), 0)).ToList();
        if (exact.Count > 0)
            problems.Add(new(ProblemSeverity.Warning, "exact-duplicates",
                $"{exact.Count} group{S(exact.Count)} of identical files ({exact.Sum(g => g.Files.Count)} files); duplicates overweight an image in training: " +
                Describe(exact.Select(g => string.Join(" = ", g.Files))), exact.SelectMany(g => g.Files).ToList()));
        var blank = images.Where(m => m.IsBlank).Select(m => m.RelativePath).ToList();
        // One representative per exact-duplicate group; blank images are reported on their own.
        var near = Data.NearDuplicates.Find(images.Where(m => !m.IsBlank).GroupBy(m => m.ContentHash).Select(g => g.First()).ToList(), options);
        if (near.Count > 0)
            problems.Add(new(ProblemSeverity.Warning, "near-duplicates",
                $"{near.Count} group{S(near.Count)} of near-identical images ({near.Sum(g => g.Files.Count)} files); duplicates overweight an image in training: " +
                Describe(near.Select(g => string.Join(" ≈ ", g.Files))), near.SelectMany(g => g.Files).ToList()));

        // Blank images and outliers.
        if (images.Count > 0 && blank.Count == images.Count)
            problems.Add(new(ProblemSeverity.Fatal, "all-blank", "Every image is a single flat colour: there is nothing to learn.", blank));
        else if (blank.Count > 0)
            problems.Add(new(ProblemSeverity.Warning, "blank", $"{blank.Count} image{S(blank.Count)} with nothing drawn (one flat colour, blank fraction 100%): " + Describe(blank), blank));
        var outliers = FindOutliers(images.Where(m => !m.IsBlank).ToList(), options);
        if (outliers.Count > 0)
            problems.Add(new(ProblemSeverity.Warning, "outliers",
                $"{outliers.Select(o => o.RelativePath).Distinct().Count()} image{S(outliers.Select(o => o.RelativePath).Distinct().Count())} far from the rest: " +
                Describe(outliers.GroupBy(o => o.RelativePath).Select(g => $"{g.Key} ({string.Join("; ", g.Select(o => o.Reason))})")),
                outliers.Select(o => o.RelativePath).Distinct().ToList()));

        // Framing.
        var framing = MeasureFraming(images.Where(m => !m.IsBlank).ToList(), options);
        if (framing.Deviations.Count > 0)
        {
            var files = framing.Deviations.Select(d => d.RelativePath).Distinct().ToList();
            problems.Add(new(ProblemSeverity.Warning, "framing",
                $"{files.Count} image{S(files.Count)} framed differently from the rest (ink height or baseline): " +
                Describe(framing.Deviations.GroupBy(d => d.RelativePath).Select(g => $"{g.Key} ({string.Join("; ", g.Select(d => $"{d.Measure} {d.Value:0.#} px, median {d.Median:0.#}"))})")), files));
        }

        // Small images.
        var small = images.Where(m => ImagePreprocessor.NeedsUpscale(m.Source.Width, m.Source.Height, config)).Select(m => m.RelativePath).ToList();
        if (small.Count > 0)
            problems.Add(new(ProblemSeverity.Warning, "small",
                $"{small.Count} image{S(small.Count)} smaller than the training size {n}×{n}, which will be enlarged (blurry): " + Describe(small), small));

        // Channels and split.
        var resolved = images.Count > 0 && images.All(m => m.IsGray && (!m.HasTransparency || IsGrayColour(config.Background))) ? ChannelMode.Gray : ChannelMode.Rgb;
        var gray = images.Count(m => m.IsGray);
        if (gray > 0 && gray < images.Count)
            problems.Add(new(ProblemSeverity.Info, "mixed-channels", $"{gray} gray and {images.Count - gray} colour images: all are trained as RGB.", []));
        var (train, validation) = DatasetSplit.Assign(images.Select(m => m.RelativePath).ToList(), config.ValidationFraction, config.SplitSeed);
        if (images.Count > 0 && validation.Length == 0)
            problems.Add(new(ProblemSeverity.Info, "no-validation", $"With {images.Count} images no validation image is held out (at least {DatasetSplit.MinimumForValidation} are needed).", []));
        if (ignored.Count > 0)
            problems.Add(new(ProblemSeverity.Info, "ignored", $"{ignored.Count} other file{S(ignored.Count)} ignored: " + Describe(ignored), ignored));

        return new DatasetReport
        {
            Folder = folder,
            Options = options,
            FileCount = fileCount,
            ImageFileCount = imageFileCount,
            Images = images,
            Unreadable = unreadable,
            IgnoredFiles = ignored,
            Notes = notes,
            Formats = formats,
            ChannelModes = layouts,
            Sizes = sizes,
            SizeHistogram = histogram,
            AspectRatios = aspects,
            ExactDuplicates = exact,
            NearDuplicates = near,
            BlankImages = blank,
            Outliers = outliers,
            Framing = framing,
            SmallImages = small,
            ResolvedChannels = resolved,
            TrainCount = train.Length,
            ValidationCount = validation.Length,
            Problems = problems.OrderByDescending(p => p.Severity).ToList(),
        };
    }

    private static readonly (string Name, Func<ImageMeasurement, double> Get, double Floor, string Unit)[] Statistics =
    [
        ("brightness", m => m.Brightness, 3, ""),
        ("contrast", m => m.Contrast, 3, ""),
        ("blank fraction", m => m.BlankFraction, 0.03, ""),
        ("colourfulness", m => m.Colourfulness, 3, ""),
        ("size", m => m.LogSize, 0.25, " (log2 of the side)"),
    ];

    private static List<Outlier> FindOutliers(List<ImageMeasurement> images, DatasetCheckOptions options)
    {
        var result = new List<Outlier>();
        if (images.Count < 5) return result;
        foreach (var (name, get, floor, _) in Statistics)
        {
            var values = images.Select(get).ToArray();
            double median = RobustStatistics.Median(values);
            double mad = RobustStatistics.MedianAbsoluteDeviation(values, median);
            for (int i = 0; i < images.Count; i++)
            {
                double z = RobustStatistics.RobustZ(values[i], median, mad, floor);
                if (Math.Abs(z) <= options.OutlierZ) continue;
                var m = images[i];
                string reason = name == "size"
                    ? $"size {m.Source.Width}×{m.Source.Height}, typical {Math.Pow(2, median):0}², robust z {z:+0.0;-0.0}"
                    : name == "blank fraction"
                        ? $"{name} {values[i]:P0}, median {median:P0}, robust z {z:+0.0;-0.0}"
                        : $"{name} {values[i]:0.#}, median {median:0.#}, robust z {z:+0.0;-0.0}";
                result.Add(new Outlier(m.RelativePath, name, values[i], median, z, reason));
            }
        }
        return result.OrderBy(o => o.RelativePath, StringComparer.Ordinal).ToList();
    }

    private static FramingReport MeasureFraming(List<ImageMeasurement> images, DatasetCheckOptions options)
    {
        int n = options.Config.ImageSize;
        var inked = images.Where(m => m.Ink is not null).ToList();
        if (inked.Count < 3) return new FramingReport(inked.Count, n, [], []);
        var measures = new (string Name, Func<InkBox, double> Get)[]
        {
            ("top", b => b.Top), ("bottom", b => b.Bottom), ("left", b => b.Left), ("right", b => b.Right),
            ("height", b => b.Height), ("width", b => b.Width), ("centre x", b => b.CenterX),
        };
        var stats = new List<FramingMeasure>();
        foreach (var (name, get) in measures)
        {
            var v = inked.Select(m => get(m.Ink!.Value)).Order().ToArray();
            stats.Add(new FramingMeasure(name, RobustStatistics.Median(v), v[0], v[^1], Percentile(v, 0.05), Percentile(v, 0.95)));
        }
        double medHeight = stats.First(s => s.Name == "height").Median;
        double medBottom = stats.First(s => s.Name == "bottom").Median;
        double heightTolerance = Tolerance(inked.Select(m => Math.Abs(m.Ink!.Value.Height - medHeight)), options.HeightTolerance * medHeight, options);
        double baselineTolerance = Tolerance(inked.Select(m => Math.Abs(m.Ink!.Value.Bottom - medBottom)), options.BaselineTolerance * n, options);
        var deviations = new List<FramingDeviation>();
        foreach (var m in inked)
        {
            var b = m.Ink!.Value;
            if (Math.Abs(b.Height - medHeight) > heightTolerance)
                deviations.Add(new FramingDeviation(m.RelativePath, "ink height", b.Height, medHeight));
            if (Math.Abs(b.Bottom - medBottom) > baselineTolerance)
                deviations.Add(new FramingDeviation(m.RelativePath, "baseline", b.Bottom, medBottom));
        }
        return new FramingReport(inked.Count, n, stats, deviations) { HeightTolerance = heightTolerance, BaselineTolerance = baselineTolerance };
    }

    /// <summary>
    /// The deviation beyond which an image is flagged: <paramref name="floor"/>, or for a set that is loosely framed
    /// throughout, <see cref="DatasetCheckOptions.FramingSpreadFactor"/> times the deviation exceeded by only the most
    /// extreme <see cref="DatasetCheckOptions.FramingTail"/> of the images (at least 5 of them, so a few misaligned
    /// images never widen the tolerance that should catch them).
    /// </summary>
    private static double Tolerance(IEnumerable<double> deviations, double floor, DatasetCheckOptions options)
    {
        var sorted = deviations.OrderDescending().ToArray();
        int k = Math.Max(5, (int)(options.FramingTail * sorted.Length));
        double spread = k < sorted.Length ? sorted[k] : 0;
        return Math.Max(floor, options.FramingSpreadFactor * spread);
    }

    private static double Percentile(double[] sorted, double p)
    {
        double pos = p * (sorted.Length - 1);
        int lo = (int)Math.Floor(pos), hi = (int)Math.Ceiling(pos);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
    }

    private static Dictionary<string, int> CountBy(IEnumerable<ImageMeasurement> images, Func<ImageMeasurement, string> key, bool ordered = true)
    {
        var groups = images.GroupBy(key).Select(g => (g.Key, Count: g.Count()));
        groups = ordered ? groups.OrderByDescending(g => g.Count).ThenBy(g => g.Key, StringComparer.Ordinal) : groups.OrderBy(g => SizeClassOrder(g.Key));
        var result = new Dictionary<string, int>();
        foreach (var (k, c) in groups) result[k] = c;
        return result;
    }

    private static readonly int[] SizeClassBounds = [32, 64, 128, 256, 512, 1024, 2048];

    private static string SizeClass(int side)
    {
        if (side < SizeClassBounds[0]) return $"<{SizeClassBounds[0]}";
        for (int i = 1; i < SizeClassBounds.Length; i++)
            if (side < SizeClassBounds[i]) return $"{SizeClassBounds[i - 1]}-{SizeClassBounds[i] - 1}";
        return $"≥{SizeClassBounds[^1]}";
    }

    private static int SizeClassOrder(string label) =>
        label.StartsWith('<') ? 0 : label.StartsWith('≥') ? 99 : int.Parse(label.Split('-')[0], CultureInfo.InvariantCulture);

    /// <summary>"1:1", "4:3"... for small reduced ratios, else the long-to-short ratio with two decimals ("1.85:1", "1:2.10").</summary>
    public static string AspectRatio(int width, int height)
    {
        int g = (int)System.Numerics.BigInteger.GreatestCommonDivisor(width, height);
        int a = width / g, b = height / g;
        if (a <= 21 && b <= 21) return $"{a}:{b}";
        return width >= height
            ? string.Create(CultureInfo.InvariantCulture, $"{(double)width / height:0.00}:1")
            : string.Create(CultureInfo.InvariantCulture, $"1:{(double)height / width:0.00}");
    }

    private static bool IsGrayColour(string background)
    {
        var (r, g, b) = DataConfig.ParseColor(background);
        return r == g && g == b;
    }

    private static string S(int count) => count == 1 ? "" : "s";

    private static string Describe(IEnumerable<string> items, int max = 8)
    {
        var list = items.ToList();
        return string.Join(", ", list.Take(max)) + (list.Count > max ? $", and {list.Count - max} more" : "") + ".";
    }
}
