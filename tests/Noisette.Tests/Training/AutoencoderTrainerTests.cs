using Noisette.Data;
using Noisette.IO;
using Noisette.Interop;
using Noisette.Models;
using Noisette.Monitoring;
using Noisette.Pipelines;
using Noisette.Runs;
using Noisette.Training;
using static TorchSharp.torch;

namespace Noisette.Tests;

/// <summary>Autoencoder training on the fixture letters: it learns, it resumes bit for bit, it fine-tunes only the decoder.</summary>
public sealed class AutoencoderTrainerTests
{
    internal static readonly Lazy<ImageDataset> Letters = new(() =>
        ImageDataset.Load(Fixtures.Path("letters", "A"), new DataConfig { ImageSize = 32, Channels = ChannelMode.Gray }));

    internal static SubsetImageSet Train => new(Letters.Value, Letters.Value.TrainIndices, null);
    internal static SubsetImageSet Validation => new(Letters.Value, Letters.Value.ValidationIndices, null);

    /// <summary>A small gray autoencoder (factor 4) and discriminator that train in seconds.</summary>
    internal static AutoencoderTrainingConfig Small(int steps) => new()
    {
        Model = new AutoencoderConfig { InChannels = 1, BaseChannels = 32, ChannelMultipliers = [1, 2, 2], ResBlocksPerLevel = 1, LatentChannels = 4 },
        ImageSize = 32,
        Steps = steps,
        Batch = 8,
        LearningRate = 1e-3,
        WarmupSteps = 10,
        DiscriminatorStart = steps / 2,
        DiscriminatorChannels = 16,
        DiscriminatorLayers = 2,
        CheckpointEvery = steps,
        LogEvery = 5,
        Threads = 1,
        Seed = 5,
    };

    [Fact]
    public void ReconstructionOfHeldOutLettersImprovesByMoreThanFiveDecibels()
    {
        using var dir = new TempFolder("ae-learn");
        using var t = AutoencoderTrainer.Start(Small(160), new RunFolder(dir.Path), Train, Validation, Letters.Value.Fingerprint);
        var before = t.Validate()!.Value;
        var progress = new List<TrainingProgress>();
        Assert.Equal(TrainingOutcome.Completed, t.Train(CancellationToken.None, progress.Add));
        var after = t.Validate()!.Value;
        // The held-out letters (never trained on) come back much closer: measured 5.8 → 14.1 dB.
        Assert.True(after.Psnr > before.Psnr + 5, $"validation PSNR {before.Psnr:F2} dB at step 0, {after.Psnr:F2} dB at step 160");
        Assert.True(after.Ssim > before.Ssim, $"SSIM {before.Ssim:F3} → {after.Ssim:F3}");
        // The best checkpoint is published at the root as an autoencoder folder that reloads to the same network.
        var folder = new AutoencoderFolder(dir.Path);
        using var reloaded = folder.Load(out var info);
        Assert.Equal("trained", info.Origin);
        Assert.Equal(160, info.Step);
        Assert.Equal(32, info.ImageSize);
        Assert.Equal(after.Psnr, info.ValidationPsnr!.Value, 0.01);   // the same weights and pictures (other tests may change the thread count)
        // The discriminator's terms are logged only once it has started.
        var lines = File.ReadAllLines(new RunFolder(dir.Path).MetricsPath).Where(l => l.Contains("\"kl\"")).ToList();
        Assert.Contains("\"d_weight\":null", lines.First());
        Assert.DoesNotContain("\"d_weight\":null", lines.Last());
        Assert.True(File.Exists(new RunFolder(dir.Path).SampleGridPath(160)));
    }

    [Fact]
    public void FineTuningFromAReleasedAutoencoderChangesOnlyTheDecoderAndTheLiveTensorCountStaysFlat()
    {
        using var dir = new TempFolder("ae-finetune");
        using var scope = NewDisposeScope();
        AutoencoderImport.ImportToFolder(Fixtures.Path("stable-diffusion", "vae_tiny.safetensors"), dir["vae"]);
        var request = new AutoencoderTrainingRequest
        {
            DataPath = Fixtures.Path("letters", "A"), OutPath = dir["ft"], InitFrom = dir["vae"], ImageSize = 32, Steps = 30, Batch = 4,
            CheckpointEvery = 30, DiscriminatorStart = 10, Threads = 1,
        };
        var counts = new SortedDictionary<int, long>();
        using (var t = AutoencoderTrainingPipeline.Start(request, _ => { }, _ => { }))
        {
            Assert.True(t.Config.FreezeEncoder);
            Assert.Equal(3, t.Config.Model.InChannels);   // the released autoencoder reads RGB; the gray letters are read as RGB
            t.Train(CancellationToken.None, p => { if (p.CheckpointDir is null) counts[p.Step] = t.LiveTensors; });
        }
        // Between steps 10 and 30 (the discriminator running throughout) the count moves only by the batches in flight.
        foreach (var (step, count) in counts.Where(c => c.Key >= 10))
            Assert.True(Math.Abs(count - counts[10]) <= 6, $"live tensors at step {step}: {count}, at step 10: {counts[10]}");
        using var original = SafeTensors.Load(Path.Combine(dir["vae"], AutoencoderFolder.WeightsFile));
        using var tuned = SafeTensors.Load(Path.Combine(dir["ft"], AutoencoderFolder.WeightsFile));
        int decoderChanged = 0;
        foreach (var (name, tensor) in original.Tensors)
        {
            bool same = tensor.eq(tuned[name]).all().item<bool>();
            if (name.StartsWith("encoder.") || name.StartsWith("quant_conv.")) Assert.True(same, $"{name} changed although the encoder is frozen");
            else if (!same) decoderChanged++;
        }
        Assert.True(decoderChanged > 10, $"only {decoderChanged} decoder tensors changed");
        // The source folder is untouched.
        Assert.Equal(2, Directory.GetFiles(dir["vae"]).Length);
    }

    [Fact]
    public void BadRequestsAreRefusedWithTheReasonAndNoFolderIsMade()
    {
        using var dir = new TempFolder("ae-bad");
        var (code, _, err) = CliCapture.Run("autoencoder", "train", "--data", Fixtures.Path("letters", "A"), "--out", dir["a"], "--factor", "3");
        Assert.Equal(2, code);
        Assert.Contains("--factor must be 2, 4, 8 or 16", err);
        (code, _, err) = CliCapture.Run("autoencoder", "train", "--data", Fixtures.Path("letters", "A"), "--out", dir["b"], "--image-size", "36");
        Assert.Equal(2, code);
        Assert.Contains("multiple of the autoencoder's factor 8", err);
        Assert.False(Directory.Exists(dir["a"]) && Directory.EnumerateFileSystemEntries(dir["a"]).Any());
        (code, _, err) = CliCapture.Run("autoencoder", "resume", dir.Path);
        Assert.Equal(2, code);
        Assert.Contains("not an autoencoder training run", err);
    }
}

/// <summary>
/// Bit-exact resume of an autoencoder run. It runs alone (<see cref="RunsAlone"/>): libtorch's thread count is
/// process-wide, and a neighbouring test changing it between the two trainings would change their rounding.
/// </summary>
[Collection(RunsAlone.Name)]
public sealed class AutoencoderResumeTests
{
    private static SubsetImageSet Train => AutoencoderTrainerTests.Train;
    private static SubsetImageSet Validation => AutoencoderTrainerTests.Validation;
    private static Lazy<ImageDataset> Letters => AutoencoderTrainerTests.Letters;
    private static AutoencoderTrainingConfig Small(int steps) => AutoencoderTrainerTests.Small(steps);

    [Fact]
    public void AnInterruptedAndResumedRunEndsWithTheSameWeightsAsAStraightOne()
    {
        var config = Small(8) with { DiscriminatorStart = 3, CheckpointEvery = 4, LogEvery = 1 };
        using var straight = new TempFolder("ae-straight");
        using var split = new TempFolder("ae-split");
        using (var t = AutoencoderTrainer.Start(config, new RunFolder(straight.Path), Train, Validation, Letters.Value.Fingerprint))
            Assert.Equal(TrainingOutcome.Completed, t.Train(CancellationToken.None));
        Assert.Equal([4L, 8L], new RunFolder(straight.Path).CheckpointSteps());
        using (var cancel = new CancellationTokenSource())
        using (var t = AutoencoderTrainer.Start(config, new RunFolder(split.Path), Train, Validation, Letters.Value.Fingerprint))
            Assert.Equal(TrainingOutcome.Interrupted, t.Train(cancel.Token, p => { if (p.Step == 5) cancel.Cancel(); }));
        using (var t = AutoencoderTrainer.Resume(new RunFolder(split.Path), Train, Validation, Letters.Value.Fingerprint))
        {
            Assert.Equal(5, t.Step);
            Assert.Equal(TrainingOutcome.Completed, t.Train(CancellationToken.None));
        }
        foreach (var file in new[] { AutoencoderTrainer.AutoencoderFile, AutoencoderTrainer.DiscriminatorFile, AutoencoderTrainer.OptimizerFile, AutoencoderTrainer.DiscriminatorOptimizerFile })
            Assert.True(File.ReadAllBytes(Path.Combine(new RunFolder(straight.Path).CheckpointDir(8), file))
                            .SequenceEqual(File.ReadAllBytes(Path.Combine(new RunFolder(split.Path).CheckpointDir(8), file))), $"{file} differs after resuming");
        // A resume on other pictures is refused.
        var e = Assert.Throws<NoisetteInputException>(() => AutoencoderTrainer.Resume(new RunFolder(split.Path), Train, Validation, "other", totalSteps: 20));
        Assert.Contains("differ", e.Message);
    }
}
