namespace Noisette.Data;

/// <summary>
/// An image as uint8 planes, C×H×W (channel, row, column): 1 channel for gray, 3 for RGB, 4 for RGBA.
/// The layout of the training data and of generated samples.
/// </summary>
public sealed record PlanarImage
{
    public PlanarImage(int channels, int width, int height, byte[] pixels)
    {
        if (channels is not (1 or 3 or 4)) throw new ArgumentException($"An image has 1, 3 or 4 channels, not {channels}.", nameof(channels));
        if (width <= 0 || height <= 0) throw new ArgumentException($"Image size {width}x{height} is not positive.");
        if (pixels.Length != checked(channels * width * height))
            throw new ArgumentException($"{pixels.Length} bytes do not make a {channels}x{height}x{width} image.", nameof(pixels));
        Channels = channels;
        Width = width;
        Height = height;
        Pixels = pixels;
    }

    public int Channels { get; }
    public int Width { get; }
    public int Height { get; }
    public byte[] Pixels { get; }

    /// <summary>The value of channel <paramref name="c"/> at column <paramref name="x"/>, row <paramref name="y"/>.</summary>
    public byte this[int c, int y, int x] => Pixels[(c * Height + y) * Width + x];
}
