using Noisette.IO;
using static TorchSharp.torch;

namespace Noisette.Models;

/// <summary>
/// Named weights in and out of a <see cref="UNet"/>, with errors that name the first tensor that does not fit.
/// Loading may be told that some parameters are replaceable (the class embedding of a run whose classes are new).
/// A replaceable parameter the source lacks starts at zero: a class embedding added to an unconditional model, so
/// that the model begins exactly as the source. One the source holds with another number of rows (a 2-D tensor of
/// the same width) has every row set to the mean of the source's rows: the embedding of new classes over a model
/// that had others, such as an imported 1,000-class ImageNet model fine-tuned on a folder's classes. Each new class
/// then starts from what the source's classes have in common — the network always saw that part added to its
/// timestep embedding, where a zero row would be a conditioning it never saw — and training tells them apart.
/// </summary>
public static class ModelWeights
{
    public static IReadOnlyList<(string Name, Tensor Tensor)> Named(UNet model) =>
        model.named_parameters().Select(p => (p.name, (Tensor)p.parameter)).ToList();

    /// <summary>Copies tensors into the model's parameters; every parameter must be present with its exact shape.</summary>
    /// <param name="replaceable">Parameters the source may lack (set to zero), or hold with another number of rows
    /// (every row set to the mean of the source's rows): see the class summary.</param>
    public static void Load(UNet model, IReadOnlyList<(string Name, Tensor Tensor)> tensors, string source, Func<string, bool>? replaceable = null)
    {
        var fit = CheckFits(model, tensors.Select(t => (t.Name, t.Tensor.shape)), source, replaceable);
        var byName = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (n, t) in tensors) byName[n] = t;
        using var _ = no_grad();
        foreach (var (name, p) in model.named_parameters())
        {
            if (fit.Given.Contains(name)) p.copy_(byName[name]);
            else if (fit.RowMeans.Contains(name)) SetToRowMean(p, byName[name]);
            else p.zero_();
        }
    }

    /// <summary>
    /// Reads a safetensors file straight into the model's parameters, one tensor at a time, so that loading needs
    /// hardly any memory beyond the model itself (a 2 GB model does not briefly need 4 GB).
    /// </summary>
    /// <param name="replaceable">Parameters the source may lack (set to zero), or hold with another number of rows
    /// (every row set to the mean of the source's rows): see the class summary.</param>
    public static void Load(UNet model, string safetensorsPath, Func<string, bool>? replaceable = null)
    {
        var header = SafeTensors.ReadHeader(safetensorsPath);
        var fit = CheckFits(model, header.Tensors.Select(t => (t.Name, t.Shape)), safetensorsPath, replaceable);
        var targets = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var sources = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            using (no_grad())
                foreach (var (name, p) in model.named_parameters())
                {
                    if (fit.Given.Contains(name)) targets[name] = p;
                    else if (fit.RowMeans.Contains(name))
                        targets[name] = sources[name] = empty(header.Tensors.First(t => t.Name == name).Shape, p.dtype).DetachFromDisposeScope();
                    else p.zero_();
                }
            SafeTensors.ReadInto(safetensorsPath, header, targets);
            using (no_grad())
                foreach (var (name, p) in model.named_parameters())
                    if (sources.TryGetValue(name, out var rows)) SetToRowMean(p, rows);
        }
        finally
        {
            foreach (var t in sources.Values) t.Dispose();
        }
    }

    /// <summary>Source names loaded as they are, and replaceable ones whose rows are averaged.</summary>
    private sealed record Fits(IReadOnlySet<string> Given, IReadOnlySet<string> RowMeans);

    private static void SetToRowMean(Tensor parameter, Tensor sourceRows)
    {
        using var scope = NewDisposeScope();
        parameter.copy_(sourceRows.to(float64).mean([0], keepdim: true).expand(parameter.shape).to(parameter.dtype));
    }

    /// <summary>
    /// Checks that the named shapes fit the model exactly: no parameter missing and none of another shape (except
    /// as <paramref name="replaceable"/> allows), nothing unexpected.
    /// </summary>
    private static Fits CheckFits(UNet model, IEnumerable<(string Name, long[] Shape)> shapes, string source, Func<string, bool>? replaceable)
    {
        var given = new Dictionary<string, long[]>(StringComparer.Ordinal);
        var order = new List<string>();
        foreach (var (n, s) in shapes) { given[n] = s; order.Add(n); }
        var own = model.named_parameters().ToList();
        var rowMeans = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, p) in own)
        {
            if (!given.TryGetValue(name, out var shape))
            {
                if (replaceable?.Invoke(name) == true) continue;
                throw new NoisetteInputException($"{source} does not fit this model: tensor {name} is missing");
            }
            if (!shape.SequenceEqual(p.shape))
            {
                if (replaceable?.Invoke(name) == true && shape.Length == 2 && p.shape.Length == 2 && shape[0] > 0 && shape[1] == p.shape[1])
                {
                    rowMeans.Add(name);
                    continue;
                }
                throw new NoisetteInputException($"{source} does not fit this model: tensor {name} has shape [{string.Join(", ", shape)}], the model needs [{string.Join(", ", p.shape)}]");
            }
        }
        var ownNames = own.Select(p => p.name).ToHashSet();
        var unexpected = order.FirstOrDefault(n => !ownNames.Contains(n));
        if (unexpected is not null)
            throw new NoisetteInputException($"{source} does not fit this model: unexpected tensor {unexpected}");
        return new Fits(given.Keys.Where(n => !rowMeans.Contains(n)).ToHashSet(StringComparer.Ordinal), rowMeans);
    }
}
