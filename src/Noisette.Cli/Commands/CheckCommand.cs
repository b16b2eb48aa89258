using System.CommandLine;
using Noisette.Data;
using Spectre.Console;

namespace Noisette.Cli.Commands;

public static class CheckCommand
{
    public static Command Create()
    {
        var data = new Option<string>("--data") { Description = "Folder of training images (searched recursively; never written to)", Required = true };
        var imageSize = new Option<int>("--image-size") { Description = "Training size the images are measured at", DefaultValueFactory = _ => 64 };
        var json = new Option<bool>("--json") { Description = "Print the full report as JSON instead of tables" };
        var html = new Option<string?>("--report") { Description = "Also write a self-contained HTML page with thumbnails of flagged images" };
        var preset = new Option<string?>("--preset") { Description = "Preset for the training-time estimate (default: chosen from the images)" };
        var steps = new Option<int>("--steps") { Description = "Steps for the training-time estimate", DefaultValueFactory = _ => 10_000 };
        var noEstimate = new Option<bool>("--no-estimate") { Description = "Skip the few-step speed measurement" };
        var cmd = new Command("check", "Check a folder of images before training: unreadable files, duplicates, outliers, framing, sizes, time")
        {
            data, imageSize, json, html, preset, steps, noEstimate,
        };
        cmd.SetAction(p => Cli.Guard(() =>
        {
            var options = new DatasetCheckOptions { Config = new DataConfig { ImageSize = p.GetValue(imageSize) } };
            var report = DatasetReport.Run(p.GetValue(data)!, options);
            if (p.GetValue(json)) Console.Out.WriteLine(report.ToJson());
            else Print(report);
            if (!p.GetValue(json) && !p.GetValue(noEstimate) && report.ReadableCount > 0)
            {
                var name = p.GetValue(preset) ?? Noisette.Pipelines.TrainingPipeline.AutoPreset(report.ResolvedChannels, p.GetValue(imageSize));
                var cfg = Noisette.Training.TrainingConfig.FromPreset(name);
                cfg = cfg with { Model = cfg.Model.Resized(p.GetValue(imageSize)) };
                Cli.Info(Noisette.Training.TrainingEstimate.Measure(cfg, p.GetValue(steps)).Describe());
            }
            if (p.GetValue(html) is { } htmlPath)
            {
                DatasetReportHtml.Write(report, htmlPath);
                if (!p.GetValue(json)) Cli.Info($"wrote {Path.GetFullPath(htmlPath)}");
            }
            return report.HasFatal ? Cli.BadInput : Cli.Ok;
        }));
        return cmd;
    }

    /// <summary>Tables for people: inventory, framing, then the problems.</summary>
    public static void Print(DatasetReport report)
    {
        AnsiConsole.MarkupLine($"[bold]{Markup.Escape(report.Folder)}[/]: {report.ReadableCount} readable of {report.ImageFileCount} image files; " +
                               $"{report.TrainCount} train / {report.ValidationCount} validation; channels {report.ResolvedChannels}");
        var inv = new Table().AddColumn("inventory").AddColumn("counts");
        string Join(IReadOnlyDictionary<string, int> d) => Markup.Escape(string.Join(", ", d.Take(8).Select(kv => $"{kv.Key}: {kv.Value}")) + (d.Count > 8 ? ", ..." : ""));
        inv.AddRow("formats", Join(report.Formats));
        inv.AddRow("channel modes", Join(report.ChannelModes));
        inv.AddRow("sizes", Join(report.Sizes));
        inv.AddRow("short side", Join(report.SizeHistogram));
        inv.AddRow("aspect ratios", Join(report.AspectRatios));
        AnsiConsole.Write(inv);
        if (report.Framing.Measures.Count > 0)
        {
            var t = new Table().AddColumn($"ink box (px at {report.Framing.ImageSize})").AddColumn("median").AddColumn("min").AddColumn("max").AddColumn("spread");
            foreach (var m in report.Framing.Measures)
                t.AddRow(m.Name, $"{m.Median:0.0}", $"{m.Min:0.0}", $"{m.Max:0.0}", $"{m.Spread:0.0}");
            AnsiConsole.Write(t);
        }
        if (report.Problems.Count == 0) { AnsiConsole.MarkupLine("[green]no problems found[/]"); return; }
        var pt = new Table().AddColumn("severity").AddColumn("problem").AddColumn("details");
        foreach (var p in report.Problems)
        {
            var colour = p.Severity switch { ProblemSeverity.Fatal => "red", ProblemSeverity.Warning => "yellow", _ => "grey" };
            pt.AddRow($"[{colour}]{p.Severity.ToString().ToLowerInvariant()}[/]", Markup.Escape(p.Kind), Markup.Escape(p.Message));
        }
        AnsiConsole.Write(pt);
    }
}
