using System.Globalization;
using System.Text.Json;
using Noisette.Diffusion;
using Noisette.Interop;
using Noisette.IO;
using Noisette.Models;
using Noisette.Pipelines;
using Noisette.Runs;
using Noisette.Runtime;
using Noisette.Sampling;
using Noisette.Training;
using static TorchSharp.torch;

namespace Noisette.Tests.Interop;

/// <summary>
/// The imported fixtures against OpenAI's own outputs (cases.safetensors), the import → sample round trip, and
/// fine-tuning an imported learned-variance model.
/// </summary>
public sealed class GuidedDiffusionExactnessTests : IDisposable
{
    private readonly TempFolder _temp = new("gdx");
    private readonly ITestOutputHelper _output;

    public GuidedDiffusionExactnessTests(ITestOutputHelper output) => _output = output;

    public void Dispose()
    {
        _temp.Dispose();
    }

    private static string Fixture(string name) => Fixtures.Path("guided-diffusion", name);

    private static (UNet Model, GaussianDiffusion Diffusion) Load(string name)
    {
        var flags = GuidedDiffusionFlags.Load(Fixture(name + ".flags.json"));
        var resolved = GuidedDiffusionImport.Resolve(TorchCheckpoint.Inspect(Fixture(name + ".pt")), flags, name);
        var model = new UNet(resolved.Model);
        var sd = TorchCheckpoint.LoadStateDict(Fixture(name + ".pt"));
        try { ModelWeights.Load(model, sd, name); }
        finally { foreach (var (_, t) in sd) t.Dispose(); }
        model.eval();
        return (model, new GaussianDiffusion(resolved.Diffusion));
    }

    private static double MaxAbs(Tensor a, Tensor b) => (a - b).abs().max().item<float>();

    [Theory]
    [InlineData("adm_tiny")]
    [InlineData("adm_tiny_cond")]
    public void ModelOutputsMatchGuidedDiffusion(string name)
    {
        var (model, _) = Load(name);
        using var _m = model;
        using var cases = SafeTensors.Load(Fixture("cases.safetensors"));
        using var scope = NewDisposeScope();
        using var _g = no_grad();
        var y = name.EndsWith("_cond", StringComparison.Ordinal) ? cases["y"] : null;
        var output = model.Forward(cases["x"], cases["t"], y);
        var err = MaxAbs(output, cases[name + ".out"]);
        if (y is not null)
            Assert.Contains("class-conditional (1000 classes)", Assert.Throws<NoisetteInputException>(() => model.Forward(cases["x"], cases["t"], null)).Message);
        _output.WriteLine($"{name}: max abs error {err:E2}");
        Assert.True(err < 1e-4, $"max abs error {err}");
    }

    [Fact]
    public void PMeanVarianceAndDdim10MatchGuidedDiffusion()
    {
        var (model, diffusion) = Load("adm_tiny");
        using var _m = model;
        using var cases = SafeTensors.Load(Fixture("cases.safetensors"));
        using var scope = NewDisposeScope();
        using var _g = no_grad();
        var x = cases["x"];
        var t = cases["t"];
        var (mean, logVar, x0) = diffusion.PMeanVariance(x, t, model.Forward(x, t, null), clip: true);
        double eMean = MaxAbs(mean, cases["adm_tiny.p_mean"]), eVar = MaxAbs(logVar, cases["adm_tiny.p_log_variance"]), eX0 = MaxAbs(x0, cases["adm_tiny.pred_xstart"]);
        _output.WriteLine($"p_mean {eMean:E2}, p_log_variance {eVar:E2}, pred_xstart {eX0:E2}");
        Assert.True(eMean < 1e-4 && eVar < 1e-4 && eX0 < 1e-4, $"p_mean {eMean}, p_log_variance {eVar}, pred_xstart {eX0}");

        var options = new SamplerOptions { Timesteps = Timesteps.Space(1000, "ddim10"), Eta = 0 };
        var sample = new DdimSampler().Sample(new Denoiser(model, diffusion) { ClipDenoised = true }, cases["ddim10.x_T"], options, []);
        var eDdim = MaxAbs(sample, cases["adm_tiny.ddim10.sample"]);
        _output.WriteLine($"ddim10 sample {eDdim:E2}");
        Assert.True(eDdim < 1e-3, $"ddim10 max abs error {eDdim}");
    }

    /// <summary>
    /// One DDPM step from x_t draws from guided-diffusion's p_mean_variance: mean + exp(½·log variance)·z, with the
    /// learned variance of the model's extra channels. The sampler computes the variance on its own path
    /// (<see cref="GaussianDiffusion.LearnedLogVariance"/>), so this checks that path against OpenAI's numbers.
    /// </summary>
    [Fact]
    public void ADdpmStepDrawsFromGuidedDiffusionsPMeanVariance()
    {
        var (model, diffusion) = Load("adm_tiny");
        using var _m = model;
        using var cases = SafeTensors.Load(Fixture("cases.safetensors"));
        using var scope = NewDisposeScope();
        using var _g = inference_mode();
        var ts = cases["t"].data<long>().Select(v => (int)v).ToArray();
        var denoiser = new Denoiser(model, diffusion) { ClipDenoised = true };
        Tensor Step(int i, long seed) => new DdpmSampler().Sample(denoiser, cases["x"][i..(i + 1)],
            new SamplerOptions { Timesteps = [ts[i]], StopAt = ts[i] - 1 }, Noise.Generators([seed]));
        for (int i = 0; i < ts.Length; i++)
        {
            var z = Noise.Normal(Noise.Generators([7]), 3, 32);
            var expected = cases["adm_tiny.p_mean"][i..(i + 1)] + (cases["adm_tiny.p_log_variance"][i..(i + 1)] * 0.5).exp() * z;
            var err = MaxAbs(Step(i, 7), expected);
            // What a sampler that ignored the learned variance (the posterior's β̃ instead) would give is much further
            // off: at t = 10, where β̃ and β differ most, by far more than the tolerance; at t = 700, where they
            // nearly agree, still by many times the error.
            var posterior = cases["adm_tiny.p_mean"][i..(i + 1)] + z * Math.Sqrt(diffusion.PosteriorBetween(ts[i], ts[i] - 1).Variance);
            var withPosterior = MaxAbs(Step(i, 7), posterior);
            _output.WriteLine($"t = {ts[i]}: max abs error {err:E2} (with β̃ instead: {withPosterior:E2})");
            Assert.True(err < 1e-4, $"t = {ts[i]}: max abs error {err}");
            Assert.True(withPosterior > 10 * err && (ts[i] > 100 || withPosterior > 1e-3), $"t = {ts[i]}: β̃ instead is off by only {withPosterior}");
        }
    }

    /// <summary>Only DDPM uses the variance channels: changing them changes its samples and no other sampler's.</summary>
    [Fact]
    public void SamplersWithoutAVarianceIgnoreTheVarianceChannels()
    {
        var (model, diffusion) = Load("adm_tiny");
        using var _m = model;
        using var scope = NewDisposeScope();
        using var _g = inference_mode();
        var noise = Noise.Normal(Noise.Generators([1, 2]), 3, 32);
        var names = Samplers.Names;
        Dictionary<string, Tensor> SampleAll() => names.ToDictionary(n => n, n =>
            Samplers.Get(n).Sample(new Denoiser(model, diffusion), noise, new SamplerOptions { Steps = 4 }, Noise.Generators([1, 2])));
        var before = SampleAll();
        // The output convolution's channels 3..5 are the variance values; only they change.
        var named = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        using (no_grad())
        {
            named["out.2.weight"].narrow(0, 3, 3).mul_(-1.5);
            named["out.2.bias"].narrow(0, 3, 3).add_(0.7);
        }
        using (var cases = SafeTensors.Load(Fixture("cases.safetensors")))
        {
            var output = model.Forward(cases["x"], cases["t"], null);
            Assert.True(MaxAbs(output.narrow(1, 0, 3), cases["adm_tiny.out"].narrow(1, 0, 3)) < 1e-4);   // the mean channels are untouched
            Assert.True(MaxAbs(output.narrow(1, 3, 3), cases["adm_tiny.out"].narrow(1, 3, 3)) > 0.1);
        }
        var after = SampleAll();
        foreach (var n in names)
        {
            double diff = MaxAbs(before[n], after[n]);
            _output.WriteLine($"{n}: max abs change {diff:E2}");
            if (n == "ddpm") Assert.True(diff > 1e-2, $"ddpm changed by only {diff}");
            else Assert.True(diff == 0, $"{n} changed by {diff}");
        }
    }

    [Fact]
    public void ImportWritesARunThatSamplesDeterministically()
    {
        var runDir = _temp["imported"];
        var result = GuidedDiffusionImport.ImportToRun(Fixture("adm_tiny.pt"), runDir, Fixture("adm_tiny.flags.json"));
        Assert.Equal(1_422_278L, result.Parameters);
        var rc = result.Run.ReadConfig();
        Assert.Equal(32, rc.Training.Pictures.ImageSize);
        Assert.Equal(Noisette.Data.ChannelMode.Rgb, rc.Training.Pictures.Channels);
        Assert.True(rc.Training.Model.LearnSigma && rc.Training.Diffusion.LearnSigma);
        Assert.Equal(16, rc.Training.Model.HeadChannels);
        Assert.Equal([0L], result.Run.CheckpointSteps());
        Assert.False(File.Exists(Path.Combine(result.CheckpointDir, Checkpoint.OptimizerFile)));

        using var loaded = LoadedModel.Load(runDir);
        using (var cases = SafeTensors.Load(Fixture("cases.safetensors")))
        using (var scope = NewDisposeScope())
        using (no_grad())
        {
            // The run folder's EMA weights are OpenAI's weights, exactly.
            var err = MaxAbs(loaded.Bundle.Network.Forward(cases["x"], cases["t"], null), cases["adm_tiny.out"]);
            Assert.True(err < 1e-4, $"max abs error {err}");
        }
        var request = new SampleRequest { Settings = new GenerationSettings { Count = 2, Seed = 5, Sampler = "ddim", Steps = 4 } };
        var a = SamplePipeline.Run(loaded, request, _temp["a"]);
        var b = SamplePipeline.Run(loaded, request, _temp["b"]);
        var ddpm = SamplePipeline.Run(loaded, request with { Settings = request.Settings with { Sampler = "ddpm" } }, _temp["c"]);
        Assert.Equal(2, a.Files.Count);
        for (int i = 0; i < 2; i++) Assert.Equal(File.ReadAllBytes(a.Files[i]), File.ReadAllBytes(b.Files[i]));
        Assert.Equal(2, ddpm.Files.Count);
    }

    [Fact]
    public void FineTuningTheImportedModelKeepsTheVarianceHeadSane()
    {
        var source = _temp["imported"];
        GuidedDiffusionImport.ImportToRun(Fixture("adm_tiny.pt"), source, Fixture("adm_tiny.flags.json"));
        var data = _temp["letters"];
        Directory.CreateDirectory(data);
        foreach (var f in Directory.GetFiles(Path.Combine(Fixtures.Path(), "..", "..", "data", "demo", "letters-A"), "*.png").Order().Take(8))
            File.Copy(f, Path.Combine(data, Path.GetFileName(f)));
        var configPath = _temp["finetune.json"];
        Json.Write(configPath, new TrainingConfig { Steps = 20, Batch = 4, CheckpointEvery = 20, LogEvery = 5, SampleCount = 0, LearningRate = 1e-4, WarmupSteps = 0 });

        var request = new TrainingRequest { DataPath = data, OutPath = _temp["tuned"], InitFrom = source, ConfigFile = configPath };
        var prepared = TrainingPipeline.Start(request, _ => { }, _ => { });
        using var trainer = prepared.Trainer;
        Assert.True(trainer.Config.Model.LearnSigma);
        var before = VarianceValues(trainer);
        Assert.Equal(TrainingOutcome.Completed, trainer.Train(CancellationToken.None));
        var after = VarianceValues(trainer);

        var losses = File.ReadAllLines(trainer.Run.MetricsPath)
            .Select(l => JsonDocument.Parse(l).RootElement).Where(e => e.TryGetProperty("loss", out _)).Select(e => e.GetProperty("loss").GetDouble()).ToList();
        _output.WriteLine($"losses {string.Join(", ", losses.Select(l => l.ToString("F4", CultureInfo.InvariantCulture)))}");
        _output.WriteLine($"variance values before: mean {before.Mean:F3}, mean |v| {before.MeanAbs:F3}, share in [-1,1] {before.InRange:P1}; " +
                          $"after: mean {after.Mean:F3}, mean |v| {after.MeanAbs:F3}, share in [-1,1] {after.InRange:P1}");
        Assert.Equal(4, losses.Count);
        Assert.All(losses, l => Assert.True(double.IsFinite(l) && l > 0, $"loss {l}"));
        Assert.True(double.IsFinite(after.MeanAbs));
        // The hybrid loss keeps the interpolation between β̃ and β where the import left it, or pulls it inwards.
        Assert.True(after.InRange >= before.InRange - 0.05, $"share of variance values in [-1, 1]: {before.InRange} → {after.InRange}");
        Assert.True(after.MeanAbs <= before.MeanAbs + 0.1, $"mean |v|: {before.MeanAbs} → {after.MeanAbs}");
    }

    private string LetterFolder(string name, params (string Class, int Skip)[] classes)
    {
        var data = _temp[name];
        var letters = Directory.GetFiles(Path.Combine(Fixtures.Path(), "..", "..", "data", "demo", "letters-A"), "*.png").Order().ToArray();
        if (classes.Length == 0) classes = [("", 0)];
        foreach (var (cls, skip) in classes)
        {
            var folder = Path.Combine(data, cls);
            Directory.CreateDirectory(folder);
            foreach (var f in letters.Skip(skip).Take(8)) File.Copy(f, Path.Combine(folder, Path.GetFileName(f)));
        }
        return data;
    }

    /// <summary>
    /// Fine-tuning a 1,000-class import on a folder's two classes: the class embedding becomes the folder's classes
    /// plus a null class, each row starting at the mean of the imported rows; everything else is the import's.
    /// </summary>
    [Fact]
    public void FineTuningAClassConditionalImportOnSubfolderClasses()
    {
        var source = _temp["imported"];
        GuidedDiffusionImport.ImportToRun(Fixture("adm_tiny_cond.pt"), source, Fixture("adm_tiny_cond.flags.json"));
        var data = LetterFolder("classes", ("A", 0), ("B", 8));
        var configPath = _temp["finetune.json"];
        Json.Write(configPath, new TrainingConfig { Steps = 4, Batch = 4, CheckpointEvery = 4, LogEvery = 2, SampleCount = 0, LearningRate = 1e-3, WarmupSteps = 0 });
        var notes = new List<string>();
        var prepared = TrainingPipeline.Start(new TrainingRequest { DataPath = data, OutPath = _temp["tuned"], InitFrom = source, ConfigFile = configPath },
                                              notes.Add, _ => { });
        using var trainer = prepared.Trainer;
        Assert.Equal(["A", "B"], trainer.Config.ClassNames!);
        Assert.Equal(2, trainer.Config.Model.NumClasses);
        Assert.True(trainer.Config.Model.NullClass);
        Assert.Contains(notes, n => n.Contains("label_emb.weight, 3 rows", StringComparison.Ordinal));

        var imported = SafeTensors.Load(Path.Combine(source, "checkpoints", "step-00000000", Checkpoint.EmaFile));
        using var _i = imported;
        var importedRows = imported["label_emb.weight"];
        Assert.Equal(new long[] { 1000, 128 }, importedRows.shape);
        Dictionary<string, Tensor> Params(UNet m) => m.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter);
        using (var scope = NewDisposeScope())
        {
            var mean = importedRows.mean([0], keepdim: true);
            foreach (var m in new[] { trainer.Model, trainer.Ema.Model })
            {
                var p = Params(m);
                Assert.Equal(new long[] { 3, 128 }, p["label_emb.weight"].shape);
                Assert.True(MaxAbs(p["label_emb.weight"], mean.expand(3, 128)) < 1e-6);
                foreach (var (name, t) in imported.Tensors.Where(t => t.Name != "label_emb.weight"))
                    Assert.True(MaxAbs(p[name], t) == 0, $"{name} is not the import's");
            }
        }
        Assert.Equal(TrainingOutcome.Completed, trainer.Train(CancellationToken.None));
        var losses = File.ReadAllLines(trainer.Run.MetricsPath).Select(l => JsonDocument.Parse(l).RootElement)
            .Where(e => e.TryGetProperty("loss", out _)).Select(e => e.GetProperty("loss").GetDouble()).ToList();
        Assert.Equal(2, losses.Count);
        Assert.All(losses, l => Assert.True(double.IsFinite(l) && l > 0, $"loss {l}"));
        using (var scope = NewDisposeScope())
        {
            var rows = Params(trainer.Model)["label_emb.weight"];
            Assert.True(MaxAbs(rows[0], rows[1]) > 0, "the classes A and B did not learn apart");
        }
        // The tuned run samples its classes by name, with classifier-free guidance (it has a null class now).
        using var tuned = LoadedModel.Load(trainer.Run.Root);
        Assert.Equal(2.0, tuned.Bundle.DefaultGuidance);
        var result = SamplePipeline.Run(tuned, new SampleRequest { Settings = new GenerationSettings { Count = 1, Sampler = "ddim", Steps = 2, Classes = ["B"] } }, _temp["tuned-samples"]);
        Assert.Contains("class-B", Path.GetFileName(Assert.Single(result.Files)));
    }

    /// <summary>
    /// <c>train --init-from</c> an import without a config file takes the import's own training settings (its
    /// learning rate, batch, EMA and warm-up), not the defaults of a preset; flags still override them.
    /// </summary>
    [Fact]
    public void InitFromAnImportTakesItsTrainingSettings()
    {
        var source = _temp["imported"];
        var imported = GuidedDiffusionImport.ImportToRun(Fixture("adm_tiny.pt"), source, Fixture("adm_tiny.flags.json")).Run.ReadConfig().Training;
        var preset = TrainingConfig.FromPreset(imported.Preset);
        Assert.NotEqual(preset.LearningRate, imported.LearningRate);   // else this test could not tell them apart
        Assert.NotEqual(preset.WarmupSteps, imported.WarmupSteps);
        Assert.NotEqual(preset.EmaDecay, imported.EmaDecay);
        Assert.NotEqual(preset.Batch, imported.Batch);
        var data = LetterFolder("letters");
        // What describes the source's machine is not inherited: a run trained on a GPU fine-tunes here on the CPU.
        var sourceRun = new RunFolder(source);
        var recorded = sourceRun.ReadConfig();
        sourceRun.WriteConfig(recorded with { Training = recorded.Training with { Device = "cuda", Threads = 64, Precision = Precision.Bf16 } });

        var plain = TrainingPipeline.Start(new TrainingRequest { DataPath = data, OutPath = _temp["t1"], InitFrom = source }, _ => { }, _ => { });
        using (var trainer = plain.Trainer)
        {
            var c = trainer.Config;
            var defaults = new TrainingConfig();
            Assert.Equal((defaults.Device, defaults.Threads, defaults.Precision), (c.Device, c.Threads, c.Precision));
            Assert.Equal((imported.LearningRate, imported.Batch, imported.WarmupSteps, imported.EmaDecay, imported.Steps),
                         (c.LearningRate, c.Batch, c.WarmupSteps, c.EmaDecay, c.Steps));
            Assert.Equal(Json.Serialize(imported.Model), Json.Serialize(c.Model));
            Assert.Equal(Json.Serialize(imported.Diffusion), Json.Serialize(c.Diffusion));
            // What the new run records is what it trains with.
            Assert.Equal(imported.LearningRate, trainer.Run.ReadConfig().Training.LearningRate);
        }
        var overridden = TrainingPipeline.Start(new TrainingRequest { DataPath = data, OutPath = _temp["t2"], InitFrom = source, LearningRate = 3e-5, Batch = 2 },
                                                _ => { }, _ => { });
        using (var trainer = overridden.Trainer)
        {
            Assert.Equal(3e-5, trainer.Config.LearningRate);
            Assert.Equal(2, trainer.Config.Batch);
            Assert.Equal(imported.EmaDecay, trainer.Config.EmaDecay);
        }
    }

    /// <summary>The variance channels of the model on noised training images at a few timesteps.</summary>
    private static (double Mean, double MeanAbs, double InRange) VarianceValues(Trainer trainer)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var model = trainer.Model;
        bool training = model.training;
        model.eval();
        var gen = new TorchSharp.torch.Generator(11);
        var x0 = rand(new long[] { 4, 3, 32, 32 }, generator: gen) * 2 - 1;
        var t = tensor(new long[] { 1, 100, 500, 900 });
        var noise = randn(new long[] { 4, 3, 32, 32 }, generator: gen);
        var v = model.Forward(trainer.Diffusion.QSample(x0, t, noise), t, null).chunk(2, 1)[1];
        if (training) model.train();
        return (v.mean().item<float>(), v.abs().mean().item<float>(), (v.abs() <= 1).to(float32).mean().item<float>());
    }
}
