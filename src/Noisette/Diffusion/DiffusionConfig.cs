namespace Noisette.Diffusion;

/// <summary>How β grows over the forward process.</summary>
public enum BetaSchedule
{
    /// <summary>Ho et al.: β from 1e-4 to 0.02 over 1000 steps (scaled by 1000/T for other T).</summary>
    Linear,
    /// <summary>Nichol and Dhariwal: ᾱ(t) = cos²(((t/T)+s)/(1+s)·π/2), β clipped at 0.999.</summary>
    Cosine,
}

/// <summary>What the network is trained to output.</summary>
public enum Prediction
{
    /// <summary>The added noise ε.</summary>
    Epsilon,
    /// <summary>The velocity v = √ᾱ·ε − √(1−ᾱ)·x₀ (Salimans and Ho).</summary>
    V,
    /// <summary>The clean image x₀.</summary>
    X0,
}

/// <summary>The diffusion part of a run's configuration.</summary>
public sealed record DiffusionConfig
{
    public int Timesteps { get; init; } = 1000;
    public BetaSchedule Schedule { get; init; } = BetaSchedule.Linear;
    public Prediction Prediction { get; init; } = Prediction.Epsilon;
    /// <summary>Min-SNR-γ loss weighting (Hang et al.); 0 turns it off (plain MSE).</summary>
    public double MinSnrGamma { get; init; } = 0;
    /// <summary>
    /// Offset noise (Guttenberg 2023): the training noise gets, per image and channel, one extra normal value times
    /// this, added to every pixel. It teaches the network to move an image's overall brightness, which the linear
    /// schedule's last steps otherwise leave to the mean of the sampler's first noise. 0 turns it off. The default,
    /// 0.1, took letters32 on the 1,158 As from 75% to 93.5% letters and its distance from 564 to 75 at 1,000 steps
    /// (docs/quality.md); runs written before it read as 0 (Runs.ConfigUpgrade).
    /// </summary>
    public double OffsetNoise { get; init; } = 0.1;
    /// <summary>Whether the model also outputs a variance interpolation (improved DDPM); set from the model.</summary>
    public bool LearnSigma { get; init; } = false;

    public void Validate()
    {
        if (Timesteps is < 2 or > 100_000) throw new NoisetteInputException($"diffusion config: timesteps must be 2..100000, got {Timesteps}");
        if (MinSnrGamma < 0) throw new NoisetteInputException($"diffusion config: min_snr_gamma must be ≥ 0, got {MinSnrGamma}");
        if (OffsetNoise is < 0 or > 1) throw new NoisetteInputException($"diffusion config: offset_noise must be from 0 to 1, got {OffsetNoise}");
    }
}
