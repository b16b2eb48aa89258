using Noisette.Runs;
using Noisette.Training;

namespace Noisette.Tests.Training;

/// <summary>The learning-rate schedule: linear warm-up, then constant or cosine down to a floor.</summary>
public class LearningRateTests
{
    private static readonly TrainingConfig Base = new() { LearningRate = 1e-3, WarmupSteps = 10, Steps = 110, MinLrFraction = 0.1 };

    [Theory]
    [InlineData(0, 1e-4)]      // the first step already moves: lr·1/10
    [InlineData(4, 5e-4)]
    [InlineData(9, 1e-3)]      // the last warm-up step reaches the full rate
    [InlineData(10, 1e-3)]
    [InlineData(60, 1e-3)]
    [InlineData(109, 1e-3)]
    [InlineData(500, 1e-3)]
    public void WarmupThenConstant(int step, double expected) =>
        Assert.Equal(expected, (Base with { LrSchedule = LrSchedule.Constant }).LearningRateAt(step), 12);

    [Theory]
    [InlineData(0, 1e-4)]
    [InlineData(4, 5e-4)]
    [InlineData(9, 1e-3)]
    [InlineData(10, 1e-3)]        // cosine progress 0: the full rate
    [InlineData(60, 5.5e-4)]      // halfway: the mean of the rate and its floor
    [InlineData(110, 1e-4)]       // the end: the floor, 0.1 × lr
    [InlineData(1000, 1e-4)]      // past the end it stays there
    public void WarmupThenCosine(int step, double expected) =>
        Assert.Equal(expected, (Base with { LrSchedule = LrSchedule.Cosine }).LearningRateAt(step), 12);

    [Fact]
    public void CosineFollowsTheFormulaAndOnlyFalls()
    {
        var cfg = Base with { LrSchedule = LrSchedule.Cosine };
        // A quarter of the way: floor + (lr − floor) · (1 + cos(π/4)) / 2.
        Assert.Equal(1e-4 + 9e-4 * (1 + Math.Sqrt(0.5)) / 2, cfg.LearningRateAt(35), 12);
        for (int s = 10; s < 110; s++) Assert.True(cfg.LearningRateAt(s + 1) < cfg.LearningRateAt(s), $"step {s}");
    }

    [Fact]
    public void WithoutWarmupTheFirstStepHasTheFullRate()
    {
        Assert.Equal(1e-3, (Base with { WarmupSteps = 0 }).LearningRateAt(0), 12);
        Assert.Equal(1e-3, (Base with { WarmupSteps = 0, LrSchedule = LrSchedule.Cosine }).LearningRateAt(0), 12);
    }
}
