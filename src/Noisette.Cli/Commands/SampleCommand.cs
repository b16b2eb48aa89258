using System.CommandLine;
using Noisette.Pipelines;
using Noisette.Sampling;

namespace Noisette.Cli.Commands;

public static class SampleCommand
{
    public static Command Create()
    {
        var target = new Argument<string>("RUN_OR_CHECKPOINT") { Description = "A run folder or one of its checkpoint folders" };
        var checkpoint = new Option<string>("--checkpoint") { Description = "latest, best (lowest validation loss), or a step number", DefaultValueFactory = _ => "latest" };
        var n = new Option<int>("--n") { Description = "Number of images", DefaultValueFactory = _ => 16 };
        var sampler = new Option<string>("--sampler") { Description = $"Sampler: {string.Join(", ", Samplers.Names)}", DefaultValueFactory = _ => "ddim" };
        var steps = new Option<int>("--steps") { Description = "Network calls per image (default: 1000 for ddpm, 50 for ddim)" };
        var eta = new Option<double>("--eta") { Description = "DDIM η: 0 deterministic, 1 ancestral" };
        var seed = new Option<long>("--seed") { Description = "Seed of the first image; image i uses seed + i" };
        var output = new Option<string?>("--out") { Description = "Output folder (default: RUN/generated)" };
        var grid = new Option<bool>("--grid") { Description = "Also write a grid of all images" };
        var raw = new Option<bool>("--no-ema") { Description = "Use the raw weights instead of the EMA weights" };
        var device = new Option<string>("--device") { Description = "cpu or cuda", DefaultValueFactory = _ => "cpu" };
        var batch = new Option<int>("--batch") { Description = "Images per network call", DefaultValueFactory = _ => 16 };
        var cmd = new Command("sample", "Generate images from a trained checkpoint")
        {
            target, checkpoint, n, sampler, steps, eta, seed, output, grid, raw, device, batch,
        };
        cmd.SetAction(p => Cli.Guard(() =>
        {
            if (p.GetValue(batch) < 1) return Cli.Fail("--batch must be at least 1");
            if (p.GetValue(steps) < 0) return Cli.Fail("--steps must not be negative");
            using var model = LoadedModel.Load(p.GetValue(target)!, p.GetValue(checkpoint)!, !p.GetValue(raw), p.GetValue(device)!, Cli.Warn);
            var outDir = p.GetValue(output) ?? Path.Combine(model.Run.Root, "generated");
            var request = new SampleRequest
            {
                Count = p.GetValue(n),
                Seed = p.GetValue(seed),
                Sampler = p.GetValue(sampler)!,
                Steps = p.GetValue(steps),
                Eta = p.GetValue(eta),
                Grid = p.GetValue(grid),
                BatchSize = p.GetValue(batch),
            };
            Cli.Info($"sampling {request.Count} image(s) from step {model.State.Step} with {request.Sampler}");
            var result = SamplePipeline.Run(model, request, outDir, (done, total) => Cli.Info($"  {done}/{total} images"));
            Cli.Info($"wrote {result.Files.Count} image(s) to {Path.GetFullPath(outDir)}" + (result.GridPath is null ? "" : $" and the grid {result.GridPath}"));
            return Cli.Ok;
        }));
        return cmd;
    }
}
