using Noisette.Models;

namespace Noisette.Studio;

/// <summary>The model presets in plain words, for a person choosing how to train (the titles are the library's).</summary>
public static class StudioPresets
{
    public sealed record Choice(string Name, string Title, string Description, bool Gray, int ImageSize, int DefaultBatch, double? MeasuredImagesPerSecond);

    private static readonly (string Name, string Description)[] Words =
    [
        ("tiny", "A tiny model to see quickly whether your pictures train: 32 px, gray. Minutes on this computer."),
        ("letters32", "Gray letters and glyphs at 32 px. The model of the founding story; an hour or more on a CPU."),
        ("ddpm32", "Colour pictures at 32 px. Several hours on a CPU."),
        ("letters64", "Gray letters at 64 px: sharper, several times slower than 32 px."),
        ("ddpm64", "Colour pictures at 64 px. Slow on a CPU; better with a graphics card."),
        ("adm256", "Large colour pictures. Needs a graphics card and days of training."),
    ];

    public static IReadOnlyList<Choice> All(IReadOnlyDictionary<string, double> measured) =>
        Words.Select(w =>
        {
            var p = ModelPresets.Get(w.Name);
            return new Choice(w.Name, p.Title, w.Description, p.Gray, p.Model.ImageSize, p.DefaultBatch,
                              measured.TryGetValue(w.Name, out var ips) ? ips : null);
        }).ToList();

    public static IReadOnlyList<string> Names { get; } = Words.Select(w => w.Name).ToList();

    public static string Title(string name) => ModelPresets.Find(name)?.Title ?? name;
}
