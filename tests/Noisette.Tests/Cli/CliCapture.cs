namespace Noisette.Tests;

/// <summary>
/// Runs the `noisette` command in process with its output captured for this call only. Tests run in parallel, and
/// redirecting the process's console would catch other tests' lines (or lose this one's to theirs).
/// </summary>
internal static class CliCapture
{
    public static (int Code, string Out, string Err) Run(params string[] args)
    {
        var (output, error) = (new StringWriter(), new StringWriter());
        int code = Noisette.Cli.Cli.Run(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    public static (int Code, string Out, string Err) Run(System.CommandLine.RootCommand root, params string[] args)
    {
        var (output, error) = (new StringWriter(), new StringWriter());
        int code = Noisette.Cli.Cli.Run(root, args, output, error);
        return (code, output.ToString(), error.ToString());
    }
}
