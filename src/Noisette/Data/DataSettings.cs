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

/// <summary>
/// How pictures are prepared, whatever size they are brought to: the data part of a run's configuration. The size
/// and channel count of a run's pictures are not here: they follow the model (<c>TrainingConfig.Pictures</c>), so
/// that they are stored once. <see cref="DataConfig"/> adds the size, for the loaders, the check and the preparer.
/// </summary>
public record DataSettings
{
    /// <summary>
    /// auto: the pictures as they are (gray when every one is gray); gray or rgb: converted to that. In a run, the
    /// model's channel count must match the pictures unless this asks for a conversion.
    /// </summary>
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
    public virtual void Validate()
    {
        if (!(ValidationFraction >= 0 && ValidationFraction < 1))
            throw new NoisetteInputException($"Validation fraction {ValidationFraction} is out of range: use a value from 0 up to (not including) 1.");
        _ = BackgroundRgb;
    }
}
