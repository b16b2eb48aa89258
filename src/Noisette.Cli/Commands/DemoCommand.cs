using System.CommandLine;
using Noisette.Pipelines;
using Noisette.Runs;

namespace Noisette.Cli.Commands;

public static class DemoCommand
{
    /// <summary>The bundled demo set, copied beside the executable at build time.</summary>
    public static string DemoDataPath => Path.Combine(AppContext.BaseDirectory, "demo-data", "letters-A");

    public static Command Create()
    {
        var output = new Option<string>("--out") { Description = "Where the demo run goes", DefaultValueFactory = _ => "noisette-demo" };
        var steps = new Option<int>("--steps") { Description = "Training steps (the default 1500 take about 7 minutes on 2 CPU cores)", DefaultValueFactory = _ => 1500 };
        var threads = Cli.ThreadsOption();
        var cmd = new Command("demo", "Train the tiny model on the bundled letter-A set for a few minutes, then sample it") { output, steps, threads };
        cmd.SetAction(p => Cli.Guard(() =>
        {
            var outDir = Path.GetFullPath(p.GetValue(output)!);
            int n = p.GetValue(steps);
            if (n < 1) return Cli.Fail("--steps must be at least 1");
            if (!Directory.Exists(DemoDataPath)) return Cli.Fail($"the bundled demo data is missing from {DemoDataPath}; rebuild the project");
            var run = Path.Combine(outDir, "run");
            bool existed = Directory.Exists(run) && Directory.EnumerateFileSystemEntries(run).Any();
            if (existed) Cli.Info($"{run} holds an earlier demo; it is moved into a previous-* subfolder there");
            var prepared = TrainingPipeline.Start(new TrainingRequest
            {
                DataPath = DemoDataPath,
                OutPath = run,
                Preset = "tiny",
                Steps = n,
                LearningRate = 1e-3,
                EmaDecay = 0.995,          // a short run: average over the last ~200 steps, not ~1000
                Threads = p.GetValue(threads),
                Force = existed,
            }, Cli.Info, Cli.Warn);
            using (var trainer = prepared.Trainer)
            {
                var code = TrainingView.Run(trainer);
                if (code != Cli.Ok) return code;
            }
            // The best checkpoint (by sample distance) and the default sampler, as a user's own `noisette sample RUN --checkpoint best` would.
            using var model = LoadedModel.Load(run, "best");
            var samples = Path.Combine(outDir, "samples");
            var result = SamplePipeline.Run(model, new SampleRequest { Settings = new GenerationSettings { Count = 16, Seed = 1 }, Grid = true }, samples);
            Cli.Info("");
            Cli.Info($"The demo is done. Sixteen new letters A, sampled from its best checkpoint (step {model.State.Step}, the closest samples to the training letters):");
            Cli.Info($"  grid:          {result.GridPath}");
            Cli.Info($"  single images: {samples}");
            Cli.Info($"  the run:       {run} (checkpoints, a sample grid per checkpoint in samples/, metrics.jsonl)");
            return Cli.Ok;
        }));
        return cmd;
    }
}
