using Noisette.IO;
using Noisette.Models;
using Noisette.Runs;
using Noisette.Training;

namespace Noisette.Tests.Training;

/// <summary>
/// Gradient accumulation is a memory trade only: k micro-batches of B images make the same update as one batch of
/// k·B, because a step's timesteps and noise are drawn for the whole effective batch, the data order is by sample
/// position, and each micro-batch's loss is divided by k. Without dropout the weights agree to rounding.
/// Alone: the comparison is to rounding, at libtorch's process-wide thread count, which a test beside it may set.
/// </summary>
[Collection(RunsAlone.Name)]
public class GradientAccumulationTests
{
    private static (float[] Weights, double Loss) Train(int batch, int accumulation)
    {
        using var dir = new TempFolder();
        var cfg = TestData.TinyConfig(2, 1000) with
        {
            Batch = batch,
            GradAccumulation = accumulation,
            Model = ModelPresets.Get("tiny").Model with { Dropout = 0 },
        };
        using var t = Trainer.Start(cfg, new RunFolder(dir.Path), TestData.Bars(24), TestData.Info());
        double loss = double.NaN;
        t.Train(CancellationToken.None, p => { if (p.CheckpointDir is null && p.Step == 2) loss = p.Loss; });
        return (ModelWeights.Named(t.Model).SelectMany(p => p.Item2.data<float>().ToArray()).ToArray(), loss);
    }

    private static double MaxDifference(float[] a, float[] b) => a.Zip(b, (x, y) => Math.Abs((double)x - y)).Max();

    [Fact]
    public void TwoMicroBatchesOfFourMakeTheUpdateOfOneBatchOfEight()
    {
        var (eight, lossEight) = Train(8, 1);
        var (fourTimesTwo, lossAccumulated) = Train(4, 2);
        Assert.True(MaxDifference(eight, fourTimesTwo) < 1e-6, $"weights differ by {MaxDifference(eight, fourTimesTwo)}");
        Assert.Equal(lossEight, lossAccumulated, 1e-6);

        // The tolerance is meaningful: half the images (one batch of four) moves the weights far more than that.
        var (four, _) = Train(4, 1);
        Assert.True(MaxDifference(eight, four) > 1e-4, $"a batch of four differs by only {MaxDifference(eight, four)}");
    }
}
