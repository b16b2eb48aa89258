using Noisette.Diffusion;
using Noisette.Evaluation;
using Noisette.IO;
using Noisette.Models;
using Noisette.Pipelines;
using Noisette.Runs;
using Noisette.Runtime;
using Noisette.Sampling;
using Noisette.Training;
using static TorchSharp.torch;

namespace Noisette.Tests;

/// <summary>
/// Mixed precision: bf16 must not cost quality, and its checkpoints are the same float32 files as fp32's. Run alone:
/// the quality guard compares two 300-step trainings at libtorch's process-wide thread count, which a test beside them
/// may set (measured: 1.3% apart alone, 5.4% once in a parallel run, when trainings still drew from the process-wide
/// generator too).
/// </summary>
[Collection(RunsAlone.Name)]
public class PrecisionTests
{
    private static TrainingConfig Quality(Precision precision, int steps) => TestData.TinyConfig(steps, steps) with
    {
        Precision = precision,
        Batch = 4,
        LogEvery = 50,
        Threads = 1,
    };

    [Fact]
    public void Bf16TrainsAsWellAsFp32AndItsCheckpointSamplesInFp32()
    {
        Assert.SkipUnless(PrecisionSupport.CpuHasBf16 || Environment.GetEnvironmentVariable("NOISETTE_TEST_EMULATED_BF16") == "1",
                          "the CPU has no native bf16 (the comparison would take minutes emulated)");
        const int steps = 300;
        var train = TestData.Bars(32);
        var heldOut = TestData.Bars(16, seed: 99);
        var losses = new Dictionary<Precision, double>();
        using var bf16Run = new TempFolder();
        foreach (var precision in new[] { Precision.Fp32, Precision.Bf16 })
        {
            using var other = new TempFolder();
            var dir = precision == Precision.Bf16 ? bf16Run.Path : other.Path;
            using var t = Trainer.Start(Quality(precision, steps), new RunFolder(dir), train, TestData.Info());
            Assert.Equal(precision, t.Precision);
            Assert.Equal(TrainingOutcome.Completed, t.Train(CancellationToken.None));
            losses[precision] = ValidationLoss.Compute(t.Ema.Model, t.Diffusion, heldOut)!.Loss;
        }
        double relative = Math.Abs(losses[Precision.Bf16] - losses[Precision.Fp32]) / losses[Precision.Fp32];
        Assert.True(relative < 0.05, $"validation loss fp32 {losses[Precision.Fp32]:F5}, bf16 {losses[Precision.Bf16]:F5}: {relative:P1} apart");

        AssertBf16CheckpointSamplesInEitherPrecision(bf16Run.Path, steps);
    }

    /// <summary>
    /// The checkpoint half of the quality guard, on every machine: a short bf16 run (emulated where the CPU lacks
    /// bf16, so only a few steps) records its precision, writes float32 weights, and samples in fp32 and in bf16.
    /// </summary>
    [Fact]
    public void ABf16RunWritesFloat32CheckpointsThatSampleInFp32()
    {
        const int steps = 6;
        using var dir = new TempFolder();
        using (var t = Trainer.Start(Quality(Precision.Bf16, steps), new RunFolder(dir.Path), TestData.Bars(16), TestData.Info()))
        {
            Assert.Equal(Precision.Bf16, t.Precision);
            Assert.Equal(TrainingOutcome.Completed, t.Train(CancellationToken.None));
        }
        AssertBf16CheckpointSamplesInEitherPrecision(dir.Path, steps);
    }

    private static void AssertBf16CheckpointSamplesInEitherPrecision(string runPath, int step)
    {
        // The run records the precision it resolved to; its checkpoint is float32 like any other.
        var run = new RunFolder(runPath);
        Assert.Equal(Precision.Bf16, run.ReadConfig().Training.Precision);
        using (var weights = SafeTensors.Load(Path.Combine(run.CheckpointDir(step), Checkpoint.ModelFile)))
            Assert.All(weights.Tensors, t => Assert.Equal(ScalarType.Float32, t.Tensor.dtype));

        // It loads and samples in fp32 and in bf16: finite, in range, and close to each other.
        var images = new Dictionary<Precision, Tensor>();
        foreach (var precision in new[] { Precision.Fp32, Precision.Bf16 })
        {
            using var model = LoadedModel.Load(runPath, precision: precision);
            Assert.Equal(PrecisionSupport.ScalarTypeOf(precision), model.Bundle.Network.ComputeType);
            using var _ = inference_mode();
            using var g = new Generator(3);
            var noise = randn([4, 1, 32, 32], generator: g);
            var generators = Noise.Generators([0, 1, 2, 3]);
            var x = new DdimSampler().Sample(model.Bundle.Denoiser(), noise, new SamplerOptions { Steps = 10 }, generators);
            foreach (var gen in generators) gen.Dispose();
            Assert.Equal(ScalarType.Float32, x.dtype);
            Assert.True(x.isfinite().all().item<bool>(), $"{precision} samples are not finite");
            Assert.True(x.abs().max().item<float>() <= 1.0001f, $"{precision} samples leave [-1, 1]");
            images[precision] = x.DetachFromDisposeScope();
        }
        double gap = (images[Precision.Fp32] - images[Precision.Bf16]).abs().mean().item<float>();
        Assert.True(gap < 0.1, $"fp32 and bf16 samples differ by {gap:F3} on average");
    }

    [Fact]
    public void AutoPicksBf16OnlyWhereTheHardwareHasIt()
    {
        Assert.Equal(Precision.Bf16, PrecisionSupport.Resolve(Precision.Auto, gpu: false, nativeBf16: true));
        Assert.Equal(Precision.Fp32, PrecisionSupport.Resolve(Precision.Auto, gpu: false, nativeBf16: false));
        Assert.True(PrecisionSupport.FlagsHaveBf16("processor\t: 0\nflags\t\t: fpu sse avx512f avx512_bf16 amx_tile\n"));
        Assert.True(PrecisionSupport.FlagsHaveBf16("flags\t\t: fpu amx_bf16\n"));
        Assert.False(PrecisionSupport.FlagsHaveBf16("flags\t\t: fpu sse avx512f avx512_vnni\nbugs\t\t: avx512_bf16\n"));
    }

    [Fact]
    public void BadPrecisionsAreExplained()
    {
        var fp16 = Assert.Throws<NoisetteInputException>(() => PrecisionSupport.Resolve(Precision.Fp16, gpu: false, nativeBf16: true));
        Assert.Contains("GPU", fp16.Message);
        Assert.Throws<NoisetteInputException>(() => PrecisionSupport.Parse("fp8"));
        Assert.Equal(Precision.Bf16, PrecisionSupport.Parse("BF16"));

        // bf16 without hardware support still works, with a warning.
        var warnings = new List<string>();
        Assert.Equal(Precision.Bf16, PrecisionSupport.Resolve(Precision.Bf16, gpu: false, nativeBf16: false, warnings.Add));
        Assert.Contains(warnings, w => w.Contains("slower"));
        Assert.Equal(Precision.Fp16, PrecisionSupport.Resolve(Precision.Fp16, gpu: true, nativeBf16: true));
    }

    [Fact]
    public void TheCliRefusesFp16OnACpuBeforeMakingTheRun()
    {
        using var outDir = new TempFolder();
        var data = Path.Combine(Fixtures.Path(), "letters", "A");
        var run = outDir["run"];
        Assert.Equal(2, Noisette.Cli.Cli.Run(["train", "--data", data, "--out", run, "--preset", "tiny", "--precision", "fp16", "--steps", "1"]));
        Assert.False(Directory.Exists(run) && Directory.EnumerateFileSystemEntries(run).Any(), "the refused run left files behind");
        Assert.Equal(2, Noisette.Cli.Cli.Run(["train", "--data", data, "--out", outDir["b"], "--preset", "tiny", "--precision", "fp8", "--steps", "1"]));
    }

    [Fact]
    public void FlatParametersAreViewsThatBackwardAccumulatesInto()
    {
        using var model = new UNet(ModelPresets.Get("tiny").Model);
        using var flat = new FlatParameters(model, withGrad: true);
        Assert.Equal(model.ParameterCount(), flat.Count);
        using (no_grad()) flat.Data.fill_(0.5f);
        Assert.All(model.parameters(), p => Assert.Equal(0.5f, p.data<float>()[0]));
        using var scope = NewDisposeScope();
        model.Forward(randn(2, 1, 32, 32), tensor(new long[] { 3, 700 }), null).square().mean().backward();
        Assert.True(flat.Grad!.abs().sum().item<float>() > 0);
        var first = model.parameters().First();
        Assert.Equal(flat.Grad!.narrow(0, 0, first.numel()).data<float>().ToArray(), first.grad!.flatten().data<float>().ToArray());
    }
}

/// <summary>Bit-exact resume, run alone: a test beside it that drew numbers or changed the threads would change its bits.</summary>
[Collection(RunsAlone.Name)]
public class PrecisionResumeTests
{
    [Theory]
    [InlineData(Precision.Fp32)]
    [InlineData(Precision.Bf16)]
    public void ResumingIsBitExactInEachPrecision(Precision precision)
    {
        var images = TestData.Bars(24);
        using var a = new TempFolder();
        using var b = new TempFolder();
        var cfg = TestData.TinyConfig(4, 2) with { Precision = precision };
        float[] straight, straightEma;
        using (var t = Trainer.Start(cfg, new RunFolder(a.Path), images, TestData.Info()))
        {
            t.Train(CancellationToken.None);
            straight = Flat(t.Model);
            straightEma = Flat(t.Ema.Model);
        }
        using (var t = Trainer.Start(cfg, new RunFolder(b.Path), images, TestData.Info()))
        {
            using var cts = new CancellationTokenSource();
            t.Train(cts.Token, p => { if (p.CheckpointDir is not null && p.Step == 2) cts.Cancel(); });
        }
        using (var t = Trainer.Resume(new RunFolder(b.Path), images, "test"))
        {
            Assert.Equal(precision, t.Precision);
            t.Train(CancellationToken.None);
            Assert.True(straight.AsSpan().SequenceEqual(Flat(t.Model)), "weights differ after resume");
            Assert.True(straightEma.AsSpan().SequenceEqual(Flat(t.Ema.Model)), "EMA weights differ after resume");
        }

        static float[] Flat(UNet m) => m.parameters().SelectMany(p => p.data<float>().ToArray()).ToArray();
    }
}
