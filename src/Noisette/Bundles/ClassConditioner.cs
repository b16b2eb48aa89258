using System.Globalization;
using Noisette.Data;
using Noisette.Models;

namespace Noisette.Bundles;

/// <summary>
/// Class labels as a condition: the classes' names (or none, for an import whose classes are indices), their count,
/// the null label that stands for "no class" (or −1), and the rules for choosing a class and a guidance scale.
/// </summary>
public sealed class ClassConditioner : IConditioner
{
    public const string Name = "classes";

    /// <summary>Class i's name, or null when the classes have none (an imported model: its labels are indices).</summary>
    public IReadOnlyList<string>? Names { get; }
    public int Count { get; }
    /// <summary>The label of the null class, or −1 when the model was trained without one.</summary>
    public int NullLabel { get; }

    public ClassConditioner(IReadOnlyList<string>? names, int count, int nullLabel)
    {
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), count, "at least one class");
        if (names is not null && names.Count != count) throw new ArgumentException($"{names.Count} names for {count} classes", nameof(names));
        Names = names;
        Count = count;
        NullLabel = nullLabel;
    }

    /// <summary>The conditioner of a network with this configuration and class names; null for an unconditional network.</summary>
    public static ClassConditioner? For(UNetConfig network, IReadOnlyList<string>? names) =>
        network.NumClasses > 0 ? new ClassConditioner(names, network.NumClasses, network.NullClass ? network.NumClasses : -1) : null;

    public string Kind => Name;
    public bool HasNull => NullLabel >= 0;
    public double DefaultGuidance => HasNull ? 2.0 : 1.0;

    /// <summary>The label of a class: by name, or by index 0..N−1 for a model whose classes have no names.</summary>
    public int Label(string className) => ClassLabels.Resolve(Names, Count, className);

    /// <summary>What a label is called in file names and provenance: its class name, or its index.</summary>
    public string LabelName(int label) => Names?[label] ?? label.ToString(CultureInfo.InvariantCulture);

    /// <summary>Class names (or indices, for unnamed classes) to labels; "all" means every named class.</summary>
    public IReadOnlyList<int> Labels(IReadOnlyList<string> requested)
    {
        if (requested.Any(r => string.Equals(r, "all", StringComparison.OrdinalIgnoreCase)))
            return Names is not null
                ? Enumerable.Range(0, Names.Count).ToArray()
                : throw new NoisetteInputException($"'all' classes: this model's {Count} classes have no names; give class indices (0 to {Count - 1})");
        return requested.Select(Label).ToArray();
    }

    /// <summary>
    /// Classifier-free guidance (any scale but 1) mixes in the prediction for the null class, so a model trained
    /// without one takes only 1.
    /// </summary>
    public double CheckGuidance(double guidance)
    {
        if (guidance < 0) throw new NoisetteInputException($"guidance must not be negative, got {guidance.ToString(CultureInfo.InvariantCulture)}");
        if (!HasNull && guidance != 1.0)
            throw new NoisetteInputException(
                $"a guidance of {guidance.ToString(CultureInfo.InvariantCulture)}: classifier-free guidance needs the model's " +
                "prediction without a class, and this model has no null class (it was not trained with label dropout, as imported " +
                "guided-diffusion models are not); use a guidance of 1, plain class-conditional sampling");
        return guidance;
    }

    public void CheckUnconditional()
    {
        if (!HasNull)
            throw new NoisetteInputException(
                $"this model is class-conditional ({Count} classes) and has no null class, so it cannot sample without a class: " +
                $"choose a class by its {(Names is null ? $"index from 0 to {Count - 1} (for OpenAI's released ImageNet models, the ImageNet class index)" : "name")}");
    }
}
