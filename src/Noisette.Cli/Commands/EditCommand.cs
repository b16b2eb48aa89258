using System.CommandLine;
using Noisette.Pipelines;
using Noisette.Sampling;

namespace Noisette.Cli.Commands;

public static class EditCommand
{
    public static Command Create()
    {
        var m = new ModelArguments();
        var image = new Option<string>("--image") { Description = "The image to change", Required = true };
        var strength = new Option<double>("--strength") { Description = "0 keeps the image, 1 ignores it (default 0.5)", DefaultValueFactory = _ => 0.5 };
        var n = new Option<int>("--n") { Description = "Number of variations (seeds seed, seed+1, ...)", DefaultValueFactory = _ => 1 };
        var sampler = new Option<string>("--sampler") { Description = $"Sampler: {string.Join(", ", Samplers.Names)}", DefaultValueFactory = _ => Samplers.Default };
        var steps = new Option<int>("--steps") { Description = "The sampler's steps at strength 1; an edit runs those below its strength's starting noise (default: the sampler's)" };
        var eta = new Option<double>("--eta") { Description = "DDIM η (ddim only)" };
        var seed = new Option<long>("--seed") { Description = "Seed of the noise added to the image" };
        var classes = new ClassOptions();
        var output = new Option<string?>("--out") { Description = "Output folder (default: RUN/generated)" };
        var cmd = new Command("edit", "Image-to-image: push an image partway into noise and let the model bring it back (SDEdit)");
        m.AddTo(cmd);
        foreach (var o in new Option[] { image, strength, n, sampler, steps, eta, seed, classes.Class, classes.Guidance, output }) cmd.Add(o);
        cmd.SetAction(p => Cli.Guard(() =>
        {
            Edit.CheckStrength(p.GetValue(strength));
            var path = p.GetValue(image)!;
            if (!File.Exists(path)) return Cli.Fail($"the image '{path}' does not exist");
            using var model = m.Load(p);
            var outDir = p.GetValue(output) ?? Path.Combine(model.Run.Root, "generated");
            var result = Edit.ToFolder(model, new EditRequest
            {
                ImagePath = path,
                Strength = p.GetValue(strength),
                Settings = classes.Apply(p, m.Settings(p, model)) with
                {
                    Count = p.GetValue(n), Seed = p.GetValue(seed), Sampler = p.GetValue(sampler)!, Steps = p.GetValue(steps), Eta = p.GetValue(eta),
                },
            }, outDir, (done, total) => Cli.Info($"  {done}/{total} images"));
            foreach (var f in result.Files) Cli.Info($"wrote {f}");
            return Cli.Ok;
        }));
        return cmd;
    }
}
