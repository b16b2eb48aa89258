using static TorchSharp.torch;

namespace Noisette.Sampling;

/// <summary>
/// DDIM (Song et al.): x_s = √ᾱ_s x̂₀ + √(1−ᾱ_s−σ²) ε̂ + σ z, with σ = η √((1−ᾱ_s)/(1−ᾱ_t)) √(1−ᾱ_t/ᾱ_s).
/// η = 0 is deterministic; any subset of timesteps works.
/// </summary>
public sealed class DdimSampler : ISampler
{
    public string Name => "ddim";

    public Tensor Sample(Denoiser denoiser, Tensor noise, SamplerOptions options, IReadOnlyList<Generator> generators,
                         Action<SamplerProgress>? progress = null)
    {
        var diffusion = denoiser.Diffusion;
        var steps = Timesteps.For(options, diffusion.T, 50);
        var x = noise.clone();
        for (int i = steps.Length - 1; i >= 0; i--)
        {
            using var scope = NewDisposeScope();
            int t = steps[i], s = i > 0 ? steps[i - 1] : -1;
            var p = denoiser.Predict(x, t);
            double abT = diffusion.AlphaBar(t), abS = diffusion.AlphaBar(s);
            double sigma = options.Eta * Math.Sqrt((1 - abS) / (1 - abT)) * Math.Sqrt(1 - abT / abS);
            var next = p.X0 * Math.Sqrt(abS) + p.Eps * Math.Sqrt(Math.Max(1 - abS - sigma * sigma, 0));
            if (s >= 0 && sigma > 0) next += Noise.NormalLike(x, generators) * sigma;
            progress?.Invoke(new SamplerProgress(steps.Length - i, steps.Length, p.X0));
            x.Dispose();
            x = next.MoveToOuterDisposeScope();
        }
        return x;
    }
}
