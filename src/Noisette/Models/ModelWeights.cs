using Noisette.IO;
using static TorchSharp.torch;

namespace Noisette.Models;

/// <summary>Named weights in and out of a <see cref="UNet"/>, with errors that name the first tensor that does not fit.</summary>
public static class ModelWeights
{
    public static IReadOnlyList<(string Name, Tensor Tensor)> Named(UNet model) =>
        model.named_parameters().Select(p => (p.name, (Tensor)p.parameter)).ToList();

    /// <summary>Copies tensors into the model's parameters; every parameter must be present with its exact shape.</summary>
    /// <param name="zeroIfMissing">Parameters that may be absent from the source; they are set to zero
    /// (a class embedding added to an unconditional model, so that it starts exactly as the source).</param>
    public static void Load(UNet model, IReadOnlyList<(string Name, Tensor Tensor)> tensors, string source, Func<string, bool>? zeroIfMissing = null)
    {
        var given = CheckFits(model, tensors.Select(t => (t.Name, t.Tensor.shape)), source, zeroIfMissing);
        var byName = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (n, t) in tensors) byName[n] = t;
        using var _ = no_grad();
        foreach (var (name, p) in model.named_parameters())
        {
            if (given.Contains(name)) p.copy_(byName[name]);
            else p.zero_();
        }
    }

    /// <summary>
    /// Reads a safetensors file straight into the model's parameters, one tensor at a time, so that loading needs
    /// hardly any memory beyond the model itself (a 2 GB model does not briefly need 4 GB).
    /// </summary>
    public static void Load(UNet model, string safetensorsPath, Func<string, bool>? zeroIfMissing = null)
    {
        var header = SafeTensors.ReadHeader(safetensorsPath);
        var given = CheckFits(model, header.Tensors.Select(t => (t.Name, t.Shape)), safetensorsPath, zeroIfMissing);
        var targets = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        using (no_grad())
            foreach (var (name, p) in model.named_parameters())
            {
                if (given.Contains(name)) targets[name] = p;
                else p.zero_();
            }
        SafeTensors.ReadInto(safetensorsPath, header, targets);
    }

    /// <summary>
    /// Checks that the named shapes fit the model exactly: no parameter missing (except those
    /// <paramref name="zeroIfMissing"/> allows), none of another shape, nothing unexpected. Returns the names given.
    /// </summary>
    private static HashSet<string> CheckFits(UNet model, IEnumerable<(string Name, long[] Shape)> shapes, string source, Func<string, bool>? zeroIfMissing)
    {
        var given = new Dictionary<string, long[]>(StringComparer.Ordinal);
        var order = new List<string>();
        foreach (var (n, s) in shapes) { given[n] = s; order.Add(n); }
        var own = model.named_parameters().ToList();
        foreach (var (name, p) in own)
        {
            if (!given.TryGetValue(name, out var shape))
            {
                if (zeroIfMissing?.Invoke(name) == true) continue;
                throw new NoisetteInputException($"{source} does not fit this model: tensor {name} is missing");
            }
            if (!shape.SequenceEqual(p.shape))
                throw new NoisetteInputException($"{source} does not fit this model: tensor {name} has shape [{string.Join(", ", shape)}], the model needs [{string.Join(", ", p.shape)}]");
        }
        var ownNames = own.Select(p => p.name).ToHashSet();
        var unexpected = order.FirstOrDefault(n => !ownNames.Contains(n));
        if (unexpected is not null)
            throw new NoisetteInputException($"{source} does not fit this model: unexpected tensor {unexpected}");
        return given.Keys.ToHashSet(StringComparer.Ordinal);
    }
}
