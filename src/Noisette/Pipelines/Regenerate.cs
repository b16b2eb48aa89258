using System.Globalization;

namespace Noisette.Pipelines;

/// <summary>
/// Makes an output again from the provenance in its PNG: the same run, checkpoint, weights, sampler settings and
/// seed give the same bytes. Samples always regenerate; edits and inpaintings do while their input files are unchanged.
/// </summary>
public static class Regenerate
{
    /// <param name="png">A PNG written by Noisette.</param>
    /// <param name="outDir">Where the new file goes (default: the run's generated/ folder).</param>
    /// <param name="device">cpu or cuda.</param>
    public static SamplePipeline.Result FromPng(string png, string? outDir = null, string device = "cpu", Action<string>? warn = null,
                                                Action<int, int>? progress = null)
    {
        var p = Provenance.Read(png);
        if (p.Kind is not (Provenance.Sample or Provenance.Edit or Provenance.Inpaint))
            throw new NoisetteInputException($"'{png}' is {(p.Kind == Provenance.Interpolate ? "an interpolation frame" : "a " + p.Kind)}; " +
                                             "--from-png regenerates single samples, edits and inpaintings");
        if (!Directory.Exists(p.Run)) throw new NoisetteInputException($"the run '{p.Run}' named in '{png}' does not exist");
        using var model = LoadedModel.Load(p.Run, p.CheckpointStep.ToString(CultureInfo.InvariantCulture), p.Weights != "model", device, warn,
                                           Training.PrecisionSupport.Parse(p.Precision));
        outDir ??= Path.Combine(model.Run.Root, "generated");
        switch (p.Kind)
        {
            case Provenance.Edit:
                CheckInput(p.Input, p.InputSha256, "input image");
                return Edit.ToFolder(model, new EditRequest
                {
                    ImagePath = p.Input!, Strength = p.Strength ?? throw Missing("strength"),
                    Seed = p.Seed, Sampler = p.Sampler, Steps = p.Steps, Eta = p.Eta, BatchSize = 1,
                    Class = p.Class, Guidance = p.Guidance ?? 2.0,
                }, outDir, progress);
            case Provenance.Inpaint:
                CheckInput(p.Input, p.InputSha256, "input image");
                CheckInput(p.Mask, p.MaskSha256, "mask");
                return Inpaint.ToFolder(model, new InpaintRequest
                {
                    ImagePath = p.Input!, MaskPath = p.Mask!, Seed = p.Seed, Sampler = p.Sampler, Steps = p.Steps, Eta = p.Eta,
                    Jumps = p.Jumps ?? throw Missing("jumps"), JumpLength = p.JumpLength ?? throw Missing("jump_length"), BatchSize = 1,
                    Class = p.Class, Guidance = p.Guidance ?? 2.0,
                }, outDir, progress);
            default:
                return SamplePipeline.Run(model, new SampleRequest
                {
                    Seeds = [p.Seed], Sampler = p.Sampler, Steps = p.Steps, Eta = p.Eta, BatchSize = 1,
                    Classes = p.Class is null ? [] : [p.Class], Guidance = p.Guidance ?? 2.0,
                }, outDir, progress);
        }

        NoisetteInputException Missing(string key) => new($"'{png}' lacks the provenance 'noisette:{key}'");

        void CheckInput(string? path, string? sha, string what)
        {
            if (path is null) throw Missing(what == "mask" ? "mask" : "input");
            if (!File.Exists(path)) throw new NoisetteInputException($"the {what} '{path}' named in '{png}' no longer exists");
            if (sha is not null && Provenance.FileSha256(path) != sha)
                throw new NoisetteInputException($"the {what} '{path}' has changed since '{png}' was made, so it cannot be regenerated");
        }
    }
}
