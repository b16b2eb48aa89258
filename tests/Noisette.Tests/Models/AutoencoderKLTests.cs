using Noisette.IO;
using Noisette.Models;
using static TorchSharp.torch;

namespace Noisette.Tests;

/// <summary>
/// The KL autoencoder against the outputs of latent diffusion's own <c>AutoencoderKL</c> on a tiny model with the
/// released file's names (tests/fixtures/stable-diffusion/README.md): moments, mean, log-variance and the decoded
/// image within 1e-5.
/// </summary>
public sealed class AutoencoderKLTests
{
    private static string Fixture(string name) => Fixtures.Path("stable-diffusion", name);

    private static AutoencoderKL LoadTiny()
    {
        using var file = SafeTensors.Load(Fixture("vae_tiny.safetensors"));
        var config = AutoencoderWeights.InferConfig(file.Tensors.ToDictionary(t => t.Name, t => t.Tensor.shape), "vae_tiny");
        var model = new AutoencoderKL(config);
        AutoencoderWeights.Load(model, file.Tensors, "vae_tiny");
        model.eval();
        return model;
    }

    [Fact]
    public void TheConfigurationIsReadFromTheTensors()
    {
        var header = SafeTensors.ReadHeader(Fixture("vae_tiny.safetensors"));
        var config = AutoencoderWeights.InferConfig(header.Tensors.ToDictionary(t => t.Name, t => t.Shape), "vae_tiny");
        // The fixture's ddconfig: ch 32, ch_mult [1, 2, 2], num_res_blocks 1, z_channels 4, no attention resolutions.
        Assert.Equal(3, config.InChannels);
        Assert.Equal(3, config.ResolvedOutChannels);
        Assert.Equal(32, config.BaseChannels);
        Assert.Equal([1, 2, 2], config.ChannelMultipliers);
        Assert.Equal(1, config.ResBlocksPerLevel);
        Assert.Empty(config.AttentionLevels);
        Assert.Equal(4, config.LatentChannels);
        Assert.Equal(4, config.Factor);
        // And the model built from it has exactly the file's tensors.
        using var model = new AutoencoderKL(config);
        Assert.Equal(header.Tensors.Select(t => t.Name).Order(), model.named_parameters().Select(p => p.name).Order());
    }

    [Fact]
    public void EncodingAndDecodingMatchTheOriginal()
    {
        using var scope = NewDisposeScope();
        using var model = LoadTiny();
        using var expected = SafeTensors.Load(Fixture("vae_tiny_outputs.safetensors"));
        using var _ = inference_mode();
        var moments = model.Moments(expected["image"]);
        AssertClose(expected["moments"], moments, "moments");
        using var posterior = model.Encode(expected["image"]);
        AssertClose(expected["mean"], posterior.Mean, "mean");
        AssertClose(expected["logvar"], posterior.LogVariance, "logvar");
        AssertClose(expected["decoded"], model.Decode(expected["z"]), "decoded");
    }

    [Fact]
    public void AttentionLevelsAndOneChannelImagesBuildAndRoundTripShapes()
    {
        using var scope = NewDisposeScope();
        var config = new AutoencoderConfig
        {
            InChannels = 1, BaseChannels = 32, ChannelMultipliers = [1, 2, 2, 2], ResBlocksPerLevel = 1,
            AttentionLevels = [3], LatentChannels = 4,
        };
        using var model = AutoencoderKL.Seeded(config, 1);
        var names = model.named_parameters().Select(p => p.name).ToHashSet();
        Assert.Contains("encoder.down.3.attn.0.q.weight", names);
        Assert.Contains("decoder.up.3.attn.1.q.weight", names);
        Assert.Contains("decoder.up.3.upsample.conv.weight", names);
        Assert.DoesNotContain("decoder.up.0.upsample.conv.weight", names);
        Assert.Equal(8, config.Factor);
        // The inferred configuration of its own weights is its configuration.
        var inferred = AutoencoderWeights.InferConfig(model.named_parameters().ToDictionary(p => p.name, p => p.parameter.shape), "own");
        Assert.Equal(Json.Serialize(config), Json.Serialize(inferred));
        using var _ = inference_mode();
        var x = rand(2, 1, 32, 32) * 2 - 1;
        using var posterior = model.Encode(x);
        Assert.Equal([2L, 4, 4, 4], posterior.Mean.shape);
        Assert.Equal([2L, 1, 32, 32], model.Decode(posterior.Sample()).shape);
        var e = Assert.Throws<NoisetteInputException>(() => model.Moments(rand(1, 1, 36, 36)));
        Assert.Contains("factor 8", e.Message);
    }

    [Fact]
    public void AKlOfAStandardNormalPosteriorIsZeroAndOtherwiseTheClosedForm()
    {
        using var scope = NewDisposeScope();
        var moments = cat([zeros(1, 2, 3, 3), zeros(1, 2, 3, 3)], 1);
        using var standard = new LatentPosterior(moments);
        Assert.Equal(0.0, standard.KlDivergence().item<float>(), 6);
        // μ = 1, log σ² = ln 4 everywhere: ½ (1 + 4 − 1 − ln 4) per element, 18 elements.
        using var other = new LatentPosterior(cat([ones(1, 2, 3, 3), full(1, 2, 3, 3, Math.Log(4))], 1));
        Assert.Equal(18 * 0.5 * (4 - Math.Log(4)), other.KlDivergence().item<float>(), 1e-4);
        // The log-variance is clamped as the original clamps it.
        using var wild = new LatentPosterior(cat([zeros(1, 1, 1, 1), full(1, 1, 1, 1, 100.0)], 1));
        Assert.Equal(LatentPosterior.MaxLogVariance, wild.LogVariance.item<float>());
    }

    [Fact]
    public void WeightsThatDoNotFitAreRefusedByName()
    {
        using var scope = NewDisposeScope();
        using var file = SafeTensors.Load(Fixture("vae_tiny.safetensors"));
        using var model = new AutoencoderKL(AutoencoderWeights.InferConfig(file.Tensors.ToDictionary(t => t.Name, t => t.Tensor.shape), "vae_tiny"));
        var missing = file.Tensors.Where(t => t.Name != "decoder.conv_out.bias").ToList();
        Assert.Contains("decoder.conv_out.bias is missing", Assert.Throws<NoisetteInputException>(() => AutoencoderWeights.Load(model, missing, "f")).Message);
        var extra = file.Tensors.Append(("loss.logvar", zeros(1))).ToList();
        Assert.Contains("unexpected tensor loss.logvar", Assert.Throws<NoisetteInputException>(() => AutoencoderWeights.Load(model, extra, "f")).Message);
        var diffusers = new Dictionary<string, long[]> { ["encoder.down_blocks.0.resnets.0.conv1.weight"] = [32, 32, 3, 3] };
        Assert.Contains("diffusers layout", Assert.Throws<NoisetteInputException>(() => AutoencoderWeights.InferConfig(diffusers, "d")).Message);
        // 2-D attention projections (as some conversions store them) load as the 1×1 convolutions they are.
        var flat = file.Tensors.Select(t => t.Name.EndsWith("attn_1.q.weight") ? (t.Name, t.Tensor.flatten(1)) : t).ToList();
        AutoencoderWeights.Load(model, flat, "f");
    }

    private static void AssertClose(Tensor expected, Tensor actual, string what)
    {
        Assert.Equal(expected.shape, actual.shape);
        double diff = (expected - actual).abs().max().item<float>();
        Assert.True(diff < 1e-5, $"{what}: max difference {diff:g3}");
    }
}
