using System.CommandLine;
using Noisette.IO;
using Noisette.Runs;
using Noisette.Training;

namespace Noisette.Cli.Commands;

public static class InitCommand
{
    public static Command Create()
    {
        var preset = new Option<string>("--preset") { Description = "Model preset to start from", DefaultValueFactory = _ => "letters32" };
        var output = new Option<string>("--out") { Description = "Config file to write", DefaultValueFactory = _ => "noisette.json" };
        var force = new Option<bool>("--force") { Description = "Overwrite an existing file" };
        var cmd = new Command("init", "Write a commented config file to edit and pass to `noisette train --config`") { preset, output, force };
        cmd.SetAction(p => Cli.Guard(() =>
        {
            var path = Path.GetFullPath(p.GetValue(output)!);
            if (File.Exists(path) && !p.GetValue(force)) return Cli.Fail($"{path} exists; pass --force to overwrite it");
            var text = ConfigFile.Commented(TrainingConfig.FromPreset(p.GetValue(preset)!));
            AtomicFile.WriteAllText(path, text);
            Cli.Info($"wrote {path}; edit it, then run: noisette train --data DIR --out RUN --config \"{path}\"");
            return Cli.Ok;
        }));
        return cmd;
    }
}
