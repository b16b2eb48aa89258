namespace Noisette.Models;

/// <summary>Named model sizes. <c>letters32</c> and <c>ddpm32</c> match the reference PyTorch U-Net exactly.</summary>
public static class ModelPresets
{
    /// <param name="Title">The preset in a few plain words, for messages and the studio.</param>
    /// <param name="Latent">A U-Net for an autoencoder's latents (<c>train --autoencoder</c>): its size and channels
    /// are the latents', and the pictures are the autoencoder's factor times larger.</param>
    public sealed record Preset(string Name, string Title, string Description, UNetConfig Model, int DefaultBatch, bool Latent = false)
    {
        public bool Gray => !Latent && Model.InChannels == 1;
        /// <summary>"Quick look (tiny)": how messages name the preset.</summary>
        public string Named => $"{Title} ({Name})";
    }

    public static IReadOnlyList<Preset> All { get; } =
    [
        new("tiny", "Quick look", "under 0.5M parameters, 32 px gray: tests and the demo",
            new UNetConfig { InChannels = 1, BaseChannels = 16, ChannelMultipliers = [1, 2, 2], ResBlocksPerLevel = 1,
                             AttentionResolutions = [8], NormGroups = 8, ImageSize = 32 }, 32),
        new("letters32", "Letters 32 px", "1.6M parameters, 32 px gray: a CPU-sized model for glyphs (reference architecture)",
            new UNetConfig { InChannels = 1, BaseChannels = 32, ChannelMultipliers = [1, 2, 2], ResBlocksPerLevel = 2,
                             AttentionResolutions = [8], Dropout = 0.0, ImageSize = 32 }, 32),
        new("ddpm32", "Colour 32 px", "6.5M parameters, 32 px RGB: the DDPM CIFAR-10 layout at half width (reference architecture)",
            new UNetConfig { InChannels = 3, BaseChannels = 64, ChannelMultipliers = [1, 2, 2], ResBlocksPerLevel = 2,
                             AttentionResolutions = [16], Dropout = 0.1, ImageSize = 32 }, 32),
        new("letters64", "Letters 64 px", "64 px gray glyphs",
            new UNetConfig { InChannels = 1, BaseChannels = 32, ChannelMultipliers = [1, 2, 2, 4], ResBlocksPerLevel = 2,
                             AttentionResolutions = [16, 8], ImageSize = 64 }, 16),
        new("ddpm64", "Colour 64 px", "64 px RGB",
            new UNetConfig { InChannels = 3, BaseChannels = 64, ChannelMultipliers = [1, 2, 3, 4], ResBlocksPerLevel = 2,
                             AttentionResolutions = [16, 8], Dropout = 0.1, HeadChannels = 64, UseScaleShiftNorm = true,
                             ResBlockUpDown = true, ImageSize = 64 }, 16),
        new("adm256", "Colour 256 px (graphics card)", "256 px RGB, the ADM layout of the released 256 px models (GPU-sized)",
            new UNetConfig { InChannels = 3, BaseChannels = 256, ChannelMultipliers = [1, 1, 2, 2, 4, 4], ResBlocksPerLevel = 2,
                             AttentionResolutions = [32, 16, 8], Dropout = 0.1, HeadChannels = 64, UseScaleShiftNorm = true,
                             ResBlockUpDown = true, ImageSize = 256 }, 4),
        new("latent256", "Latent 256 px", "6.5M parameters on 32×32 latents: 256 px pictures through a factor-8 autoencoder (train --autoencoder)",
            new UNetConfig { InChannels = 4, BaseChannels = 64, ChannelMultipliers = [1, 2, 2], ResBlocksPerLevel = 2,
                             AttentionResolutions = [16], ImageSize = 32 }, 32, Latent: true),
        new("latent512", "Latent 512 px", "64×64 latents: 512 px pictures through a factor-8 autoencoder (train --autoencoder)",
            new UNetConfig { InChannels = 4, BaseChannels = 64, ChannelMultipliers = [1, 2, 3, 4], ResBlocksPerLevel = 2,
                             AttentionResolutions = [16, 8], HeadChannels = 64, UseScaleShiftNorm = true, ImageSize = 64 }, 16, Latent: true),
    ];

    /// <summary>The preset of that name, or null.</summary>
    public static Preset? Find(string name) => All.FirstOrDefault(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase));

    public static Preset Get(string name) =>
        Find(name) ?? throw new NoisetteInputException(Unknown(name));

    /// <summary>The message for a preset name that is not one of <see cref="All"/>.</summary>
    public static string Unknown(string name) => $"unknown preset '{name}'. Known presets: {string.Join(", ", All.Select(p => p.Name))}";
}
