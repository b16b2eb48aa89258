using TorchSharp;
using static TorchSharp.torch;

namespace Noisette.Training;

/// <summary>
/// AdamW (Loshchilov and Hutter) with decoupled weight decay and bias correction, written out so that its whole
/// state (the step count and both moments) is plain tensors that a checkpoint stores and restores exactly.
/// It works on <see cref="FlatParameters"/>: the moments are flat buffers laid out like the parameters, so one step
/// is six whole-model operations whatever the number of parameter tensors.
/// </summary>
public sealed class AdamW : IDisposable
{
    private readonly FlatParameters flat;
    private readonly Tensor m, v, denom;
    private readonly Tensor[] mViews, vViews;
    public double Beta1 { get; }
    public double Beta2 { get; }
    public double Epsilon { get; }
    public double WeightDecay { get; }
    /// <summary>Optimizer steps taken so far.</summary>
    public long StepCount { get; private set; }

    public AdamW(FlatParameters parameters, double beta1, double beta2, double eps, double weightDecay)
    {
        if (parameters.Grad is null) throw new ArgumentException("AdamW needs the parameters' flat gradient", nameof(parameters));
        flat = parameters;
        Beta1 = beta1; Beta2 = beta2; Epsilon = eps; WeightDecay = weightDecay;
        m = zeros_like(flat.Data).DetachFromDisposeScope();
        v = zeros_like(flat.Data).DetachFromDisposeScope();
        denom = empty_like(flat.Data).DetachFromDisposeScope();
        mViews = Enumerable.Range(0, flat.Parameters.Count).Select(i => flat.View(m, i)).ToArray();
        vViews = Enumerable.Range(0, flat.Parameters.Count).Select(i => flat.View(v, i)).ToArray();
    }

    /// <summary>One update with learning rate <paramref name="lr"/> from the parameters' current (flat) gradient.</summary>
    public void Step(double lr)
    {
        StepCount++;
        double bc1 = 1 - Math.Pow(Beta1, StepCount), bc2 = 1 - Math.Pow(Beta2, StepCount);
        using var _ = no_grad();
        var p = flat.Data;
        var g = flat.Grad!;
        if (WeightDecay != 0) p.mul_(1 - lr * WeightDecay);
        m.mul_(Beta1).add_(g, alpha: 1 - Beta1);
        v.mul_(Beta2).addcmul_(g, g, value: 1 - Beta2);
        // denom = √v / √bc2 + ε, in a buffer reused every step.
        denom.copy_(v).sqrt_().div_(Math.Sqrt(bc2)).add_(Epsilon);
        p.addcdiv_(m, denom, value: -lr / bc1);
    }

    /// <summary>The state as named tensors: "m/NAME" and "v/NAME" for every parameter.</summary>
    public IEnumerable<(string Name, Tensor Tensor)> State()
    {
        for (int i = 0; i < flat.Parameters.Count; i++)
        {
            yield return ("m/" + flat.Parameters[i].Name, mViews[i]);
            yield return ("v/" + flat.Parameters[i].Name, vViews[i]);
        }
    }

    public void LoadState(IReadOnlyDictionary<string, Tensor> state, long stepCount)
    {
        using var _ = no_grad();
        for (int i = 0; i < flat.Parameters.Count; i++)
        {
            string name = flat.Parameters[i].Name;
            if (!state.TryGetValue("m/" + name, out var mi) || !state.TryGetValue("v/" + name, out var vi))
                throw new NoisetteInputException($"optimizer state lacks the moments of {name}");
            if (!mi.shape.SequenceEqual(mViews[i].shape) || !vi.shape.SequenceEqual(vViews[i].shape))
                throw new NoisetteInputException($"optimizer state for {name} has shape {Shape(mi)}, the model needs {Shape(mViews[i])}");
            mViews[i].copy_(mi);
            vViews[i].copy_(vi);
        }
        StepCount = stepCount;
    }

    private static string Shape(Tensor t) => "[" + string.Join(", ", t.shape) + "]";

    public void Dispose()
    {
        foreach (var t in mViews) t.Dispose();
        foreach (var t in vViews) t.Dispose();
        m.Dispose();
        v.Dispose();
        denom.Dispose();
    }
}
