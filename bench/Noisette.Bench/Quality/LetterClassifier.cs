using Noisette.IO;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Noisette.Bench.Quality;

/// <summary>
/// The quality benchmark's judge: a small CNN that reads a 32×32 gray capital letter (uint8, black ink on white,
/// mapped to [−1, 1] as the diffusion models see it) and says which of A–Z it is. Three stages of 3×3 convolution,
/// batch norm and ReLU at 32, 16 and 8 px (32, 64, 128 channels), each followed by 2×2 max pooling, then a
/// 128-feature fully connected layer (ReLU) and a 27-way output: the 26 letters and a 27th class, "not a letter",
/// learnt from generated noise, fields and blobs (<see cref="ClassifierTraining"/>). Without that class the network
/// never sees anything but letters, and noise lands in its features beside the oddest real fonts. The 128 features
/// are the space in which the benchmark measures Fréchet distance and k-NN precision/recall.
/// </summary>
public sealed class LetterClassifier : nn.Module<Tensor, Tensor>
{
    public const int ImageSize = 32;
    public const int FeatureCount = 128;
    /// <summary>26 letters and "not a letter".</summary>
    public const int Classes = 27;
    /// <summary>The class of anything that is not a letter.</summary>
    public const int NotALetter = 26;

    private readonly Sequential body;
    private readonly Dropout dropout;
    private readonly Linear head;

    public LetterClassifier() : base(nameof(LetterClassifier))
    {
        body = nn.Sequential(
            ("conv1", nn.Conv2d(1, 32, 3, padding: 1)), ("norm1", nn.BatchNorm2d(32)), ("relu1", nn.ReLU()), ("pool1", nn.MaxPool2d(2)),
            ("conv2", nn.Conv2d(32, 64, 3, padding: 1)), ("norm2", nn.BatchNorm2d(64)), ("relu2", nn.ReLU()), ("pool2", nn.MaxPool2d(2)),
            ("conv3", nn.Conv2d(64, 128, 3, padding: 1)), ("norm3", nn.BatchNorm2d(128)), ("relu3", nn.ReLU()), ("pool3", nn.MaxPool2d(2)),
            ("flatten", nn.Flatten()),
            ("fc", nn.Linear(128 * 4 * 4, FeatureCount)), ("relu4", nn.ReLU()));
        dropout = nn.Dropout(0.3);
        head = nn.Linear(FeatureCount, Classes);
        RegisterComponents();
    }

    /// <summary>The penultimate layer: N×128 features of N×1×32×32 images in [−1, 1].</summary>
    public Tensor Features(Tensor x) => body.forward(x);

    /// <summary>Logits (N×27) of N×1×32×32 images in [−1, 1].</summary>
    public override Tensor forward(Tensor x) => head.forward(dropout.forward(Features(x)));

    /// <summary>Logits of features already computed (the head alone, in eval mode no dropout).</summary>
    public Tensor Logits(Tensor features) => head.forward(dropout.forward(features));

    /// <summary>uint8 32×32 gray images to an N×1×32×32 float tensor in [−1, 1].</summary>
    public static Tensor ToInput(ReadOnlySpan<byte> pixels, int count) =>
        tensor(pixels.ToArray(), dtype: ScalarType.Byte).reshape(count, 1, ImageSize, ImageSize).to(float32).div(127.5).sub(1);

    /// <summary>Features (float64, N×128) and predicted classes (0..25 letters, 26 not a letter) of uint8 32×32 gray images, in eval mode.</summary>
    public (Tensor Features, int[] Predicted) Evaluate(IReadOnlyList<byte[]> images, int batch = 256)
    {
        eval();
        using var _ = inference_mode();
        var parts = new List<Tensor>();
        var predicted = new List<int>(images.Count);
        for (int start = 0; start < images.Count; start += batch)
        {
            using var scope = NewDisposeScope();
            int count = Math.Min(batch, images.Count - start);
            var pixels = new byte[count * ImageSize * ImageSize];
            for (int i = 0; i < count; i++) images[start + i].CopyTo(pixels, i * ImageSize * ImageSize);
            var f = Features(ToInput(pixels, count));
            predicted.AddRange(Logits(f).argmax(1).data<long>().ToArray().Select(v => (int)v));
            parts.Add(f.to(float64).MoveToOuterDisposeScope());
        }
        try { return (cat(parts, 0), predicted.ToArray()); }
        finally { foreach (var p in parts) p.Dispose(); }
    }

    /// <summary>Saves every parameter and buffer (batch-norm statistics) as float32 safetensors.</summary>
    public void Save(string path, IReadOnlyDictionary<string, string> metadata) =>
        SafeTensors.Save(path, state_dict().Select(kv => (kv.Key, kv.Value)).ToList(), metadata);

    /// <summary>Loads weights written by <see cref="Save"/>; a missing file or a tensor that does not fit is bad input.</summary>
    public static LetterClassifier Load(string path)
    {
        if (!File.Exists(path))
            throw new NoisetteInputException($"the letter classifier {path} does not exist; train it with `bench quality-train` or pass --classifier");
        var model = new LetterClassifier();
        var own = model.state_dict();
        var header = SafeTensors.ReadHeader(path);
        var missing = own.Keys.Except(header.Tensors.Select(t => t.Name)).ToList();
        if (missing.Count > 0) throw new NoisetteInputException($"{path} is not this classifier's weights: it lacks {string.Join(", ", missing)}");
        try { SafeTensors.ReadInto(path, header, own); }
        catch (ArgumentException e) { throw new NoisetteInputException($"{path} does not fit the classifier: {e.Message}"); }
        model.eval();
        return model;
    }
}
