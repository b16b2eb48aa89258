using Noisette.Bundles;
using Noisette.Diffusion;
using Noisette.Pipelines;
using Noisette.Sampling;
using static Noisette.Tests.PipelineTestData;
using static TorchSharp.torch;

namespace Noisette.Tests;

/// <summary>Inpainting (RePaint): its walk, and the known region kept byte for byte.</summary>
public class InpaintPipelineTests
{
    [Fact]
    public void RePaintWalkGoesDownWithJumpsBackAndEndsClean()
    {
        Assert.Equal(new[] { 3, 2, 1, 0, -1 }, Inpaint.Walk(4, 1, 2));
        var walk = Inpaint.Walk(4, 2, 2);
        Assert.Equal(new[] { 3, 2, 1, 0, 1, 2, 1, 0, -1 }, walk);
        Assert.Throws<NoisetteInputException>(() => Inpaint.Walk(4, 0, 2));
    }

    [Fact]
    public void InpaintingKeepsTheKnownRegion()
    {
        using var model = TestData.RandomTinyModel();
        var denoiser = new Denoiser(model, new GaussianDiffusion(new DiffusionConfig()));
        var input = Picture(1);
        var mask = new byte[32 * 32];
        for (int y = 8; y < 24; y++) for (int x = 8; x < 24; x++) mask[y * 32 + x] = 255;
        var options = new SamplerOptions { Steps = 8 };

        // The loop itself already ends on the known pixels (before any pasting)...
        using (var scope = NewDisposeScope())
        using (inference_mode())
        {
            var gens = Noise.Generators([7]);
            var known = Pixels.FromBytes(input, 1, 32);
            var regenerate = tensor(mask.Select(m => m >= 128 ? 1f : 0f).ToArray()).reshape(1, 1, 32, 32);
            var raw = Pixels.ToBytes(Inpaint.Run(denoiser, new DdpmSampler(), options, known, regenerate, 2, 2, gens))[0];
            for (int i = 0; i < mask.Length; i++)
                if (mask[i] < 128) Assert.InRange(raw[i] - input[i], -1, 1);
            gens[0].Dispose();
        }

        // ...and the pipeline's result is the input, byte for byte, outside the mask; inside it is new.
        var images = Inpaint.Images(denoiser, new DdpmSampler(), options, input, mask, 2, 2, [7, 8], batchSize: 2);
        var again = Inpaint.Images(denoiser, new DdpmSampler(), options, input, mask, 2, 2, [8], batchSize: 1);
        ImageAssert.Alike(images[1], again[0]);
        Assert.Equal(images[1], Inpaint.Images(denoiser, new DdpmSampler(), options, input, mask, 2, 2, [8, 8], batchSize: 2)[1]);
        foreach (var image in images)
        {
            for (int i = 0; i < mask.Length; i++) if (mask[i] < 128) Assert.Equal(input[i], image[i]);
            Assert.Contains(Enumerable.Range(0, mask.Length), i => mask[i] >= 128 && image[i] != input[i]);
        }
    }
}
