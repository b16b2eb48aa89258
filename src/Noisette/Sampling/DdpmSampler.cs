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

    public int DefaultSteps(int T) => T;

    public int[] Timesteps(Diffusion.GaussianDiffusion diffusion, int count) => Sampling.Timesteps.Evenly(diffusion.T, count);

    public bool IsStochastic => true;

    public Tensor Sample(Denoiser denoiser, Tensor noise, SamplerOptions options, IReadOnlyList<Generator> generators,
                         Action<SamplerProgress>? progress = null)
    {
        var diffusion = denoiser.Diffusion;
        var path = options.Path(this, diffusion);
        // The visited timesteps ascending, as the learned variance indexes them (the stopping point included).
        var ascending = path.Where(p => p >= 0).Reverse().ToArray();
        var x = noise.clone();
        for (int i = 0; i + 1 < path.Length; i++)
        {
            using var scope = NewDisposeScope();
            int t = path[i], s = path[i + 1];
            var p = denoiser.Predict(x, t);
            var (cx0, cxt, variance, _) = diffusion.PosteriorBetween(t, s);
            var next = p.X0 * cx0 + x * cxt;
            if (s >= 0)
            {
                var z = Noise.NormalLike(x, generators);
                next += p.VarValues is null
                    ? z * Math.Sqrt(variance)
                    : z * (diffusion.LearnedLogVariance(p.VarValues, ascending, Array.IndexOf(ascending, t)) * 0.5).exp();
            }
            progress?.Invoke(new SamplerProgress(i + 1, path.Length - 1, p.X0));
            x.Dispose();
            x = next.MoveToOuterDisposeScope();
        }
        return x;
    }
}
