namespace Noisette.Data;

/// <summary>
/// What an image file holds, read from its header: the format, the pixel size, how many frames,
/// and how the pixels are stored (for example "gray", "RGB", "RGBA", "palette", "CMYK", "16-bit RGB").
/// </summary>
public sealed record ImageSourceInfo(ImageFormat Format, int Width, int Height, int FrameCount, string PixelLayout)
{
    public long Pixels => (long)Width * Height;
    public bool IsAnimated => FrameCount > 1;
}
