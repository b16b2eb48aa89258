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

    /// <summary>
    /// <see cref="Background"/> as bytes. Accepts "#RRGGBB" (the '#' may be left out);
    /// anything else throws <see cref="NoisetteInputException"/>.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public (byte R, byte G, byte B) BackgroundRgb => ParseColor(Background);

    /// <summary>Parses "#RRGGBB" (or "RRGGBB") into bytes, or throws <see cref="NoisetteInputException"/>.</summary>
    public static (byte R, byte G, byte B) ParseColor(string text)
    {
        var hex = (text ?? "").Trim();
        if (hex.StartsWith('#')) hex = hex[1..];
        if (hex.Length != 6 || !uint.TryParse(hex, System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture, out var v))
            throw new NoisetteInputException($"Background colour '{text}' is not of the form #RRGGBB (for example #FFFFFF for white).");
        return ((byte)(v >> 16), (byte)(v >> 8), (byte)v);
    }

    /// <summary>Throws <see cref="NoisetteInputException"/> when a value is out of range.</summary>
    public void Validate()
    {
        if (ImageSize < 1 || ImageSize > 4096)
            throw new NoisetteInputException($"Image size {ImageSize} is out of range: use 1 to 4096 pixels.");
        if (!(ValidationFraction >= 0 && ValidationFraction < 1))
            throw new NoisetteInputException($"Validation fraction {ValidationFraction} is out of range: use a value from 0 up to (not including) 1.");
        _ = BackgroundRgb;
    }
}
