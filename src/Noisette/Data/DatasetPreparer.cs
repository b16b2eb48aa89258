namespace Noisette.Data;

/// <summary>Where <see cref="DatasetPreparer"/> puts each image's ink.</summary>
public enum FramingAlignment
{
    /// <summary>Leave the position alone (only resize, and scale about the ink centre for a target height).</summary>
    None,
    /// <summary>Ink bottom on the set's median baseline, ink box centred horizontally: for glyphs.</summary>
    Baseline,
    /// <summary>Ink box centred both ways.</summary>
    Center,
}

/// <summary>Settings of <see cref="DatasetPreparer.Prepare"/>.</summary>
public sealed record PrepareOptions
{
    public FramingAlignment Align { get; init; } = FramingAlignment.Baseline;
    /// <summary>When set, every ink box is scaled to this height, in percent of the image size (for example 62.5 for 40 of 64).</summary>
    public double? TargetHeightPercent { get; init; }
    /// <summary>Size of the written images, and how other shapes and transparency are handled first.</summary>
    public DataConfig Config { get; init; } = new() { ImageSize = 64 };
}

/// <summary>What <see cref="DatasetPreparer.Prepare"/> did.</summary>
public sealed record PrepareResult(
    string OutputFolder,
    int Written,
    IReadOnlyList<SkippedFile> Skipped,
    IReadOnlyList<string> NotAligned,
    double Baseline,
    ChannelMode Channels);

/// <summary>
/// Writes a normalised copy of a data folder into a new folder: every readable image brought to the training size,
/// its ink box moved onto a common baseline (or centred) and optionally scaled to a common height, saved as PNG
/// under the same relative path. The originals are never touched; the output folder must be new and outside the data.
/// </summary>
public static class DatasetPreparer
{
    public static PrepareResult Prepare(string dataFolder, string outputFolder, PrepareOptions? options = null, IProgress<int>? progress = null)
    {
        options ??= new PrepareOptions();
        var config = options.Config;
        config.Validate();
        if (options.TargetHeightPercent is { } pct && !(pct > 0 && pct <= 100))
            throw new NoisetteInputException($"Target height {pct}% is out of range: give a percentage of the image size above 0 and at most 100.");
        var scan = ImageFolder.Scan(dataFolder);
        var outFull = OutputFolder.Check(scan.Root, outputFolder);
        int n = config.ImageSize;
        var files = scan.Images;

        // Pass 1: measure every image's ink box at the training size.
        var ink = new InkBox?[files.Count];
        var failure = new string?[files.Count];
        var gray = new bool[files.Count];
        var bg = config.BackgroundRgb;
        Parallel.For(0, files.Count, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, i =>
        {
            if (!ImageDecoder.TryDecode(files[i].FullPath, out var image, out var reason)) { failure[i] = reason; return; }
            gray[i] = image.IsGray && (image.IsOpaque || (bg.R == bg.G && bg.G == bg.B));
            var px = ImagePreprocessor.Process(image, config, ChannelMode.Gray);
            ink[i] = InkBox.Measure(px.Select(b => (double)b).ToArray(), n, n, out _);
        });
        var usable = Enumerable.Range(0, files.Count).Where(i => failure[i] is null).ToList();
        if (usable.Count == 0)
            throw new NoisetteInputException(files.Count == 0
                ? $"Data folder '{dataFolder}' has no image files."
                : $"Data folder '{dataFolder}' has no readable image: " + string.Join(", ", Enumerable.Range(0, files.Count).Take(10).Select(i => $"{files[i].RelativePath} ({failure[i]})")) + ".");
        var measured = usable.Where(i => ink[i] is not null).Select(i => ink[i]!.Value).ToList();
        double baseline = measured.Count > 0 ? RobustStatistics.Median(measured.Select(b => b.Bottom)) : n;
        var channels = usable.All(i => gray[i]) ? ChannelMode.Gray : ChannelMode.Rgb;

        // Pass 2: transform and write into a temporary folder, then move it into place.
        var temp = OutputFolder.CreateTemp(outFull);
        var names = OutputNames(usable.Select(i => files[i].RelativePath).ToList());
        var notAligned = new List<string>();
        int done = 0;
        try
        {
            Parallel.ForEach(usable, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, i =>
            {
                var image = ImageDecoder.Decode(files[i].FullPath);
                PlanarImage output;
                if (ink[i] is { } box)
                    output = Transform(image, config, channels, box, options, baseline);
                else
                {
                    lock (notAligned) notAligned.Add(files[i].RelativePath);
                    output = new PlanarImage(ImagePreprocessor.ChannelCount(channels), n, n, ImagePreprocessor.Process(image, config, channels));
                }
                var path = Path.Combine(temp, names[files[i].RelativePath].Replace('/', Path.DirectorySeparatorChar));
                PngWriter.Write(path, output, [new("Source", files[i].RelativePath), new("Software", "Noisette prepare")]);
                progress?.Report(Interlocked.Increment(ref done));
            });
            OutputFolder.Publish(temp, outFull);
        }
        catch
        {
            try { Directory.Delete(temp, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
        var skipped = Enumerable.Range(0, files.Count).Where(i => failure[i] is not null).Select(i => new SkippedFile(files[i].RelativePath, failure[i]!)).ToList();
        notAligned.Sort(StringComparer.Ordinal);
        return new PrepareResult(outFull, usable.Count, skipped, notAligned, baseline, channels);
    }

    /// <summary>Output names: the relative path with a .png extension; "a.jpg" becomes "a.jpg.png" if "a.png" also exists.</summary>
    private static Dictionary<string, string> OutputNames(List<string> relativePaths)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        var taken = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var rel in relativePaths.Where(r => r.EndsWith(".png", StringComparison.OrdinalIgnoreCase)))
        {
            result[rel] = rel;
            taken.Add(rel);
        }
        foreach (var rel in relativePaths.Where(r => !r.EndsWith(".png", StringComparison.OrdinalIgnoreCase)))
        {
            var name = Path.ChangeExtension(rel, ".png");
            if (!taken.Add(name)) { name = rel + ".png"; taken.Add(name); }
            result[rel] = name;
        }
        return result;
    }

    /// <summary>
    /// Maps the image so that, in training-size coordinates, u → s·u + t on each axis moves the ink box where asked,
    /// resampling from the original pixels in one step (box filter when shrinking, bilinear when enlarging).
    /// </summary>
    private static PlanarImage Transform(DecodedImage image, DataConfig config, ChannelMode channels, InkBox box, PrepareOptions options, double baseline)
    {
        int n = config.ImageSize, c = ImagePreprocessor.ChannelCount(channels);
        double s = options.TargetHeightPercent is { } pct && box.Height > 0 ? pct / 100 * n / box.Height : 1;
        double tx, ty;
        switch (options.Align)
        {
            case FramingAlignment.Baseline: tx = n / 2.0 - s * box.CenterX; ty = baseline - s * box.Bottom; break;
            case FramingAlignment.Center: tx = n / 2.0 - s * box.CenterX; ty = n / 2.0 - s * box.CenterY; break;
            default: tx = box.CenterX * (1 - s); ty = box.CenterY * (1 - s); break;
        }
        // Training frame u relates to source x by x = a + k·u (crop or pad), so output o maps to x = a + k·(o - t)/s.
        int w = image.Width, h = image.Height;
        double ax, ay, k;
        if (config.Resize == ResizeMode.Crop)
        {
            int side = Math.Min(w, h);
            k = (double)side / n;
            ax = (w - side) / 2;
            ay = (h - side) / 2;
        }
        else
        {
            double scale = (double)n / Math.Max(w, h);
            int dw = Math.Clamp((int)Math.Round(w * scale), 1, n), dh = Math.Clamp((int)Math.Round(h * scale), 1, n);
            k = (double)w / dw;
            ax = -((n - dw) / 2) * k;
            ay = -((n - dh) / 2) * ((double)h / dh);
        }
        double x0 = ax + k * (-tx / s), y0 = ay + k * (-ty / s), window = k * n / s;

        // Composite onto the background and letterbox into a square of side max(w, h) (shrunk to at most 4n first,
        // which keeps the result exact enough while bounding memory); express the window in that square's pixels.
        int big = Math.Max(w, h), side2 = Math.Min(big, 4 * n);
        double f = (double)side2 / big;
        var full = ImagePreprocessor.Process(image, config with { ImageSize = side2, Resize = ResizeMode.Pad }, channels);
        double wx0 = (x0 + (big - w) / 2) * f, wy0 = (y0 + (big - h) / 2) * f, wWin = window * f;
        var bg = config.BackgroundRgb;
        var bgValues = channels == ChannelMode.Gray ? [ImagePreprocessor.Luma(bg.R, bg.G, bg.B)] : new double[] { bg.R, bg.G, bg.B };
        int padLeft = Math.Max(0, (int)Math.Ceiling(-wx0)) + 1, padTop = Math.Max(0, (int)Math.Ceiling(-wy0)) + 1;
        int padRight = Math.Max(0, (int)Math.Ceiling(wx0 + wWin - side2)) + 1, padBottom = Math.Max(0, (int)Math.Ceiling(wy0 + wWin - side2)) + 1;
        int pw = side2 + padLeft + padRight, ph = side2 + padTop + padBottom;
        var output = new byte[c * n * n];
        for (int ch = 0; ch < c; ch++)
        {
            var plane = new double[pw * ph];
            Array.Fill(plane, ImageResampler.ToByte(bgValues[ch]));
            for (int y = 0; y < side2; y++)
                for (int x = 0; x < side2; x++)
                    plane[(y + padTop) * pw + x + padLeft] = full[(ch * side2 + y) * side2 + x];
            var r = ImageResampler.Resample(plane, pw, ph, wx0 + padLeft, wy0 + padTop, wWin, wWin, n, n);
            for (int i = 0; i < r.Length; i++) output[ch * n * n + i] = ImageResampler.ToByte(r[i]);
        }
        return new PlanarImage(c, n, n, output);
    }
}
