using Noisette.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Noisette.Tests.Training;

/// <summary>AdamW's update against its closed form, computed here in double precision.</summary>
public class AdamWTests
{
    private const double Beta1 = 0.9, Beta2 = 0.999, Eps = 1e-8, Lr = 0.1, WeightDecay = 0.01;

    // A Linear(3, 2) layer has 8 parameters: its 2×3 weight, then its bias.
    private static readonly double[] Start = [0.5, -1.25, 2.0, 0.0, 0.75, -0.3, 1.5, -2.0];
    private static readonly double[] Grad1 = [0.2, -0.01, 3.0, 0.0, -1.5, 1e-4, 0.6, -0.05];
    private static readonly double[] Grad2 = [-0.4, 0.02, 1.0, 0.5, -1.5, -2e-4, 0.0, 0.3];

    private static float[] Values(Tensor t) => t.data<float>().ToArray();

    private static void SetFlat(Tensor flat, double[] values)
    {
        using var _ = no_grad();
        using var v = tensor(values.Select(x => (float)x).ToArray());
        flat.copy_(v);
    }

    [Fact]
    public void OneAndTwoStepsMatchTheClosedForm()
    {
        using var layer = nn.Linear(3, 2);
        using var flat = new FlatParameters(layer, withGrad: true);
        Assert.Equal(8, flat.Count);
        SetFlat(flat.Data, Start);
        using var opt = new AdamW(flat, Beta1, Beta2, Eps, WeightDecay);

        // Step 1: m = (1-β1)g and v = (1-β2)g², so the bias-corrected moments are g and g², and the update is
        // p ← p(1 - lr·wd) - lr·g / (|g| + ε): a step of nearly lr against the sign of every non-zero gradient.
        SetFlat(flat.Grad!, Grad1);
        opt.Step(Lr);
        var p1 = Start.Select((p, i) => p * (1 - Lr * WeightDecay) - Lr * Grad1[i] / (Math.Abs(Grad1[i]) + Eps)).ToArray();
        var got1 = Values(flat.Data);
        for (int i = 0; i < 8; i++) Assert.True(Math.Abs(got1[i] - p1[i]) < 1e-6, $"step 1, parameter {i}: {got1[i]} vs {p1[i]}");
        // A zero gradient moves the parameter by the decoupled decay alone (index 3 starts at 0 and stays there).
        Assert.Equal((float)(Start[3] * (1 - Lr * WeightDecay)), got1[3]);
        // The parameters seen by the module are views of the flat buffer.
        Assert.Equal((float)p1[0], layer.weight!.data<float>()[0], 6);

        // Step 2, from the moments' recurrences.
        SetFlat(flat.Grad!, Grad2);
        opt.Step(Lr);
        double bc1 = 1 - Beta1 * Beta1, bc2 = 1 - Beta2 * Beta2;
        var got2 = Values(flat.Data);
        for (int i = 0; i < 8; i++)
        {
            double m = Beta1 * (1 - Beta1) * Grad1[i] + (1 - Beta1) * Grad2[i];
            double v = Beta2 * (1 - Beta2) * Grad1[i] * Grad1[i] + (1 - Beta2) * Grad2[i] * Grad2[i];
            double p2 = p1[i] * (1 - Lr * WeightDecay) - Lr * (m / bc1) / (Math.Sqrt(v / bc2) + Eps);
            Assert.True(Math.Abs(got2[i] - p2) < 1e-6, $"step 2, parameter {i}: {got2[i]} vs {p2}");
        }
        Assert.Equal(2, opt.StepCount);
    }

    [Fact]
    public void WithoutWeightDecayAZeroGradientLeavesTheParameterExactly()
    {
        using var layer = nn.Linear(3, 2);
        using var flat = new FlatParameters(layer, withGrad: true);
        SetFlat(flat.Data, Start);
        using var opt = new AdamW(flat, Beta1, Beta2, Eps, weightDecay: 0);
        SetFlat(flat.Grad!, Grad1);
        opt.Step(Lr);
        var got = Values(flat.Data);
        Assert.Equal((float)Start[3], got[3]);
        Assert.Equal(Start[0] - Lr * Grad1[0] / (Math.Abs(Grad1[0]) + Eps), got[0], 6);
    }

    [Fact]
    public void SavedStateContinuesExactly()
    {
        float[] Run(bool reload)
        {
            using var layer = nn.Linear(3, 2);
            using var flat = new FlatParameters(layer, withGrad: true);
            SetFlat(flat.Data, Start);
            using var opt = new AdamW(flat, Beta1, Beta2, Eps, WeightDecay);
            SetFlat(flat.Grad!, Grad1);
            opt.Step(Lr);
            var o = opt;
            using var other = new AdamW(flat, Beta1, Beta2, Eps, WeightDecay);
            if (reload)
            {
                other.LoadState(opt.State().ToDictionary(s => s.Name, s => s.Tensor), opt.StepCount);
                o = other;
            }
            SetFlat(flat.Grad!, Grad2);
            o.Step(Lr);
            return Values(flat.Data);
        }
        Assert.Equal(Run(false), Run(true));
    }
}
