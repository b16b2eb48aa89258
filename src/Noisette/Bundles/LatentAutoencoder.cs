using Noisette.Models;
using static TorchSharp.torch;

namespace Noisette.Bundles;

/// <summary>
/// The autoencoder of a latent model: latent diffusion's KL autoencoder (<see cref="AutoencoderKL"/>) and the scale
/// that gives its latents about unit variance. Encoding takes the posterior's mean (deterministic, so that an edit
/// of the same picture starts from the same latent), times the scale; decoding divides by it. Both run over the
/// batch in slices of <see cref="SliceSize"/> images, so that decoding a large batch of large images needs the
/// memory of one slice's activations, not the whole batch's. It does not own the network.
/// </summary>
public sealed class LatentAutoencoder : IAutoencoder
{
    public const string Name = "kl";

    public AutoencoderKL Network { get; }
    public double Scale { get; }
    /// <summary>Images encoded or decoded at once.</summary>
    public int SliceSize { get; init; } = 4;

    public LatentAutoencoder(AutoencoderKL network, double scale)
    {
        if (!(scale > 0 && double.IsFinite(scale))) throw new ArgumentOutOfRangeException(nameof(scale), scale, "the latent scale must be positive");
        Network = network;
        Scale = scale;
    }

    public string Kind => Name;

    public SampleShape Decoded(SampleShape latent)
    {
        if (latent.Channels != Network.Config.LatentChannels)
            throw new NoisetteInputException($"the autoencoder's latents have {Network.Config.LatentChannels} channels, the denoiser's {latent.Channels}");
        return new(Network.Config.ResolvedOutChannels, latent.Size * Network.Config.Factor);
    }

    public Tensor Encode(Tensor pixels) => Sliced(pixels, x =>
    {
        using var posterior = Network.Encode(x);
        return posterior.Mean * Scale;
    });

    public Tensor Decode(Tensor latents) => Sliced(latents, z => Network.Decode(z / Scale));

    private Tensor Sliced(Tensor batch, Func<Tensor, Tensor> f)
    {
        var dtype = batch.dtype;
        var x = batch.to(Network.parameters().First().dtype);
        if (x.shape[0] <= SliceSize) return f(x).to(dtype);
        var parts = new List<Tensor>();
        for (long i = 0; i < x.shape[0]; i += SliceSize)
        {
            using var scope = NewDisposeScope();
            parts.Add(f(x.narrow(0, i, Math.Min(SliceSize, x.shape[0] - i))).MoveToOuterDisposeScope());
        }
        return cat(parts, 0).to(dtype);
    }
}
