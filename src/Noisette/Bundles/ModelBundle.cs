using Noisette.Diffusion;
using Noisette.Models;
using Noisette.Sampling;
using static TorchSharp.torch;

namespace Noisette.Bundles;

/// <summary>
/// A model as sampling, editing, inpainting, interpolation, evaluation and the studio use it: a denoiser network,
/// the diffusion that interprets it (schedule and parameterisation), the autoencoder between pixels and the space
/// the network works in (the identity for a pixel model), and the conditioner that steers it, if any (class labels).
/// <para>
/// Samplers see only the <see cref="Sampling.Denoiser"/> it makes. Noise is drawn in the denoiser's space
/// (<see cref="SampleShape"/>); the pipelines encode inputs and decode outputs once, at their edges, through
/// <see cref="Autoencoder"/>. A bundle does not own its components: whoever made them disposes them (a loaded
/// checkpoint, or the trainer for its averaged network).
/// </para>
/// </summary>
public sealed class ModelBundle
{
    /// <summary>The denoiser network: the U-Net.</summary>
    public UNet Network { get; }
    public GaussianDiffusion Diffusion { get; }
    public IAutoencoder Autoencoder { get; }
    /// <summary>What steers the network, or null for an unconditional model.</summary>
    public IConditioner? Conditioner { get; }

    public ModelBundle(UNet network, GaussianDiffusion diffusion, IAutoencoder? autoencoder = null, IConditioner? conditioner = null)
    {
        if (network.IsConditional != conditioner is not null)
            throw new ArgumentException(network.IsConditional ? "a conditional network needs a conditioner" : "an unconditional network takes no conditioner",
                                        nameof(conditioner));
        Network = network;
        Diffusion = diffusion;
        Autoencoder = autoencoder ?? IdentityAutoencoder.Instance;
        Conditioner = conditioner;
    }

    /// <summary>The classes that steer the network, or null when it is not class-conditional.</summary>
    public ClassConditioner? Classes => Conditioner as ClassConditioner;

    /// <summary>The classes, for a request that names some; a model without classes is an input error.</summary>
    public ClassConditioner RequireClasses() =>
        Classes ?? throw new NoisetteInputException("this model was trained without classes, so it takes no class");

    /// <summary>The shape of one sample in the denoiser's space: what its noise is drawn in.</summary>
    public SampleShape SampleShape => new(Network.Config.InChannels, Network.Config.ImageSize);

    /// <summary>The shape of one image in pixels: the sample shape, decoded.</summary>
    public SampleShape ImageShape => Autoencoder.Decoded(SampleShape);

    public Device Device => Network.parameters().First().device;

    /// <summary>
    /// Whether the denoiser clamps its predicted x₀ to [−1, 1]: right for pixels, which lie there, and wrong for an
    /// autoencoder's latents, which do not (scaled to unit variance, with per-channel offsets; clamping them turns
    /// samples and edits into hollow, broken strokes), so a latent model's predictions are left as they are.
    /// </summary>
    public bool ClipDenoised => Autoencoder is IdentityAutoencoder;

    /// <summary>The denoiser without a condition (a conditional network's null class).</summary>
    public Denoiser Denoiser() => new(Network, Diffusion) { ClipDenoised = ClipDenoised };

    /// <summary>The denoiser for one class (by name, or by index for unnamed classes) with classifier-free guidance; null = no class.</summary>
    public Denoiser Denoiser(string? className, double guidance)
    {
        if (className is null)
        {
            CheckUnconditional();
            return Denoiser();
        }
        var classes = RequireClasses();
        return new Denoiser(Network, Diffusion) { ClipDenoised = ClipDenoised, Label = classes.Label(className), GuidanceScale = classes.CheckGuidance(guidance) };
    }

    /// <summary>The guidance scale when none is asked for: the conditioner's default (2 for a model without one; unused there).</summary>
    public double DefaultGuidance => Conditioner?.DefaultGuidance ?? 2.0;

    /// <summary>Refuses to sample without a condition where the conditioner has no null condition.</summary>
    public void CheckUnconditional() => Conditioner?.CheckUnconditional();

    /// <summary>Class names (or indices) to labels, "all" for every named class; none asked for gives none.</summary>
    public IReadOnlyList<int> ResolveClasses(IReadOnlyList<string> requested) =>
        requested.Count == 0 ? [] : RequireClasses().Labels(requested);
}
