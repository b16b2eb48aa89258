using static TorchSharp.torch;

namespace Noisette.Training;

/// <summary>
/// Label dropout for classifier-free guidance: each label is replaced by the null class with probability p, so one
/// network learns both the conditional and the unconditional prediction. Draws from the generator it is given (the
/// trainer's, reseeded per step), or from libtorch's process-wide one when it is given none.
/// </summary>
public static class LabelDropout
{
    public static Tensor Apply(Tensor labels, double p, int nullLabel, Generator? generator = null)
    {
        if (p <= 0 || nullLabel < 0) return labels;
        var drop = rand([labels.shape[0]], device: labels.device, generator: generator) < p;
        return where(drop, full_like(labels, nullLabel), labels);
    }
}
