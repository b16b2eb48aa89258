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
        var given = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (n, t) in tensors) given[n] = t;
        var own = model.named_parameters().ToList();
        foreach (var (name, p) in own)
        {
            if (!given.TryGetValue(name, out var t))
            {
                if (zeroIfMissing?.Invoke(name) == true) continue;
                throw new NoisetteInputException($"{source} does not fit this model: tensor {name} is missing");
            }
            if (!t.shape.SequenceEqual(p.shape))
                throw new NoisetteInputException($"{source} does not fit this model: tensor {name} has shape [{string.Join(", ", t.shape)}], the model needs [{string.Join(", ", p.shape)}]");
        }
        var ownNames = own.Select(p => p.name).ToHashSet();
        var unexpected = tensors.FirstOrDefault(t => !ownNames.Contains(t.Name));
        if (unexpected.Name is not null)
            throw new NoisetteInputException($"{source} does not fit this model: unexpected tensor {unexpected.Name}");
        using var _ = no_grad();
        foreach (var (name, p) in own)
        {
            if (given.TryGetValue(name, out var t)) p.copy_(t);
            else p.zero_();
        }
    }

    public static void Load(UNet model, string safetensorsPath, Func<string, bool>? zeroIfMissing = null)
    {
        using var file = SafeTensors.Load(safetensorsPath);
        Load(model, file.Tensors, safetensorsPath, zeroIfMissing);
    }
}
