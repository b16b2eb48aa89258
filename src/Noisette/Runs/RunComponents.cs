namespace Noisette.Runs;

/// <summary>
/// Which components a run's model is made of (config.json's <c>components</c>): its denoiser network, the
/// autoencoder between pixels and the denoiser's space, and its conditioner. A run folder written before runs
/// recorded them (and an imported guided-diffusion run) is read as <see cref="Implied"/>: a pixel U-Net, with classes
/// when its network has them.
/// </summary>
public sealed record RunComponents
{
    public const string UNet = "unet", Identity = "identity", Classes = "classes", None = "none";

    public string Denoiser { get; init; } = UNet;
    public string Autoencoder { get; init; } = Identity;
    /// <summary>"classes", or "none" for an unconditional model.</summary>
    public string Conditioner { get; init; } = None;

    /// <summary>The components of a run that does not record them: a pixel U-Net, conditioned on classes if it has any.</summary>
    public static RunComponents Implied(TrainingConfig training) =>
        new() { Conditioner = training.Model.NumClasses > 0 ? Classes : None };

    /// <summary>Throws <see cref="NoisetteInputException"/> for a component this version cannot load, or one that contradicts the config.</summary>
    public void Validate(TrainingConfig training)
    {
        static void Check(string what, string? kind, params string[] known)
        {
            if (kind is null || !known.Contains(kind))
                throw new NoisetteInputException($"components.{what} '{kind}' is not one this version of Noisette can load (it knows {string.Join(", ", known)})");
        }
        Check("denoiser", Denoiser, UNet);
        Check("autoencoder", Autoencoder, Identity);
        Check("conditioner", Conditioner, Classes, None);
        var implied = Implied(training).Conditioner;
        if (Conditioner != implied)
            throw new NoisetteInputException($"components.conditioner is '{Conditioner}' but the model has {training.Model.NumClasses} classes");
    }
}
