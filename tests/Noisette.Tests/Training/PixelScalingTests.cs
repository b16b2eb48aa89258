using Noisette.Data;
using Noisette.Training;

namespace Noisette.Tests.Training;

/// <summary>The batches hold pixels scaled from uint8 [0, 255] to [−1, 1]: v / 127.5 − 1.</summary>
public class PixelScalingTests
{
    [Fact]
    public void ZeroIsMinusOneAndFullIsPlusOne()
    {
        byte[] levels = [0, 255, 128, 127, 1, 254, 64, 200];
        const int size = 4;
        // Two RGB images whose pixels run through the levels, so every channel sees each of them.
        var px = new byte[2 * 3 * size * size];
        for (int i = 0; i < px.Length; i++) px[i] = levels[i % levels.Length];
        var set = new InMemoryImageSet(px, 2, 3, size);
        using var loader = new BatchLoader(set, seed: 0, batch: 2, flip: false, startPosition: 0);
        using var batch = loader.Build(0);
        Assert.Equal(new long[] { 2, 3, size, size }, batch.Images.shape);
        var values = batch.Images.data<float>().ToArray();
        Assert.Equal(-1f, values.Min());
        Assert.Equal(1f, values.Max());

        // Each sample is one of the two images, channel planes in order: compare value by value.
        int per = 3 * size * size;
        for (int s = 0; s < 2; s++)
        {
            var sample = values.AsSpan(s * per, per).ToArray();
            bool matches = Enumerable.Range(0, 2).Any(img =>
                Enumerable.Range(0, per).All(j => Math.Abs(sample[j] - (px[img * per + j] / 127.5 - 1)) < 1e-6));
            Assert.True(matches, $"sample {s} is not an image scaled by v / 127.5 - 1");
        }
    }
}
