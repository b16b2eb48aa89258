using Noisette.Models;
using static TorchSharp.torch;

namespace Noisette.Bundles;

/// <summary>
/// The autoencoder of a latent model: latent diffusion's KL autoencoder (<see cref="AutoencoderKL"/>) and the scale
/// that gives its latents about unit variance. Encoding takes the posterior's mean (deterministic, so that an edit
/// of the same picture starts from the same latent), times the scale; decoding divides by it. Both run over the
/// batch in slices of <see cref="SliceSize"/> images, so that decoding a large batch of large images needs the
/// memory of one slice's activations, not the whole batch's; and a picture larger than <see cref="TileLatents"/>
/// latents (times the factor in pixels) goes through in overlapping tiles (<see cref="LatentTiles"/>), so that its
/// memory is that of one tile. It does not own the network.
/// </summary>
public sealed class LatentAutoencoder : IAutoencoder
{
    public const string Name = "kl";

    public AutoencoderKL Network { get; }
    public double Scale { get; }
    /// <summary>
    /// Images encoded or decoded at once. One: on this project's 2-core CPU the default autoencoder decodes a 256 px
    /// picture in 1.55 s alone and in 2.71 s a picture in fours (docs/benchmarks.md), with a third of the memory.
    /// </summary>
    public int SliceSize { get; init; } = 1;
    /// <summary>Side of the tiles, in latents, for grids larger than it (null: never tiled).</summary>
    public int? TileLatents { get; init; }
    /// <summary>Latents by which neighbouring tiles overlap and blend.</summary>
    public int TileOverlap { get; init; } = 8;

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

    public Tensor Encode(Tensor pixels) => Sliced(pixels, x => Tiled(x, p =>
    {
        using var posterior = Network.Encode(p);
        return posterior.Mean * Scale;
    }, unit: Network.Config.Factor, numerator: 1, denominator: Network.Config.Factor));

    public Tensor Decode(Tensor latents) => Sliced(latents, z => Tiled(z, l => Network.Decode(l / Scale), unit: 1, numerator: Network.Config.Factor, denominator: 1));

    /// <param name="unit">Input positions per latent (the factor for pixels, 1 for latents).</param>
    private Tensor Tiled(Tensor x, Func<Tensor, Tensor> f, int unit, int numerator, int denominator) =>
        TileLatents is int tile ? LatentTiles.Apply(x, f, tile * unit, Math.Min(TileOverlap, tile / 2) * unit, numerator, denominator) : f(x);

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
