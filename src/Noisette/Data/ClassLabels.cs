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
        var top = relativePaths.FirstOrDefault(p => !p.Contains('/'));
        if (top is not null)
        {
            if (mode == ClassMode.Auto) return null;
            throw new NoisetteInputException($"--classes subfolders: every image must sit in a class subfolder, but {top} is at the top of the data folder");
        }
        var names = relativePaths.Select(p => p[..p.IndexOf('/')]).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        if (names.Length < 2)
        {
            if (mode == ClassMode.Auto) return null;
            throw new NoisetteInputException($"--classes subfolders needs at least two class subfolders; found only '{names[0]}'");
        }
        var index = names.Select((n, i) => (n, i)).ToDictionary(x => x.n, x => x.i, StringComparer.Ordinal);
        return new ClassLabels(names, relativePaths.Select(p => index[p[..p.IndexOf('/')]]).ToArray());
    }

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
