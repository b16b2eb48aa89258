using System.CommandLine;
using Noisette.Pipelines;

namespace Noisette.Cli.Commands;

public static class InterpolateCommand
{
    public static Command Create()
    {
        var m = new ModelArguments();
        var seeds = new Option<string>("--seeds") { Description = "The two seeds to walk between, e.g. 1,2", Required = true };
        var frames = new Option<int>("--frames") { Description = "Frames, both ends included", DefaultValueFactory = _ => 8 };
        var sampler = new Option<string>("--sampler") { Description = "A deterministic sampler: ddim (η = 0) or dpm++ (ddpm and euler-a are refused)", DefaultValueFactory = _ => "ddim" };
        var steps = new Option<int>("--steps") { Description = "Network calls per frame (default: the sampler's)" };
        var output = new Option<string?>("--out") { Description = "Output folder (default: RUN/generated)" };
        var cmd = new Command("interpolate", "Morph between the images of two seeds: frames and a strip");
        m.AddTo(cmd);
        foreach (var o in new Option[] { seeds, frames, sampler, steps, output }) cmd.Add(o);
        cmd.SetAction(p => Cli.Guard(() =>
        {
            var pair = SeedList.Parse(p.GetValue(seeds)!);
            if (pair.Length != 2) return Cli.Fail($"--seeds takes exactly two seeds, like 1,2; got {pair.Length}");
            if (p.GetValue(frames) < 2) return Cli.Fail("--frames must be at least 2");
            using var model = m.Load(p);
            var outDir = p.GetValue(output) ?? Path.Combine(model.Run.Root, "generated");
            var result = Interpolate.ToFolder(model, new InterpolateRequest
            {
                Settings = m.Settings(p, model) with { Seeds = pair, Sampler = p.GetValue(sampler)!, Steps = p.GetValue(steps) },
                Frames = p.GetValue(frames),
            }, outDir, (done, total) => Cli.Info($"  {done}/{total} frames"));
            Cli.Info($"wrote {result.Frames.Count} frames to {Path.GetFullPath(outDir)} and the strip {result.StripPath}");
            return Cli.Ok;
        }));
        return cmd;
    }
}
