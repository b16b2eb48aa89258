using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using Noisette.Data;
using Noisette.Runs;
using Noisette.Training;
using Spectre.Console;

namespace Noisette.Cli.Commands;

public static class CheckCommand
{
    public static Command Create()
    {
        var data = new Option<string>("--data") { Description = "Folder of training images (searched recursively; never written to)", Required = true };
        var imageSize = new Option<int?>("--image-size") { Description = "Training size the images are measured at (default: as `train` picks it, the preset's size, else 32)" };
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
            int size = ImageSize(p.GetValue(imageSize), p.GetValue(preset));
            var options = new DatasetCheckOptions { Config = new DataConfig { ImageSize = size } };
            var report = DatasetReport.Run(p.GetValue(data)!, options);
            TrainingEstimate? estimate = null;
            if (!p.GetValue(noEstimate) && report.ReadableCount > 0)
            {
                var name = p.GetValue(preset) ?? TrainingConfigResolver.AutoPreset(report.ResolvedChannels, size);
                var cfg = TrainingConfig.FromPreset(name);
                cfg = cfg with { Model = cfg.Model.Resized(size) };
                estimate = TrainingEstimate.Measure(cfg, p.GetValue(steps));
            }
            if (p.GetValue(json)) Cli.Out.WriteLine(Json(report, estimate));
            else
            {
                Print(report);
                if (estimate is not null) Cli.Info(estimate.Describe());
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

    /// <summary>The training size `train` would use with the same options (--image-size, else the preset's size, else the default).</summary>
    public static int ImageSize(int? given, string? preset) =>
        TrainingConfigResolver.PictureSize(new TrainingRequest { DataPath = "", OutPath = "", ImageSize = given, Preset = preset });

    /// <summary>The report's JSON with the training-time estimate added as "estimate" (null when it was skipped).</summary>
    public static string Json(DatasetReport report, TrainingEstimate? estimate)
    {
        var root = JsonNode.Parse(report.ToJson())!.AsObject();
        root["estimate"] = estimate is null ? null : new JsonObject
        {
            ["preset"] = estimate.Preset,
            ["batch"] = estimate.Batch,
            ["steps"] = estimate.Steps,
            ["seconds_per_step"] = estimate.SecondsPerStep,
            ["images_per_second"] = estimate.ImagesPerSecond,
            ["total_seconds"] = estimate.Total.TotalSeconds,
            ["description"] = estimate.Describe(),
        };
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
    }

    /// <summary>Tables for people: inventory, framing, then the problems.</summary>
    public static void Print(DatasetReport report)
    {
        Cli.Ansi.MarkupLine($"[bold]{Markup.Escape(report.Folder)}[/]: {report.ReadableCount} readable of {report.ImageFileCount} image files; " +
                               $"{report.TrainCount} train / {report.ValidationCount} validation; channels {report.ResolvedChannels}");
        var inv = new Table().AddColumn("inventory").AddColumn("counts");
        string Join(IReadOnlyDictionary<string, int> d) => Markup.Escape(string.Join(", ", d.Take(8).Select(kv => $"{kv.Key}: {kv.Value}")) + (d.Count > 8 ? ", ..." : ""));
        inv.AddRow("formats", Join(report.Formats));
        inv.AddRow("channel modes", Join(report.ChannelModes));
        inv.AddRow("sizes", Join(report.Sizes));
        inv.AddRow("short side", Join(report.SizeHistogram));
        inv.AddRow("aspect ratios", Join(report.AspectRatios));
        Cli.Ansi.Write(inv);
        if (report.Framing.Measures.Count > 0)
        {
            var t = new Table().AddColumn($"ink box (px at {report.Framing.ImageSize})").AddColumn("median").AddColumn("min").AddColumn("max").AddColumn("spread");
            foreach (var m in report.Framing.Measures)
                t.AddRow(m.Name, $"{m.Median:0.0}", $"{m.Min:0.0}", $"{m.Max:0.0}", $"{m.Spread:0.0}");
            Cli.Ansi.Write(t);
        }
        if (report.Problems.Count == 0) { Cli.Ansi.MarkupLine("[green]no problems found[/]"); return; }
        var pt = new Table().AddColumn("severity").AddColumn("problem").AddColumn("details");
        foreach (var p in report.Problems)
        {
            var colour = p.Severity switch { ProblemSeverity.Fatal => "red", ProblemSeverity.Warning => "yellow", _ => "grey" };
            pt.AddRow($"[{colour}]{p.Severity.ToString().ToLowerInvariant()}[/]", Markup.Escape(p.Kind), Markup.Escape(p.Message));
        }
        Cli.Ansi.Write(pt);
    }
}
