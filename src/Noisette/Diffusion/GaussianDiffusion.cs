using TorchSharp;
using static TorchSharp.torch;

namespace Noisette.Diffusion;

/// <summary>
/// All of the diffusion maths in one place: the β schedule and everything derived from it (computed in float64),
/// the forward process q(x_t | x₀), conversions between ε, v and x₀, the posterior q(x_s | x_t, x₀) between any
/// two timesteps (so every sampler can work on any subset of steps), the training loss, and the variational bound.
/// Every number about noise (α, β, σ, SNR) is computed here and nowhere else.
/// </summary>
public sealed class GaussianDiffusion
{
    public DiffusionConfig Config { get; }
    public int T => Config.Timesteps;

    /// <summary>β_t, t = 0..T−1.</summary>
    public double[] Betas { get; }
    /// <summary>ᾱ_t = Π_{s≤t} (1 − β_s).</summary>
    public double[] AlphasCumprod { get; }
    /// <summary>Variance of q(x_{t−1} | x_t, x₀): β̃_t = β_t (1 − ᾱ_{t−1}) / (1 − ᾱ_t).</summary>
    public double[] PosteriorVariance { get; }
    /// <summary>log β̃_t, with the t = 0 entry replaced by t = 1's (it is 0 there).</summary>
    public double[] PosteriorLogVarianceClipped { get; }

    private readonly Dictionary<(string, string), Tensor> cache = new();
    private readonly object cacheLock = new();

    public GaussianDiffusion(DiffusionConfig config)
    {
        config.Validate();
        Config = config;
        Betas = MakeBetas(config.Schedule, config.Timesteps);
        AlphasCumprod = new double[T];
        double prod = 1;
        for (int i = 0; i < T; i++) { prod *= 1 - Betas[i]; AlphasCumprod[i] = prod; }
        PosteriorVariance = new double[T];
        PosteriorLogVarianceClipped = new double[T];
        for (int i = 0; i < T; i++)
        {
            double prev = i == 0 ? 1.0 : AlphasCumprod[i - 1];
            PosteriorVariance[i] = Betas[i] * (1 - prev) / (1 - AlphasCumprod[i]);
        }
        for (int i = 0; i < T; i++)
            PosteriorLogVarianceClipped[i] = Math.Log(i == 0 ? PosteriorVariance[Math.Min(1, T - 1)] : PosteriorVariance[i]);
    }

    public static double[] MakeBetas(BetaSchedule schedule, int T)
    {
        var b = new double[T];
        switch (schedule)
        {
            case BetaSchedule.Linear:
                double scale = 1000.0 / T, start = scale * 1e-4, end = scale * 0.02;
                for (int i = 0; i < T; i++) b[i] = T == 1 ? start : start + (end - start) * i / (T - 1);
                break;
            case BetaSchedule.Cosine:
                static double AlphaBar(double u) => Math.Pow(Math.Cos((u + 0.008) / 1.008 * Math.PI / 2), 2);
                for (int i = 0; i < T; i++) b[i] = Math.Min(1 - AlphaBar((i + 1.0) / T) / AlphaBar((double)i / T), 0.999);
                break;
            default: throw new ArgumentOutOfRangeException(nameof(schedule));
        }
        return b;
    }

    /// <summary>ᾱ at timestep t; ᾱ_{−1} = 1 (the clean image).</summary>
    public double AlphaBar(int t) => t < 0 ? 1.0 : AlphasCumprod[t];

    /// <summary>Signal-to-noise ratio ᾱ/(1−ᾱ).</summary>
    public double Snr(int t) => AlphasCumprod[t] / (1 - AlphasCumprod[t]);

    /// <summary>Signal scale α_t = √ᾱ_t of x_t = α_t x₀ + σ_t ε; α_{−1} = 1.</summary>
    public double SignalScale(int t) => Math.Sqrt(AlphaBar(t));

    /// <summary>Noise scale σ_t = √(1−ᾱ_t); σ_{−1} = 0.</summary>
    public double NoiseScale(int t) => Math.Sqrt(1 - AlphaBar(t));

    /// <summary>Half log-SNR λ_t = log(α_t/σ_t), the time variable of DPM-Solver; λ_{−1} = +∞.</summary>
    public double LogSnr(int t) => t < 0 ? double.PositiveInfinity : 0.5 * (Math.Log(AlphasCumprod[t]) - Math.Log(1 - AlphasCumprod[t]));

    /// <summary>
    /// Forward process between two timesteps s &lt; t (s = −1 is the clean image): q(x_t | x_s) = N(c x_s, σ² I) with
    /// c = √(ᾱ_t/ᾱ_s) and σ = √(1 − ᾱ_t/ᾱ_s). Used to re-noise an image partway (RePaint's jumps).
    /// </summary>
    public (double Coef, double Std) ForwardBetween(int s, int t)
    {
        double ratio = AlphaBar(t) / AlphaBar(s);
        return (Math.Sqrt(ratio), Math.Sqrt(Math.Max(1 - ratio, 0)));
    }

    // ---- per-timestep coefficients as tensors, broadcast over images ----

    /// <summary>Gathers a per-timestep table at t (int64, shape B) as a (B,1,1,1) tensor of x's dtype.</summary>
    private Tensor At(string table, Func<int, double> f, Tensor t, Tensor like)
    {
        var key = (table, t.device.ToString());
        Tensor full;
        lock (cacheLock)
        {
            if (!cache.TryGetValue(key, out full!))
            {
                var values = new double[T];
                for (int i = 0; i < T; i++) values[i] = f(i);
                full = tensor(values, dtype: float64, device: t.device).DetachFromDisposeScope();
                cache[key] = full;
            }
        }
        return full.index_select(0, t).to(like.dtype).reshape(-1, 1, 1, 1);
    }

    private Tensor SqrtAlphaBar(Tensor t, Tensor like) => At("sqrt_ab", i => Math.Sqrt(AlphasCumprod[i]), t, like);
    private Tensor SqrtOneMinusAlphaBar(Tensor t, Tensor like) => At("sqrt_1m_ab", i => Math.Sqrt(1 - AlphasCumprod[i]), t, like);

    /// <summary>Samples q(x_t | x₀) = N(√ᾱ_t x₀, (1−ᾱ_t) I) with the given noise.</summary>
    public Tensor QSample(Tensor x0, Tensor t, Tensor noise) =>
        SqrtAlphaBar(t, x0) * x0 + SqrtOneMinusAlphaBar(t, x0) * noise;

    /// <summary>
    /// The noise of a training step for images of this shape: standard normal, plus <see cref="DiffusionConfig.OffsetNoise"/>
    /// times one normal value per image and channel when that is set (drawn after the first, so a run without it
    /// draws exactly what it always drew).
    /// </summary>
    public Tensor TrainingNoise(long[] shape, Device device, Generator? generator)
    {
        var noise = randn(shape, dtype: float32, device: device, generator: generator);
        if (Config.OffsetNoise <= 0) return noise;
        var offset = randn([shape[0], shape[1], 1, 1], dtype: float32, device: device, generator: generator);
        return noise + offset * Config.OffsetNoise;
    }

    /// <summary>What the network should output for this x₀, noise and t.</summary>
    public Tensor Target(Tensor x0, Tensor noise, Tensor t) => Config.Prediction switch
    {
        Prediction.Epsilon => noise,
        Prediction.X0 => x0,
        Prediction.V => SqrtAlphaBar(t, x0) * noise - SqrtOneMinusAlphaBar(t, x0) * x0,
        _ => throw new InvalidOperationException(),
    };

    /// <summary>x₀ from x_t and ε: (x_t − √(1−ᾱ) ε) / √ᾱ.</summary>
    public Tensor X0FromEps(Tensor xt, Tensor t, Tensor eps) =>
        At("sqrt_recip_ab", i => Math.Sqrt(1 / AlphasCumprod[i]), t, xt) * xt
        - At("sqrt_recipm1_ab", i => Math.Sqrt(1 / AlphasCumprod[i] - 1), t, xt) * eps;

    /// <summary>ε from x_t and x₀: (x_t − √ᾱ x₀) / √(1−ᾱ).</summary>
    public Tensor EpsFromX0(Tensor xt, Tensor t, Tensor x0) =>
        (At("sqrt_recip_ab", i => Math.Sqrt(1 / AlphasCumprod[i]), t, xt) * xt - x0)
        / At("sqrt_recipm1_ab", i => Math.Sqrt(1 / AlphasCumprod[i] - 1), t, xt);

    /// <summary>x₀ from x_t and v: √ᾱ x_t − √(1−ᾱ) v.</summary>
    public Tensor X0FromV(Tensor xt, Tensor t, Tensor v) => SqrtAlphaBar(t, xt) * xt - SqrtOneMinusAlphaBar(t, xt) * v;

    /// <summary>ε from x_t and v: √(1−ᾱ) x_t + √ᾱ v.</summary>
    public Tensor EpsFromV(Tensor xt, Tensor t, Tensor v) => SqrtOneMinusAlphaBar(t, xt) * xt + SqrtAlphaBar(t, xt) * v;

    /// <summary>v from x₀ and ε.</summary>
    public Tensor VFrom(Tensor x0, Tensor eps, Tensor t) => SqrtAlphaBar(t, x0) * eps - SqrtOneMinusAlphaBar(t, x0) * x0;

    /// <summary>
    /// Splits a network output into the mean prediction and (for learned-sigma models) the variance channels,
    /// and converts the prediction into (x₀, ε). With <paramref name="clip"/>, x₀ is clamped to [−1, 1] and ε recomputed.
    /// </summary>
    public (Tensor X0, Tensor Eps, Tensor? VarValues) Interpret(Tensor xt, Tensor t, Tensor output, bool clip)
    {
        Tensor pred = output;
        Tensor? varValues = null;
        if (Config.LearnSigma)
        {
            var parts = output.chunk(2, 1);
            pred = parts[0]; varValues = parts[1];
        }
        Tensor x0, eps;
        switch (Config.Prediction)
        {
            case Prediction.Epsilon: eps = pred; x0 = X0FromEps(xt, t, eps); break;
            case Prediction.X0: x0 = pred; eps = EpsFromX0(xt, t, x0); break;
            case Prediction.V: x0 = X0FromV(xt, t, pred); eps = EpsFromV(xt, t, pred); break;
            default: throw new InvalidOperationException();
        }
        if (clip)
        {
            x0 = x0.clamp(-1, 1);
            eps = EpsFromX0(xt, t, x0);
        }
        return (x0, eps, varValues);
    }

    // ---- the reverse step between any two timesteps ----

    /// <summary>
    /// Posterior q(x_s | x_t, x₀) for timesteps s &lt; t (s = −1 means the clean image):
    /// with β_{t|s} = 1 − ᾱ_t/ᾱ_s, mean = √ᾱ_s β_{t|s}/(1−ᾱ_t) x₀ + √(1−β_{t|s}) (1−ᾱ_s)/(1−ᾱ_t) x_t
    /// and variance β_{t|s} (1−ᾱ_s)/(1−ᾱ_t). With s = t−1 this is DDPM's posterior.
    /// </summary>
    public (double CoefX0, double CoefXt, double Variance, double BetaTS) PosteriorBetween(int t, int s)
    {
        double abT = AlphaBar(t), abS = AlphaBar(s);
        double betaTs = 1 - abT / abS;
        return (Math.Sqrt(abS) * betaTs / (1 - abT), Math.Sqrt(1 - betaTs) * (1 - abS) / (1 - abT), betaTs * (1 - abS) / (1 - abT), betaTs);
    }

    /// <summary>
    /// Learned variance (improved DDPM): the network's v ∈ [−1, 1] interpolates log σ² between the posterior
    /// variance β̃ (v = −1) and β (v = 1) of the step steps[i] → steps[i−1], where <paramref name="steps"/> is the
    /// ascending list of timesteps in use (all of 0..T−1, or a respaced subset). At i = 0 the posterior variance is
    /// 0, so, as in improved DDPM, the one of i = 1 stands in for it.
    /// </summary>
    public Tensor LearnedLogVariance(Tensor varValues, IReadOnlyList<int> steps, int i)
    {
        int t = steps[i], s = i > 0 ? steps[i - 1] : -1;
        double maxLog = Math.Log(PosteriorBetween(t, s).BetaTS);
        double minLog = i > 0 || steps.Count < 2
            ? Math.Log(Math.Max(PosteriorBetween(t, s).Variance, 1e-20))
            : Math.Log(PosteriorBetween(steps[1], steps[0]).Variance);
        var frac = (varValues + 1) / 2;
        return frac * maxLog + (1 - frac) * minLog;
    }

    // ---- training loss ----

    /// <summary>
    /// Per-image weights of the MSE under min-SNR-γ: min(SNR, γ)/SNR for ε, min(SNR, γ)/(SNR+1) for v,
    /// min(SNR, γ) for x₀; all ones when γ = 0.
    /// </summary>
    public Tensor LossWeights(Tensor t, Tensor like)
    {
        double g = Config.MinSnrGamma;
        if (g <= 0) return ones(t.shape[0], dtype: like.dtype, device: like.device);
        Func<int, double> w = Config.Prediction switch
        {
            Prediction.Epsilon => i => Math.Min(Snr(i), g) / Snr(i),
            Prediction.V => i => Math.Min(Snr(i), g) / (Snr(i) + 1),
            _ => i => Math.Min(Snr(i), g),
        };
        return At("minsnr", w, t, like).reshape(-1);
    }

    /// <summary>
    /// The training loss per image. For every model: the (min-SNR-weighted) mean-squared error between the
    /// prediction channels and the target, L_simple. For a learned-variance model, improved DDPM's hybrid loss:
    /// L_simple + λ·L_vlb with λ = 0.001 and L_vlb estimated as T·L_t at the sampled t, where L_t is the
    /// <see cref="VariationalBoundTerm"/> in bits per dimension computed with the gradient stopped through the mean
    /// (only the variance channels learn from it). For T = 1000 this is exactly guided-diffusion's
    /// <c>mse + vb</c>; for other T it is its <c>rescale_learned_sigmas</c> form.
    /// </summary>
    public Tensor Loss(Tensor output, Tensor x0, Tensor noise, Tensor t)
    {
        Tensor pred = output;
        Tensor? varValues = null;
        if (Config.LearnSigma)
        {
            var parts = output.chunk(2, 1);
            pred = parts[0]; varValues = parts[1];
        }
        var target = Target(x0, noise, t);
        var perImage = (pred - target).square().mean([1, 2, 3]);
        var mse = perImage * LossWeights(t, perImage);
        if (varValues is null) return mse;
        var xt = QSample(x0, t, noise);
        var frozen = cat([pred.detach(), varValues], 1);
        return mse + VariationalBoundTerm(x0, xt, t, frozen) * (T / 1000.0);
    }

    // ---- the reverse process at one timestep, and the variational bound ----

    /// <summary>
    /// The posterior q(x_{t−1} | x_t, x₀) at per-image timesteps t: its mean and its log variance (with t = 0's
    /// replaced by t = 1's, as <see cref="PosteriorLogVarianceClipped"/>).
    /// </summary>
    public (Tensor Mean, Tensor LogVariance) QPosterior(Tensor x0, Tensor xt, Tensor t)
    {
        var mean = At("post_coef_x0", i => PosteriorBetween(i, i - 1).CoefX0, t, xt) * x0
                 + At("post_coef_xt", i => PosteriorBetween(i, i - 1).CoefXt, t, xt) * xt;
        var logVar = At("post_logvar_clipped", i => PosteriorLogVarianceClipped[i], t, xt).expand_as(xt);
        return (mean, logVar);
    }

    /// <summary>
    /// The model's reverse step p(x_{t−1} | x_t) at per-image timesteps t over the full schedule (guided-diffusion's
    /// <c>p_mean_variance</c>): the predicted x₀ (clamped to [−1, 1] with <paramref name="clip"/>), the mean of the
    /// posterior given it, and the log variance: learned (interpolated in log space between β̃_t and β_t) for a
    /// learned-variance model, the clipped posterior log variance otherwise.
    /// </summary>
    public (Tensor Mean, Tensor LogVariance, Tensor X0) PMeanVariance(Tensor xt, Tensor t, Tensor output, bool clip)
    {
        var (x0, _, varValues) = Interpret(xt, t, output, clip);
        var (mean, posteriorLogVar) = QPosterior(x0, xt, t);
        if (varValues is null) return (mean, posteriorLogVar, x0);
        var minLog = At("post_logvar_clipped", i => PosteriorLogVarianceClipped[i], t, xt);
        var maxLog = At("log_beta", i => Math.Log(Betas[i]), t, xt);
        var frac = (varValues + 1) / 2;
        return (mean, frac * maxLog + (1 - frac) * minLog, x0);
    }

    /// <summary>
    /// One term of the variational bound for a network output (the hybrid loss's L_vlb): see
    /// <see cref="BoundTermBitsPerDim"/>, with the model's mean and log variance from <see cref="PMeanVariance"/>
    /// (no clipping of x̂₀).
    /// </summary>
    public Tensor VariationalBoundTerm(Tensor x0, Tensor xt, Tensor t, Tensor output)
    {
        var (mean, logVar, _) = PMeanVariance(xt, t, output, clip: false);
        return BoundTermBitsPerDim(x0, xt, t, mean, logVar);
    }

    // ---- variational bound, in bits per dimension (likelihood evaluation) ----
    // Terms of the DDPM bound −log p(x₀) ≤ L_T + Σ_{t≥1} L_{t−1} + L_0 (Ho et al.; Nichol and Dhariwal), on this
    // class's zero-based timesteps: the prior term KL(q(x_{T−1} | x₀) ‖ N(0, I)), the per-step terms
    // KL(q(x_{t−1} | x_t, x₀) ‖ p(x_{t−1} | x_t)) for t ≥ 1, and the decoder term −log p(x₀ | x_t) at t = 0 with a
    // Gaussian discretised onto the 256 pixel levels. Inputs should be float64; each result is per image,
    // averaged over the C×H×W dimensions and divided by ln 2.

    /// <summary>KL(N(mean1, e^logVar1) ‖ N(mean2, e^logVar2)) elementwise, in nats.</summary>
    public static Tensor NormalKl(Tensor mean1, Tensor logVar1, Tensor mean2, Tensor logVar2) =>
        0.5 * (logVar2 - logVar1 + (logVar1 - logVar2).exp() + (mean1 - mean2).square() * (-logVar2).exp() - 1.0);

    /// <summary>
    /// log P(x) elementwise, in nats, for pixels x ∈ [−1, 1] on the 256 levels k/127.5 − 1, under a Gaussian
    /// N(mean, e^{2 logScale}) integrated over each level's bin of width 2/255; the outermost bins extend to ±∞.
    /// Uses the exact normal CDF (erfc), evaluated on the tail side so that far bins keep their precision;
    /// probabilities are floored at 1e−12 as in improved-diffusion.
    /// </summary>
    public static Tensor DiscretizedGaussianLogLikelihood(Tensor x, Tensor mean, Tensor logScale)
    {
        const double halfBin = 1.0 / 255.0;
        var invStd = (-logScale).exp();
        var upper = (x - mean + halfBin) * invStd;      // standardised bin edges
        var lower = (x - mean - halfBin) * invStd;
        // Φ(z) = erfc(−z/√2)/2 and 1 − Φ(z) = erfc(z/√2)/2, both accurate in their own tail.
        var cdfUpper = (upper * (-Math.Sqrt(0.5))).erfc() * 0.5;
        var sfLower = (lower * Math.Sqrt(0.5)).erfc() * 0.5;
        // Middle bins: Φ(upper) − Φ(lower), computed as (1 − Φ(lower)) − (1 − Φ(upper)) when the bin lies right of the mean.
        var left = cdfUpper - (lower * (-Math.Sqrt(0.5))).erfc() * 0.5;
        var right = sfLower - (upper * Math.Sqrt(0.5)).erfc() * 0.5;
        var mid = where(lower > 0, right, left);
        var prob = where(x < -0.999, cdfUpper, where(x > 0.999, sfLower, mid));
        return prob.clamp_min(1e-12).log();
    }

    /// <summary>
    /// The fixed log variance of p(x_{t−1} | x_t) for a model without learned σ: the posterior variance β̃_t
    /// (DDPM's "fixedsmall", Noisette's default), or β_t ("fixedlarge"); at t = 0, where β̃ is 0, both use β̃_1.
    /// </summary>
    public double FixedLogVariance(int t, bool large) =>
        large ? (t == 0 ? PosteriorLogVarianceClipped[0] : Math.Log(Betas[t])) : PosteriorLogVarianceClipped[t];

    /// <summary>
    /// One term of the bound per image at per-image timesteps t, in bits/dim, for a model step
    /// p(x_{t−1} | x_t) = N(<paramref name="modelMean"/>, e^<paramref name="modelLogVariance"/>): for t ≥ 1 the KL from
    /// the true posterior q(x_{t−1} | x_t, x₀); at t = 0 the negative discretised log-likelihood of x₀ (where the
    /// model's mean is its x̂₀). <paramref name="modelLogVariance"/> broadcasts against x (a scalar tensor for a fixed
    /// variance). The training loss and likelihood evaluation both use this.
    /// </summary>
    public Tensor BoundTermBitsPerDim(Tensor x0, Tensor xt, Tensor t, Tensor modelMean, Tensor modelLogVariance)
    {
        var (trueMean, trueLogVar) = QPosterior(x0, xt, t);
        var kl = NormalKl(trueMean, trueLogVar, modelMean, modelLogVariance).mean([1, 2, 3]) / Math.Log(2.0);
        var nll = -DiscretizedGaussianLogLikelihood(x0, modelMean, modelLogVariance * 0.5).mean([1, 2, 3]) / Math.Log(2.0);
        return where(t == 0, nll, kl);
    }

    /// <summary>The prior term KL(q(x_{T−1} | x₀) ‖ N(0, I)) per image, in bits/dim; needs no network.</summary>
    public Tensor PriorBitsPerDim(Tensor x0)
    {
        double ab = AlphasCumprod[T - 1];
        var mean = x0 * Math.Sqrt(ab);
        var logVar = full_like(x0, Math.Log(1 - ab));
        return NormalKl(mean, logVar, zeros_like(x0), zeros_like(x0)).mean([1, 2, 3]) / Math.Log(2);
    }
}
