using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Noisette.Models;

/// <summary>
/// A 2-D convolution whose input gradient is computed with the output channels padded to a multiple of 16 on the CPU,
/// because libtorch's own CPU kernel gets that gradient wrong on some processors otherwise.
/// </summary>
/// <remarks>
/// With libtorch 2.10 (oneDNN 3.7) on an AMD EPYC with AVX-512 (avx512_vp2intersect, the CPUs this project's
/// machines now have), the input gradient of a float32 convolution with a kernel larger than 1×1 and an output
/// channel count that is not a multiple of 16 is wrong every time, and sometimes NaN; the forward pass and the
/// weight gradient are right, as are 1×1 kernels and multiples of 16 (measured against float64, which does not go
/// through oneDNN). The U-Net's last convolution (1 or 3 output channels) is such a layer, so every gradient behind it
/// was garbage and training gave NaN losses within a few steps. Padding the weight and bias with zero output channels
/// up to a multiple of 16 and keeping the first channels of the result computes the same function with a kernel
/// that is right; the zero channels get gradients that are dropped, and the parameters keep their shapes and names.
/// It is applied only where it matters: on the CPU, while a gradient is being recorded for the input. Sampling,
/// where no gradient is taken, runs the plain convolution and gives the same images as before. No library does this:
/// it is a workaround in the project's own layer.
/// </remarks>
public static class ChannelPaddedConvolution
{
    /// <summary>The channel multiple the input gradient is computed at.</summary>
    public const int ChannelMultiple = 16;

    /// <summary>conv2d(x, weight, bias, stride, padding), padded where the CPU kernel's input gradient would be wrong.</summary>
    public static Tensor Conv2d(Tensor x, Tensor weight, Tensor? bias, long stride = 1, long padding = 0)
    {
        long outChannels = weight.shape[0];
        bool kernelAboveOne = weight.shape[2] > 1 || weight.shape[3] > 1;
        if (!NeedsPadding(x, outChannels, kernelAboveOne))
            return nn.functional.conv2d(x, weight, bias, strides: [stride, stride], padding: [padding, padding]);
        long extra = PaddedChannels(outChannels) - outChannels;
        var w = nn.functional.pad(weight, [0, 0, 0, 0, 0, 0, 0, extra]);
        var b = bias is null ? null : nn.functional.pad(bias, [0, extra]);
        return nn.functional.conv2d(x, w, b, strides: [stride, stride], padding: [padding, padding]).narrow(1, 0, outChannels);
    }

    /// <summary><paramref name="channels"/> rounded up to the next multiple of <see cref="ChannelMultiple"/>.</summary>
    public static long PaddedChannels(long channels) => (channels + ChannelMultiple - 1) / ChannelMultiple * ChannelMultiple;

    private static bool NeedsPadding(Tensor x, long outChannels, bool kernelAboveOne) =>
        kernelAboveOne && outChannels % ChannelMultiple != 0 && x.device_type == DeviceType.CPU &&
        x.requires_grad && is_grad_enabled();
}

/// <summary>
/// The layer form of <see cref="ChannelPaddedConvolution"/>: a square-kernel convolution with parameters named
/// <c>weight</c> and <c>bias</c> (as torch's Conv2d, so checkpoints keep their names) and torch's initialisation
/// (it draws them through a Conv2d of the same shape, so seeded networks start from the same weights as before).
/// </summary>
internal sealed class PaddedConv2d : nn.Module<Tensor, Tensor>
{
    private readonly long stride, padding;

    public PaddedConv2d(long inChannels, long outChannels, long kernel, long stride = 1, long padding = 0) : base("Conv2d")
    {
        (this.stride, this.padding) = (stride, padding);
        using var drawn = nn.Conv2d(inChannels, outChannels, kernel, stride: stride, padding: padding);
        weight = new Parameter(drawn.weight!.detach().clone());
        bias = new Parameter(drawn.bias!.detach().clone());
        register_parameter(nameof(weight), weight);
        register_parameter(nameof(bias), bias);
    }

    // Fields named as the parameters: Module.to() replaces a moved parameter in the field of the same name.
    private readonly Parameter weight, bias;

    public Parameter Weight => weight;
    public Parameter Bias => bias;

    public override Tensor forward(Tensor x) => ChannelPaddedConvolution.Conv2d(x, weight, bias, stride, padding);
}
