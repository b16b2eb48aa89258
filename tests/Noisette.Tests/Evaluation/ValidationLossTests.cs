using Noisette.Data;
using Noisette.Evaluation;
using Noisette.Models;

namespace Noisette.Tests.Evaluation;

public class ValidationLossTests
{
    /// <summary>26 classes of 25 images, in class order as a folder of A/…, B/…, … Z/… arrives.</summary>
    private static InMemoryImageSet ManyClasses(int classes = 26, int perClass = 25, int size = 16)
    {
        int count = classes * perClass;
        var pixels = new byte[count * size * size];
        new Random(5).NextBytes(pixels);
        var labels = Enumerable.Range(0, count).Select(i => i / perClass).ToArray();
        return new InMemoryImageSet(pixels, count, 1, size, labels);
    }

    [Fact]
    public void TheSubsetTakesEveryClassInTurnAndIsDeterministic()
    {
        var images = ManyClasses();
        var chosen = ValidationLoss.Select(images, ValidationLoss.MaxImages);
        Assert.Equal(ValidationLoss.MaxImages, chosen.Count);
        Assert.Equal(chosen.Count, chosen.Distinct().Count());
        var perClass = chosen.GroupBy(images.LabelOf).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(26, perClass.Count);
        Assert.InRange(perClass.Values.Max() - perClass.Values.Min(), 0, 1);
        Assert.Equal(chosen, ValidationLoss.Select(images, ValidationLoss.MaxImages));
        // An unlabelled set keeps the first images, as before.
        var plain = new InMemoryImageSet(new byte[600 * 4], 600, 1, 2);
        Assert.Equal(Enumerable.Range(0, ValidationLoss.MaxImages), ValidationLoss.Select(plain, ValidationLoss.MaxImages));
    }

    [Fact]
    public void EveryClassOfAManyClassSetGetsAFiniteLoss()
    {
        var images = ManyClasses();
        Assert.True(images.Count > ValidationLoss.MaxImages);
        TorchSharp.torch.random.manual_seed(2);
        using var model = new UNet(ModelPresets.Get("tiny").Model.Resized(16) with { NumClasses = 26, NullClass = true });
        var diffusion = new Diffusion.GaussianDiffusion(new Diffusion.DiffusionConfig());
        var result = ValidationLoss.Compute(model, diffusion, images)!;
        Assert.Equal(ValidationLoss.MaxImages, result.Images);
        Assert.Equal(26, result.ByClass!.Length);
        Assert.All(result.ByClass, v => Assert.True(double.IsFinite(v) && v > 0, string.Join(", ", result.ByClass)));
    }
}
