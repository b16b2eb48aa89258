using static TorchSharp.torch;

namespace Noisette.Sampling;

/// <summary>
/// Euler ancestral (as in Karras et al.'s and k-diffusion's samplers), in the noise-level variable
/// σ_t = √((1−ᾱ_t)/ᾱ_t), where x_t/√ᾱ_t = x₀ + σ_t ε. From σ to the next level σ', the step adds fresh noise of
/// σ↑ = √(σ'²(σ²−σ'²)/σ²) and takes an Euler step of the probability-flow ODE down to σ↓ = √(σ'²−σ↑²):
/// x' = x + (σ↓ − σ)·(x − x̂₀)/σ + σ↑ z. Every step injects noise (there is no η). It is first order: on the
/// analytic test (Gaussian data, exact denoiser) its samples are 15% too narrow at 30 steps and within 5% at 100.
/// Yet it is the default, at 20 steps: on trained models the fresh noise of every step washes out the network's own
/// errors, which the deterministic samplers carry to the end. On the letters benchmark (docs/quality.md) it beat
/// DPM-Solver++ 20, DDIM 50 and even DDPM with all 1,000 steps, and 20 steps scored as well as 50.
/// Any subset of timesteps works; by default they are spaced evenly in log-SNR, as DPM-Solver++ spaces them.
/// </summary>
public sealed class EulerAncestralSampler : ISampler
{
    public string Name => "euler-a";

    public int DefaultSteps(int T) => 20;

    public int[] Timesteps(Diffusion.GaussianDiffusion diffusion, int count) => Sampling.Timesteps.UniformLogSnr(diffusion, count);

    public bool IsStochastic => true;

    public Tensor Sample(Denoiser denoiser, Tensor noise, SamplerOptions options, IReadOnlyList<Generator> generators,
                         Action<SamplerProgress>? progress = null)
    {
        var diffusion = denoiser.Diffusion;
        // Steps evenly in log-SNR, as DPM-Solver++: evenly in time leaves too few steps at low noise, where each
        // step's fresh noise must be small (30 steps evenly in time give samples 28% too narrow on the analytic test).
        var path = options.Path(this, diffusion);
        var x = noise.clone();
        for (int i = 0; i + 1 < path.Length; i++)
        {
            using var scope = NewDisposeScope();
            int t = path[i], s = path[i + 1];
            var p = denoiser.Predict(x, t);
            double abT = diffusion.AlphaBar(t), abS = diffusion.AlphaBar(s);
            double sigma = Math.Sqrt((1 - abT) / abT), sigmaNext = Math.Sqrt((1 - abS) / abS);
            double up = sigmaNext * Math.Sqrt(Math.Max(sigma * sigma - sigmaNext * sigmaNext, 0)) / sigma;
            double down = Math.Sqrt(Math.Max(sigmaNext * sigmaNext - up * up, 0));
            // In σ-space: x_σ = x_t / √ᾱ_t; the Euler step along d = (x_σ − x̂₀)/σ, then back to x_s = √ᾱ_s x_σ'.
            var xSigma = x / Math.Sqrt(abT);
            var next = xSigma + (xSigma - p.X0) * ((down - sigma) / sigma);
            if (up > 0) next += Noise.NormalLike(x, generators) * up;
            next = next * Math.Sqrt(abS);
            progress?.Invoke(new SamplerProgress(i + 1, path.Length - 1, p.X0));
            x.Dispose();
            x = next.MoveToOuterDisposeScope();
        }
        return x;
    }
}
