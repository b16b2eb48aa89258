using System.CommandLine;
using Noisette.Pipelines;

namespace Noisette.Cli.Commands;

/// <summary>The class to steer an edit or an inpainting towards, and its guidance: the same two options for both commands.</summary>
public sealed class ClassOptions
{
    public Option<string?> Class { get; } = new("--class")
    {
        Description = "For a class-conditional model: the class to steer towards (its name, or its index for an imported model)",
    };
    public Option<double?> Guidance { get; } = new("--guidance")
    {
        Description = "Classifier-free guidance scale (with --class; default 2, or 1 for a model without a null class)",
    };

    /// <summary><paramref name="settings"/> with the class and guidance given (none: no class, the model's default guidance).</summary>
    public GenerationSettings Apply(ParseResult p, GenerationSettings settings) =>
        settings with { Classes = p.GetValue(Class) is { } c ? [c] : [], Guidance = p.GetValue(Guidance) };
}
