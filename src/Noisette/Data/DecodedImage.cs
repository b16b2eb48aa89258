namespace Noisette.Data;

/// <summary>
/// One decoded image: 8-bit RGBA pixels with straight (not premultiplied) alpha, row by row from the top,
/// plus what the file held and anything worth telling the user about it (an animation, a wrong extension).
/// </summary>
public sealed class DecodedImage
{
    public DecodedImage(int width, int height, byte[] rgba, ImageSourceInfo source, IReadOnlyList<string>? notes = null)
    {
        if (rgba.Length != checked(width * height * 4)) throw new ArgumentException("RGBA buffer does not match the size.", nameof(rgba));
        Width = width;
        Height = height;
        Rgba = rgba;
        Source = source;
        Notes = notes ?? [];
        bool gray = true, opaque = true;
        for (int i = 0; i < rgba.Length; i += 4)
        {
            if (rgba[i] != rgba[i + 1] || rgba[i] != rgba[i + 2]) gray = false;
            if (rgba[i + 3] != 255) opaque = false;
            if (!gray && !opaque) break;
        }
        IsGray = gray;
        IsOpaque = opaque;
    }

    public int Width { get; }
    public int Height { get; }
    /// <summary>Width*Height*4 bytes: R, G, B, A per pixel, straight alpha.</summary>
    public byte[] Rgba { get; }
    /// <summary>True when every pixel has R == G == B (alpha not considered).</summary>
    public bool IsGray { get; }
    /// <summary>True when every pixel has alpha 255.</summary>
    public bool IsOpaque { get; }
    public ImageSourceInfo Source { get; }
    /// <summary>Remarks such as "animated GIF, 3 frames: the first frame is used".</summary>
    public IReadOnlyList<string> Notes { get; }
}
