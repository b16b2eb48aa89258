using System.CommandLine;
using Noisette.Cli.Commands;

namespace Noisette.Tests;

/// <summary>What the pipeline tests share: random pictures, and the generating commands.</summary>
internal static class PipelineTestData
{
    public static byte[] Picture(int seed)
    {
        var rng = new Random(seed);
        var px = new byte[32 * 32];
        rng.NextBytes(px);
        return px;
    }

    public static int RunCli(params string[] args) =>
        Cli.Cli.Run(new RootCommand { SampleCommand.Create(), EditCommand.Create(), InpaintCommand.Create(), InterpolateCommand.Create() }, args);
}
