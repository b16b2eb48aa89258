using System.CommandLine;
using System.Globalization;
using Noisette.Interop;

namespace Noisette.Cli.Commands;

/// <summary><c>noisette import guided-diffusion FILE.pt --out RUN [--flags "MODEL_FLAGS"]</c>.</summary>
public static class ImportCommand
{
    public static Command Create() => new("import", "Import a pretrained model from another toolkit into a run folder")
    {
        GuidedDiffusion(),
    };

    private static Command GuidedDiffusion()
    {
        var file = new Argument<string>("FILE") { Description = "A guided-diffusion checkpoint (.pt), e.g. lsun_bedroom.pt; read safely, nothing in it is executed" };
        var output = new Option<string>("--out") { Description = "Run folder to create", Required = true };
        var flags = new Option<string?>("--flags")
        {
            Description = "guided-diffusion's MODEL_FLAGS, verbatim as its README writes them (or a file holding them, or their JSON); " +
                          "optional for the released models",
        };
        var force = new Option<bool>("--force") { Description = "Use an output folder that is not empty (its contents are moved to previous-*)" };
        var cmd = new Command("guided-diffusion", "Import an OpenAI guided-diffusion (ADM) checkpoint: sample it, or fine-tune it with `train --init-from`")
        {
            file, output, flags, force,
        };
        cmd.SetAction(p => Cli.Guard(() =>
        {
            var path = p.GetValue(file)!;
            Cli.Info($"importing {path}");
            var result = GuidedDiffusionImport.ImportToRun(path, p.GetValue(output)!, p.GetValue(flags), p.GetValue(force), Cli.Info);
            var m = result.Model.Model;
            Cli.Info(string.Create(CultureInfo.InvariantCulture,
                $"{result.Parameters:N0} parameters; {m.ImageSize} px, {m.BaseChannels} channels × {string.Join(",", m.ChannelMultipliers)}, " +
                $"{m.ResBlocksPerLevel} res blocks per level, attention at {string.Join(",", m.AttentionResolutions)} px" +
                $"{(m.LearnSigma ? ", learned variance" : "")}{(m.NumClasses > 0 ? $", {m.NumClasses} classes" : "")}" +
                $"{(result.Model.ReleasedAs is null ? "" : $" (released as {result.Model.ReleasedAs})")}"));
            Cli.Info($"wrote the run {result.Run.Root}: sample it with `noisette sample \"{result.Run.Root}\"`, " +
                     $"fine-tune it with `noisette train --init-from \"{result.Run.Root}\" --data FOLDER --out NEW_RUN`");
            return Cli.Ok;
        }));
        return cmd;
    }
}
