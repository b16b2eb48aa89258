using System.Globalization;
using System.Text.Json;
using ScottPlot;

namespace Noisette.Bench.Quality;

/// <summary>
/// <c>bench quality-plot --curve FILE=LABEL [--curve FILE=LABEL ...] --out PREFIX [--x minutes|step]</c>: draws the
/// accuracy and the Fréchet distance of one or more runs against training minutes (or steps), from the JSON that
/// <c>bench quality --run RUN --json</c> prints, into PREFIX-accuracy.png and PREFIX-fd.png, with the targets of
/// docs/quality.md (95% accuracy; twice the real-vs-real distance) as lines. The charts are ScottPlot's.
/// </summary>
public static class QualityCurves
{
    public sealed record Point(double X, double Accuracy, double Fd);

    public sealed record Curve(string Label, IReadOnlyList<Point> Points, double FdReal);

    public static int Run(IReadOnlyList<string> argv)
    {
        var specs = new List<(string File, string Label)>();
        for (int i = 0; i < argv.Count; i++)
            if (argv[i] == "--curve")
            {
                if (i + 1 >= argv.Count || argv[i + 1].IndexOf('=') is var eq && eq <= 0)
                    throw new NoisetteInputException("--curve needs FILE=LABEL (the JSON of bench quality --run RUN --json, and its name in the legend)");
                specs.Add((argv[i + 1][..eq], argv[i + 1][(eq + 1)..]));
            }
        if (specs.Count == 0) throw new NoisetteInputException("bench quality-plot needs at least one --curve FILE=LABEL");
        var o = new QualityCommand.Options(argv);
        var prefix = o.Get("out") ?? throw new NoisetteInputException("bench quality-plot needs --out PREFIX");
        var x = o.Get("x") ?? "minutes";
        if (x is not ("minutes" or "step")) throw new NoisetteInputException($"--x {x}: expected minutes or step");
        var curves = specs.Select(s => Read(s.File, s.Label, x)).ToList();
        foreach (var path in Draw(curves, prefix, x)) Console.WriteLine(path);
        return 0;
    }

    /// <summary>One run's checkpoints from the JSON of <c>bench quality --run --json</c>, in step order.</summary>
    public static Curve Read(string file, string label, string x)
    {
        if (!File.Exists(file)) throw new NoisetteInputException($"--curve {file}: no such file");
        using var doc = JsonDocument.Parse(File.ReadAllText(file));
        var root = doc.RootElement;
        var points = new List<Point>();
        foreach (var c in root.GetProperty("checkpoints").EnumerateArray())
        {
            var at = x == "step" ? c.GetProperty("step").GetDouble()
                : c.TryGetProperty("minutes", out var m) && m.ValueKind == JsonValueKind.Number ? m.GetDouble()
                : throw new NoisetteInputException($"{file}: checkpoint {c.GetProperty("step")} has no training minutes; plot with --x step");
            var overall = c.GetProperty("overall");
            points.Add(new Point(at, overall.GetProperty("accuracy").GetDouble(), overall.GetProperty("fd").GetDouble()));
        }
        if (points.Count == 0) throw new NoisetteInputException($"{file}: no checkpoints");
        return new Curve(label, points.OrderBy(p => p.X).ToList(), root.GetProperty("fd_real").GetDouble());
    }

    /// <summary>Writes PREFIX-accuracy.png and PREFIX-fd.png and returns their paths.</summary>
    public static IReadOnlyList<string> Draw(IReadOnlyList<Curve> curves, string prefix, string x)
    {
        var xLabel = x == "step" ? "training steps" : "training minutes";
        var accuracy = new Plot();
        var fd = new Plot();
        foreach (var curve in curves)
        {
            var xs = curve.Points.Select(p => p.X).ToArray();
            var a = accuracy.Add.Scatter(xs, curve.Points.Select(p => p.Accuracy).ToArray());
            a.LegendText = curve.Label;
            // The distance spans two orders of magnitude: drawn on a log scale, with ticks at round values.
            var f = fd.Add.Scatter(xs, curve.Points.Select(p => Math.Log10(p.Fd)).ToArray());
            f.LegendText = curve.Label;
            f.Color = a.Color;
        }
        var target = accuracy.Add.HorizontalLine(0.95);
        target.LinePattern = LinePattern.Dashed;
        target.LegendText = "target: 95%";
        accuracy.Axes.SetLimitsY(0, 1);
        accuracy.Axes.Left.Label.Text = "share of samples read as the letter";
        accuracy.Axes.Bottom.Label.Text = xLabel;
        accuracy.ShowLegend(Alignment.LowerRight);

        double fdReal = curves[0].FdReal;
        var twice = fd.Add.HorizontalLine(Math.Log10(2 * fdReal));
        twice.LinePattern = LinePattern.Dashed;
        twice.LegendText = $"target: 2 × real letters' ({fdReal.ToString("0", CultureInfo.InvariantCulture)})";
        var ticks = new ScottPlot.TickGenerators.NumericManual();
        foreach (var v in new[] { 10, 20, 50, 100, 200, 500, 1000, 2000, 5000 })
            ticks.AddMajor(Math.Log10(v), v.ToString(CultureInfo.InvariantCulture));
        fd.Axes.Left.TickGenerator = ticks;
        fd.Axes.Left.Label.Text = "Fréchet distance (log scale)";
        fd.Axes.Bottom.Label.Text = xLabel;
        fd.ShowLegend(Alignment.UpperRight);

        double right = curves.Max(c => c.Points.Max(p => p.X)) * 1.05;
        accuracy.Axes.SetLimitsX(0, right);
        fd.Axes.SetLimitsX(0, right);
        var dir = Path.GetDirectoryName(Path.GetFullPath(prefix))!;
        Directory.CreateDirectory(dir);
        var paths = new[] { prefix + "-accuracy.png", prefix + "-fd.png" };
        accuracy.SavePng(paths[0], 640, 400);
        fd.SavePng(paths[1], 640, 400);
        return paths;
    }
}
