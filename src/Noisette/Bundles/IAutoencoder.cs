using static TorchSharp.torch;

namespace Noisette.Bundles;

/// <summary>
/// The bridge between pixels and the space a denoiser works in. Pipelines encode an input image once before the
/// sampler sees it and decode the sampler's result once before it becomes pixels; samplers never see pixels. A pixel
/// model's autoencoder is the identity (<see cref="IdentityAutoencoder"/>); a latent model's maps an image to a smaller
/// grid of latents and multiplies them by its <see cref="Scale"/>, so that they have about unit variance.
/// </summary>
public interface IAutoencoder
{
    /// <summary>What a run folder records for it (config.json's <c>components.autoencoder</c>): "identity" for pixels.</summary>
    string Kind { get; }
    /// <summary>The factor the encoder's output is multiplied by (and the decoder's input divided by); 1 for the identity.</summary>
    double Scale { get; }
    /// <summary>The shape of the pixels that decode from latents of shape <paramref name="latent"/>.</summary>
    SampleShape Decoded(SampleShape latent);
    /// <summary>Images (B, C, H, W) in [−1, 1] to the denoiser's space, scaled.</summary>
    Tensor Encode(Tensor pixels);
    /// <summary>The denoiser's space (B, c, h, w) back to images in [−1, 1].</summary>
    Tensor Decode(Tensor latents);
}
