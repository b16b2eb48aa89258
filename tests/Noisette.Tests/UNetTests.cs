using Noisette.Models;
using static TorchSharp.torch;

namespace Noisette.Tests;

public class UNetTests
{
    [Theory]
    [InlineData("letters32", 1_623_169)]   // printed by ../shared/reference/bench_reference.py
    [InlineData("ddpm32", 6_472_195)]
    public void ReferencePresetsHaveTheReferenceParameterCount(string preset, long expected)
    {
        using var model = new UNet(ModelPresets.Get(preset).Model);
        Assert.Equal(expected, model.ParameterCount());
    }

    [Fact]
    public void TinyPresetIsUnderHalfAMillionParameters()
    {
        using var model = new UNet(ModelPresets.Get("tiny").Model);
        Assert.InRange(model.ParameterCount(), 1, 500_000);
    }

    [Theory]
    [InlineData("tiny")]
    [InlineData("letters32")]
    [InlineData("ddpm32")]
    [InlineData("letters64")]
    [InlineData("ddpm64")]
    public void OutputHasTheInputShape(string preset)
    {
        using var scope = NewDisposeScope();
        var cfg = ModelPresets.Get(preset).Model;
        using var model = new UNet(cfg);
        model.eval();
        using var _ = inference_mode();
        var x = randn(2, cfg.InChannels, cfg.ImageSize, cfg.ImageSize);
        var y = model.call(x, tensor(new long[] { 3, 900 }));
        Assert.Equal(new long[] { 2, cfg.ResolvedOutChannels, cfg.ImageSize, cfg.ImageSize }, y.shape);
    }

    [Fact]
    public void Adm256PresetBuildsWithGuidedDiffusionNames()
    {
        // The 256 px layout is too slow to run here; build it and check its names and size.
        using var model = new UNet(ModelPresets.Get("adm256").Model);
        var names = model.named_parameters().Select(p => p.name).ToHashSet();
        Assert.Contains("time_embed.0.weight", names);
        Assert.Contains("input_blocks.0.0.weight", names);
        Assert.Contains("input_blocks.1.0.in_layers.2.weight", names);
        Assert.Contains("middle_block.1.qkv.weight", names);
        Assert.Contains("output_blocks.2.2.in_layers.0.weight", names); // res, attention, up-sampling res block
        Assert.Contains("out.2.weight", names);
    }

    [Fact]
    public void TimestepEmbeddingMatchesTheClosedForm()
    {
        using var scope = NewDisposeScope();
        var e = UNet.TimestepEmbedding(tensor(new long[] { 0, 7 }), 8).data<float>().ToArray();
        for (int i = 0; i < 4; i++)
        {
            double f = Math.Exp(-Math.Log(10000) * i / 4);
            Assert.Equal(1.0, e[i], 6);
            Assert.Equal(0.0, e[4 + i], 6);
            Assert.Equal(Math.Cos(7 * f), e[8 + i], 5);
            Assert.Equal(Math.Sin(7 * f), e[12 + i], 5);
        }
    }
}
