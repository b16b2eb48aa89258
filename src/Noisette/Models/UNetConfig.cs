using System.Text.Json.Serialization;

namespace Noisette.Models;

/// <summary>
/// Hyper-parameters of the U-Net: the DDPM layout of Ho et al. generalised with the options of ADM
/// (Dhariwal and Nichol): scale-shift norm, residual up/down-sampling, multi-head attention, learned variance
/// and class embeddings. Parameter names of the resulting model follow guided-diffusion's state dicts.
/// </summary>
public sealed record UNetConfig
{
    public int InChannels { get; init; } = 3;
    /// <summary>Output channels before learned variance doubles them; 0 means "same as InChannels".</summary>
    public int OutChannels { get; init; } = 0;
    /// <summary>Width of the first level ("model_channels").</summary>
    public int BaseChannels { get; init; } = 64;
    /// <summary>Width multiplier per resolution level; fractions like 0.5 are allowed.</summary>
    public double[] ChannelMultipliers { get; init; } = [1, 2, 2];
    public int ResBlocksPerLevel { get; init; } = 2;
    /// <summary>Resolutions, in pixels, at which self-attention blocks are inserted.</summary>
    public int[] AttentionResolutions { get; init; } = [16];
    public double Dropout { get; init; } = 0.0;
    /// <summary>GroupNorm groups (capped at the channel count of each norm).</summary>
    public int NormGroups { get; init; } = 32;
    /// <summary>Number of classes for a class embedding; 0 = unconditional.</summary>
    public int NumClasses { get; init; } = 0;
    /// <summary>
    /// The class embedding has one more row, the null class (label = NumClasses), which stands for "no class":
    /// trained by label dropout, it gives the unconditional prediction that classifier-free guidance needs.
    /// </summary>
    public bool NullClass { get; init; } = false;
    /// <summary>Attention heads; ignored when <see cref="HeadChannels"/> is positive.</summary>
    public int NumHeads { get; init; } = 1;
    /// <summary>Channels per attention head; -1 = use <see cref="NumHeads"/>.</summary>
    public int HeadChannels { get; init; } = -1;
    /// <summary>Heads in the decoder's attention blocks; -1 = same as <see cref="NumHeads"/>.</summary>
    public int NumHeadsUpsample { get; init; } = -1;
    /// <summary>FiLM-style conditioning of each residual block's second norm on the timestep (ADM).</summary>
    public bool UseScaleShiftNorm { get; init; } = false;
    /// <summary>Down/up-sample with residual blocks instead of strided/nearest convolutions (BigGAN style).</summary>
    public bool ResBlockUpDown { get; init; } = false;
    /// <summary>Split q/k/v before heads (true) or heads before q/k/v (guided-diffusion's legacy order).</summary>
    public bool NewAttentionOrder { get; init; } = false;
    /// <summary>Predict a per-pixel variance interpolation as well: doubles the output channels.</summary>
    public bool LearnSigma { get; init; } = false;
    /// <summary>The image size the model is built for; attention levels are resolved against it.</summary>
    public int ImageSize { get; init; } = 32;

    [JsonIgnore] public int ResolvedOutChannels => (OutChannels > 0 ? OutChannels : InChannels) * (LearnSigma ? 2 : 1);

    /// <summary>Throws <see cref="NoisetteInputException"/> naming the first inconsistent setting.</summary>
    public void Validate()
    {
        static void Fail(string m) => throw new NoisetteInputException("model config: " + m);
        if (InChannels is < 1 or > 4) Fail($"in_channels must be 1..4, got {InChannels}");
        if (BaseChannels < 1) Fail($"base_channels must be positive, got {BaseChannels}");
        if (ChannelMultipliers.Length == 0) Fail("channel_multipliers must not be empty");
        if (ChannelMultipliers.Any(m => m <= 0)) Fail("channel_multipliers must be positive");
        if (ResBlocksPerLevel < 1) Fail($"res_blocks_per_level must be at least 1, got {ResBlocksPerLevel}");
        if (Dropout is < 0 or >= 1) Fail($"dropout must be in [0, 1), got {Dropout}");
        if (NumClasses < 0) Fail("num_classes must not be negative");
        var levels = ChannelMultipliers.Length;
        var factor = 1 << (levels - 1);
        if (ImageSize < factor || ImageSize % factor != 0)
            Fail($"image_size {ImageSize} cannot be halved {levels - 1} times by the {levels} channel_multipliers");
        foreach (var m in ChannelMultipliers)
        {
            var ch = (int)(m * BaseChannels);
            if (ch < 1 || Math.Abs(ch - m * BaseChannels) > 1e-9) Fail($"channel multiplier {m} × base_channels {BaseChannels} is not a whole channel count");
            if (ch % Math.Min(NormGroups, ch) != 0) Fail($"{ch} channels are not divisible into {NormGroups} GroupNorm groups");
            if (HeadChannels > 0 && AttentionResolutions.Length > 0 && ch % HeadChannels != 0 && AttentionLevels().Contains(Array.IndexOf(ChannelMultipliers, m)))
                Fail($"head_channels {HeadChannels} does not divide the {ch} channels of an attention level");
        }
        foreach (var r in AttentionResolutions)
            if (r < 1 || ImageSize % r != 0 || ImageSize / r > factor || !IsPowerOfTwo(ImageSize / r))
                Fail($"attention resolution {r} is not one of the model's resolutions ({string.Join(", ", Enumerable.Range(0, levels).Select(i => ImageSize >> i))})");
    }

    /// <summary>The same architecture for another image size: attention stays at the same levels.</summary>
    public UNetConfig Resized(int imageSize) => imageSize == ImageSize ? this : this with
    {
        ImageSize = imageSize,
        AttentionResolutions = AttentionResolutions.Select(r => (int)((long)r * imageSize / ImageSize)).Where(r => r > 0).ToArray(),
    };

    /// <summary>Indices of the levels whose resolution has attention.</summary>
    public HashSet<int> AttentionLevels()
    {
        var set = new HashSet<int>();
        for (int i = 0; i < ChannelMultipliers.Length; i++)
            if (AttentionResolutions.Contains(ImageSize >> i)) set.Add(i);
        return set;
    }

    private static bool IsPowerOfTwo(int v) => v > 0 && (v & (v - 1)) == 0;
}
