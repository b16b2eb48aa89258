using System.CommandLine;
using Noisette.Studio;

namespace Noisette.Cli.Commands;

public static class StudioCommand
{
    public static Command Create()
    {
        var workspace = new Option<string?>("--workspace") { Description = "Folder for datasets/ and runs/ (default ~/Noisette)" };
        var port = new Option<int>("--port") { Description = "Port on 127.0.0.1 (0 = any free port)", DefaultValueFactory = _ => 7860 };
        var noBrowser = new Option<bool>("--no-browser") { Description = "Do not open a browser; just print the address" };
        var cmd = new Command("studio", "Open Noisette Studio, the local web app for the whole loop: pictures, training, generation") { workspace, port, noBrowser };
        cmd.SetAction(p => Cli.Guard(() =>
        {
            int n = p.GetValue(port);
            if (n is < 0 or > 65535) return Cli.Fail($"--port must be from 0 to 65535, got {n}");
            return StudioHost.Run(new StudioOptions
            {
                Workspace = p.GetValue(workspace) ?? StudioOptions.DefaultWorkspace,
                Port = n,
                OpenBrowser = !p.GetValue(noBrowser),
            });
        }));
        return cmd;
    }
}
