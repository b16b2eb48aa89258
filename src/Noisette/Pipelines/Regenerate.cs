using System.Globalization;
using Noisette.Runtime;
using Noisette.Training;

namespace Noisette.Pipelines;

/// <summary>
/// Makes an output again from the provenance in its PNG: the same run, checkpoint, weights, precision, sampler settings,
/// seed and batch slot give the same bytes. An image that was made in a batch of N is computed again in a batch of N
/// copies of it, at its slot (see <see cref="BatchSlot"/>), so making it again costs a batch's time. Samples always regenerate; edits and inpaintings do while their input files are
/// unchanged. A provenance that lacks a setting is refused rather than guessed, since a guess would not give the same
/// image. Interpolation frames regenerate too (they record both seeds, the frame count and their index); contact
/// sheets and interpolation strips do not: their single images carry their own provenance. The CLI (<c>sample --from-png</c>) and the studio ("Make again") both come through here.
/// </summary>
public static class Regenerate
{
    /// <param name="png">A PNG written by Noisette.</param>
    /// <param name="outDir">Where the new file goes (default: the run's generated/ folder).</param>
    /// <param name="device">cpu or cuda.</param>
    public static SamplePipeline.Result FromPng(string png, string? outDir = null, string device = "cpu", Action<string>? warn = null,
                                                Action<int, int>? progress = null)
    {
        var p = Check(Provenance.Read(png), png);
        if (!Directory.Exists(p.Run)) throw new NoisetteInputException($"the run '{p.Run}' named in '{png}' does not exist");
        using var model = LoadedModel.Load(p.Run, p.CheckpointStep.ToString(CultureInfo.InvariantCulture), UsesEma(p), device, warn,
                                           Settings(p).Precision);
        return Run(model, p, outDir ?? Path.Combine(model.Run.Root, "generated"), png, progress);
    }

    /// <summary>The largest batch an image is made again in (see <see cref="BatchSlot"/>); a larger one in a PNG is refused.</summary>
    public const int MaxBatch = 1024;

    /// <summary>Whether the provenance names the averaged (EMA) weights rather than the raw ones.</summary>
    public static bool UsesEma(Provenance p) => p.Weights != "model";

    /// <summary>
    /// Checks that <paramref name="p"/> can be made again: its kind, the settings its kind needs, and that an edit's or
    /// inpainting's input files still exist unchanged. Throws <see cref="NoisetteInputException"/> naming the problem.
    /// </summary>
    /// <param name="source">The PNG the provenance came from, for messages.</param>
    public static Provenance Check(Provenance p, string source)
    {
        if (p.Kind == Provenance.ContactSheet)
            throw new NoisetteInputException($"'{source}' is a contact sheet; regenerate the single images it shows instead " +
                                             "(each one's PNG carries its own provenance)");
        if (p.Kind == Provenance.Interpolate && p.Frame is null)
            throw new NoisetteInputException($"'{source}' is an interpolation strip; regenerate one of its frames instead " +
                                             "(each frame's PNG carries its own provenance)");
        if (p.Kind is not (Provenance.Sample or Provenance.Edit or Provenance.Inpaint or Provenance.Interpolate))
            throw new NoisetteInputException($"'{source}' is a {p.Kind}; only samples, edits, inpaintings and interpolation frames can be made again");
        if (p.Kind == Provenance.Interpolate)
        {
            var (_, _, frames, frame) = InterpolationFrame(p, source);
            if (frame < 0 || frame >= frames)
                throw new NoisetteInputException($"'{source}': frame {frame} is outside the {frames} frames of its interpolation");
        }
        p.Batch.Check(source);
        if (p.Batch.Size > MaxBatch)
            throw new NoisetteInputException($"'{source}' says it was made in a batch of {p.Batch.Size} images; making it again would compute " +
                                             $"that many, and Noisette makes again images of batches up to {MaxBatch}");
        if (p.Kind == Provenance.Edit)
        {
            if (p.Strength is null) throw Missing("strength");
            CheckInput(p.Input, p.InputSha256, "input image", "input");
        }
        if (p.Kind == Provenance.Inpaint)
        {
            if (p.Jumps is null) throw Missing("jumps");
            if (p.JumpLength is null) throw Missing("jump_length");
            CheckInput(p.Input, p.InputSha256, "input image", "input");
            CheckInput(p.Mask, p.MaskSha256, "mask", "mask");
        }
        return p;

        NoisetteInputException Missing(string key) => Regenerate.Missing(source, key);

        void CheckInput(string? path, string? sha, string what, string key)
        {
            if (path is null) throw Missing(key);
            if (!File.Exists(path)) throw new NoisetteInputException($"the {what} '{path}' named in '{source}' no longer exists");
            if (sha is not null && Provenance.FileSha256(path) != sha)
                throw new NoisetteInputException($"the {what} '{path}' has changed since '{source}' was made, so it cannot be regenerated");
        }
    }

    private static NoisetteInputException Missing(string source, string key) => new($"'{source}' lacks the provenance 'noisette:{key}'");

    /// <summary>An interpolation frame's two seeds, frame count and index, from its provenance.</summary>
    private static (long SeedA, long SeedB, int Frames, int Frame) InterpolationFrame(Provenance p, string source)
    {
        if (p.Seeds is null) throw Missing(source, "seeds");
        if (p.Frames is null) throw Missing(source, "frames");
        if (p.Frame is null) throw Missing(source, "frame");
        var seeds = p.Seeds.Split(',');
        if (seeds.Length != 2 || !long.TryParse(seeds[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var a)
                              || !long.TryParse(seeds[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var b))
            throw new NoisetteInputException($"'{source}': provenance 'noisette:seeds' of an interpolation must be two seeds, like 1,2; got '{p.Seeds}'");
        return (a, b, p.Frames.Value, p.Frame.Value);
    }

    /// <summary>
    /// Makes the output of a checked provenance (see <see cref="Check"/>) with a model loaded from its checkpoint,
    /// weights and precision, into <paramref name="outDir"/>.
    /// </summary>
    public static SamplePipeline.Result Run(LoadedModel model, Provenance p, string outDir, string source, Action<int, int>? progress = null)
    {
        if (model.State.Step != p.CheckpointStep || model.UsesEma != UsesEma(p) || PrecisionSupport.Name(model.Precision) != p.Precision)
            throw new ArgumentException($"the model (step {model.State.Step}, {(model.UsesEma ? "ema" : "model")} weights, " +
                                        $"{PrecisionSupport.Name(model.Precision)}) is not the one that made '{source}' " +
                                        $"(step {p.CheckpointStep}, {p.Weights} weights, {p.Precision})", nameof(model));
        var settings = Settings(p);
        return p.Kind switch
        {
            Provenance.Edit => Edit.ToFolder(model, new EditRequest { ImagePath = p.Input!, Strength = p.Strength!.Value, Settings = settings },
                                             outDir, progress),
            Provenance.Interpolate => InterpolateFrame(model, p, settings, outDir, source, progress),
            Provenance.Inpaint => Inpaint.ToFolder(model, new InpaintRequest
            {
                ImagePath = p.Input!, MaskPath = p.Mask!, Jumps = p.Jumps!.Value, JumpLength = p.JumpLength!.Value, Settings = settings,
            }, outDir, progress),
            _ => SamplePipeline.Run(model, new SampleRequest { Settings = settings }, outDir, progress),
        };
    }

    /// <summary>
    /// The generation settings a provenance records: its sampler, steps, η, seed, class and guidance, precision and
    /// batch slot, for its one image. An output without a class records no guidance; the model's default then stands
    /// in, unused.
    /// </summary>
    public static GenerationSettings Settings(Provenance p) => new()
    {
        Seeds = [p.Seed], Sampler = p.Sampler, Steps = p.Steps, Eta = p.Eta, BatchSize = 1, Slot = p.Batch,
        Classes = p.Class is null ? [] : [p.Class], Guidance = p.Guidance, Precision = PrecisionSupport.Parse(p.Precision),
    };

    private static SamplePipeline.Result InterpolateFrame(LoadedModel model, Provenance p, GenerationSettings settings, string outDir, string source,
                                                          Action<int, int>? progress)
    {
        var (a, b, frames, frame) = InterpolationFrame(p, source);
        var result = Interpolate.ToFolder(model, new InterpolateRequest
        {
            Settings = settings with { Seeds = [a, b], Eta = 0, Classes = [] }, Frames = frames, Frame = frame,
        }, outDir, progress);
        return new SamplePipeline.Result(result.Frames, null);
    }
}
