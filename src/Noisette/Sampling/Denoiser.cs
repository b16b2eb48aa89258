using Noisette.Diffusion;
using Noisette.Models;
using static TorchSharp.torch;

namespace Noisette.Sampling;

/// <summary>What a denoiser says about a noisy batch at one timestep.</summary>
public readonly record struct DenoiserOutput(Tensor X0, Tensor Eps, Tensor? VarValues);

/// <summary>
/// The one contract every sampler works against: given x_t and integer timesteps, predict the clean image and
/// the noise. It wraps a network (usually the EMA weights) and the diffusion maths that interpret its output.
/// </summary>
public class Denoiser
{
    public UNet Model { get; }
    public GaussianDiffusion Diffusion { get; }
    /// <summary>Clamp predicted x₀ to the data range [−1, 1] (right for images).</summary>
    public bool ClipDenoised { get; init; } = true;
    /// <summary>Class labels for a class-conditional model (one per image), or null.</summary>
    public Tensor? Labels { get; init; }

    public Denoiser(UNet model, GaussianDiffusion diffusion)
    {
        Model = model;
        Diffusion = diffusion;
    }

    public virtual DenoiserOutput Predict(Tensor x, int t)
    {
        var tt = full(x.shape[0], (long)t, dtype: int64, device: x.device);
        var output = Model.Forward(x, tt, Labels);
        var (x0, eps, v) = Diffusion.Interpret(x, tt, output.to(x.dtype), ClipDenoised);
        return new DenoiserOutput(x0, eps, v);
    }
}
