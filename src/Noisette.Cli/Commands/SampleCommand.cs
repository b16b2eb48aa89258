using System.CommandLine;
using Noisette.Pipelines;
using Noisette.Sampling;

namespace Noisette.Cli.Commands;

public static class SampleCommand
{
    public static Command Create()
    {
        var m = new ModelArguments();
        m.Target.Arity = ArgumentArity.ZeroOrOne;
        var n = new Option<int>("--n") { Description = "Number of images", DefaultValueFactory = _ => 16 };
        var sampler = new Option<string>("--sampler")
        {
            Description = $"Sampler: {string.Join(", ", Samplers.Names)} (dpm++ = DPM-Solver++(2M), also called dpmpp-2m)",
            DefaultValueFactory = _ => Samplers.Default,
        };
        var steps = new Option<int>("--steps") { Description = "Network calls per image (default: 20 for euler-a and dpm++, 50 for ddim, 1000 for ddpm)" };
        var eta = new Option<double>("--eta") { Description = "DDIM η: 0 deterministic, 1 ancestral (ddim only)" };
        var seed = new Option<long>("--seed") { Description = "Seed of the first image; image i uses seed + i" };
        var seeds = new Option<string?>("--seeds") { Description = "Explicit seeds, e.g. 10-25 or 1,5,9 (instead of --seed/--n); writes a contact sheet too" };
        var fromPng = new Option<string?>("--from-png") { Description = "Regenerate the image in this PNG from its provenance (run, checkpoint, sampler, seed, batch slot...), byte for byte" };
        var output = new Option<string?>("--out") { Description = "Output folder (default: RUN/generated)" };
        var grid = new Option<bool>("--grid") { Description = "Also write a grid (contact sheet) of all images" };
        var cls = new Option<string[]>("--class") { Description = "Class to generate (repeatable; its name, or its index for an imported model), or 'all' for a grid with one row per class" };
        var guidance = new Option<double?>("--guidance") { Description = "Classifier-free guidance scale W: 0 unconditional, 1 plain class, higher = more class-like (default 2, or 1 for a model without a null class)" };
        var cmd = new Command("sample", "Generate images from a trained checkpoint (DPM-Solver++ at 20 steps unless told otherwise)");
        m.AddTo(cmd);
        foreach (var o in new Option[] { n, sampler, steps, eta, seed, seeds, fromPng, output, grid, cls, guidance }) cmd.Add(o);
        cmd.SetAction(p => Cli.Guard(() =>
        {
            if (p.GetValue(fromPng) is { } png)
            {
                if (p.GetValue(m.Target) is not null) return Cli.Fail("--from-png takes the run from the PNG; do not also name a run");
                Cli.Info($"regenerating {png} from its provenance");
                var again = Regenerate.FromPng(png, p.GetValue(output), p.GetValue(m.Device)!, Cli.Warn);
                Cli.Info($"wrote {again.Files[0]}");
                return Cli.Ok;
            }
            if (p.GetValue(steps) < 0) return Cli.Fail("--steps must not be negative");
            using var model = m.Load(p);
            var outDir = p.GetValue(output) ?? Path.Combine(model.Run.Root, "generated");
            var request = new SampleRequest
            {
                Settings = m.Settings(p, model) with
                {
                    Count = p.GetValue(n),
                    Seed = p.GetValue(seed),
                    Seeds = p.GetValue(seeds) is { } list ? SeedList.Parse(list) : null,
                    Sampler = p.GetValue(sampler)!,
                    Steps = p.GetValue(steps),
                    Eta = p.GetValue(eta),
                    Classes = p.GetValue(cls) ?? [],
                    Guidance = p.GetValue(guidance),
                },
                Grid = p.GetValue(grid),
            };
            Cli.Info($"sampling {request.Settings.ResolvedSeeds.Count} image(s) from step {model.State.Step} with {request.Settings.Sampler}");
            var result = SamplePipeline.Run(model, request, outDir, (done, total) => Cli.Info($"  {done}/{total} images"));
            Cli.Info($"wrote {result.Files.Count} image(s) to {Path.GetFullPath(outDir)}" + (result.GridPath is null ? "" : $" and the contact sheet {result.GridPath}"));
            return Cli.Ok;
        }));
        return cmd;
    }
}
