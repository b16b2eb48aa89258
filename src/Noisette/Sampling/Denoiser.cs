using Noisette.Diffusion;
using Noisette.Models;
using static TorchSharp.torch;

namespace Noisette.Sampling;

/// <summary>What a denoiser says about a noisy batch at one timestep.</summary>
public readonly record struct DenoiserOutput(Tensor X0, Tensor Eps, Tensor? VarValues);

/// <summary>
/// The one contract every sampler works against: given x_t and integer timesteps, predict the clean image and
/// the noise. It wraps a network (usually the EMA weights) and the diffusion maths that interpret its output.
/// For a class-conditional model it also applies classifier-free guidance:
/// out = out(∅) + w·(out(y) − out(∅)), both halves computed in one batched forward pass.
/// </summary>
public class Denoiser
{
    public UNet Model { get; }
    public GaussianDiffusion Diffusion { get; }
    /// <summary>Clamp predicted x₀ to the data range [−1, 1] (right for images).</summary>
    public bool ClipDenoised { get; init; } = true;
    /// <summary>Class labels for a class-conditional model (one per image); null means the null class.</summary>
    public Tensor? Labels { get; init; }
    /// <summary>One class for every image (used when <see cref="Labels"/> is null), or null.</summary>
    public int? Label { get; init; }
    /// <summary>Guidance scale w: 0 is unconditional, 1 plain conditional, above 1 stronger class likeness.</summary>
    public double GuidanceScale { get; init; } = 1.0;

    public Denoiser(UNet model, GaussianDiffusion diffusion)
    {
        Model = model;
        Diffusion = diffusion;
    }

    /// <summary>The same denoiser for a batch with these labels.</summary>
    public Denoiser WithLabels(Tensor? labels) =>
        new(Model, Diffusion) { ClipDenoised = ClipDenoised, Labels = labels, Label = Label, GuidanceScale = GuidanceScale };

    public virtual DenoiserOutput Predict(Tensor x, int t)
    {
        var tt = full(x.shape[0], (long)t, dtype: int64, device: x.device);
        var output = Output(x, tt);
        var (x0, eps, v) = Diffusion.Interpret(x, tt, output.to(x.dtype), ClipDenoised);
        return new DenoiserOutput(x0, eps, v);
    }

    /// <summary>
    /// The one network call: the output in x's type (a low-precision model computes in its own type; guidance mixes
    /// in x's). Guidance calls it once, on a batch twice the size.
    /// </summary>
    protected virtual Tensor Net(Tensor x, Tensor t, Tensor? labels) => Model.Forward(x, t, labels).to(x.dtype);

    private Tensor Output(Tensor x, Tensor t)
    {
        if (!Model.IsConditional) return Net(x, t, null);
        int nullLabel = Model.NullLabel;
        var given = Labels ?? (Label is int one ? full(x.shape[0], (long)one, dtype: int64, device: x.device) : null);
        if (given is null)
        {
            if (nullLabel < 0) throw new NoisetteInputException("this model is class-conditional without a null class: give a class");
            return Net(x, t, full(x.shape[0], (long)nullLabel, dtype: int64, device: x.device));
        }
        var labels = given.to(x.device);
        double w = GuidanceScale;
        if (w == 1.0) return Net(x, t, labels);
        if (nullLabel < 0) throw new NoisetteInputException("classifier-free guidance needs a model trained with a null class; use a guidance of 1");
        var nulls = full_like(labels, nullLabel);
        if (w == 0.0) return Net(x, t, nulls);
        var both = Net(cat([x, x], 0), cat([t, t], 0), cat([labels, nulls], 0)).chunk(2, 0);
        Tensor cond = both[0], uncond = both[1];
        if (!Diffusion.Config.LearnSigma) return uncond + (cond - uncond) * w;
        var c = cond.chunk(2, 1);
        var u = uncond.chunk(2, 1);
        return cat([u[0] + (c[0] - u[0]) * w, c[1]], 1);
    }
}
