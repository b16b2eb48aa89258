using System.Security.Cryptography;

namespace Noisette.Data;

/// <summary>
/// What a dataset check keeps of one readable image: its header facts, a content hash, a few statistics of its
/// training-size rendering, a perceptual hash and a 16×16 gray thumbnail centred on the image's ink. Never the
/// pixels themselves.
/// </summary>
public sealed record ImageMeasurement
{
    public required string RelativePath { get; init; }
    public required ImageSourceInfo Source { get; init; }
    /// <summary>SHA-256 (hex) of the file's bytes.</summary>
    public required string ContentHash { get; init; }
    /// <summary>True when every pixel is gray (R = G = B).</summary>
    public required bool IsGray { get; init; }
    /// <summary>True when some pixel is not fully opaque.</summary>
    public required bool HasTransparency { get; init; }
    /// <summary>Mean luma, 0-255, of the training-size image.</summary>
    public required double Brightness { get; init; }
    /// <summary>Standard deviation of luma, 0-255.</summary>
    public required double Contrast { get; init; }
    /// <summary>Fraction of pixels equal to the background (the border's median colour) within a small tolerance.</summary>
    public required double BlankFraction { get; init; }
    /// <summary>Hasler-Süsstrunk colourfulness (0 for gray).</summary>
    public required double Colourfulness { get; init; }
    /// <summary>Ink box in training-size pixels, when the image has a plain background.</summary>
    public required InkBox? Ink { get; init; }
    /// <summary>Perceptual hash (<see cref="Data.PerceptualHash"/>) of the training-size image centred on its ink, a fingerprint.</summary>
    public required ulong PerceptualHash { get; init; }
    /// <summary>
    /// 16×16 gray thumbnail, row-major, of a window of the image's side centred on its ink centroid (outside the
    /// image: the background), so a shifted copy of an image gives the same thumbnail. What near-duplicates compare.
    /// </summary>
    public required byte[] Thumbnail { get; init; }
    public IReadOnlyList<string> Notes { get; init; } = [];

    /// <summary>log2 of the geometric mean side, √(width × height): the "size" statistic.</summary>
    public double LogSize => Math.Log2(Math.Sqrt(Source.Pixels));

    /// <summary>True when the image is a single flat colour (nothing drawn).</summary>
    public bool IsBlank => Contrast < 1.0;

    /// <summary>Measures a decoded image at the training size of <paramref name="config"/>.</summary>
    public static ImageMeasurement Measure(string relativePath, byte[] fileBytes, DecodedImage image, DataConfig config)
    {
        int n = config.ImageSize;
        var rgb = ImagePreprocessor.Process(image, config, ChannelMode.Rgb);
        int plane = n * n;
        var luma = new double[plane];
        double sum = 0, sumSq = 0;
        double rgSum = 0, ybSum = 0, rgSq = 0, ybSq = 0;
        for (int i = 0; i < plane; i++)
        {
            double r = rgb[i], g = rgb[plane + i], b = rgb[2 * plane + i];
            double y = ImagePreprocessor.Luma(r, g, b);
            luma[i] = y;
            sum += y; sumSq += y * y;
            double rg = r - g, yb = 0.5 * (r + g) - b;
            rgSum += rg; ybSum += yb; rgSq += rg * rg; ybSq += yb * yb;
        }
        double mean = sum / plane;
        double contrast = Math.Sqrt(Math.Max(0, sumSq / plane - mean * mean));
        double rgMean = rgSum / plane, ybMean = ybSum / plane;
        double rgVar = Math.Max(0, rgSq / plane - rgMean * rgMean), ybVar = Math.Max(0, ybSq / plane - ybMean * ybMean);
        double colourfulness = Math.Sqrt(rgVar + ybVar) + 0.3 * Math.Sqrt(rgMean * rgMean + ybMean * ybMean);

        var ink = InkBox.Measure(luma, n, n, out _);
        var (br, bgc, bb) = BorderMedian(rgb, n);
        int blank = 0;
        for (int i = 0; i < plane; i++)
            if (Math.Abs(rgb[i] - br) <= InkBox.NoiseLevel && Math.Abs(rgb[plane + i] - bgc) <= InkBox.NoiseLevel && Math.Abs(rgb[2 * plane + i] - bb) <= InkBox.NoiseLevel)
                blank++;

        var centred = CentredOnInk(luma, n);
        return new ImageMeasurement
        {
            RelativePath = relativePath,
            Source = image.Source,
            ContentHash = Convert.ToHexStringLower(SHA256.HashData(fileBytes)),
            IsGray = image.IsGray,
            HasTransparency = !image.IsOpaque,
            Brightness = mean,
            Contrast = contrast,
            BlankFraction = (double)blank / plane,
            Colourfulness = colourfulness,
            Ink = ink,
            PerceptualHash = Data.PerceptualHash.Compute(centred, n, n),
            Thumbnail = ImageResampler.Resample(centred, n, n, 0, 0, n, n, ThumbnailSide, ThumbnailSide).Select(ImageResampler.ToByte).ToArray(),
            Notes = image.Notes,
        };
    }

    /// <summary>Side of <see cref="Thumbnail"/>.</summary>
    public const int ThumbnailSide = 16;

    /// <summary>
    /// The n × n window of the luma plane centred on its ink centroid (weighted by the difference from the border's
    /// median, to a fraction of a pixel); outside the image, that background.
    /// </summary>
    private static double[] CentredOnInk(double[] luma, int n)
    {
        var border = new List<double>(4 * n);
        for (int i = 0; i < n; i++) { border.Add(luma[i]); border.Add(luma[(n - 1) * n + i]); border.Add(luma[i * n]); border.Add(luma[i * n + n - 1]); }
        double bg = RobustStatistics.Median(border);
        double sw = 0, sx = 0, sy = 0;
        for (int y = 0; y < n; y++)
            for (int x = 0; x < n; x++)
            {
                double w = Math.Abs(luma[y * n + x] - bg);
                sw += w; sx += w * (x + 0.5); sy += w * (y + 0.5);
            }
        double cx = sw > 0 ? sx / sw : n / 2.0, cy = sw > 0 ? sy / sw : n / 2.0;
        int side = 2 * n;
        var canvas = new double[side * side];
        Array.Fill(canvas, bg);
        for (int y = 0; y < n; y++) Array.Copy(luma, y * n, canvas, (y + n / 2) * side + n / 2, n);
        // In the canvas the centroid is at (cx + n/2, cy + n/2): the window of side n around it starts at (cx, cy).
        return ImageResampler.Resample(canvas, side, side, cx, cy, n, n, n, n);
    }

    private static (double R, double G, double B) BorderMedian(byte[] rgb, int n)
    {
        int plane = n * n;
        double Med(int c)
        {
            var v = new List<double>(4 * n);
            for (int i = 0; i < n; i++)
            {
                v.Add(rgb[c * plane + i]);
                v.Add(rgb[c * plane + (n - 1) * n + i]);
                v.Add(rgb[c * plane + i * n]);
                v.Add(rgb[c * plane + i * n + n - 1]);
            }
            return RobustStatistics.Median(v);
        }
        return (Med(0), Med(1), Med(2));
    }
}
