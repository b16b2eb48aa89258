using System.CommandLine;
using Noisette.Data;

namespace Noisette.Cli.Commands;

public static class PrepareCommand
{
    public static Command Create()
    {
        var data = new Option<string>("--data") { Description = "Folder of images to normalise (read only)", Required = true };
        var output = new Option<string>("--out") { Description = "New folder for the normalised copy (must not exist, or be empty, and be outside --data)", Required = true };
        var align = new Option<string>("--align") { Description = "baseline (glyphs on a common baseline, centred), center, or none", DefaultValueFactory = _ => "baseline" };
        var height = new Option<double?>("--target-height") { Description = "Scale every ink box to this height, in percent of the image size" };
        var imageSize = new Option<int>("--image-size") { Description = "Size of the written images", DefaultValueFactory = _ => 64 };
        var cmd = new Command("prepare", "Write a normalised copy of a data folder: same size, common baseline or centre, optional common height")
        {
            data, output, align, height, imageSize,
        };
        cmd.SetAction(p => Cli.Guard(() =>
        {
            var alignment = p.GetValue(align)!.ToLowerInvariant() switch
            {
                "baseline" => FramingAlignment.Baseline,
                "center" or "centre" => FramingAlignment.Center,
                "none" => FramingAlignment.None,
                var other => throw new NoisetteInputException($"--align must be baseline, center or none, not '{other}'."),
            };
            var result = DatasetPreparer.Prepare(p.GetValue(data)!, p.GetValue(output)!, new PrepareOptions
            {
                Align = alignment,
                TargetHeightPercent = p.GetValue(height),
                Config = new DataConfig { ImageSize = p.GetValue(imageSize) },
            });
            Cli.Info($"wrote {result.Written} image(s) to {result.OutputFolder} (baseline y = {result.Baseline:0.0})");
            foreach (var s in result.Skipped) Cli.Warn($"skipped {s.RelativePath}: {s.Reason}");
            if (result.NotAligned.Count > 0) Cli.Warn($"{result.NotAligned.Count} image(s) without a plain background were copied without aligning: {string.Join(", ", result.NotAligned.Take(8))}");
            return Cli.Ok;
        }));
        return cmd;
    }
}
