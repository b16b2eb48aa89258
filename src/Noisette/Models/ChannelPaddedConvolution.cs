using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Noisette.Models;

/// <summary>
/// A 2-D convolution computed with its channels padded to multiples of 16 on the CPU, because libtorch's own CPU
/// kernels get some channel counts wrong on some processors.
/// </summary>
/// <remarks>
/// With libtorch 2.10 (oneDNN 3.7) on an AMD EPYC with AVX-512 (avx512_vp2intersect: the machines this project runs
/// on since 7 December 2026), measured against float64 (which does not go through oneDNN), kernels larger than 1×1:
/// <list type="bullet">
/// <item>float32's input gradient is wrong, every time and sometimes NaN, when the output channels are not a multiple
/// of 16 (1, 3, 6, 8, 17, 24…): the U-Net's last convolution is such a layer, so every gradient behind it was garbage
/// and letters32 training gave NaN losses from its first steps;</item>
/// <item>float32's forward pass is wrong with 24 or 40 input channels (1, 3 and 8 are right), as in a narrow
/// U-Net's skip concatenations;</item>
/// <item>a stride-2 convolution's input gradient is wrong with 48 input channels (16 and multiples of 32 are right);</item>
/// <item>bf16's forward pass is 20–37% off float32 with output channels not a multiple of 16 (0.3% otherwise).</item>
/// </list>
/// 1×1 kernels and weight gradients are right. Padding the weight (and the input, and the bias) with zero channels
/// up to those multiples, and keeping the first output channels, computes the same function with kernels that are
/// right: zero input channels meet zero weights, and the extra outputs are dropped with their gradients. The
/// parameters keep their shapes and names. A sweep of 1–96 input and 1–48 output channels, strides 1 and 2, batches 4
/// and 32, one and two threads, is right everywhere with it (forward, both gradients, bf16). It applies on the CPU only,
/// and only to channel counts that need it (the presets' are multiples of 16 but for the image channels). No library
/// does this: it is a workaround in the project's own layer.
/// </remarks>
public static class ChannelPaddedConvolution
{
    /// <summary>The channel multiple the input gradient is computed at.</summary>
    public const int ChannelMultiple = 16;

    /// <summary>conv2d(x, weight, bias, stride, padding), with its channels padded where the CPU kernel would be wrong.</summary>
    public static Tensor Conv2d(Tensor x, Tensor weight, Tensor? bias, long stride = 1, long padding = 0)
    {
        long outChannels = weight.shape[0], inChannels = weight.shape[1];
        bool kernelAboveOne = weight.shape[2] > 1 || weight.shape[3] > 1;
        // A strided convolution's input gradient is wrong at 48 input channels too (16 and multiples of 32 are right).
        int inMultiple = stride > 1 && inChannels > ChannelMultiple ? 2 * ChannelMultiple : ChannelMultiple;
        if (!kernelAboveOne || x.device_type != DeviceType.CPU ||
            (outChannels % ChannelMultiple == 0 && inChannels % inMultiple == 0))
            return nn.functional.conv2d(x, weight, bias, strides: [stride, stride], padding: [padding, padding]);
        long extraOut = PaddedChannels(outChannels) - outChannels, extraIn = PaddedChannels(inChannels, inMultiple) - inChannels;
        // Zero input channels meet zero weights, zero output channels are dropped: the same function.
        var w = nn.functional.pad(weight, [0, 0, 0, 0, 0, extraIn, 0, extraOut]);
        var b = bias is null ? null : nn.functional.pad(bias, [0, extraOut]);
        var input = extraIn == 0 ? x : nn.functional.pad(x, [0, 0, 0, 0, 0, extraIn]);
        var y = nn.functional.conv2d(input, w, b, strides: [stride, stride], padding: [padding, padding]);
        return extraOut == 0 ? y : y.narrow(1, 0, outChannels);
    }

    /// <summary><paramref name="channels"/> rounded up to the next multiple of <paramref name="multiple"/> (by default <see cref="ChannelMultiple"/>).</summary>
    public static long PaddedChannels(long channels, int multiple = ChannelMultiple) => (channels + multiple - 1) / multiple * multiple;

}

/// <summary>
/// The layer form of <see cref="ChannelPaddedConvolution"/>: a square-kernel convolution with parameters named
/// <c>weight</c> and <c>bias</c> (as torch's Conv2d, so checkpoints keep their names) and torch's initialisation
/// (it draws them through a Conv2d of the same shape, so seeded networks start from the same weights as before).
/// </summary>
internal sealed class PaddedConv2d : nn.Module<Tensor, Tensor>
{
    private readonly long stride, padding;

    public PaddedConv2d(long inChannels, long outChannels, long kernel, long stride = 1, long padding = 0, bool hasBias = true) : base("Conv2d")
    {
        (this.stride, this.padding) = (stride, padding);
        using var drawn = nn.Conv2d(inChannels, outChannels, kernel, stride: stride, padding: padding, bias: hasBias);
        weight = new Parameter(drawn.weight!.detach().clone());
        register_parameter(nameof(weight), weight);
        if (hasBias)
        {
            bias = new Parameter(drawn.bias!.detach().clone());
            register_parameter(nameof(bias), bias);
        }
    }

    // Fields named as the parameters: Module.to() replaces a moved parameter in the field of the same name.
    private readonly Parameter weight;
    private readonly Parameter? bias;

    public Parameter Weight => weight;
    public Parameter? Bias => bias;

    public override Tensor forward(Tensor x) => ChannelPaddedConvolution.Conv2d(x, weight, bias, stride, padding);
}
