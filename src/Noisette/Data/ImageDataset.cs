using System.Security.Cryptography;
using System.Text;

namespace Noisette.Data;

/// <summary>
/// The images of a data folder in the training layout (uint8 C×H×W, see <see cref="ImagePreprocessor"/>), in a
/// deterministic order, with the files that could not be used, the train/validation split and a fingerprint.
/// When all images fit in a memory budget they are decoded once and kept as compact bytes; otherwise each
/// image is decoded from disk when it is asked for. Nothing is ever written into the folder.
/// </summary>
public sealed class ImageDataset : IImageSet
{
    private readonly byte[]? _pixels;
    private readonly string[] _fullPaths;

    private ImageDataset(DataConfig config, ChannelMode resolved, string[] relativePaths, string[] fullPaths, byte[]? pixels,
        List<SkippedFile> skipped, List<string> upscaled, List<FileNote> notes, string fingerprint)
    {
        Config = config;
        ResolvedChannels = resolved;
        Channels = ImagePreprocessor.ChannelCount(resolved);
        ImageSize = config.ImageSize;
        RelativePaths = relativePaths;
        _fullPaths = fullPaths;
        _pixels = pixels;
        Skipped = skipped;
        Upscaled = upscaled;
        Notes = notes;
        Fingerprint = fingerprint;
        (TrainIndices, ValidationIndices) = DatasetSplit.Assign(relativePaths, config.ValidationFraction, config.SplitSeed);
    }

    public DataConfig Config { get; }
    /// <summary>Number of usable images.</summary>
    public int Count => RelativePaths.Count;
    /// <summary>1 for gray, 3 for RGB.</summary>
    public int Channels { get; }
    /// <summary>The channel mode after resolving Auto: Gray when every readable image is gray, else Rgb.</summary>
    public ChannelMode ResolvedChannels { get; }
    public int ImageSize { get; }
    /// <summary>Bytes of one image: Channels × ImageSize × ImageSize.</summary>
    public int ImageBytes => Channels * ImageSize * ImageSize;
    /// <summary>Paths of the usable images relative to the folder, forward slashes, sorted ordinally.</summary>
    public IReadOnlyList<string> RelativePaths { get; }
    /// <summary>Files that were not used, each with its reason.</summary>
    public IReadOnlyList<SkippedFile> Skipped { get; }
    /// <summary>Relative paths of images smaller than the training size, which are enlarged.</summary>
    public IReadOnlyList<string> Upscaled { get; }
    /// <summary>Remarks about images that were used (animated: first frame; wrong extension).</summary>
    public IReadOnlyList<FileNote> Notes { get; }
    /// <summary>SHA-256 (hex) over the data config, the relative paths and the uint8 pixels: equal fingerprints, equal data.</summary>
    public string Fingerprint { get; }
    public int[] TrainIndices { get; }
    public int[] ValidationIndices { get; }
    /// <summary>True when all pixels are held in memory.</summary>
    public bool IsCached => _pixels is not null;

    /// <summary>All images back to back (Count × ImageBytes); only when <see cref="IsCached"/>.</summary>
    public ReadOnlyMemory<byte> Pixels => _pixels ?? throw new InvalidOperationException("The dataset is not cached in memory; use CopyImage.");

    /// <summary>Copies the C×H×W bytes of image <paramref name="index"/> into <paramref name="destination"/>.</summary>
    public void CopyImage(int index, Span<byte> destination)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        if (destination.Length < ImageBytes) throw new ArgumentException($"Destination holds {destination.Length} bytes; an image needs {ImageBytes}.", nameof(destination));
        if (_pixels is not null)
        {
            _pixels.AsSpan(index * ImageBytes, ImageBytes).CopyTo(destination);
            return;
        }
        ImagePreprocessor.LoadImage(_fullPaths[index], Config, ResolvedChannels).CopyTo(destination);
    }

    /// <summary>The default cache budget: a quarter of the memory available to this process.</summary>
    public static long DefaultMemoryBudget => Math.Max(64L << 20, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 4);

    /// <summary>
    /// Loads the images of <paramref name="folder"/> (recursively). Unreadable files are skipped and listed; a missing
    /// or empty folder, or one without a single readable image, throws <see cref="NoisetteInputException"/>.
    /// <paramref name="progress"/> receives the number of files decoded so far.
    /// </summary>
    public static ImageDataset Load(string folder, DataConfig config, IProgress<int>? progress = null, long? memoryBudgetBytes = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        var scan = ImageFolder.Scan(folder);
        var files = scan.Images;
        if (files.Count == 0) throw new NoisetteInputException(DescribeNoImages(folder, scan));

        int n = config.ImageSize;
        int firstPassChannels = config.Channels == ChannelMode.Gray ? 1 : 3;
        long budget = Math.Min(memoryBudgetBytes ?? DefaultMemoryBudget, Array.MaxLength);
        bool cache = (long)files.Count * firstPassChannels * n * n <= budget;
        var bg = config.BackgroundRgb;
        bool bgGray = bg.R == bg.G && bg.G == bg.B;
        var firstPassMode = firstPassChannels == 1 ? ChannelMode.Gray : ChannelMode.Rgb;

        var results = new Decoded[files.Count];
        int done = 0;
        Parallel.For(0, files.Count, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, i =>
        {
            if (ImageDecoder.TryDecode(files[i].FullPath, out var image, out var reason))
            {
                results[i] = new Decoded(null, image.IsGray && (image.IsOpaque || bgGray),
                    ImagePreprocessor.NeedsUpscale(image.Width, image.Height, config), image.Notes,
                    cache ? ImagePreprocessor.Process(image, config, firstPassMode) : null);
            }
            else results[i] = new Decoded(reason, false, false, [], null);
            int d = Interlocked.Increment(ref done);
            if (progress is not null && (d % 64 == 0 || d == files.Count)) progress.Report(d);
        });

        var skipped = new List<SkippedFile>();
        var usable = new List<int>();
        for (int i = 0; i < files.Count; i++)
        {
            if (results[i].Failure is { } reason) skipped.Add(new SkippedFile(files[i].RelativePath, reason));
            else usable.Add(i);
        }
        foreach (var other in scan.OtherFiles)
            if (ImageFormats.IsUnsupportedImageExtension(other.RelativePath))
                skipped.Add(new SkippedFile(other.RelativePath, $"unsupported format ({Path.GetExtension(other.RelativePath).ToLowerInvariant()})"));
        skipped.AddRange(scan.UnreadableFolders);
        skipped.Sort((a, b) => string.CompareOrdinal(a.RelativePath, b.RelativePath));

        if (usable.Count == 0)
            throw new NoisetteInputException(
                $"Data folder '{folder}' has no readable image: found {files.Count} image file{(files.Count == 1 ? "" : "s")}, none readable: " +
                string.Join(", ", skipped.Take(10).Select(s => $"{s.RelativePath} ({s.Reason})")) + (skipped.Count > 10 ? $", and {skipped.Count - 10} more" : "") + ".");

        var resolved = config.Channels switch
        {
            ChannelMode.Gray => ChannelMode.Gray,
            ChannelMode.Rgb => ChannelMode.Rgb,
            _ => usable.All(i => results[i].IsGray) ? ChannelMode.Gray : ChannelMode.Rgb,
        };
        int channels = ImagePreprocessor.ChannelCount(resolved);
        int imageBytes = channels * n * n;
        var rel = usable.Select(i => files[i].RelativePath).ToArray();
        var full = usable.Select(i => files[i].FullPath).ToArray();

        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(Encoding.UTF8.GetBytes(DescribeConfig(config, resolved)));
        byte[]? pixels = null;
        if (cache)
        {
            pixels = new byte[(long)usable.Count * imageBytes];
            for (int k = 0; k < usable.Count; k++)
            {
                var p = results[usable[k]].Pixels!;
                p.AsSpan(0, imageBytes).CopyTo(pixels.AsSpan(k * imageBytes));
                results[usable[k]] = results[usable[k]] with { Pixels = null };
                AppendImage(hash, rel[k], pixels.AsSpan(k * imageBytes, imageBytes));
            }
        }
        else
        {
            const int chunk = 64;
            for (int start = 0; start < full.Length; start += chunk)
            {
                int count = Math.Min(chunk, full.Length - start);
                var part = new byte[count][];
                Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount },
                    j => part[j] = ImagePreprocessor.LoadImage(full[start + j], config, resolved));
                for (int j = 0; j < count; j++) AppendImage(hash, rel[start + j], part[j]);
            }
        }

        var upscaled = usable.Where(i => results[i].Upscaled).Select(i => files[i].RelativePath).ToList();
        var notes = usable.SelectMany(i => results[i].Notes.Select(note => new FileNote(files[i].RelativePath, note))).ToList();
        return new ImageDataset(config, resolved, rel, full, pixels, skipped, upscaled, notes, Convert.ToHexStringLower(hash.GetHashAndReset()));
    }

    /// <summary>The config fields that decide the pixels and the split, in a fixed text form, for the fingerprint.</summary>
    private static string DescribeConfig(DataConfig c, ChannelMode resolved)
    {
        var bg = c.BackgroundRgb;
        return FormattableString.Invariant(
            $"noisette-dataset-v1\nimage_size={c.ImageSize}\nchannels={resolved}\nresize={c.Resize}\nbackground=#{bg.R:X2}{bg.G:X2}{bg.B:X2}\nvalidation_fraction={c.ValidationFraction:R}\nsplit_seed={c.SplitSeed}\nflip={c.FlipAugment}\n");
    }

    private static void AppendImage(IncrementalHash hash, string relativePath, ReadOnlySpan<byte> pixels)
    {
        hash.AppendData(Encoding.UTF8.GetBytes(relativePath));
        hash.AppendData([0]);
        hash.AppendData(pixels);
    }

    private static string DescribeNoImages(string folder, ImageFolder scan)
    {
        if (scan.OtherFiles.Count == 0)
            return $"Data folder '{folder}' is empty: it holds no image files (.png, .jpg, .jpeg, .webp, .bmp, .gif).";
        var names = string.Join(", ", scan.OtherFiles.Take(10).Select(f => f.RelativePath));
        var more = scan.OtherFiles.Count > 10 ? $", and {scan.OtherFiles.Count - 10} more" : "";
        return $"Data folder '{folder}' has no image files (.png, .jpg, .jpeg, .webp, .bmp, .gif): found {scan.OtherFiles.Count} other file{(scan.OtherFiles.Count == 1 ? "" : "s")}: {names}{more}.";
    }

    private sealed record Decoded(string? Failure, bool IsGray, bool Upscaled, IReadOnlyList<string> Notes, byte[]? Pixels);
}
