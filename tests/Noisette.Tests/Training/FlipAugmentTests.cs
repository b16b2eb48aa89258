using Noisette.Data;
using Noisette.Runs;
using Noisette.Training;

namespace Noisette.Tests.Training;

/// <summary>Horizontal-flip augmentation: off by default (letters are not symmetric), and exact when on.</summary>
public class FlipAugmentTests
{
    private const int Size = 8, Count = 16;

    /// <summary>Gray images that differ from each other and from their own mirror: image i has a ramp and a mark at x = i % 6.</summary>
    private static InMemoryImageSet Images()
    {
        var px = new byte[Count * Size * Size];
        for (int i = 0; i < Count; i++)
            for (int y = 0; y < Size; y++)
                for (int x = 0; x < Size; x++)
                    px[(i * Size + y) * Size + x] = (byte)(y == 0 ? (x == i % 6 ? 255 : 0) : y == 1 ? i * 10 : x * 30 + y);
        return new InMemoryImageSet(px, Count, 1, Size);
    }

    /// <summary>
    /// How many of the samples in <paramref name="batches"/> batches of a loader with <paramref name="flip"/> are
    /// mirrored, comparing each with the same position of a loader that never flips: every sample must be that one
    /// or its exact mirror, bit for bit. The never-flipping loader's samples must be the images themselves.
    /// </summary>
    private static (int Flipped, int Total) CountFlips(bool flip, int batches)
    {
        var images = Images();
        using var plain = new BatchLoader(images, seed: 3, batch: 8, flip: false, startPosition: 0);
        using var loader = new BatchLoader(images, seed: 3, batch: 8, flip, startPosition: 0);
        int flipped = 0, total = 0;
        for (int b = 0; b < batches; b++)
        {
            using var reference = plain.Build(b * 8L);
            using var batch = loader.Build(b * 8L);
            var straight = reference.Images.data<float>().ToArray();
            var values = batch.Images.data<float>().ToArray();
            for (int s = 0; s < 8; s++, total++)
            {
                var r = straight.AsSpan(s * Size * Size, Size * Size).ToArray();
                var v = values.AsSpan(s * Size * Size, Size * Size).ToArray();
                Assert.True(Enumerable.Range(0, Count).Any(i => IsImage(images, i, r)), $"sample {s} of batch {b} is not one of the images");
                if (v.SequenceEqual(r)) continue;
                Assert.True(v.SequenceEqual(Mirror(r)), $"sample {s} of batch {b} is neither the image nor its exact mirror");
                flipped++;
            }
        }
        return (flipped, total);
    }

    private static float[] Mirror(float[] image)
    {
        var m = new float[image.Length];
        for (int y = 0; y < Size; y++)
            for (int x = 0; x < Size; x++)
                m[y * Size + x] = image[y * Size + Size - 1 - x];
        return m;
    }

    /// <summary>True when <paramref name="values"/> are image i's pixels, unmirrored, scaled to [−1, 1].</summary>
    private static bool IsImage(InMemoryImageSet set, int i, float[] values)
    {
        var bytes = new byte[Size * Size];
        set.CopyImage(i, bytes);
        return Enumerable.Range(0, bytes.Length).All(j => Math.Abs(values[j] - (bytes[j] / 127.5 - 1.0)) < 1e-6);
    }

    [Fact]
    public void OffByDefault()
    {
        Assert.False(new DataConfig().FlipAugment);
        Assert.False(TrainingConfig.FromPreset("tiny").Data.FlipAugment);
        Assert.False(TrainingConfig.FromPreset("letters32").Data.FlipAugment);
    }

    [Fact]
    public void OffNoSampleIsEverFlipped()
    {
        var (flipped, total) = CountFlips(new DataConfig().FlipAugment, batches: 64);
        Assert.Equal(512, total);
        Assert.Equal(0, flipped);
    }

    [Fact]
    public void OnAboutHalfAreExactMirrors()
    {
        var (flipped, total) = CountFlips(flip: true, batches: 64);
        Assert.InRange(flipped, total * 0.4, total * 0.6);
    }
}
