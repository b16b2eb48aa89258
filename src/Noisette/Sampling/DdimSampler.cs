using static TorchSharp.torch;

namespace Noisette.Sampling;

/// <summary>
/// DDIM (Song et al.): x_s = √ᾱ_s x̂₀ + √(1−ᾱ_s−σ²) ε̂ + σ z, with σ = η √((1−ᾱ_s)/(1−ᾱ_t)) √(1−ᾱ_t/ᾱ_s).
/// η = 0 is deterministic; any subset of timesteps works.
/// </summary>
public sealed class DdimSampler : ISampler
{
    public string Name => "ddim";

    public int DefaultSteps(int T) => 50;

    public int[] Timesteps(Diffusion.GaussianDiffusion diffusion, int count) => Sampling.Timesteps.Evenly(diffusion.T, count);

    public bool IsStochastic => false;

    public Tensor Sample(Denoiser denoiser, Tensor noise, SamplerOptions options, IReadOnlyList<Generator> generators,
                         Action<SamplerProgress>? progress = null)
    {
        var diffusion = denoiser.Diffusion;
        var path = options.Path(this, diffusion);
        var x = noise.clone();
        for (int i = 0; i + 1 < path.Length; i++)
        {
            using var scope = NewDisposeScope();
            int t = path[i], s = path[i + 1];
            var p = denoiser.Predict(x, t);
            double abT = diffusion.AlphaBar(t), abS = diffusion.AlphaBar(s);
            double sigma = options.Eta * Math.Sqrt((1 - abS) / (1 - abT)) * Math.Sqrt(1 - abT / abS);
            var next = p.X0 * Math.Sqrt(abS) + p.Eps * Math.Sqrt(Math.Max(1 - abS - sigma * sigma, 0));
            if (s >= 0 && sigma > 0) next += Noise.NormalLike(x, generators) * sigma;
            progress?.Invoke(new SamplerProgress(i + 1, path.Length - 1, p.X0));
            x.Dispose();
            x = next.MoveToOuterDisposeScope();
        }
        return x;
    }
}
