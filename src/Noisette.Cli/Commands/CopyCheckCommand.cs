using System.CommandLine;
using System.Globalization;
using Noisette.IO;
using Noisette.Pipelines;
using Noisette.Runs;
using Noisette.Sampling;

namespace Noisette.Cli.Commands;

public static class CopyCheckCommand
{
    public static Command Create()
    {
        var target = new Argument<string>("RUN") { Description = "A run folder or one of its checkpoint folders" };
        var checkpoint = new Option<string>("--checkpoint") { Description = "latest, or a step number", DefaultValueFactory = _ => "latest" };
        var n = new Option<int>("--n") { Description = "Samples to generate and check", DefaultValueFactory = _ => 64 };
        var output = new Option<string?>("--out") { Description = "The HTML gallery to write (default: RUN/copycheck-step-N.html)" };
        var sampler = new Option<string>("--sampler") { Description = $"Sampler: {string.Join(", ", Samplers.Names)}", DefaultValueFactory = _ => "ddim" };
        var steps = new Option<int>("--steps") { Description = "Sampler steps (default: the sampler's)" };
        var seed = new Option<long>("--seed") { Description = "Seed of the first sample; sample i uses seed + i" };
        var data = new Option<string?>("--data") { Description = "The run's data folder, if it has moved" };
        var raw = new Option<bool>("--no-ema") { Description = "Use the raw weights instead of the EMA weights" };
        var device = new Option<string>("--device") { Description = "cpu or cuda", DefaultValueFactory = _ => "cpu" };
        var batch = new Option<int>("--batch") { Description = "Images per network call", DefaultValueFactory = _ => 16 };
        var threads = Cli.ThreadsOption("CPU threads (default: one per physical core; fewer helps on a busy machine)");
        var cmd = new Command("copycheck", "Check whether generated samples are near-copies of training images")
        {
            target, checkpoint, n, output, sampler, steps, seed, data, raw, device, batch, threads,
        };
        cmd.SetAction(p => Cli.Guard(() =>
        {
            Noisette.Runtime.TorchRuntime.ConfigureThreads(p.GetValue(threads) ?? 0);
            using var model = LoadedModel.Load(p.GetValue(target)!, p.GetValue(checkpoint)!, !p.GetValue(raw), p.GetValue(device)!, Cli.Warn);
            var dataset = EvaluationPipeline.LoadRunData(model, p.GetValue(data), Cli.Info, Cli.Warn);
            var gallery = p.GetValue(output) ?? Path.Combine(model.Run.Root, $"copycheck-{RunFolder.StepName(model.State.Step)}.html");
            var sampling = new EvalSampling
            {
                Count = p.GetValue(n), Seed = p.GetValue(seed), Sampler = p.GetValue(sampler)!, Steps = p.GetValue(steps), BatchSize = p.GetValue(batch),
            };
            Cli.Info($"generating {sampling.Count} sample(s) at step {model.State.Step} and comparing them with {dataset.TrainIndices.Length} training image(s)");
            var result = EvaluationPipeline.CopyCheck(model, dataset, sampling, gallery, (done, total) => Cli.Info($"  {done}/{total} samples"));
            Cli.Info(string.Format(CultureInfo.InvariantCulture,
                "near-copies: {0} of {1} samples ({2:P1}) have a training image closer than {3} × the mean distance to their {4} nearest",
                result.NearCopies, result.Matches.Count, result.Rate, result.Threshold, result.Neighbours));
            Cli.Info($"gallery (worst first): {Path.GetFullPath(gallery)}");
            return Cli.Ok;
        }));
        return cmd;
    }
}
