using Noisette.Bundles;
using Noisette.Data;
using Noisette.Interop;
using Noisette.Models;
using Noisette.Pipelines;
using Noisette.Runs;
using Noisette.Sampling;
using Noisette.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Noisette.Tests;

/// <summary>
/// A U-Net trained on an autoencoder's latents: the scale measured and recorded, training that resumes bit for bit,
/// and a run whose pictures come out of the autoencoder's decoder in sampling, editing and inpainting.
/// </summary>
[Collection("RunsAlone")]
public sealed class LatentTrainingTests
{
    /// <summary>The fixture letters in colour at 32 px (the tiny SD autoencoder takes RGB): 8×8×4 latents at its factor 4.</summary>
    private static readonly Lazy<ImageDataset> Letters = new(() =>
        ImageDataset.Load(Fixtures.Path("letters", "A"), new DataConfig { ImageSize = 32, Channels = ChannelMode.Rgb }));

    private static SubsetImageSet Train => new(Letters.Value, Letters.Value.TrainIndices, null);
    private static SubsetImageSet Validation => new(Letters.Value, Letters.Value.ValidationIndices, null);

    /// <summary>The tiny Stable Diffusion autoencoder of the fixtures as an autoencoder folder (it carries no scale).</summary>
    private static LatentSpace ImportedAutoencoder(TempFolder dir)
    {
        AutoencoderImport.ImportToFolder(Fixtures.Path("stable-diffusion", "vae_tiny.safetensors"), dir["vae"]);
        return LatentSpace.Of(new AutoencoderFolder(dir["vae"]));
    }

    /// <summary>The tiny preset's U-Net on the autoencoder's 8×8×4 latents.</summary>
    private static TrainingConfig LatentConfig(LatentSpace space, int steps, int every) => TestData.TinyConfig(steps, every) with
    {
        Autoencoder = space,
        Model = TestData.TinyConfig(steps, every).Model with { InChannels = space.LatentChannels, ImageSize = 32 / space.Factor },
        Data = new DataSettings { FlipAugment = true },
    };

    private static RunInfo Info => TestData.Info(Letters.Value.Fingerprint);

    [Fact]
    public void ALatentRunMeasuresItsScaleCachesItsLatentsAndResumesBitForBit()
    {
        using var dir = new TempFolder("latent-resume");
        var space = ImportedAutoencoder(dir);
        Assert.Null(space.Scale);
        var config = LatentConfig(space, 6, 3);

        Dictionary<string, float[]> straight;
        double scale;
        using (var t = Trainer.Start(config, new RunFolder(dir["a"]), Train, Info, validation: Validation))
        {
            // The scale is 1/std of one draw from every cached posterior, and the run records it.
            scale = t.Config.Autoencoder!.Scale!.Value;
            Assert.Equal(LatentSpace.ScaleMeasured, t.Config.Autoencoder.ScaleSource);
            Assert.Equal(scale, new RunFolder(dir["a"]).ReadConfig().Training.Autoencoder!.Scale!.Value);
            using (var folderAe = new AutoencoderFolder(dir["vae"]).Load(out _))
            using (var cache = LatentCache.LoadOrBuild(dir["a/latents"], LatentCache.KeyOf(Letters.Value.Fingerprint, space.Sha256, true, 32), folderAe, Train, true))
            {
                Assert.False(cache.Built);   // the run's own cache, read back
                Assert.Equal(Train.Count, cache.Count);
                Assert.Equal(1 / scale, (1 / cache.MeasuredScale()), 1e-9);
            }
            Assert.Equal(TrainingOutcome.Completed, t.Train(CancellationToken.None));
            straight = TrainerTests.Snapshot(t);
        }
        // The validation loss was measured on latents, and is a number.
        var validation = Checkpoint.Verify(new RunFolder(dir["a"]).CheckpointDir(6)).ValidationLoss;
        Assert.True(validation is > 0 and < 10, $"validation loss {validation}");

        // The same run stopped at step 3 and resumed: the same weights, optimizer state and averages, bit for bit.
        using (var t = Trainer.Start(config, new RunFolder(dir["b"]), Train, Info, validation: Validation))
        {
            using var cts = new CancellationTokenSource();
            t.Train(cts.Token, p => { if (p.CheckpointDir is not null && p.Step == 3) cts.Cancel(); });
            Assert.Equal(3, t.Step);
        }
        var messages = new List<string>();
        using (var t = Trainer.Resume(new RunFolder(dir["b"]), Train, Letters.Value.Fingerprint, validation: Validation, progress: messages.Add))
        {
            Assert.DoesNotContain(messages, m => m.StartsWith("encoded"));   // the cache was read, not rebuilt
            Assert.Equal(scale, t.Config.Autoencoder!.Scale!.Value);
            Assert.Equal(TrainingOutcome.Completed, t.Train(CancellationToken.None));
            var resumed = TrainerTests.Snapshot(t);
            foreach (var (name, values) in straight)
                Assert.True(values.AsSpan().SequenceEqual(resumed[name]), $"{name} differs after resume");
        }
    }

    [Fact]
    public void EachStepDrawsItsLatentsFromThePosteriorsTimesTheScale()
    {
        // z = (μ + exp(½ log σ²)·ε)·scale, ε from the step's generator: a closed form at σ = 2, scale 0.5.
        using var scope = NewDisposeScope();
        var mean = arange(2 * 4 * 3 * 3, dtype: float32).reshape(2, 4, 3, 3) / 10;
        var logVariance = full([2, 4, 3, 3], Math.Log(4), dtype: float32);
        using var a = new Generator(7);
        using var b = new Generator(7);
        var z = LatentTrainingData.Draw(mean, logVariance, 0.5, a);
        var expected = (mean + 2 * randn([2, 4, 3, 3], generator: b)) * 0.5;
        Assert.True((z - expected).abs().max().item<float>() < 1e-6);
        // Another step's generator, another draw around the same means.
        using var c = new Generator(8);
        Assert.True((LatentTrainingData.Draw(mean, logVariance, 0.5, c) - z).abs().max().item<float>() > 0.1);
    }

    [Fact]
    public void TheLiveTensorCountStaysFlatOverLatentStepsAndCheckpoints()
    {
        using var dir = new TempFolder("latent-tensors");
        var space = ImportedAutoencoder(dir);
        // Checkpoints every 20 steps validate on latents, sample and decode a grid; counted between them (steps 10, 30, …).
        using var t = Trainer.Start(LatentConfig(space, 120, 20) with { Batch = 2, LogEvery = 10, SampleCount = 4 },
                                    new RunFolder(dir["run"]), Train, Info, validation: Validation);
        var counts = new SortedDictionary<int, long>();
        t.Train(CancellationToken.None, p => { if (p.CheckpointDir is null && p.Step % 20 == 10) counts[p.Step] = t.LiveTensors; });
        Assert.Equal(6, counts.Count);
        // A batch here is three tensors (means, log-variances, no labels: two), so the batches in flight move the sum by
        // a dozen at most; one tensor left behind per step would add 80 between step 30 and step 110.
        const int InFlight = 12;
        long reference = counts[30];
        foreach (var (step, count) in counts.Where(c => c.Key >= 30))
            Assert.True(Math.Abs(count - reference) <= InFlight,
                        $"live tensors at step {step}: {count}, at step 30: {reference} (all: {string.Join(", ", counts.Values)})");
    }

    [Fact]
    public void AClassConditionalLatentRunTrainsOnLabelledLatentsAndSamplesEachClassWithGuidance()
    {
        using var dir = new TempFolder("latent-classes");
        var space = ImportedAutoencoder(dir);
        var data = Letters.Value;
        var labels = Enumerable.Range(0, data.Count).Select(i => i % 2).ToArray();   // two made-up classes
        var train = new SubsetImageSet(data, data.TrainIndices, labels);
        var config = LatentConfig(space, 3, 3) with
        {
            ClassNames = ["even", "odd"],
            Model = LatentConfig(space, 3, 3).Model with { NumClasses = 2, NullClass = true },
        };
        using (var t = Trainer.Start(config, new RunFolder(dir["run"]), train, Info))
            Assert.Equal(TrainingOutcome.Completed, t.Train(CancellationToken.None));
        using var model = LoadedModel.Load(dir["run"]);
        Assert.Equal(RunComponents.Kl, model.Config.Components!.Autoencoder);
        Assert.Equal(RunComponents.Classes, model.Config.Components.Conditioner);
        var bundle = model.Bundle;
        var options = new SamplerOptions { Steps = 4 };
        var even = ImageBatches.Sample(bundle.Denoiser("even", 3.0), Samplers.Get("ddim"), options, [7], autoencoder: bundle.Autoencoder)[0];
        var odd = ImageBatches.Sample(bundle.Denoiser("odd", 3.0), Samplers.Get("ddim"), options, [7], autoencoder: bundle.Autoencoder)[0];
        Assert.Equal(3 * 32 * 32, even.Length);
        Assert.NotEqual(even, odd);   // the class reaches the network through guidance, and the decoder shows it
    }

    [Fact]
    public void AChangedOrMissingAutoencoderIsRefusedWithWhatToDo()
    {
        using var dir = new TempFolder("latent-changed");
        var space = ImportedAutoencoder(dir);
        using (var t = Trainer.Start(LatentConfig(space, 2, 2), new RunFolder(dir["run"]), Train, Info))
            t.Train(CancellationToken.None);
        using (LoadedModel.Load(dir["run"])) { }   // loads while the autoencoder is the same

        // One byte of the weights changed: the hash no longer matches.
        var weights = new AutoencoderFolder(dir["vae"]).WeightsPath;
        var bytes = File.ReadAllBytes(weights);
        bytes[^1] ^= 1;
        File.WriteAllBytes(weights, bytes);
        var changed = Assert.Throws<NoisetteInputException>(() => LoadedModel.Load(dir["run"]));
        Assert.Contains("has changed since the run began", changed.Message);
        Assert.Throws<NoisetteInputException>(() => Trainer.Resume(new RunFolder(dir["run"]), Train, Letters.Value.Fingerprint, totalSteps: 4));

        Directory.Delete(dir["vae"], recursive: true);
        var missing = Assert.Throws<NoisetteInputException>(() => LoadedModel.Load(dir["run"]));
        Assert.Contains("is missing", missing.Message);
        Assert.Contains("put the autoencoder folder back", missing.Message);
    }

    [Fact]
    public void ALatentRunSamplesEditsAndInpaintsThroughItsDecoder()
    {
        using var dir = new TempFolder("latent-generate");
        var space = ImportedAutoencoder(dir);
        using (var t = Trainer.Start(LatentConfig(space, 4, 4) with { SampleCount = 4 }, new RunFolder(dir["run"]), Train, Info))
            t.Train(CancellationToken.None);
        // The checkpoint grid is decoded: 4 pictures of 32 px in colour, not 8 px latents.
        var grid = ImageDecoder.Decode(new RunFolder(dir["run"]).SampleGridPath(4));
        Assert.True(grid.Width >= 2 * 32 && grid.Height >= 2 * 32, $"grid {grid.Width}×{grid.Height}");

        using var model = LoadedModel.Load(dir["run"]);
        var bundle = model.Bundle;
        Assert.Equal(new SampleShape(4, 8), bundle.SampleShape);
        Assert.Equal(new SampleShape(3, 32), bundle.ImageShape);
        var ae = Assert.IsType<LatentAutoencoder>(bundle.Autoencoder);
        Assert.Equal(model.Config.Training.Autoencoder!.Scale!.Value, ae.Scale);

        // Latents are not bounded as pixels are: the denoiser leaves its predicted x₀ unclamped (a pixel model's is
        // clamped to [−1, 1]; clamping latents turned samples and edits into hollow, broken strokes).
        Assert.False(bundle.ClipDenoised);
        using (inference_mode())
        {
            var x = full([1, 4, 8, 8], 3.0f, device: model.Device);
            Assert.True(bundle.Denoiser().Predict(x, 0).X0.abs().max().item<float>() > 1.5);
        }

        var ddim = Samplers.Get("ddim");
        var options = new SamplerOptions { Steps = 5 };
        var samples = ImageBatches.Sample(bundle.Denoiser(), ddim, options, [0, 1], autoencoder: ae);
        Assert.All(samples, s => Assert.Equal(3 * 32 * 32, s.Length));
        // Sampling is the decoder applied to the sampler's latents: the same seed, decoded by hand, gives the same bytes.
        using (inference_mode())
        {
            using var g = new Generator(0);
            var noise = Noise.Normal([g], 4, 8, model.Device);
            var z = ddim.Sample(bundle.Denoiser(), noise, options, [g]);
            Assert.Equal(samples[0], Pixels.ToBytes(ae.Decode(z))[0]);
        }

        var input = model.LoadImage(Fixtures.Path("letters", "A", Directory.GetFiles(Fixtures.Path("letters", "A"))
            .Select(Path.GetFileName).Order().First()!));
        // Editing at strength 0 returns the input; at 0.5 it changes it, through encode → noise → denoise → decode.
        var edited = Edit.Images(bundle.Denoiser(), ddim, options, input, 0.5, [3], autoencoder: ae);
        Assert.Equal(input.Length, edited[0].Length);
        Assert.NotEqual(input, edited[0]);

        // Inpainting the right half: the left half is the input's, byte for byte, though the autoencoder's own round
        // trip of this picture is not exact (measured here), and the right half is regenerated.
        var mask = new byte[32 * 32];
        for (int y = 0; y < 32; y++) for (int x = 16; x < 32; x++) mask[y * 32 + x] = 255;
        var inpainted = Inpaint.Images(bundle.Denoiser(), ddim, options, input, mask, 1, 1, [5], autoencoder: ae)[0];
        byte[] roundTrip;
        using (inference_mode())
            roundTrip = Pixels.ToBytes(ae.Decode(ae.Encode(Pixels.FromBytes(input, 3, 32, model.Device))))[0];
        int knownChanged = 0, roundTripChanged = 0, regenerated = 0;
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < 32 * 32; i++)
            {
                int k = c * 1024 + i;
                if (mask[i] < 128) { knownChanged += inpainted[k] != input[k] ? 1 : 0; roundTripChanged += roundTrip[k] != input[k] ? 1 : 0; }
                else regenerated += inpainted[k] != input[k] ? 1 : 0;
            }
        Assert.Equal(0, knownChanged);
        Assert.True(roundTripChanged > 100, $"the autoencoder's round trip changed only {roundTripChanged} known values");
        Assert.True(regenerated > 100, $"only {regenerated} values of the regenerated half differ from the input");
    }
}
