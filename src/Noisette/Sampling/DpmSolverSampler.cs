using static TorchSharp.torch;

namespace Noisette.Sampling;

/// <summary>
/// DPM-Solver++(2M) (Lu et al. 2022): a second-order multistep solver of the probability-flow ODE written for the
/// data prediction x̂₀, stepping in the half log-SNR λ = log(α/σ). From t to s with h = λ_s − λ_t:
/// x_s = (σ_s/σ_t) x_t + α_s (1 − e^{−h}) D, where D = x̂₀(t) on the first step (first order) and afterwards
/// D = (1 + 1/(2r)) x̂₀(t) − 1/(2r) x̂₀(previous), r = h_previous / h. The final step into the clean image (σ = 0)
/// is first order, as usual: it returns x̂₀. Deterministic (η is not used); works on any subset of timesteps, and
/// when given only a number of steps it spaces them evenly in λ (the paper's choice: evenly spaced t leave one huge
/// λ step at the end, where the second-order extrapolation overshoots).
/// </summary>
public sealed class DpmSolverSampler : ISampler
{
    public string Name => "dpm++";

    public int DefaultSteps(int T) => 20;

    public int[] Timesteps(Diffusion.GaussianDiffusion diffusion, int count) => Sampling.Timesteps.UniformLogSnr(diffusion, count);

    public bool IsStochastic => false;

    public Tensor Sample(Denoiser denoiser, Tensor noise, SamplerOptions options, IReadOnlyList<Generator> generators,
                         Action<SamplerProgress>? progress = null)
    {
        var d = denoiser.Diffusion;
        var path = options.Path(this, d);
        var x = noise.clone();
        Tensor? previousX0 = null;         // x̂₀ of the previous step: the multistep history, carried explicitly
        double previousH = 0;
        for (int i = 0; i + 1 < path.Length; i++)
        {
            using var scope = NewDisposeScope();
            int t = path[i], s = path[i + 1];
            var p = denoiser.Predict(x, t);
            Tensor next;
            double h = d.LogSnr(s) - d.LogSnr(t);
            if (s < 0) next = p.X0.clone();                     // σ_s = 0: first-order final step
            else
            {
                var data = p.X0;
                if (previousX0 is not null)
                {
                    double half = previousH / h * 2;         // 2r
                    data = p.X0 * (1 + 1 / half) - previousX0 * (1 / half);
                }
                next = x * (d.NoiseScale(s) / d.NoiseScale(t)) + data * (d.SignalScale(s) * (1 - Math.Exp(-h)));
            }
            progress?.Invoke(new SamplerProgress(i + 1, path.Length - 1, p.X0));
            x.Dispose();
            previousX0?.Dispose();
            x = next.MoveToOuterDisposeScope();
            previousX0 = p.X0.MoveToOuterDisposeScope();
            previousH = h;
        }
        previousX0?.Dispose();
        return x;
    }
}
