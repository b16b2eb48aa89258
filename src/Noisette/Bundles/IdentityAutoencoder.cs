using static TorchSharp.torch;

namespace Noisette.Bundles;

/// <summary>The autoencoder of a pixel model: the denoiser works on the pixels themselves, so both ways are the identity.</summary>
public sealed class IdentityAutoencoder : IAutoencoder
{
    public const string Name = "identity";

    /// <summary>The one instance: it has no state.</summary>
    public static IdentityAutoencoder Instance { get; } = new();

    private IdentityAutoencoder() { }

    public string Kind => Name;
    public double Scale => 1.0;
    public SampleShape Decoded(SampleShape latent) => latent;
    public Tensor Encode(Tensor pixels) => pixels;
    public Tensor Decode(Tensor latents) => latents;
}
