using Noisette.Bundles;
using Noisette.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Noisette.Tests;

/// <summary>Encoding and decoding in overlapping, blended tiles: exact for position-wise maps, close for the autoencoder.</summary>
public sealed class LatentTilesTests
{
    [Fact]
    public void TileStartsCoverThePictureAndTheLastTileIsFlushWithItsEnd()
    {
        Assert.Equal([0L], LatentTiles.Starts(32, 32, 8));
        Assert.Equal([0L, 24, 40], LatentTiles.Starts(72, 32, 8));
        Assert.Equal([0L, 32], LatentTiles.Starts(64, 32, 0));
        Assert.Equal([0L, 16, 32, 48, 64], LatentTiles.Starts(96, 32, 16));
    }

    [Fact]
    public void AMapWithoutContextComesOutOfTilesExactlyAsWhole()
    {
        using var scope = NewDisposeScope();
        using var g = new Generator(1);
        var z = randn([2, 4, 40, 56], generator: g);
        // Decoding-like (×4 nearest, a per-position mix of channels) and encoding-like (4×4 means): no context beyond a position.
        var mix = randn([3, 4], generator: g);
        Tensor Up(Tensor t) => einsum("oc,bchw->bohw", mix, t).repeat_interleave(4, 2).repeat_interleave(4, 3);
        var whole = Up(z);
        var tiled = LatentTiles.Apply(z, Up, tile: 16, overlap: 6, numerator: 4);
        Assert.Equal(whole.shape, tiled.shape);
        Assert.True((whole - tiled).abs().max().item<float>() < 1e-5);
        var x = randn([1, 3, 96, 80], generator: g);
        Tensor Down(Tensor t) => nn.functional.avg_pool2d(t, 4);
        Assert.True((Down(x) - LatentTiles.Apply(x, Down, tile: 32, overlap: 8, denominator: 4)).abs().max().item<float>() < 1e-5);
    }

    [Fact]
    public void TheAutoencoderDecodesInBlendedTilesCloseToWholeAndBlendingHidesTheSeams()
    {
        using var scope = NewDisposeScope();
        var config = new AutoencoderConfig { InChannels = 3, BaseChannels = 16, ChannelMultipliers = [1, 2], ResBlocksPerLevel = 1, LatentChannels = 4, NormGroups = 8 };
        using var network = AutoencoderKL.Seeded(config, 3);
        network.eval();
        using var _ = inference_mode();
        using var g = new Generator(2);
        // A smooth latent grid (a decoder sees smooth latents, not white noise): 32×32 latents, 64 px.
        var z = nn.functional.interpolate(randn([1, 4, 8, 8], generator: g), [32, 32], mode: InterpolationMode.Bilinear, align_corners: false);
        var whole = new LatentAutoencoder(network, 1.0).Decode(z);
        var blended = new LatentAutoencoder(network, 1.0) { TileLatents = 16, TileOverlap = 8 }.Decode(z);
        var hard = new LatentAutoencoder(network, 1.0) { TileLatents = 16, TileOverlap = 0 }.Decode(z);
        Assert.Equal(whole.shape, blended.shape);
        double range = (whole.max() - whole.min()).item<float>();
        double blendedError = (blended - whole).abs().mean().item<float>(), hardError = (hard - whole).abs().mean().item<float>();
        Assert.True(blendedError < 0.05 * range, $"blended tiles differ from the whole decode by {blendedError} on average (range {range})");
        Assert.True(blendedError < hardError, $"blended {blendedError} vs hard-edged tiles {hardError}");
    }
}
