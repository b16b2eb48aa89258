namespace Noisette.Data;

/// <summary>Where class labels come from.</summary>
public enum ClassMode
{
    /// <summary>From subfolders when every image sits in one and there are at least two; otherwise none.</summary>
    Auto,
    /// <summary>Each image's label is the name of its first-level subfolder (data/A/*.png, data/B/*.png).</summary>
    Subfolders,
    /// <summary>No labels: an unconditional model.</summary>
    None,
}

/// <summary>Class names (sorted) and the label of every image of a dataset, from the ImageFolder convention.</summary>
public sealed record ClassLabels(string[] Names, int[] Labels)
{
    public int Count => Names.Length;

    /// <summary>Labels from relative paths ("A/font.png" → class "A"), or null when <paramref name="mode"/> gives none.</summary>
    public static ClassLabels? FromSubfolders(IReadOnlyList<string> relativePaths, ClassMode mode)
    {
        if (mode == ClassMode.None || relativePaths.Count == 0) return null;
        if (WhyNoClasses(relativePaths) is { } why)
            return mode == ClassMode.Auto ? null : throw new NoisetteInputException(NoClassesMessage(why));
        var names = SubfolderNames(relativePaths);
        var index = names.Select((n, i) => (n, i)).ToDictionary(x => x.n, x => x.i, StringComparer.Ordinal);
        return new ClassLabels(names, relativePaths.Select(p => index[p[..p.IndexOf('/')]]).ToArray());
    }

    /// <summary>
    /// Why the pictures at these relative paths give no classes (not all in a subfolder, or all in one), or null
    /// when every picture sits in one of two or more subfolders.
    /// </summary>
    public static string? WhyNoClasses(IReadOnlyList<string> relativePaths)
    {
        if (relativePaths.Count == 0) return "there is no readable picture";
        if (relativePaths.FirstOrDefault(p => !p.Contains('/')) is { } top) return $"{top} is at the top of the folder, not in a subfolder";
        var names = SubfolderNames(relativePaths);
        return names.Length < 2 ? $"they all sit in the one subfolder '{names[0]}'" : null;
    }

    /// <summary>The message when classes are asked for but the pictures give none, for <paramref name="why"/>.</summary>
    public static string NoClassesMessage(string why) =>
        $"classes were asked for, but the pictures do not all sit in two or more subfolders ({why}), so there are no classes to learn";

    private static string[] SubfolderNames(IReadOnlyList<string> relativePaths) =>
        relativePaths.Select(p => p[..p.IndexOf('/')]).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();

    /// <summary>The index of a class name; an unknown name is an input error that lists the known ones.</summary>
    public static int Resolve(IReadOnlyList<string> names, string name)
    {
        for (int i = 0; i < names.Count; i++)
            if (string.Equals(names[i], name, StringComparison.Ordinal)) return i;
        for (int i = 0; i < names.Count; i++)
            if (string.Equals(names[i], name, StringComparison.OrdinalIgnoreCase)) return i;
        throw new NoisetteInputException($"unknown class '{name}'. Known classes: {string.Join(", ", names)}");
    }

    /// <summary>
    /// The label of a class given by name, or, for a model whose <paramref name="count"/> classes have no names (an
    /// imported guided-diffusion model, whose labels are ImageNet class indices), by its index 0..count−1.
    /// </summary>
    public static int Resolve(IReadOnlyList<string>? names, int count, string name)
    {
        if (names is not null) return Resolve(names, name);
        if (int.TryParse(name, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var index) && index < count)
            return index;
        throw new NoisetteInputException(
            $"unknown class '{name}': this model's {count} classes have no names, so give a class index from 0 to {count - 1} " +
            "(for OpenAI's released ImageNet models, the ImageNet class index)");
    }
}
