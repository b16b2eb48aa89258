using System.CommandLine;
using Noisette.IO;
using Noisette.Monitoring;
using Noisette.Runs;

namespace Noisette.Cli.Commands;

public static class StatusCommand
{
    public static Command Create()
    {
        var run = new Argument<string>("RUN") { Description = "Run folder" };
        var json = new Option<bool>("--json") { Description = "Print the status as JSON" };
        var cmd = new Command("status", "Show a run's progress, its best checkpoint, and whether it is still improving") { run, json };
        cmd.SetAction(p => Cli.Guard(() =>
        {
            var report = RunStatus.Read(new RunFolder(p.GetValue(run)!));
            Cli.Out.WriteLine(p.GetValue(json) ? Json.Serialize(report) : RunStatus.Describe(report));
            return Cli.Ok;
        }));
        return cmd;
    }
}
