using Noisette.Bundles;
using Noisette.Diffusion;
using Noisette.Pipelines;
using Noisette.Sampling;
using static Noisette.Tests.PipelineTestData;

namespace Noisette.Tests;

/// <summary>Image-to-image (SDEdit): strengths 0 and 1, and the sampler's schedule cut at the strength.</summary>
public class EditPipelineTests
{
    [Fact]
    public void EditAtStrengthZeroKeepsTheInputAndAtOneSamplesTheSeed()
    {
        using var model = TestData.RandomTinyModel();
        var denoiser = new Denoiser(model, new GaussianDiffusion(new DiffusionConfig()));
        var input = Picture(2);
        var options = new SamplerOptions { Steps = 6 };
        foreach (var sampler in new ISampler[] { new DpmSolverSampler(), new DdimSampler() })
        {
            Assert.Equal(input, Edit.Images(denoiser, sampler, options, input, 0, [5])[0]);
            var edited = Edit.Images(denoiser, sampler, options, input, 1, [5, 6]);
            var sampled = ImageBatches.Sample(denoiser, sampler, options, [5, 6]);
            Assert.Equal(sampled, edited);
        }
        var half = Edit.Images(denoiser, new DpmSolverSampler(), options, input, 0.5, [5]);
        Assert.Equal(half, Edit.Images(denoiser, new DpmSolverSampler(), options, input, 0.5, [5]));
        Assert.Throws<NoisetteInputException>(() => Edit.Images(denoiser, new DpmSolverSampler(), options, input, 1.5, [5]));
    }

    [Fact]
    public void EditBelowFullStrengthCutsTheSamplersOwnSchedule()
    {
        var d = new GaussianDiffusion(new DiffusionConfig());
        // DPM-Solver++ spaces its steps evenly in log-SNR; an edit at strength 0.5 keeps that spacing below t = 500.
        var schedule = Timesteps.UniformLogSnr(d, 20);
        var edit = Edit.Timesteps(new DpmSolverSampler(), d, 20, 0.5);
        Assert.Equal(schedule.Where(t => t < 500).Append(500), edit);
        Assert.True(edit.Length > 10, $"{edit.Length} steps");                     // log-SNR spacing is dense at low noise
        Assert.Equal(schedule, Edit.Timesteps(new DpmSolverSampler(), d, 20, 1));
        Assert.Equal(Timesteps.Evenly(1000, 20).Where(t => t < 300).Append(300), Edit.Timesteps(new DdimSampler(), d, 20, 0.3));
        Assert.Equal(new[] { 0 }, Edit.Timesteps(new DdimSampler(), d, 20, 0));
    }
}
