namespace Noisette.Runs;

/// <summary>
/// Which components a run's model is made of (config.json's <c>components</c>): its denoiser network, the
/// autoencoder between pixels and the denoiser's space, and its conditioner. A run folder written before runs
/// recorded them (and an imported guided-diffusion run) is read as <see cref="Implied"/>: a pixel U-Net, with classes
/// when its network has them.
/// </summary>
public sealed record RunComponents
{
    public const string UNet = "unet", Identity = "identity", Kl = "kl", Classes = "classes", None = "none";

    public string Denoiser { get; init; } = UNet;
    public string Autoencoder { get; init; } = Identity;
    /// <summary>"classes", or "none" for an unconditional model.</summary>
    public string Conditioner { get; init; } = None;

    /// <summary>
    /// The components a configuration implies: a U-Net, behind latent diffusion's KL autoencoder when the run has one
    /// (else on pixels), conditioned on classes if it has any. Runs that do not record their components are read so.
    /// </summary>
    public static RunComponents Implied(TrainingConfig training) =>
        new() { Autoencoder = training.IsLatent ? Kl : Identity, Conditioner = training.Model.NumClasses > 0 ? Classes : None };

    /// <summary>Throws <see cref="NoisetteInputException"/> for a component this version cannot load, or one that contradicts the config.</summary>
    public void Validate(TrainingConfig training)
    {
        static void Check(string what, string? kind, params string[] known)
        {
            if (kind is null || !known.Contains(kind))
                throw new NoisetteInputException($"components.{what} '{kind}' is not one this version of Noisette can load (it knows {string.Join(", ", known)})");
        }
        Check("denoiser", Denoiser, UNet);
        Check("autoencoder", Autoencoder, Identity, Kl);
        Check("conditioner", Conditioner, Classes, None);
        var implied = Implied(training);
        if (Conditioner != implied.Conditioner)
            throw new NoisetteInputException($"components.conditioner is '{Conditioner}' but the model has {training.Model.NumClasses} classes");
        if (Autoencoder != implied.Autoencoder)
            throw new NoisetteInputException(training.IsLatent
                ? $"components.autoencoder is '{Autoencoder}' but training.autoencoder names one"
                : $"components.autoencoder is '{Autoencoder}' but training.autoencoder names none");
    }
}
