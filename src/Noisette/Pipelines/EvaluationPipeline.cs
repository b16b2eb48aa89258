using Noisette.Bundles;
using Noisette.IO;
using Noisette.Data;
using Noisette.Evaluation;
using Noisette.Runs;
using Noisette.Sampling;

namespace Noisette.Pipelines;

/// <summary>How samples for FID/KID and the copy check are drawn: image i from seed + i.</summary>
public sealed record EvalSampling
{
    public int Count { get; init; } = 1000;
    public long Seed { get; init; } = 0;
    public string Sampler { get; init; } = "ddim";
    /// <summary>0 = the sampler's default (50 for DDIM).</summary>
    public int Steps { get; init; } = 0;
    public int BatchSize { get; init; } = 16;

    /// <summary>These as generation settings: checked by <see cref="GenerationSettings.Validate"/> as every generation's are.</summary>
    public GenerationSettings Settings => new() { Count = Count, Seed = Seed, Sampler = Sampler, Steps = Steps, BatchSize = BatchSize };
}

/// <summary>FID and KID of a checkpoint's samples against the run's real images.</summary>
public sealed record SampleQualityReport
{
    public double Fid { get; init; }
    public double Kid { get; init; }
    public double KidStandardDeviation { get; init; }
    public int KidSubsets { get; init; }
    public int KidSubsetSize { get; init; }
    public int Samples { get; init; }
    public int RealImages { get; init; }
    public int FeatureDimensions { get; init; }
    public string FeatureNetwork { get; init; } = "";
    public string Sampler { get; init; } = "";
    public int SamplerSteps { get; init; }
}

/// <summary>What `noisette eval` found for one checkpoint.</summary>
public sealed record EvalReport
{
    public string Run { get; init; } = "";
    public long Step { get; init; }
    public string Weights { get; init; } = "ema";
    public LikelihoodResult? Likelihood { get; init; }
    public SampleQualityReport? SampleQuality { get; init; }
}

/// <summary>
/// Evaluation of a trained checkpoint: the likelihood bound on the validation split, FID/KID of its samples, and
/// the copy check of its samples against the training split. Shared by the CLI and the studio.
/// </summary>
public static class EvaluationPipeline
{
    public const string EvalFile = Checkpoint.EvalFile;

    /// <summary>
    /// Stores an evaluation in the checkpoint's folder (CHECKPOINT/eval.json), merged with earlier ones so that a
    /// likelihood and a FID measured at different times both stay. <c>noisette status</c> reports them. The new
    /// numbers also go to the run's TensorBoard events as scalars at the checkpoint's step (eval/bits_per_dim,
    /// eval/fid, eval/kid), in an event file of their own beside training's.
    /// </summary>
    public static void Record(LoadedModel model, EvalReport report)
    {
        WriteTensorBoard(model.Run.TensorBoardDir, report);
        var path = Path.Combine(model.CheckpointDir, EvalFile);
        var previous = ReadRecorded(model.CheckpointDir);
        var merged = report with
        {
            Likelihood = report.Likelihood ?? previous?.Likelihood,
            SampleQuality = report.SampleQuality ?? previous?.SampleQuality,
        };
        IO.Json.Write(path, merged);
    }

    /// <summary>The scalars of an evaluation, at its checkpoint's step, in a new event file in <paramref name="directory"/>.</summary>
    public static void WriteTensorBoard(string directory, EvalReport report)
    {
        if (report.Likelihood is null && report.SampleQuality is null) return;
        using var writer = new Monitoring.TensorBoardWriter(directory);
        if (report.Likelihood is { } l) writer.AddScalar("eval/bits_per_dim", l.BitsPerDim, report.Step);
        if (report.SampleQuality is { } q)
        {
            writer.AddScalar("eval/fid", q.Fid, report.Step);
            writer.AddScalar("eval/kid", q.Kid, report.Step);
        }
    }

    /// <summary>The evaluation stored with a checkpoint, or null.</summary>
    public static EvalReport? ReadRecorded(string checkpointDir)
    {
        var path = Path.Combine(checkpointDir, EvalFile);
        if (!File.Exists(path)) return null;
        try { return IO.Json.Read<EvalReport>(path); }
        catch (NoisetteInputException) { return null; }
    }

    /// <summary>
    /// Loads the run's images with the run's data settings (from <paramref name="dataOverride"/> when the folder has
    /// moved) and warns when they are not the images the run was trained on, since the split would differ.
    /// </summary>
    public static ImageDataset LoadRunData(LoadedModel model, string? dataOverride, Action<string> info, Action<string> warn)
    {
        var folder = dataOverride ?? model.Config.Run.DataPath;
        if (string.IsNullOrEmpty(folder)) throw new NoisetteInputException($"run {model.Run.Root} does not record its data folder; pass --data");
        var ds = TrainingPipeline.LoadData(folder, model.Config.Training.Pictures, info, warn);
        var recorded = model.Config.Run.DatasetFingerprint;
        if (!string.IsNullOrEmpty(recorded) && recorded != ds.Fingerprint)
            warn($"the images in {folder} are not the ones this run was trained on (fingerprint differs); the train/validation split may not match training");
        var shape = model.Bundle.ImageShape;
        if (ds.Channels != shape.Channels || ds.ImageSize != shape.Size)
            throw new NoisetteInputException(
                $"the images are {ds.Channels} channel(s) at {ds.ImageSize} px but the model takes {shape.Channels} at {shape.Size} px");
        return ds;
    }

    public static LikelihoodResult Likelihood(LoadedModel model, ImageDataset data, LikelihoodOptions options, Action<int, int>? progress = null)
    {
        if (model.Config.Training.IsLatent)
            throw new NoisetteInputException("this run learned an autoencoder's latents: a likelihood of its latents is no likelihood of the pictures " +
                                             "(the autoencoder's own is missing from it), so it is not measured; compare latent runs by their validation loss " +
                                             "and sample quality (FID) instead");
        if (data.ValidationIndices.Length == 0)
            throw new NoisetteInputException("the run has no validation images (its validation fraction is 0 or the folder is tiny), so the likelihood cannot be measured on held-out data");
        return Evaluation.Likelihood.Evaluate(model.Bundle.Denoiser(), new SubsetImageSet(data, data.ValidationIndices), options, progress);
    }

    /// <summary>Generates <see cref="EvalSampling.Count"/> uint8 CHW samples.</summary>
    public static List<byte[]> Samples(LoadedModel model, EvalSampling sampling, Action<int, int>? progress = null)
    {
        var settings = sampling.Settings;
        var sampler = settings.Validate();
        var bundle = model.Bundle;
        return ImageBatches.Sample(bundle.Denoiser(), sampler, settings.SamplerOptions, settings.ResolvedSeeds, settings.BatchSize, progress,
                                   autoencoder: bundle.Autoencoder);
    }

    /// <summary>FID and KID between generated samples and all of the run's real images (training and validation).</summary>
    public static SampleQualityReport SampleQuality(LoadedModel model, ImageDataset data, FeatureNetwork network, EvalSampling sampling,
                                                    Action<string>? stage = null, Action<int, int>? progress = null)
    {
        if (data.Count < 2) throw new NoisetteInputException("FID/KID need at least 2 real images");
        if (sampling.Count < 2) throw new NoisetteInputException("FID/KID need at least 2 samples");
        stage?.Invoke($"generating {sampling.Count} samples with {sampling.Sampler}");
        var samples = Samples(model, sampling, progress);
        stage?.Invoke($"computing features of {samples.Count} samples and {data.Count} real images with {Path.GetFileName(network.Path)}");
        return Compare(samples, new SubsetImageSet(data, Enumerable.Range(0, data.Count).ToArray()), network, sampling);
    }

    /// <summary>FID and KID between given samples and a set of real images.</summary>
    public static SampleQualityReport Compare(IReadOnlyList<byte[]> samples, IImageSet real, FeatureNetwork network, EvalSampling sampling)
    {
        using var fake = network.Features(samples, real.Channels, real.ImageSize);
        using var truth = network.Features(real);
        var kid = Kid.Compute(fake, truth, seed: sampling.Seed);
        return new SampleQualityReport
        {
            Fid = Fid.Compute(fake, truth),
            Kid = kid.Mean,
            KidStandardDeviation = kid.StandardDeviation,
            KidSubsets = kid.Subsets,
            KidSubsetSize = kid.SubsetSize,
            Samples = samples.Count,
            RealImages = real.Count,
            FeatureDimensions = (int)fake.shape[1],
            FeatureNetwork = network.Path,
            Sampler = sampling.Sampler,
            SamplerSteps = sampling.Steps,
        };
    }

    /// <summary>The copy check of generated samples against the training split; writes the HTML gallery when asked.</summary>
    public static CopyCheckResult CopyCheck(LoadedModel model, ImageDataset data, EvalSampling sampling, string? galleryPath,
                                            Action<int, int>? progress = null)
    {
        if (data.TrainIndices.Length == 0) throw new NoisetteInputException("the run has no training images to compare with");
        var samples = Samples(model, sampling, progress);
        var training = new SubsetImageSet(data, data.TrainIndices);
        var result = Evaluation.CopyCheck.Run(samples, training);
        if (galleryPath is not null)
            CopyGallery.Write(galleryPath, result, samples, training, i => data.RelativePaths[data.TrainIndices[i]],
                              $"Copy check: {Path.GetFileName(model.Run.Root)}, step {model.State.Step}");
        return result;
    }
}
