using Noisette.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Noisette.Tests;

/// <summary>
/// The U-Net's convolutions against float64, which libtorch computes without oneDNN. On the AVX-512 AMD CPUs this
/// project runs on, without the padding float32's input gradient of a 3×3 convolution with 1, 3 or 17 output
/// channels is wrong, as are its forward pass with 24 input channels and a strided one's input gradient with 48,
/// and bf16's forward pass with 1, 3 or 17 output channels; so these tests fail there without it.
/// </summary>
public class ChannelPaddedConvolutionTests
{
    [Theory]
    [InlineData(32, 1, 1)]
    [InlineData(32, 3, 1)]
    [InlineData(16, 17, 1)]
    [InlineData(32, 6, 2)]
    [InlineData(32, 32, 1)]
    [InlineData(24, 16, 1)]
    [InlineData(48, 48, 2)]
    public void InputAndWeightGradientsMatchFloat64(int inChannels, int outChannels, int stride)
    {
        using var scope = NewDisposeScope();
        using var g = new Generator(3);
        var x = randn([4, inChannels, 16, 16], generator: g);
        var w = randn([outChannels, inChannels, 3, 3], generator: g) * 0.1;
        var b = randn([outChannels], generator: g);
        var (y32, dx32, dw32, db32) = Gradients(x, w, b, stride, float32);
        var (y64, dx64, dw64, db64) = Gradients(x, w, b, stride, float64);
        AssertClose(y64, y32);
        AssertClose(dx64, dx32);
        AssertClose(dw64, dw32);
        AssertClose(db64, db32);
    }

    [Fact]
    public void WithoutARecordedGradientItIsThePlainConvolution()
    {
        using var scope = NewDisposeScope();
        using var g = new Generator(5);
        var x = randn([2, 8, 12, 12], generator: g);
        var w = randn([3, 8, 3, 3], generator: g);
        var b = randn([3], generator: g);
        var plain = nn.functional.conv2d(x, w, b, padding: [1, 1]);
        Assert.True(ChannelPaddedConvolution.Conv2d(x, w, b, padding: 1).equal(plain).all().item<bool>());
        Assert.Equal(16, ChannelPaddedConvolution.PaddedChannels(1));
        Assert.Equal(32, ChannelPaddedConvolution.PaddedChannels(17));
        Assert.Equal(32, ChannelPaddedConvolution.PaddedChannels(32));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(17)]
    [InlineData(32)]
    public void ABf16ConvolutionIsFloat32sWithinBf16Rounding(int outChannels)
    {
        using var scope = NewDisposeScope();
        using var _ = inference_mode();
        using var g = new Generator(6);
        var x = randn([4, 32, 16, 16], generator: g);
        var w = randn([outChannels, 32, 3, 3], generator: g) * 0.1;
        var b = randn([outChannels], generator: g);
        var exact = ChannelPaddedConvolution.Conv2d(x, w, b, padding: 1);
        var bf16 = ChannelPaddedConvolution.Conv2d(x.to(bfloat16), w.to(bfloat16), b.to(bfloat16), padding: 1).to(float32);
        // bf16 keeps 8 significant bits: rounding the inputs and weights moves a sum of 288 products by well under 1%.
        double relative = ((bf16 - exact).abs().mean() / exact.abs().mean()).item<float>();
        Assert.True(relative < 0.01, $"bf16 is {relative:P1} off float32 on average");
    }

    [Fact]
    public void AGrayUNetsParameterGradientsMatchFloat64()
    {
        // letters32's layout at a smaller width: the last convolution has one output channel.
        var config = new UNetConfig
        {
            InChannels = 1, BaseChannels = 16, ChannelMultipliers = [1, 2], ResBlocksPerLevel = 1,
            AttentionResolutions = [8], NormGroups = 8, ImageSize = 16,
        };
        using var net32 = UNet.Seeded(config, 11);
        using var net64 = UNet.Seeded(config, 11);
        net64.to(float64);
        // The zero-initialised convolutions would hide a wrong input gradient: give every weight a value.
        using (no_grad())
        {
            using var g = new Generator(2);
            foreach (var (p32, p64) in net32.parameters().Zip(net64.parameters()))
            {
                var v = randn(p32.shape, generator: g) * 0.05;
                p32.copy_(v);
                p64.copy_(v.to(float64));
            }
        }
        using var scope = NewDisposeScope();
        using var gen = new Generator(4);
        var x = randn([4, 1, 16, 16], generator: gen);
        var t = tensor(new long[] { 10, 300, 600, 999 });
        var target = randn([4, 1, 16, 16], generator: gen);
        (net32.forward(x, t) - target).square().mean().backward();
        (net64.forward(x.to(float64), t) - target.to(float64)).square().mean().backward();
        foreach (var ((name, p32), (_, p64)) in net32.named_parameters().Zip(net64.named_parameters()))
        {
            var scale = p64.grad!.abs().max().item<double>();
            var err = (p32.grad!.to(float64) - p64.grad!).abs().max().item<double>();
            Assert.True(err <= 1e-4 * (1 + scale), $"{name}: gradient off by {err:G3} (largest {scale:G3})");
        }
    }

    private static (Tensor y, Tensor dx, Tensor dw, Tensor db) Gradients(Tensor x, Tensor w, Tensor b, int stride, ScalarType type)
    {
        var xs = x.to(type).requires_grad_(true);
        var ws = w.to(type).requires_grad_(true);
        var bs = b.to(type).requires_grad_(true);
        var y = ChannelPaddedConvolution.Conv2d(xs, ws, bs, stride, padding: 1);
        using var g = new Generator(9);
        var upstream = randn(y.shape, generator: g).to(type);
        var grads = autograd.grad([y], [xs, ws, bs], [upstream]);
        return (y.detach().to(float64), grads[0].to(float64), grads[1].to(float64), grads[2].to(float64));
    }

    private static void AssertClose(Tensor expected, Tensor actual)
    {
        var scale = expected.abs().max().item<double>();
        var err = (actual - expected).abs().max().item<double>();
        Assert.True(err <= 1e-4 * (1 + scale), $"off by {err:G3} (largest {scale:G3})");
    }
}
