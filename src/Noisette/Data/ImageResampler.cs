namespace Noisette.Data;

/// <summary>
/// Resizes one channel plane. Each axis is handled on its own: shrinking averages the exact area of
/// source pixels that an output pixel covers (a box filter, so 64→32 is the plain 2×2 mean), and
/// enlarging interpolates linearly between the two nearest source pixel centres (bilinear).
/// </summary>
public static class ImageResampler
{
    /// <summary>
    /// Resamples the window [x0, x0+windowWidth) × [y0, y0+windowHeight) of a plane of
    /// <paramref name="width"/>×<paramref name="height"/> values (row-major) to
    /// <paramref name="outWidth"/>×<paramref name="outHeight"/>.
    /// </summary>
    public static double[] Resample(ReadOnlySpan<double> plane, int width, int height,
        double x0, double y0, double windowWidth, double windowHeight, int outWidth, int outHeight)
    {
        if (plane.Length != width * height) throw new ArgumentException("Plane size does not match.", nameof(plane));
        var wx = Weights(width, x0, windowWidth, outWidth);
        var wy = Weights(height, y0, windowHeight, outHeight);

        // Horizontal pass over only the rows the vertical pass will read.
        int rowLo = wy.Min(k => k.Start), rowHi = wy.Max(k => k.Start + k.W.Length);
        var tmp = new double[(rowHi - rowLo) * outWidth];
        for (int y = rowLo; y < rowHi; y++)
        {
            var row = plane.Slice(y * width, width);
            int t = (y - rowLo) * outWidth;
            for (int x = 0; x < outWidth; x++)
            {
                var (start, w) = wx[x];
                double acc = 0;
                for (int k = 0; k < w.Length; k++) acc += row[start + k] * w[k];
                tmp[t + x] = acc;
            }
        }
        var result = new double[outWidth * outHeight];
        for (int y = 0; y < outHeight; y++)
        {
            var (start, w) = wy[y];
            int o = y * outWidth;
            for (int k = 0; k < w.Length; k++)
            {
                int t = (start + k - rowLo) * outWidth;
                double wk = w[k];
                for (int x = 0; x < outWidth; x++) result[o + x] += tmp[t + x] * wk;
            }
        }
        return result;
    }

    /// <summary>Per output index: the first source index and the weights of consecutive source samples.</summary>
    private static (int Start, double[] W)[] Weights(int srcLen, double offset, double window, int outLen)
    {
        var result = new (int, double[])[outLen];
        double scale = window / outLen;
        if (scale >= 1)
        {
            for (int i = 0; i < outLen; i++)
            {
                double a = offset + i * scale, b = a + scale;
                int first = Math.Clamp((int)Math.Floor(a), 0, srcLen - 1);
                int last = Math.Clamp((int)Math.Ceiling(b) - 1, first, srcLen - 1);
                var w = new double[last - first + 1];
                double sum = 0;
                for (int k = first; k <= last; k++)
                {
                    double cover = Math.Min(b, k + 1) - Math.Max(a, k);
                    w[k - first] = Math.Max(0, cover);
                    sum += w[k - first];
                }
                if (sum <= 0) { w[0] = 1; sum = 1; }
                for (int k = 0; k < w.Length; k++) w[k] /= sum;
                result[i] = (first, w);
            }
        }
        else
        {
            for (int i = 0; i < outLen; i++)
            {
                double c = offset + (i + 0.5) * scale - 0.5;
                int k0 = (int)Math.Floor(c);
                double t = c - k0;
                int a = Math.Clamp(k0, 0, srcLen - 1), b = Math.Clamp(k0 + 1, 0, srcLen - 1);
                result[i] = a == b ? (a, [1.0]) : (a, [1 - t, t]);
            }
        }
        return result;
    }

    /// <summary>Rounds to the nearest byte, halves away from zero, clamped to 0..255.</summary>
    public static byte ToByte(double v) =>
        (byte)Math.Clamp(Math.Round(v + 1e-9, MidpointRounding.AwayFromZero), 0, 255);
}
