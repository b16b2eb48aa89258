namespace Noisette.Bundles;

/// <summary>The shape of one image in some space: channels and a square side (pixels, or the denoiser's latents).</summary>
public readonly record struct SampleShape(int Channels, int Size)
{
    /// <summary>Values in one image of this shape.</summary>
    public int Length => Channels * Size * Size;
}
