using Noisette.Bundles;
using Noisette.Data;

namespace Noisette.Pipelines;

/// <summary>What to generate: the generation settings (seeds, sampler, classes...), and whether to write a contact sheet.</summary>
public sealed record SampleRequest
{
    /// <summary>The images to make: <see cref="GenerationSettings.Count"/> (or one per explicit seed) per class.</summary>
    public GenerationSettings Settings { get; init; } = new() { Count = 16 };
    /// <summary>Also write a grid (a contact sheet) of all images; always done for more than one explicit seed or class.</summary>
    public bool Grid { get; init; } = false;
}

/// <summary>Sampling a loaded model into a folder of PNGs, each carrying its provenance in PNG text chunks.</summary>
public static class SamplePipeline
{
    public sealed record Result(IReadOnlyList<string> Files, string? GridPath);

    /// <param name="preview">Called after every network call of every batch with the current x̂₀ (for previews).</param>
    public static Result Run(LoadedModel model, SampleRequest request, string outDir, Action<int, int>? progress = null,
                             Action<GenerationPreview>? preview = null)
    {
        var s = request.Settings;
        var sampler = s.Validate();
        var bundle = model.Bundle;
        var classes = bundle.ResolveClasses(s.Classes);
        var perClass = s.ResolvedSeeds;
        // Every class gets the same seeds, so the rows of a grid compare.
        var seeds = classes.Count == 0 ? perClass : classes.SelectMany(_ => perClass).ToArray();
        int[]? labels = classes.Count == 0 ? null : classes.SelectMany(c => perClass.Select(_ => c)).ToArray();
        var options = s.SamplerOptions;
        int steps = Generation.ResolvedSteps(sampler, options, bundle.Diffusion.T), calls = options.NetworkCalls(sampler, bundle.Diffusion);
        if (classes.Count == 0) bundle.CheckUnconditional();
        double guidance = bundle.Classes is { } conditioner
            ? (classes.Count > 0 ? conditioner.CheckGuidance(s.GuidanceFor(bundle)) : s.GuidanceFor(bundle))
            : 1.0;
        var denoiser = new Sampling.Denoiser(bundle.Network, bundle.Diffusion) { ClipDenoised = bundle.ClipDenoised, GuidanceScale = guidance };
        var images = Generation.BatchedOrInSlot(Enumerable.Range(0, seeds.Count).ToArray(), s.BatchSize, s.Slot, progress,
            (items, batch, report) => ImageBatches.Sample(denoiser, sampler, options, items.Select(i => seeds[i]).ToArray(), batch, report,
                                                          labels is null ? null : items.Select(i => labels[i]).ToArray(), preview, bundle.Autoencoder));
        Directory.CreateDirectory(outDir);
        var files = new List<string>();
        var planar = images.Select(b => Generation.Image(bundle, b)).ToList();
        for (int i = 0; i < planar.Count; i++)
        {
            string? cls = labels is null ? null : bundle.Classes!.LabelName(labels[i]);
            var path = Path.Combine(outDir, FileName(sampler.Name, model.State.Step, seeds[i], cls));
            var p = Provenance.For(model, Provenance.Sample, sampler.Name, steps, s.Eta, seeds[i])
                with { NetworkCalls = calls, Class = cls, Guidance = cls is null ? null : guidance,
                       Batch = s.Slot ?? BatchSlot.Of(i, seeds.Count, s.BatchSize) };
            PngWriter.Write(path, planar[i], p.ToText());
            files.Add(path);
        }
        string? gridPath = null;
        if (request.Grid || s.Seeds is { Count: > 1 } || classes.Count > 1)
        {
            gridPath = Path.Combine(outDir, $"grid-{FileSafe(sampler.Name)}-step{model.State.Step}-seeds{perClass[0]}-{perClass[^1]}.png");
            var sheet = Provenance.For(model, Provenance.ContactSheet, sampler.Name, steps, s.Eta, perClass[0])
                with { NetworkCalls = calls, Seeds = string.Join(",", perClass),
                       Classes = classes.Count == 0 ? null : string.Join(",", classes.Select(bundle.Classes!.LabelName)) };
            PngWriter.Write(gridPath, ImageGrid.Compose(planar, classes.Count > 0 ? perClass.Count : null), sheet.ToText());
        }
        return new Result(files, gridPath);
    }

    /// <summary>The name of a sampled image: sampler, checkpoint step, class and seed, so favourites are easy to tell apart.</summary>
    public static string FileName(string sampler, long step, long seed, string? className = null) =>
        $"{FileSafe(sampler)}-step{step}{(className is null ? "" : "-class-" + FileSafe(className))}-seed{seed}.png";

    internal static string FileSafe(string name) =>
        string.Concat(name.Replace("+", "p", StringComparison.Ordinal).Select(c => char.IsLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_'));
}
