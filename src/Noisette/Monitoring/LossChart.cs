using System.Globalization;
using SkiaSharp;

namespace Noisette.Monitoring;

/// <summary>Renders the training and validation loss curves of a run to a PNG (log-scaled loss axis).</summary>
public static class LossChart
{
    public static byte[] Render(IReadOnlyList<MetricsRecord> records, int width = 900, int height = 420)
    {
        var train = records.Where(r => r.Loss is > 0).Select(r => (X: (double)r.Step, Y: r.Loss!.Value)).ToList();
        var val = records.Where(r => r.ValLoss is > 0).Select(r => (X: (double)r.Step, Y: r.ValLoss!.Value)).ToList();
        using var surface = SKSurface.Create(new SKImageInfo(width, height));
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        const float left = 70, right = 20, top = 30, bottom = 45;
        float w = width - left - right, h = height - top - bottom;
        using var axis = new SKPaint { Color = new SKColor(0x55, 0x55, 0x55), StrokeWidth = 1, IsAntialias = true };
        using var grid = new SKPaint { Color = new SKColor(0xE4, 0xE4, 0xE4), StrokeWidth = 1 };
        using var font = new SKFont(SKTypeface.Default, 13);
        using var text = new SKPaint { Color = new SKColor(0x33, 0x33, 0x33), IsAntialias = true };

        var all = train.Concat(val).ToList();
        canvas.DrawText("loss (log scale) — training in blue, validation in orange", left, 20, font, text);
        if (all.Count == 0)
        {
            canvas.DrawText("no metrics yet", left + 10, top + h / 2, font, text);
            return Encode(surface);
        }
        double x0 = 0, x1 = Math.Max(1, all.Max(p => p.X));
        double y0 = Math.Log10(all.Min(p => p.Y)), y1 = Math.Log10(all.Max(p => p.Y));
        if (y1 - y0 < 0.1) { y0 -= 0.05; y1 += 0.05; }
        float X(double v) => left + (float)((v - x0) / (x1 - x0)) * w;
        float Y(double v) => top + h - (float)((Math.Log10(v) - y0) / (y1 - y0)) * h;

        for (int i = 0; i <= 4; i++)
        {
            double ly = y0 + (y1 - y0) * i / 4;
            float py = top + h - h * i / 4;
            canvas.DrawLine(left, py, left + w, py, grid);
            canvas.DrawText(Math.Pow(10, ly).ToString("G3", CultureInfo.InvariantCulture), 6, py + 4, font, text);
            double sx = x0 + (x1 - x0) * i / 4;
            float px = left + w * i / 4;
            canvas.DrawText(((long)sx).ToString(CultureInfo.InvariantCulture), px - 10, top + h + 18, font, text);
        }
        canvas.DrawText("step", left + w / 2 - 12, height - 8, font, text);
        canvas.DrawLine(left, top, left, top + h, axis);
        canvas.DrawLine(left, top + h, left + w, top + h, axis);

        void Line(List<(double X, double Y)> pts, SKColor color, float stroke, bool dots)
        {
            if (pts.Count == 0) return;
            using var paint = new SKPaint { Color = color, StrokeWidth = stroke, IsAntialias = true, Style = SKPaintStyle.Stroke };
            using var path = new SKPath();
            path.MoveTo(X(pts[0].X), Y(pts[0].Y));
            foreach (var p in pts.Skip(1)) path.LineTo(X(p.X), Y(p.Y));
            canvas.DrawPath(path, paint);
            if (dots)
            {
                using var fill = new SKPaint { Color = color, IsAntialias = true, Style = SKPaintStyle.Fill };
                foreach (var p in pts) canvas.DrawCircle(X(p.X), Y(p.Y), 3.5f, fill);
            }
        }
        Line(train, new SKColor(0x9C, 0xC3, 0xE6), 1, false);
        Line(Smooth(train), new SKColor(0x1F, 0x5F, 0xA8), 2, false);
        Line(val, new SKColor(0xE0, 0x7B, 0x1A), 2, true);
        return Encode(surface);
    }

    /// <summary>An exponential moving average of the training loss, to see the trend through the noise.</summary>
    private static List<(double X, double Y)> Smooth(List<(double X, double Y)> pts)
    {
        var result = new List<(double, double)>(pts.Count);
        double? ema = null;
        foreach (var (x, y) in pts)
        {
            ema = ema is null ? y : 0.9 * ema.Value + 0.1 * y;
            result.Add((x, ema.Value));
        }
        return result;
    }

    private static byte[] Encode(SKSurface surface)
    {
        using var image = surface.Snapshot();
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }
}
