namespace Noisette.Models;

/// <summary>Named model sizes. <c>letters32</c> and <c>ddpm32</c> match the reference PyTorch U-Net exactly.</summary>
public static class ModelPresets
{
    public sealed record Preset(string Name, string Description, UNetConfig Model, int DefaultBatch);

    public static IReadOnlyList<Preset> All { get; } =
    [
        new("tiny", "under 0.5M parameters, 32 px gray: tests and the demo",
            new UNetConfig { InChannels = 1, BaseChannels = 16, ChannelMultipliers = [1, 2, 2], ResBlocksPerLevel = 1,
                             AttentionResolutions = [8], NormGroups = 8, ImageSize = 32 }, 32),
        new("letters32", "1.6M parameters, 32 px gray: a CPU-sized model for glyphs (reference architecture)",
            new UNetConfig { InChannels = 1, BaseChannels = 32, ChannelMultipliers = [1, 2, 2], ResBlocksPerLevel = 2,
                             AttentionResolutions = [8], Dropout = 0.0, ImageSize = 32 }, 32),
        new("ddpm32", "6.5M parameters, 32 px RGB: the DDPM CIFAR-10 layout at half width (reference architecture)",
            new UNetConfig { InChannels = 3, BaseChannels = 64, ChannelMultipliers = [1, 2, 2], ResBlocksPerLevel = 2,
                             AttentionResolutions = [16], Dropout = 0.1, ImageSize = 32 }, 32),
        new("letters64", "64 px gray glyphs",
            new UNetConfig { InChannels = 1, BaseChannels = 32, ChannelMultipliers = [1, 2, 2, 4], ResBlocksPerLevel = 2,
                             AttentionResolutions = [16, 8], ImageSize = 64 }, 16),
        new("ddpm64", "64 px RGB",
            new UNetConfig { InChannels = 3, BaseChannels = 64, ChannelMultipliers = [1, 2, 3, 4], ResBlocksPerLevel = 2,
                             AttentionResolutions = [16, 8], Dropout = 0.1, HeadChannels = 64, UseScaleShiftNorm = true,
                             ResBlockUpDown = true, ImageSize = 64 }, 16),
        new("adm256", "256 px RGB, the ADM layout of the released 256 px models (GPU-sized)",
            new UNetConfig { InChannels = 3, BaseChannels = 256, ChannelMultipliers = [1, 1, 2, 2, 4, 4], ResBlocksPerLevel = 2,
                             AttentionResolutions = [32, 16, 8], Dropout = 0.1, HeadChannels = 64, UseScaleShiftNorm = true,
                             ResBlockUpDown = true, ImageSize = 256 }, 4),
    ];

    public static Preset Get(string name) =>
        All.FirstOrDefault(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new NoisetteInputException($"unknown preset '{name}'. Known presets: {string.Join(", ", All.Select(p => p.Name))}");
}
