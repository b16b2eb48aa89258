using Noisette.Data;
using Noisette.IO;
using Noisette.Runs;
using Noisette.Training;
using static TorchSharp.torch;

namespace Noisette.Tests;

/// <summary>Small synthetic data and temp folders for tests.</summary>
internal static class TestData
{
    /// <summary>Gray 32 px images of a dark bar at a varying position: simple, learnable structure.</summary>
    public static InMemoryImageSet Bars(int count, int size = 32, int seed = 0)
    {
        var rng = new Random(seed);
        var px = new byte[count * size * size];
        for (int i = 0; i < count; i++)
        {
            int x0 = rng.Next(4, size - 12);
            for (int y = 0; y < size; y++)
                for (int x = 0; x < size; x++)
                    px[i * size * size + y * size + x] = (byte)(x >= x0 && x < x0 + 8 && y >= 6 && y < size - 6 ? 0 : 255);
        }
        return new InMemoryImageSet(px, count, 1, size);
    }

    /// <summary>A fast configuration of the tiny model for tests.</summary>
    public static TrainingConfig TinyConfig(int steps, int checkpointEvery) => TrainingConfig.FromPreset("tiny") with
    {
        Steps = steps,
        Batch = 4,
        CheckpointEvery = checkpointEvery,
        LogEvery = 1,
        SampleCount = 0,
        DistanceSamples = 0,
        WarmupSteps = 2,
        LearningRate = 1e-3,
        Threads = 1,
        Seed = 11,
        Model = Models.ModelPresets.Get("tiny").Model with { Dropout = 0.1 },
    };

    /// <summary>The tiny preset's U-Net with small random weights everywhere (seed 3): the zero-initialised output layers would make every prediction 0.</summary>
    public static Models.UNet RandomTinyModel()
    {
        random.manual_seed(3);
        var model = new Models.UNet(Models.ModelPresets.Get("tiny").Model);
        using (no_grad())
            foreach (var p in model.parameters()) p.add_(randn_like(p) * 0.02);
        return model;
    }

    public static RunInfo Info(string fingerprint = "test") => new() { DataPath = "/nonexistent", DatasetFingerprint = fingerprint };
}
