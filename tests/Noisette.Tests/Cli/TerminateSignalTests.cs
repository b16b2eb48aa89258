using System.Diagnostics;
using System.Globalization;
using Noisette.Runs;

namespace Noisette.Tests;

/// <summary>A training process asked to terminate (SIGTERM: a shutdown, `kill`, a container stopping) keeps its progress.</summary>
public sealed class TerminateSignalTests
{
    [Fact]
    public async Task SigtermDuringTrainingWritesACheckpointAndExitsNormally()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return;   // POSIX signals
        var ct = TestContext.Current.CancellationToken;
        using var dir = new TempFolder("sigterm");
        var cli = Path.Combine(AppContext.BaseDirectory, "Noisette.Cli.dll");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        // Checkpoints only at the end of 100,000 steps: any checkpoint on disk is the one the signal wrote.
        foreach (var a in new[] { cli, "train", "--data", Fixtures.Path("letters", "A"), "--out", dir["run"], "--steps", "100000",
                                  "--checkpoint-every", "100000", "--preset", "tiny", "--batch", "4", "--threads", "1" })
            psi.ArgumentList.Add(a);
        using var process = Process.Start(psi) ?? throw new InvalidOperationException("could not start the CLI");
        var errors = process.StandardError.ReadToEndAsync(ct);
        var output = new List<string>();
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(120));
            // Wait until it has trained (non-interactive output prints progress lines "step N/100000 …").
            while (await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
            {
                output.Add(line);
                if (line.StartsWith("step ", StringComparison.Ordinal)) break;
            }
            Assert.True(output.Any(l => l.StartsWith("step ", StringComparison.Ordinal)), string.Join("\n", output) + (process.HasExited ? await errors : ""));
            using (var kill = Process.Start(new ProcessStartInfo("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)]) { UseShellExecute = false }))
                kill?.WaitForExit(5_000);
            output.AddRange((await process.StandardOutput.ReadToEndAsync(timeout.Token)).Split('\n'));
            await process.WaitForExitAsync(timeout.Token);
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
        var stderr = await errors;
        Assert.True(process.ExitCode == 0, $"exit {process.ExitCode}; stderr: {stderr}");
        Assert.Contains("terminate signal", stderr);
        var run = new RunFolder(dir["run"]);
        var steps = run.CheckpointSteps();
        Assert.Single(steps);
        Assert.True(steps[0] > 0);
        Assert.Contains(output, l => l.Contains($"stopped at step {steps[0]}"));
    }
}
