using static TorchSharp.torch;

namespace Noisette.Sampling;

/// <summary>
/// Ancestral sampling (Ho et al.): from x_t draw x_s ~ q(x_s | x_t, x̂₀) with the posterior variance, or with the
/// model's learned variance when it has one. With all T steps this is DDPM; fewer steps use the same posterior
/// between the visited timesteps.
/// </summary>
public sealed class DdpmSampler : ISampler
{
    public string Name => "ddpm";

    public Tensor Sample(Denoiser denoiser, Tensor noise, SamplerOptions options, IReadOnlyList<Generator> generators,
                         Action<SamplerProgress>? progress = null)
    {
        var diffusion = denoiser.Diffusion;
        var steps = Timesteps.For(options, diffusion.T, diffusion.T);
        var x = noise.clone();
        for (int i = steps.Length - 1; i >= 0; i--)
        {
            using var scope = NewDisposeScope();
            int t = steps[i], s = i > 0 ? steps[i - 1] : -1;
            var p = denoiser.Predict(x, t);
            var (cx0, cxt, variance, _) = diffusion.PosteriorBetween(t, s);
            var next = p.X0 * cx0 + x * cxt;
            if (s >= 0)
            {
                var z = Noise.NormalLike(x, generators);
                next += p.VarValues is null
                    ? z * Math.Sqrt(variance)
                    : z * (diffusion.LearnedLogVariance(p.VarValues, steps, i) * 0.5).exp();
            }
            progress?.Invoke(new SamplerProgress(steps.Length - i, steps.Length, p.X0));
            x.Dispose();
            x = next.MoveToOuterDisposeScope();
        }
        return x;
    }
}
