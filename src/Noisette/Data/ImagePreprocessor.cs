namespace Noisette.Data;

/// <summary>
/// Turns a decoded image into the training layout: alpha composited onto the background colour,
/// brought to a square of <see cref="DataConfig.ImageSize"/> by <see cref="ResizeMode.Crop"/> (short side to the
/// target, centre square kept) or <see cref="ResizeMode.Pad"/> (long side to the target, letterboxed on the
/// background), then stored as compact uint8 CHW: one plane for gray, three (R, G, B) for RGB.
/// </summary>
public static class ImagePreprocessor
{
    /// <summary>
    /// Loads one image file for the pipelines (edit, inpaint...): decodes it and returns
    /// C×H×W bytes (C = 1 for <see cref="ChannelMode.Gray"/>, 3 for <see cref="ChannelMode.Rgb"/>), exactly as
    /// the training data would see it. Throws <see cref="NoisetteInputException"/> for an unreadable file.
    /// </summary>
    public static byte[] LoadImage(string path, DataConfig config, ChannelMode channels) =>
        Process(ImageDecoder.Decode(path), config, channels);

    /// <summary>Channels of the output for a resolved channel mode (Gray → 1, Rgb → 3).</summary>
    public static int ChannelCount(ChannelMode channels) => channels switch
    {
        ChannelMode.Gray => 1,
        ChannelMode.Rgb => 3,
        _ => throw new ArgumentException("Channel mode must be resolved to Gray or Rgb first.", nameof(channels)),
    };

    /// <summary>True when the image must be enlarged to reach the training size in this resize mode.</summary>
    public static bool NeedsUpscale(int width, int height, DataConfig config) =>
        (config.Resize == ResizeMode.Crop ? Math.Min(width, height) : Math.Max(width, height)) < config.ImageSize;

    /// <summary>C×H×W uint8 pixels of <paramref name="image"/> in the training layout.</summary>
    public static byte[] Process(DecodedImage image, DataConfig config, ChannelMode channels)
    {
        int c = ChannelCount(channels);
        config.Validate();
        int n = config.ImageSize;
        var bg = config.BackgroundRgb;
        var planes = Composite(image, bg, channels == ChannelMode.Gray);
        var bgValues = channels == ChannelMode.Gray ? [Luma(bg.R, bg.G, bg.B)] : new double[] { bg.R, bg.G, bg.B };
        int w = image.Width, h = image.Height;
        var output = new byte[c * n * n];
        for (int ch = 0; ch < c; ch++)
        {
            var dst = output.AsSpan(ch * n * n, n * n);
            if (config.Resize == ResizeMode.Crop)
            {
                int s = Math.Min(w, h);
                var r = ImageResampler.Resample(planes[ch], w, h, (w - s) / 2, (h - s) / 2, s, s, n, n);
                for (int i = 0; i < r.Length; i++) dst[i] = ImageResampler.ToByte(r[i]);
            }
            else
            {
                double scale = (double)n / Math.Max(w, h);
                int dw = Math.Clamp((int)Math.Round(w * scale), 1, n), dh = Math.Clamp((int)Math.Round(h * scale), 1, n);
                var r = ImageResampler.Resample(planes[ch], w, h, 0, 0, w, h, dw, dh);
                dst.Fill(ImageResampler.ToByte(bgValues[ch]));
                int ox = (n - dw) / 2, oy = (n - dh) / 2;
                for (int y = 0; y < dh; y++)
                for (int x = 0; x < dw; x++)
                    dst[(oy + y) * n + ox + x] = ImageResampler.ToByte(r[y * dw + x]);
            }
        }
        return output;
    }

    /// <summary>Rec. 601 luma, the usual weights for turning colour into gray.</summary>
    public static double Luma(double r, double g, double b) => 0.299 * r + 0.587 * g + 0.114 * b;

    private static double[][] Composite(DecodedImage image, (byte R, byte G, byte B) bg, bool gray)
    {
        int count = image.Width * image.Height;
        var rgba = image.Rgba;
        var r = new double[count];
        var g = gray ? r : new double[count];
        var b = gray ? r : new double[count];
        for (int i = 0; i < count; i++)
        {
            int p = i * 4;
            double a = rgba[p + 3] / 255.0;
            double cr = rgba[p] * a + bg.R * (1 - a);
            double cg = rgba[p + 1] * a + bg.G * (1 - a);
            double cb = rgba[p + 2] * a + bg.B * (1 - a);
            if (gray) r[i] = rgba[p] == rgba[p + 1] && rgba[p] == rgba[p + 2] && bg.R == bg.G && bg.R == bg.B ? cr : Luma(cr, cg, cb);
            else { r[i] = cr; g[i] = cg; b[i] = cb; }
        }
        return gray ? [r] : [r, g, b];
    }
}
