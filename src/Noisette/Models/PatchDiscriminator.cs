using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Noisette.Models;

/// <summary>
/// The patch discriminator latent diffusion trains its autoencoders against (pix2pix's N-layer PatchGAN): 4×4
/// convolutions, the first <c>layers</c> of stride 2, widths doubling up to 8× the first, BatchNorm and LeakyReLU(0.2)
/// between them, and a last convolution to one logit per patch. Weights start as latent diffusion starts them:
/// convolutions N(0, 0.02), BatchNorm scales N(1, 0.02) and shifts 0. Its convolutions go through
/// <see cref="PaddedConv2d"/> (the CPU kernels' channel fault, <see cref="ChannelPaddedConvolution"/>).
/// </summary>
public sealed class PatchDiscriminator : nn.Module<Tensor, Tensor>
{
    private readonly Sequential main;

    public PatchDiscriminator(int inChannels, int channels = 64, int layers = 3, long seed = 0) : base(nameof(PatchDiscriminator))
    {
        var modules = new List<(string, nn.Module<Tensor, Tensor>)>();
        void Add(nn.Module<Tensor, Tensor> m) => modules.Add((modules.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), m));
        Add(new PaddedConv2d(inChannels, channels, 4, stride: 2, padding: 1));
        Add(nn.LeakyReLU(0.2));
        int multiplier = 1;
        for (int n = 1; n <= layers; n++)
        {
            int previous = multiplier;
            multiplier = Math.Min(1 << n, 8);
            Add(new PaddedConv2d(channels * previous, channels * multiplier, 4, stride: n < layers ? 2 : 1, padding: 1, hasBias: false));
            Add(nn.BatchNorm2d(channels * multiplier));
            Add(nn.LeakyReLU(0.2));
        }
        Add(new PaddedConv2d(channels * multiplier, 1, 4, stride: 1, padding: 1));
        main = nn.Sequential(modules);
        RegisterComponents();
        using var generator = new Generator((ulong)seed);
        using var _ = no_grad();
        foreach (var m in main.children())
        {
            if (m is PaddedConv2d conv)
            {
                conv.Weight.normal_(0, 0.02, generator);
                conv.Bias?.zero_();
            }
            else if (m is BatchNorm2d norm)
            {
                norm.weight!.normal_(1, 0.02, generator);
                norm.bias!.zero_();
            }
        }
    }

    /// <summary>Images (B, C, H, W) in [−1, 1] to logits (B, 1, h, w), one per patch: positive for real.</summary>
    public override Tensor forward(Tensor images) => main.call(images);

    /// <summary>
    /// Everything a resumed run needs besides the parameters: BatchNorm's running mean, variance and batch count,
    /// named as in <see cref="nn.Module.named_buffers"/>.
    /// </summary>
    public IReadOnlyList<(string Name, Tensor Tensor)> State() =>
        named_parameters().Select(p => (p.name, (Tensor)p.parameter)).Concat(named_buffers().Select(b => (b.name, b.buffer))).ToList();

    /// <summary>Loads what <see cref="State"/> gave (every name must be present with its shape).</summary>
    public void Load(IReadOnlyDictionary<string, Tensor> state, string source)
    {
        using var _ = no_grad();
        foreach (var (name, target) in State())
        {
            if (!state.TryGetValue(name, out var t) || !t.shape.SequenceEqual(target.shape))
                throw new NoisetteInputException($"{source} does not fit the discriminator: tensor {name} is missing or of another shape");
            target.copy_(t);
        }
    }
}
