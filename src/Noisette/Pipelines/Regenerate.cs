using System.Globalization;
using Noisette.Training;

namespace Noisette.Pipelines;

/// <summary>
/// Makes an output again from the provenance in its PNG: the same run, checkpoint, weights, precision, sampler settings
/// and seed give the same bytes. Samples always regenerate; edits and inpaintings do while their input files are
/// unchanged. A provenance that lacks a setting is refused rather than guessed, since a guess would not give the same
/// image. The CLI (<c>sample --from-png</c>) and the studio ("Make again") both come through here.
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
                                           PrecisionSupport.Parse(p.Precision));
        return Run(model, p, outDir ?? Path.Combine(model.Run.Root, "generated"), png, progress);
    }

    /// <summary>Whether the provenance names the averaged (EMA) weights rather than the raw ones.</summary>
    public static bool UsesEma(Provenance p) => p.Weights != "model";

    /// <summary>
    /// Checks that <paramref name="p"/> can be made again: its kind, the settings its kind needs, and that an edit's or
    /// inpainting's input files still exist unchanged. Throws <see cref="NoisetteInputException"/> naming the problem.
    /// </summary>
    /// <param name="source">The PNG the provenance came from, for messages.</param>
    public static Provenance Check(Provenance p, string source)
    {
        if (p.Kind is not (Provenance.Sample or Provenance.Edit or Provenance.Inpaint))
            throw new NoisetteInputException($"'{source}' is {(p.Kind == Provenance.Interpolate ? "an interpolation frame" : "a " + p.Kind)}; " +
                                             "only single samples, edits and inpaintings can be made again");
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

        NoisetteInputException Missing(string key) => new($"'{source}' lacks the provenance 'noisette:{key}'");

        void CheckInput(string? path, string? sha, string what, string key)
        {
            if (path is null) throw Missing(key);
            if (!File.Exists(path)) throw new NoisetteInputException($"the {what} '{path}' named in '{source}' no longer exists");
            if (sha is not null && Provenance.FileSha256(path) != sha)
                throw new NoisetteInputException($"the {what} '{path}' has changed since '{source}' was made, so it cannot be regenerated");
        }
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
        double guidance = p.Guidance ?? 2.0;   // unconditional outputs record no guidance; it is then unused
        return p.Kind switch
        {
            Provenance.Edit => Edit.ToFolder(model, new EditRequest
            {
                ImagePath = p.Input!, Strength = p.Strength!.Value, Seed = p.Seed, Sampler = p.Sampler, Steps = p.Steps, Eta = p.Eta,
                BatchSize = 1, Class = p.Class, Guidance = guidance,
            }, outDir, progress),
            Provenance.Inpaint => Inpaint.ToFolder(model, new InpaintRequest
            {
                ImagePath = p.Input!, MaskPath = p.Mask!, Seed = p.Seed, Sampler = p.Sampler, Steps = p.Steps, Eta = p.Eta,
                Jumps = p.Jumps!.Value, JumpLength = p.JumpLength!.Value, BatchSize = 1, Class = p.Class, Guidance = guidance,
            }, outDir, progress),
            _ => SamplePipeline.Run(model, new SampleRequest
            {
                Seeds = [p.Seed], Sampler = p.Sampler, Steps = p.Steps, Eta = p.Eta, BatchSize = 1,
                Classes = p.Class is null ? [] : [p.Class], Guidance = guidance,
            }, outDir, progress),
        };
    }
}
