using System.Text;
using System.Text.Json.Nodes;
using Noisette.Training;

using Noisette.IO;

namespace Noisette.Runs;

/// <summary>A config file for people: the full <see cref="TrainingConfig"/> as JSON with a comment above each setting.</summary>
public static class ConfigFile
{
    private static readonly Dictionary<string, string> Help = new()
    {
        ["preset"] = "Name of the model preset this config started from (informational).",
        ["model"] = "The U-Net. base_channels and channel_multipliers set its width; res_blocks_per_level its depth.",
        ["in_channels"] = "1 for gray images, 3 for RGB.",
        ["out_channels"] = "0 = same as in_channels.",
        ["base_channels"] = "Channels of the first level; the main knob of model size.",
        ["channel_multipliers"] = "One entry per resolution level (each halves the image).",
        ["res_blocks_per_level"] = "Residual blocks per level.",
        ["attention_resolutions"] = "Image sizes (in pixels) at which self-attention is used.",
        ["dropout"] = "Dropout in residual blocks (0.1 helps small data sets against memorising).",
        ["norm_groups"] = "GroupNorm groups.",
        ["num_classes"] = "Reserved for class-conditional models; 0 = unconditional.",
        ["image_size"] = "Side of the square training pictures, in pixels: the pictures are brought to the model's size.",
        ["diffusion"] = "The noise process.",
        ["timesteps"] = "Diffusion steps T.",
        ["schedule"] = "linear or cosine.",
        ["prediction"] = "What the network predicts: epsilon, v or x0.",
        ["min_snr_gamma"] = "Min-SNR-γ loss weighting (5 is typical); 0 = plain MSE.",
        ["offset_noise"] = "Offset noise: extra noise shared by all pixels of an image, times this (0.1 is typical); 0 = off.",
        ["data"] = "How images become training data.",
        ["channels"] = "auto: the pictures as they are, which must match in_channels; gray or rgb: convert them to that.",
        ["resize"] = "crop: fill the square and cut the centre; pad: fit inside and letterbox.",
        ["background"] = "Colour under transparent pixels and around padded images.",
        ["validation_fraction"] = "Share of images held out for validation.",
        ["flip_augment"] = "Random horizontal flips (off for letters: they are not symmetric).",
        ["steps"] = "Optimizer steps in total.",
        ["batch"] = "Images per step.",
        ["grad_accumulation"] = "Micro-batches per step (effective batch = batch × this).",
        ["learning_rate"] = "AdamW learning rate.",
        ["warmup_steps"] = "Steps of linear learning-rate warm-up.",
        ["lr_schedule"] = "constant or cosine (decays to min_lr_fraction × learning_rate).",
        ["grad_clip"] = "Clip the gradient norm to this; 0 = off.",
        ["ema_decay"] = "Decay of the weights' moving average used for sampling.",
        ["checkpoint_every"] = "Steps between checkpoints (each also writes a sample grid); by default a tenth of the steps, at most 1000.",
        ["keep_checkpoints"] = "How many recent checkpoints to keep.",
        ["sample_count"] = "Images in each checkpoint's sample grid (0 = none).",
        ["distance_samples"] = "Images sampled at each checkpoint to measure how close samples are to the training images; 'best' picks the closest (0 = off: best by validation loss).",
        ["seed"] = "Seed for everything random: the same seed and data give the same run.",
        ["device"] = "cpu or cuda.",
        ["threads"] = "CPU threads; 0 = one per physical core.",
    };

    public static string Commented(TrainingConfig config)
    {
        var node = JsonNode.Parse(Json.Serialize(config))!;
        var sb = new StringBuilder();
        sb.AppendLine("// Noisette training configuration. Lines starting with // are comments.");
        sb.AppendLine("// Use it with: noisette train --data DIR --out RUN --config THIS_FILE");
        Write(node, sb, 0);
        sb.AppendLine();
        return sb.ToString();
    }

    private static void Write(JsonNode node, StringBuilder sb, int indent)
    {
        var pad = new string(' ', indent * 2);
        if (node is JsonObject obj)
        {
            sb.AppendLine("{");
            int i = 0;
            foreach (var (key, value) in obj)
            {
                if (Help.TryGetValue(key, out var help)) sb.Append(pad).Append("  // ").AppendLine(help);
                sb.Append(pad).Append("  \"").Append(key).Append("\": ");
                if (value is JsonObject) Write(value, sb, indent + 1);
                else sb.Append(value?.ToJsonString() ?? "null");
                if (++i < obj.Count) sb.Append(',');
                sb.AppendLine();
            }
            sb.Append(pad).Append('}');
        }
        else sb.Append(node.ToJsonString());
    }
}
