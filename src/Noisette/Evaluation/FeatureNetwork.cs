using Noisette.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace Noisette.Evaluation;

/// <summary>
/// The feature network behind FID and KID: a TorchScript module, normally the Inception-v3 file that clean-fid
/// and StyleGAN2-ADA use (inception-2015-12-05.pt, 2048 pool features). Its interface: forward(images,
/// return_features) with images N×3×H×W float32 in [0, 255]; it returns N×D features. Gray images are repeated
/// to three channels, and every image is resized (bicubic) to <see cref="InputSize"/> before the call.
/// </summary>
public sealed class FeatureNetwork : IDisposable
{
    private readonly jit.ScriptModule module;

    /// <summary>Side of the square input the network gets (299 for Inception).</summary>
    public int InputSize { get; }
    public string Path { get; }

    private FeatureNetwork(jit.ScriptModule module, int inputSize, string path)
    {
        this.module = module;
        InputSize = inputSize;
        Path = path;
    }

    /// <summary>Loads a TorchScript file; a missing or unreadable file is bad input.</summary>
    public static FeatureNetwork Load(string path, int inputSize = 299)
    {
        if (inputSize < 1) throw new ArgumentOutOfRangeException(nameof(inputSize));
        if (!File.Exists(path)) throw new NoisetteInputException($"feature network file {path} does not exist");
        jit.ScriptModule module;
        try
        {
            module = jit.load(path);
        }
        catch (Exception e) when (e is System.Runtime.InteropServices.ExternalException or ArgumentException or IOException or InvalidOperationException)
        {
            throw new NoisetteInputException($"{path} is not a TorchScript file that this libtorch can load: {e.Message.Split('\n')[0]}");
        }
        module.eval();
        return new FeatureNetwork(module, inputSize, System.IO.Path.GetFullPath(path));
    }

    /// <summary>Features of uint8 C×H×W images (C = 1 or 3, all the same size), as an N×D float64 CPU tensor.</summary>
    public Tensor Features(IReadOnlyList<byte[]> images, int channels, int size, int batchSize = 32)
    {
        if (channels is not (1 or 3)) throw new ArgumentException($"images must have 1 or 3 channels, not {channels}", nameof(channels));
        if (images.Count == 0) throw new ArgumentException("no images", nameof(images));
        int bytes = channels * size * size;
        var parts = new List<Tensor>();
        using var _ = inference_mode();
        try
        {
            for (int start = 0; start < images.Count; start += batchSize)
            {
                using var scope = NewDisposeScope();
                int count = Math.Min(batchSize, images.Count - start);
                var pixels = new byte[count * bytes];
                for (int j = 0; j < count; j++)
                {
                    if (images[start + j].Length != bytes) throw new ArgumentException($"image {start + j} is not {channels}×{size}×{size}");
                    images[start + j].CopyTo(pixels, j * bytes);
                }
                var x = tensor(pixels, dtype: ScalarType.Byte).reshape(count, channels, size, size).to(float32);
                if (channels == 1) x = x.expand(count, 3, size, size);
                if (size != InputSize)
                    x = nn.functional.interpolate(x, [InputSize, InputSize], mode: InterpolationMode.Bicubic, align_corners: false).clamp(0, 255);
                var output = module.call(x.contiguous(), true);
                var features = output switch
                {
                    Tensor t => t,
                    _ => throw new NoisetteInputException($"{Path}: the feature network returned {output?.GetType().Name ?? "nothing"}, not a tensor of features"),
                };
                if (features.dim() != 2 || features.shape[0] != count)
                    features = features.reshape(count, -1);
                parts.Add(features.to(float64).cpu().MoveToOuterDisposeScope());
            }
            return cat(parts, 0);
        }
        finally
        {
            foreach (var p in parts) p.Dispose();
        }
    }

    /// <summary>Features of an image set (all of it).</summary>
    public Tensor Features(IImageSet set, int batchSize = 32)
    {
        var list = new List<byte[]>(set.Count);
        for (int i = 0; i < set.Count; i++)
        {
            var b = new byte[set.Channels * set.ImageSize * set.ImageSize];
            set.CopyImage(i, b);
            list.Add(b);
        }
        return Features(list, set.Channels, set.ImageSize, batchSize);
    }

    public void Dispose() => module.Dispose();
}
