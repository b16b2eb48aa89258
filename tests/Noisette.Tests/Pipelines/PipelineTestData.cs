using System.CommandLine;
using Noisette.Cli.Commands;
using Noisette.Models;
using static TorchSharp.torch;

namespace Noisette.Tests;

/// <summary>What the pipeline tests share: a small random network, random pictures, and the generating commands.</summary>
internal static class PipelineTestData
{
    public static UNet RandomTinyModel()
    {
        random.manual_seed(3);
        var model = new UNet(ModelPresets.Get("tiny").Model);
        using (no_grad())
            foreach (var p in model.parameters()) p.add_(randn_like(p) * 0.02);
        return model;
    }

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
