using System.CommandLine;
using Noisette;
using Spectre.Console;

namespace Noisette.Cli;

/// <summary>Exit codes and error reporting shared by every command: 0 ok, 2 bad input or usage, 1 internal error.</summary>
public static class Cli
{
    public const int Ok = 0, InternalError = 1, BadInput = 2;

    /// <summary>The `noisette` command and all its subcommands.</summary>
    public static RootCommand CreateRoot() => new("Noisette: train diffusion image models on your own pictures, then generate with them.")
    {
        Commands.TrainCommand.Create(),
        Commands.ResumeCommand.Create(),
        Commands.SampleCommand.Create(),
        Commands.EditCommand.Create(),
        Commands.InpaintCommand.Create(),
        Commands.InterpolateCommand.Create(),
        Commands.DemoCommand.Create(),
        Commands.InitCommand.Create(),
        Commands.EvalCommand.Create(),
        Commands.CopyCheckCommand.Create(),
        Commands.StatusCommand.Create(),
        Commands.ImportCommand.Create(),
        Commands.AutoencoderCommand.Create(),
        Commands.CheckCommand.Create(),
        Commands.PrepareCommand.Create(),
        Commands.GlyphsCommand.Create(),
        Commands.StudioCommand.Create(),
    };

    /// <summary>Parses and runs a command line; what `noisette ARGS` does.</summary>
    public static int Run(string[] args) => Run(CreateRoot(), args);

    /// <summary>
    /// Runs a command line with its standard output and error going to the given writers instead of the console's,
    /// for this call only (and the threads it starts): several commands can run at once in one process, each with
    /// its own output, as tests and programs embedding the CLI need. The console itself is never redirected.
    /// </summary>
    public static int Run(string[] args, TextWriter output, TextWriter error) => Run(CreateRoot(), args, output, error);

    public static int Run(RootCommand root, string[] args, TextWriter output, TextWriter error) =>
        WithOutput(output, error, () => Run(root, args));

    /// <summary>Runs <paramref name="body"/> with <see cref="Out"/> and <see cref="Err"/> going to the given writers.</summary>
    public static T WithOutput<T>(TextWriter output, TextWriter error, Func<T> body)
    {
        var previous = redirect.Value;
        redirect.Value = new Redirect(output, error);
        try { return body(); }
        finally { redirect.Value = previous; }
    }

    private sealed record Redirect(TextWriter Output, TextWriter Error);
    private static readonly AsyncLocal<Redirect?> redirect = new();

    /// <summary>Where this command's standard output goes: the console's, unless <see cref="Run(string[], TextWriter, TextWriter)"/> said otherwise.</summary>
    public static TextWriter Out => redirect.Value?.Output ?? Console.Out;

    /// <summary>Where this command's errors go: the console's, unless <see cref="Run(string[], TextWriter, TextWriter)"/> said otherwise.</summary>
    public static TextWriter Err => redirect.Value?.Error ?? Console.Error;

    /// <summary>A Spectre console for tables and markup on <see cref="Out"/>.</summary>
    public static IAnsiConsole Ansi => redirect.Value is { } r
        ? AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(r.Output), Ansi = AnsiSupport.No, Interactive = InteractionSupport.No })
        : AnsiConsole.Console;

    public static int Run(RootCommand root, string[] args)
    {
        Noisette.Runtime.TorchRuntime.PrepareProcess();
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var e in parse.Errors) Err.WriteLine("error: " + e.Message);
            Err.WriteLine("Run with --help for usage.");
            return BadInput;
        }
        try
        {
            return parse.Invoke(new InvocationConfiguration { Output = Out, Error = Err });
        }
        catch (NoisetteInputException e)
        {
            return Fail(e.Message);
        }
    }

    /// <summary>
    /// The --threads option of every command that computes: left out, one thread per core; otherwise at least 1 and
    /// at most the number of cores (checked when it is used, against the machine it runs on).
    /// </summary>
    public static Option<int?> ThreadsOption(string description = "CPU threads (default: one per physical core)")
    {
        var option = new Option<int?>("--threads") { Description = description };
        option.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int?>() is int n && n < 1)
                r.AddError($"--threads must be at least 1, got {n}; leave it out to use one thread per physical core ({Noisette.Runtime.TorchRuntime.DefaultThreads} on this machine)");
        });
        return option;
    }

    /// <summary>Runs a command body, mapping bad input to exit 2 and anything else to exit 1 with a short report.</summary>
    public static int Guard(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (NoisetteInputException e)
        {
            return Fail(e.Message);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Err.WriteLine("internal error: " + e.Message);
            Err.WriteLine(e.ToString());
            return InternalError;
        }
    }

    public static int Fail(string message)
    {
        Err.WriteLine("error: " + message);
        return BadInput;
    }

    /// <summary>True when a live progress display makes sense (a terminal, not CI or a pipe).</summary>
    public static bool Interactive => redirect.Value is null && AnsiConsole.Profile.Capabilities.Interactive && !Console.IsOutputRedirected;

    // Off a terminal the lines go out as they are: Spectre.Console would wrap them at its default 80 columns,
    // cutting paths in two for whoever reads or parses the output.
    public static void Info(string message)
    {
        if (Interactive) AnsiConsole.MarkupLine(Markup.Escape(message));
        else Out.WriteLine(message);
    }

    public static void Warn(string message)
    {
        if (Interactive) AnsiConsole.MarkupLine("[yellow]warning:[/] " + Markup.Escape(message));
        else Out.WriteLine("warning: " + message);
    }
}
