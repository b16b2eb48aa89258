using System.CommandLine;
using System.Globalization;
using Noisette.Evaluation;
using Noisette.IO;
using Noisette.Pipelines;
using Noisette.Sampling;

namespace Noisette.Cli.Commands;

public static class EvalCommand
{
    public static Command Create()
    {
        var target = new Argument<string>("RUN") { Description = "A run folder or one of its checkpoint folders" };
        var checkpoint = new Option<string>("--checkpoint") { Description = "latest, or a step number", DefaultValueFactory = _ => "latest" };
        var nll = new Option<bool>("--nll") { Description = "Likelihood bound in bits/dim on the validation images" };
        var timesteps = new Option<int>("--timesteps") { Description = "Timesteps evaluated per image for --nll (0 = all; default 100, an estimate)", DefaultValueFactory = _ => 100 };
        var randomSteps = new Option<bool>("--random-timesteps") { Description = "For --nll: one seeded random timestep per stratum instead of its fixed middle one" };
        var fid = new Option<bool>("--fid") { Description = "FID and KID of generated samples against the real images (needs --inception)" };
        var n = new Option<int>("--n") { Description = "Samples to generate for --fid", DefaultValueFactory = _ => 1000 };
        var inception = new Option<string?>("--inception") { Description = "The Inception TorchScript file (inception-2015-12-05.pt; see docs/evaluation.md)" };
        var json = new Option<bool>("--json") { Description = "Print the results as JSON" };
        var sampler = new Option<string>("--sampler") { Description = $"Sampler for --fid: {string.Join(", ", Samplers.Names)}", DefaultValueFactory = _ => "ddim" };
        var steps = new Option<int>("--steps") { Description = "Sampler steps for --fid (default: the sampler's)" };
        var seed = new Option<long>("--seed") { Description = "Seed of the samples and of the likelihood's noise" };
        var data = new Option<string?>("--data") { Description = "The run's data folder, if it has moved" };
        var raw = new Option<bool>("--no-ema") { Description = "Use the raw weights instead of the EMA weights" };
        var device = new Option<string>("--device") { Description = "cpu or cuda", DefaultValueFactory = _ => "cpu" };
        var batch = new Option<int>("--batch") { Description = "Images per network call", DefaultValueFactory = _ => 16 };
        var threads = Cli.ThreadsOption("CPU threads (default: one per physical core; fewer helps on a busy machine)");
        var cmd = new Command("eval", "Measure a checkpoint: likelihood (bits/dim) and sample quality (FID/KID)")
        {
            target, checkpoint, nll, timesteps, randomSteps, fid, n, inception, json, sampler, steps, seed, data, raw, device, batch, threads,
        };
        cmd.SetAction(p => Cli.Guard(() =>
        {
            Noisette.Runtime.TorchRuntime.ConfigureThreads(p.GetValue(threads) ?? 0);
            bool doNll = p.GetValue(nll), doFid = p.GetValue(fid), asJson = p.GetValue(json);
            if (!doNll && !doFid) return Cli.Fail("say what to measure: --nll (bits/dim), --fid (FID and KID), or both");
            var inceptionPath = p.GetValue(inception);
            if (doFid && inceptionPath is null)
                return Cli.Fail("--fid needs the Inception network file: pass --inception FILE (inception-2015-12-05.pt; docs/evaluation.md says where to get it). " +
                                "No FID or KID was computed.");
            if (p.GetValue(timesteps) < 0) return Cli.Fail("--timesteps must not be negative");
            if (p.GetValue(batch) < 1) return Cli.Fail("--batch must be at least 1");

            Action<string> info = asJson ? Cli.Err.WriteLine : Cli.Info;
            Action<string> warn = asJson ? (m => Cli.Err.WriteLine("warning: " + m)) : Cli.Warn;
            using var network = doFid ? FeatureNetwork.Load(inceptionPath!) : null;
            using var model = LoadedModel.Load(p.GetValue(target)!, p.GetValue(checkpoint)!, !p.GetValue(raw), p.GetValue(device)!, warn);
            var dataset = EvaluationPipeline.LoadRunData(model, p.GetValue(data), info, warn);
            var inv = CultureInfo.InvariantCulture;

            LikelihoodResult? likelihood = null;
            if (doNll)
            {
                var options = new LikelihoodOptions
                {
                    Timesteps = p.GetValue(timesteps),
                    RandomTimesteps = p.GetValue(randomSteps),
                    Seed = p.GetValue(seed),
                    BatchSize = p.GetValue(batch),
                };
                info($"likelihood of {dataset.ValidationIndices.Length} validation image(s) at step {model.State.Step}");
                likelihood = EvaluationPipeline.Likelihood(model, dataset, options, (done, total) => info($"  {done}/{total} images"));
            }

            SampleQualityReport? quality = null;
            if (doFid)
            {
                var sampling = new EvalSampling
                {
                    Count = p.GetValue(n), Seed = p.GetValue(seed), Sampler = p.GetValue(sampler)!, Steps = p.GetValue(steps), BatchSize = p.GetValue(batch),
                };
                quality = EvaluationPipeline.SampleQuality(model, dataset, network!, sampling, info, (done, total) => info($"  {done}/{total} samples"));
            }

            var report = new EvalReport
            {
                Run = model.Run.Root, Step = model.State.Step, Weights = model.UsesEma ? "ema" : "model", Likelihood = likelihood, SampleQuality = quality,
            };
            // The checkpoint keeps its metrics beside its weights (eval.json; not part of the hashed files).
            EvaluationPipeline.Record(model, report);
            if (asJson)
            {
                Cli.Out.WriteLine(Json.Serialize(report));
                return Cli.Ok;
            }
            Cli.Info($"run {report.Run}, step {report.Step} ({report.Weights} weights)");
            if (likelihood is { } l)
            {
                var how = l.Exact ? $"all {l.TotalTimesteps} timesteps" : $"estimated from {l.EvaluatedTimesteps} of {l.TotalTimesteps} timesteps";
                var spread = l.Images > 1 ? string.Format(inv, " ± {0:F4}", l.StandardError) : "";
                Cli.Info(string.Format(inv, "  bits/dim  {0:F4}{1}  ({2} validation image(s), {3}; lower is better)", l.BitsPerDim, spread, l.Images, how));
                Cli.Info(string.Format(inv, "            prior {0:F5} + steps {1:F4} + decoder {2:F4}", l.PriorBitsPerDim, l.StepsBitsPerDim, l.DecoderBitsPerDim));
                if (l.Images < 10)
                    Cli.Warn($"only {l.Images} validation image(s): the number is noisy; a larger validation_fraction in the data config gives a steadier one");
            }
            if (quality is { } q)
            {
                Cli.Info(string.Format(inv, "  FID       {0:F2}  ({1} samples vs {2} real images; lower is better)", q.Fid, q.Samples, q.RealImages));
                Cli.Info(string.Format(inv, "  KID       {0:F5} ± {1:F5}  ({2} subsets of {3})", q.Kid, q.KidStandardDeviation, q.KidSubsets, q.KidSubsetSize));
                if (q.Samples < 1000 || q.RealImages < 1000)
                    Cli.Warn("fewer than 1000 samples or real images: FID is biased upward; compare only numbers measured with the same --n and data (KID is less affected)");
            }
            return Cli.Ok;
        }));
        return cmd;
    }
}
