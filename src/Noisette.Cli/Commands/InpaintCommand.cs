using System.CommandLine;
using Noisette.Pipelines;
using Noisette.Sampling;

namespace Noisette.Cli.Commands;

public static class InpaintCommand
{
    public static Command Create()
    {
        var m = new ModelArguments();
        var image = new Option<string>("--image") { Description = "The image to complete", Required = true };
        var mask = new Option<string>("--mask") { Description = "The mask: white = regenerate, black = keep", Required = true };
        var n = new Option<int>("--n") { Description = "Number of variations (seeds seed, seed+1, ...)", DefaultValueFactory = _ => 1 };
        var sampler = new Option<string>("--sampler") { Description = $"Sampler for each step: {string.Join(", ", Samplers.Names)}", DefaultValueFactory = _ => "ddpm" };
        var steps = new Option<int>("--steps") { Description = "Timesteps of the walk down", DefaultValueFactory = _ => 50 };
        var jumps = new Option<int>("--jumps") { Description = "Times each stretch is denoised (1 = no resampling)", DefaultValueFactory = _ => 5 };
        var jumpLength = new Option<int>("--jump-length") { Description = "Timesteps jumped back up before a stretch is denoised again", DefaultValueFactory = _ => 5 };
        var seed = new Option<long>("--seed") { Description = "Seed of the first image" };
        var classes = new ClassOptions();
        var output = new Option<string?>("--out") { Description = "Output folder (default: RUN/generated)" };
        var cmd = new Command("inpaint", "Regenerate the white part of a mask and keep the rest of the image (RePaint)");
        m.AddTo(cmd);
        foreach (var o in new Option[] { image, mask, n, sampler, steps, jumps, jumpLength, seed, classes.Class, classes.Guidance, output }) cmd.Add(o);
        cmd.SetAction(p => Cli.Guard(() =>
        {
            Inpaint.Check(p.GetValue(jumps), p.GetValue(jumpLength));
            foreach (var (what, path) in new[] { ("image", p.GetValue(image)!), ("mask", p.GetValue(mask)!) })
                if (!File.Exists(path)) return Cli.Fail($"the {what} '{path}' does not exist");
            using var model = m.Load(p);
            var outDir = p.GetValue(output) ?? Path.Combine(model.Run.Root, "generated");
            var result = Inpaint.ToFolder(model, new InpaintRequest
            {
                ImagePath = p.GetValue(image)!,
                MaskPath = p.GetValue(mask)!,
                Jumps = p.GetValue(jumps),
                JumpLength = p.GetValue(jumpLength),
                Settings = classes.Apply(p, m.Settings(p, model)) with
                {
                    Count = p.GetValue(n), Seed = p.GetValue(seed), Sampler = p.GetValue(sampler)!, Steps = p.GetValue(steps),
                },
            }, outDir, (done, total) => Cli.Info($"  {done}/{total} images"));
            foreach (var f in result.Files) Cli.Info($"wrote {f}");
            return Cli.Ok;
        }));
        return cmd;
    }
}
