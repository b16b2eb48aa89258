using System.Text.Json.Nodes;
using Noisette.IO;

namespace Noisette.Runs;

/// <summary>
/// Reads training configurations written by earlier versions. Before the picture size and channel count followed the
/// model, <c>data.image_size</c> repeated <c>model.image_size</c> (and <c>data.channels</c> held the resolved channels,
/// which still reads as a conversion to the model's own channels). That member is taken out of the JSON tree before
/// the strict deserialiser sees it, and what it said is applied to the model.
/// <para>
/// A run's config.json is the whole record of how it trained, so a setting added later with a new default must not
/// change a run written before it: where such a member is absent, the value that run trained with is filled in
/// (<see cref="Introduced"/>). A config file for a new run is different: what it leaves out takes today's defaults.
/// </para>
/// </summary>
public static class ConfigUpgrade
{
    /// <summary>A config file (as <c>noisette init</c> writes it): a <c>data.image_size</c> of its own resizes the model, as it did before.</summary>
    public static TrainingConfig ReadConfigFile(string path)
    {
        int? legacy = null;
        var config = Json.Read<TrainingConfig>(path, node => legacy = TakeDataImageSize(node));
        return legacy is int size && size != config.Model.ImageSize ? config with { Model = config.Model.Resized(size) } : config;
    }

    /// <summary>A run's config.json: a <c>data.image_size</c> that differs from the model's is a damaged file.</summary>
    public static RunConfig ReadRunConfig(string path)
    {
        int? legacy = null;
        var config = Json.Read<RunConfig>(path, node =>
        {
            var training = (node as JsonObject)?["training"];
            legacy = TakeDataImageSize(training);
            FillIntroduced(training);
        });
        if (legacy is int size && config.Training?.Model is { } model && size != model.ImageSize)
            throw new NoisetteInputException($"{path}: data.image_size {size} differs from the model's image_size {model.ImageSize}");
        return config;
    }

    /// <summary>
    /// Settings added after runs were first written, with the value every earlier run had: (path in the training
    /// config, value). Offset noise and the sample distance came with the measured defaults of docs/quality.md.
    /// </summary>
    public static IReadOnlyList<(string[] Path, double Value)> Introduced { get; } =
    [
        (["diffusion", "offset_noise"], 0),
        (["distance_samples"], 0),
    ];

    private static void FillIntroduced(JsonNode? training)
    {
        if (training is not JsonObject t) return;
        foreach (var (path, value) in Introduced)
        {
            JsonObject? parent = t;
            foreach (var part in path[..^1]) parent = parent?[part] as JsonObject;
            if (parent is not null && !parent.ContainsKey(path[^1])) parent[path[^1]] = value;
        }
    }

    /// <summary>Removes <c>data.image_size</c> from a training config's tree; returns it when it was a whole number.</summary>
    private static int? TakeDataImageSize(JsonNode? training)
    {
        if (training is not JsonObject t || t["data"] is not JsonObject data || !data.TryGetPropertyValue("image_size", out var value)) return null;
        data.Remove("image_size");
        return value is JsonValue v && v.TryGetValue<int>(out var size) ? size : throw new NoisetteInputException($"data.image_size must be a whole number, got {value?.ToJsonString() ?? "null"}");
    }
}
