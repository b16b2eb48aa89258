namespace Noisette.Data;

/// <summary>How the pixels of an image folder become training tensors.</summary>
public enum ChannelMode { Auto, Gray, Rgb }

/// <summary>How an image of another shape is brought to the square training size.</summary>
public enum ResizeMode
{
    /// <summary>Resize the short side to the target, then cut the centre square.</summary>
    Crop,
    /// <summary>Resize the long side to the target and letterbox onto the background colour.</summary>
    Pad,
}

/// <summary>The data part of a run's configuration.</summary>
public sealed record DataConfig
{
    /// <summary>Side of the square training images, in pixels.</summary>
    public int ImageSize { get; init; } = 32;
    public ChannelMode Channels { get; init; } = ChannelMode.Auto;
    public ResizeMode Resize { get; init; } = ResizeMode.Crop;
    /// <summary>Colour that transparent pixels are composited onto, and that pad mode fills with: #RRGGBB.</summary>
    public string Background { get; init; } = "#FFFFFF";
    /// <summary>Fraction of images held out for validation (chosen by a seeded hash of the relative path).</summary>
    public double ValidationFraction { get; init; } = 0.05;
    public int SplitSeed { get; init; } = 0;
    /// <summary>Random horizontal flips during training. Off by default: letters are not symmetric.</summary>
    public bool FlipAugment { get; init; } = false;
}
