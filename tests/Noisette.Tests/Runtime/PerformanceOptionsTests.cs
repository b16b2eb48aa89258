using Noisette.Models;
using Noisette.Pipelines;
using Noisette.Runtime;
using Noisette.Training;
using static TorchSharp.torch;

namespace Noisette.Tests;

/// <summary>Threads, the automatic sampling batch and fp16's loss scaling: the machine-facing settings.</summary>
public class PerformanceOptionsTests(TinyRunFixture fixture) : IClassFixture<TinyRunFixture>
{
    private static string CpuInfo(int packages, int coresPerPackage, int threadsPerCore)
    {
        var sb = new System.Text.StringBuilder();
        int processor = 0;
        for (int p = 0; p < packages; p++)
            for (int t = 0; t < threadsPerCore; t++)
                for (int c = 0; c < coresPerPackage; c++)
                    sb.Append($"processor\t: {processor++}\nvendor_id\t: AuthenticAMD\nphysical id\t: {p}\ncore id\t\t: {c}\nflags\t\t: fpu avx2\n\n");
        return sb.ToString();
    }

    [Fact]
    public void ThreadsPerCoreComesFromTheCoreIds()
    {
        Assert.Equal(1, TorchRuntime.ThreadsPerCore(CpuInfo(1, 2, 1)));
        Assert.Equal(2, TorchRuntime.ThreadsPerCore(CpuInfo(1, 4, 2)));
        Assert.Equal(2, TorchRuntime.ThreadsPerCore(CpuInfo(2, 8, 2)));    // core ids repeat across packages
        Assert.Equal(1, TorchRuntime.ThreadsPerCore("processor : 0\n\nprocessor : 1\n"));   // no ids: assume one
        Assert.Equal(1, TorchRuntime.ThreadsPerCore(""));
        Assert.InRange(TorchRuntime.DefaultThreads, 1, Environment.ProcessorCount);
        Assert.Equal(TorchRuntime.DefaultThreads, TorchRuntime.CheckThreads(0));
        Assert.Equal(1, TorchRuntime.CheckThreads(1));
    }

    [Fact]
    public void ThreadsSleepWhereComputationsShareTheCoresAndSpinBrieflyWhereOneRuns()
    {
        Assert.Equal("PASSIVE", TorchRuntime.WaitPolicyFor(Workload.Shared, userChose: false));
        Assert.Null(TorchRuntime.WaitPolicyFor(Workload.Single, userChose: false));     // libgomp's default
        Assert.Null(TorchRuntime.WaitPolicyFor(Workload.Shared, userChose: true));      // the user's choice stands
        Assert.Null(TorchRuntime.WaitPolicyFor(Workload.Single, userChose: true));
    }

    [Fact]
    public void TheAutomaticBatchFollowsMemoryAndModelSize()
    {
        var letters = ModelPresets.Get("letters32").Model;
        var big = ModelPresets.Get("adm256").Model;
        const long GiB = 1L << 30;
        Assert.Equal(SamplingBatch.Max, SamplingBatch.For(letters, Precision.Fp32, 16 * GiB));
        Assert.Equal(1, SamplingBatch.For(big, Precision.Fp32, 256L << 20));          // never below one
        int bigBatch = SamplingBatch.For(big, Precision.Fp32, 20 * GiB);
        Assert.InRange(bigBatch, 1, 16);
        Assert.True(SamplingBatch.For(big, Precision.Bf16, 20 * GiB) >= bigBatch);     // half the bytes per value
        // Four times the pixels is at least four times the memory (attention grows with the square of the positions);
        // without attention, activations are linear in the width: twice the channels, exactly twice the bytes.
        Assert.True(SamplingBatch.BytesPerImage(letters.Resized(64), 4) >= 4 * SamplingBatch.BytesPerImage(letters, 4));
        var plain = letters with { AttentionResolutions = [] };
        Assert.Equal(2 * SamplingBatch.BytesPerImage(plain, 4), SamplingBatch.BytesPerImage(plain with { BaseChannels = 64 }, 4));
        Assert.True(SamplingBatch.BytesPerImage(letters, 4) > SamplingBatch.BytesPerImage(plain, 4));
        // The estimate covers at least the skip connections the decoder keeps: letters32 keeps 32·32² + 3·(32·32²)
        // + 64·16² … floats per image; in any case more than the input image itself several times over.
        Assert.True(SamplingBatch.BytesPerImage(letters, 4) > 10 * 4 * 32 * 32);
        Assert.True(SamplingBatch.AvailableMemory() > 0);
    }

    private static int Run(params string[] args) => Noisette.Cli.Cli.Run(args);

    [Fact]
    public void SamplingWithTheAutomaticBatchGivesTheSameImagesAsOneAtATime()
    {
        using var dir = new TempFolder();
        Assert.Equal(0, Run("sample", fixture.Run, "--n", "3", "--steps", "3", "--sampler", "ddim", "--seed", "5", "--out", dir["auto"]));
        Assert.Equal(0, Run("sample", fixture.Run, "--n", "3", "--steps", "3", "--sampler", "ddim", "--seed", "5", "--out", dir["one"], "--batch", "1"));
        var auto = Directory.GetFiles(dir["auto"], "*seed*.png").Order(StringComparer.Ordinal).ToArray();
        var one = Directory.GetFiles(dir["one"], "*seed*.png").Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(3, auto.Length);
        Assert.Equal(auto.Select(Path.GetFileName), one.Select(Path.GetFileName));
        for (int i = 0; i < auto.Length; i++)
            ImageAssert.Alike(ImageAssert.Pixels(one[i]), ImageAssert.Pixels(auto[i]));
        Assert.Equal(2, Run("sample", fixture.Run, "--n", "1", "--out", dir["bad"], "--batch", "0"));
        Assert.Equal(2, Run("sample", fixture.Run, "--n", "1", "--out", dir["bad"], "--threads", "999"));
        Assert.Equal(2, Run("sample", fixture.Run, "--n", "1", "--out", dir["bad"], "--threads", "0"));
        Assert.False(Directory.Exists(dir["bad"]));
    }

    [Fact]
    public void LossScalingSkipsOverflowsHalvesAndGrows()
    {
        using var scope = NewDisposeScope();
        var scaler = new LossScaler(initialScale: 1024, growthInterval: 3);
        var grad = tensor(new float[] { 2048, -512, 0 });
        Assert.True(scaler.Unscale(grad));
        Assert.Equal(new float[] { 2, -0.5f, 0 }, grad.data<float>().ToArray());   // divided by the scale in place
        Assert.Equal(1, scaler.GoodSteps);

        var overflow = tensor(new float[] { 1, float.PositiveInfinity, 3 });
        Assert.False(scaler.Unscale(overflow));                                   // the step must be skipped
        Assert.Equal(512, scaler.Scale);
        Assert.Equal(0, scaler.GoodSteps);
        Assert.False(scaler.Unscale(tensor(new float[] { float.NaN })));
        Assert.Equal(256, scaler.Scale);

        for (int i = 0; i < 3; i++) Assert.True(scaler.Unscale(tensor(new float[] { 1 })));
        Assert.Equal(512, scaler.Scale);                                           // three good steps in a row: doubled
        Assert.Equal(0, scaler.GoodSteps);

        var floor = new LossScaler(initialScale: 1, growthInterval: 100);
        Assert.False(floor.Unscale(tensor(new float[] { float.NegativeInfinity })));
        Assert.Equal(1, floor.Scale);                                              // never below one
        floor.Restore(64, 7);
        Assert.Equal((64.0, 7), (floor.Scale, floor.GoodSteps));
    }
}
