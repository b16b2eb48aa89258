using System.Text.Json.Serialization;

namespace Noisette.Models;

/// <summary>
/// Hyper-parameters of the KL autoencoder of latent diffusion (Stable Diffusion's <c>AutoencoderKL</c>, whose
/// released configuration is its <c>ddconfig</c>): an encoder of residual levels, each but the last halving the
/// resolution, to a grid of latent means and log-variances, and a mirrored decoder. The names in comments are the
/// ddconfig's. Stable Diffusion's VAE is base 128, multipliers [1, 2, 4, 4], 2 blocks per level, 4 latent channels:
/// a factor of 8, so a 256-pixel image is a 32×32×4 latent.
/// </summary>
public sealed record AutoencoderConfig
{
    /// <summary>Image channels (in_channels): 1 gray, 3 RGB.</summary>
    public int InChannels { get; init; } = 3;
    /// <summary>Decoded image channels (out_ch); 0 = same as <see cref="InChannels"/>.</summary>
    public int OutChannels { get; init; } = 0;
    /// <summary>Width of the first level (ch).</summary>
    public int BaseChannels { get; init; } = 128;
    /// <summary>Width multiplier per level (ch_mult); every level but the last halves the resolution.</summary>
    public int[] ChannelMultipliers { get; init; } = [1, 2, 4, 4];
    /// <summary>Residual blocks per encoder level (num_res_blocks); the decoder has one more per level.</summary>
    public int ResBlocksPerLevel { get; init; } = 2;
    /// <summary>
    /// Levels (0 = full resolution) whose residual blocks are each followed by self-attention (attn_resolutions,
    /// given here by level so that it does not depend on an image size). The middle block always has attention.
    /// </summary>
    public int[] AttentionLevels { get; init; } = [];
    /// <summary>Channels of the latent grid (z_channels, and embed_dim: released models have them equal).</summary>
    public int LatentChannels { get; init; } = 4;
    /// <summary>GroupNorm groups (32 in every released model; capped at a norm's channels).</summary>
    public int NormGroups { get; init; } = 32;
    /// <summary>Dropout in the residual blocks (0 in released models).</summary>
    public double Dropout { get; init; } = 0.0;

    [JsonIgnore] public int ResolvedOutChannels => OutChannels > 0 ? OutChannels : InChannels;

    /// <summary>How many times smaller the latent grid is than the image on each side: 2^(levels − 1).</summary>
    [JsonIgnore] public int Factor => 1 << (ChannelMultipliers.Length - 1);

    /// <summary>Stable Diffusion 1.x/2.x's autoencoder (kl-f8).</summary>
    public static AutoencoderConfig StableDiffusion { get; } = new();

    /// <summary>Throws <see cref="NoisetteInputException"/> naming the first inconsistent setting.</summary>
    public void Validate()
    {
        static void Fail(string m) => throw new NoisetteInputException("autoencoder config: " + m);
        if (InChannels is < 1 or > 4) Fail($"in_channels must be 1..4, got {InChannels}");
        if (OutChannels is < 0 or > 4) Fail($"out_channels must be 0..4, got {OutChannels}");
        if (BaseChannels < 1) Fail($"base_channels must be positive, got {BaseChannels}");
        if (ChannelMultipliers.Length is < 1 or > 6) Fail($"channel_multipliers must have 1 to 6 levels, got {ChannelMultipliers.Length}");
        if (ChannelMultipliers.Any(m => m < 1)) Fail("channel_multipliers must be positive");
        if (ResBlocksPerLevel < 1) Fail($"res_blocks_per_level must be at least 1, got {ResBlocksPerLevel}");
        if (AttentionLevels.Any(l => l < 0 || l >= ChannelMultipliers.Length))
            Fail($"attention_levels must name levels 0..{ChannelMultipliers.Length - 1}");
        if (LatentChannels is < 1 or > 64) Fail($"latent_channels must be 1..64, got {LatentChannels}");
        if (NormGroups < 1) Fail($"norm_groups must be positive, got {NormGroups}");
        foreach (int width in ChannelMultipliers.Select(m => m * BaseChannels).Prepend(BaseChannels))
            if (width % Math.Min(NormGroups, width) != 0) Fail($"{NormGroups} norm groups do not divide {width} channels");
        if (Dropout is < 0 or >= 1) Fail($"dropout must be in [0, 1), got {Dropout}");
    }
}
