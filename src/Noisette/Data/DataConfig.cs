namespace Noisette.Data;

/// <summary>
/// The data settings at one picture size: what the loaders (<see cref="ImageDataset"/>), the health check and the
/// preparer take. A run does not store this: it derives it from its model (<c>TrainingConfig.Pictures</c>).
/// </summary>
public sealed record DataConfig : DataSettings
{
    public DataConfig() { }

    /// <summary>The given settings brought to <paramref name="imageSize"/> pixels.</summary>
    public DataConfig(DataSettings settings, int imageSize) : base(settings) => ImageSize = imageSize;

    /// <summary>Side of the square training images, in pixels.</summary>
    public int ImageSize { get; init; } = 32;

    public override void Validate()
    {
        if (ImageSize < 1 || ImageSize > 4096)
            throw new NoisetteInputException($"Image size {ImageSize} is out of range: use 1 to 4096 pixels.");
        base.Validate();
    }
}
