using static TorchSharp.torch;

namespace Noisette.Bundles;

/// <summary>
/// A preview while images are made: the batch that starts at image <see cref="FirstImage"/> of the request has had
/// <see cref="Step"/> of its <see cref="Steps"/> network calls, and <see cref="PredictedX0"/> (B, C, H, W, in the
/// denoiser's space: [−1, 1] pixels for a pixel model) is the current estimate of its clean images. The tensor is
/// valid only during the call: copy what you keep.
/// </summary>
public readonly record struct GenerationPreview(int FirstImage, int Step, int Steps, Tensor PredictedX0);
