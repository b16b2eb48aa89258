using TorchSharp;
using static TorchSharp.torch;

namespace Noisette.Training;

/// <summary>
/// AdamW (Loshchilov and Hutter) with decoupled weight decay and bias correction, written out so that its whole
/// state (the step count and both moments) is plain tensors that a checkpoint stores and restores exactly.
/// </summary>
public sealed class AdamW : IDisposable
{
    private readonly IReadOnlyList<(string Name, Tensor Param)> parameters;
    private readonly Tensor[] m, v;
    public double Beta1 { get; }
    public double Beta2 { get; }
    public double Epsilon { get; }
    public double WeightDecay { get; }
    /// <summary>Optimizer steps taken so far.</summary>
    public long StepCount { get; private set; }

    public AdamW(IReadOnlyList<(string Name, Tensor Param)> parameters, double beta1, double beta2, double eps, double weightDecay)
    {
        this.parameters = parameters;
        Beta1 = beta1; Beta2 = beta2; Epsilon = eps; WeightDecay = weightDecay;
        m = parameters.Select(p => zeros_like(p.Param).DetachFromDisposeScope()).ToArray();
        v = parameters.Select(p => zeros_like(p.Param).DetachFromDisposeScope()).ToArray();
    }

    /// <summary>One update with learning rate <paramref name="lr"/> from the parameters' current gradients.</summary>
    public void Step(double lr)
    {
        StepCount++;
        double bc1 = 1 - Math.Pow(Beta1, StepCount), bc2 = 1 - Math.Pow(Beta2, StepCount);
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        for (int i = 0; i < parameters.Count; i++)
        {
            var p = parameters[i].Param;
            var g = p.grad;
            if (g is null) continue;
            if (WeightDecay != 0) p.mul_(1 - lr * WeightDecay);
            m[i].mul_(Beta1).add_(g, alpha: 1 - Beta1);
            v[i].mul_(Beta2).addcmul_(g, g, value: 1 - Beta2);
            var denom = v[i].sqrt().div_(Math.Sqrt(bc2)).add_(Epsilon);
            p.addcdiv_(m[i], denom, value: -lr / bc1);
        }
    }

    /// <summary>The state as named tensors: "m/NAME" and "v/NAME" for every parameter.</summary>
    public IEnumerable<(string Name, Tensor Tensor)> State()
    {
        for (int i = 0; i < parameters.Count; i++)
        {
            yield return ("m/" + parameters[i].Name, m[i]);
            yield return ("v/" + parameters[i].Name, v[i]);
        }
    }

    public void LoadState(IReadOnlyDictionary<string, Tensor> state, long stepCount)
    {
        using var _ = no_grad();
        for (int i = 0; i < parameters.Count; i++)
        {
            string name = parameters[i].Name;
            if (!state.TryGetValue("m/" + name, out var mi) || !state.TryGetValue("v/" + name, out var vi))
                throw new NoisetteInputException($"optimizer state lacks the moments of {name}");
            if (!mi.shape.SequenceEqual(m[i].shape) || !vi.shape.SequenceEqual(v[i].shape))
                throw new NoisetteInputException($"optimizer state for {name} has shape {Shape(mi)}, the model needs {Shape(m[i])}");
            m[i].copy_(mi);
            v[i].copy_(vi);
        }
        StepCount = stepCount;
    }

    private static string Shape(Tensor t) => "[" + string.Join(", ", t.shape) + "]";

    public void Dispose()
    {
        foreach (var t in m) t.Dispose();
        foreach (var t in v) t.Dispose();
    }
}
