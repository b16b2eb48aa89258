using TorchSharp;
using static TorchSharp.torch;

namespace Noisette.Training;

/// <summary>
/// A module's parameters gathered into one contiguous 1-D buffer, every parameter becoming a view of its slice,
/// and, optionally, their gradients likewise (backward then accumulates straight into the flat gradient). Whole-model
/// updates (AdamW, the EMA, precision casts, gradient clipping) become a handful of large operations instead of a
/// few hundred small ones per step. The module keeps working as before: its parameters are the same objects.
/// </summary>
public sealed class FlatParameters : IDisposable
{
    private readonly (long Offset, long Count, long[] Shape)[] slices;

    /// <summary>The parameters by name, in the module's order (each a view of <see cref="Data"/>).</summary>
    public IReadOnlyList<(string Name, Tensor Param)> Parameters { get; }
    /// <summary>All parameter values, back to back.</summary>
    public Tensor Data { get; }
    /// <summary>All gradients, back to back (null when made without gradients).</summary>
    public Tensor? Grad { get; }
    public long Count { get; }

    /// <summary>Re-homes <paramref name="module"/>'s parameters (already on their device and in their type) into one buffer.</summary>
    public FlatParameters(nn.Module module, bool withGrad)
    {
        var named = module.named_parameters().Select(p => (p.name, (Tensor)p.parameter)).ToList();
        if (named.Count == 0) throw new ArgumentException("the module has no parameters", nameof(module));
        var first = named[0].Item2;
        if (named.Any(p => p.Item2.dtype != first.dtype || p.Item2.device_type != first.device_type || p.Item2.device_index != first.device_index))
            throw new ArgumentException("all parameters must share one type and device", nameof(module));
        slices = new (long, long, long[])[named.Count];
        long offset = 0;
        for (int i = 0; i < named.Count; i++)
        {
            long n = named[i].Item2.numel();
            slices[i] = (offset, n, named[i].Item2.shape);
            offset += n;
        }
        Count = offset;
        Data = empty(Count, dtype: first.dtype, device: first.device).DetachFromDisposeScope();
        Grad = withGrad ? zeros(Count, dtype: first.dtype, device: first.device).DetachFromDisposeScope() : null;
        using (no_grad())
        {
            for (int i = 0; i < named.Count; i++)
            {
                var p = named[i].Item2;
                var view = View(Data, i);
                view.copy_(p);
                p.set_(view);
                view.Dispose();
                if (Grad is not null) p.grad = View(Grad, i);
            }
        }
        Parameters = named;
    }

    /// <summary>Parameter i's slice of a flat tensor laid out like <see cref="Data"/> (a view, no copy).</summary>
    public Tensor View(Tensor flat, int i)
    {
        var (offset, count, shape) = slices[i];
        return flat.narrow(0, offset, count).view(shape).DetachFromDisposeScope();
    }

    public void Dispose()
    {
        Data.Dispose();
        Grad?.Dispose();
    }
}
