using System.Globalization;
using Noisette.Data;
using Noisette.Diffusion;
using Noisette.IO;
using Noisette.Models;
using Noisette.Runs;
using Noisette.Training;
using static TorchSharp.torch;

namespace Noisette.Interop;

/// <summary>What a guided-diffusion state dict says about its U-Net, and the tensor each fact was read from.</summary>
public sealed record GuidedDiffusionArchitecture
{
    public int InChannels { get; init; }
    /// <summary>Output channels before learned variance doubles them.</summary>
    public int OutChannels { get; init; }
    public int ModelChannels { get; init; }
    public double[] ChannelMultipliers { get; init; } = [];
    public int NumResBlocks { get; init; }
    /// <summary>Levels (0 = full resolution) whose blocks have attention; the middle block always has it.</summary>
    public int[] AttentionLevels { get; init; } = [];
    public bool LearnSigma { get; init; }
    public bool UseScaleShiftNorm { get; init; }
    public bool ResblockUpdown { get; init; }
    /// <summary>0 = unconditional.</summary>
    public int NumClasses { get; init; }
    /// <summary>For each guided-diffusion flag, the tensor (name and shape) it was inferred from.</summary>
    public IReadOnlyDictionary<string, string> Evidence { get; init; } = new Dictionary<string, string>();

    public int Levels => ChannelMultipliers.Length;
}

/// <summary>A guided-diffusion checkpoint resolved to Noisette's configuration.</summary>
public sealed record GuidedDiffusionModel(
    UNetConfig Model, DiffusionConfig Diffusion, GuidedDiffusionArchitecture Architecture, string? ReleasedAs, IReadOnlyList<string> Notes);

/// <summary>
/// Imports OpenAI guided-diffusion (ADM) checkpoints. The architecture is read from the state dict's tensor names and
/// shapes (<see cref="Infer"/>); what tensors cannot tell — image size, attention heads and their q/k/v order, noise
/// schedule, diffusion steps, dropout — comes from the MODEL_FLAGS, or from the flags of the released model with
/// that architecture. Flags that contradict the tensors are refused, naming both. <see cref="ImportToRun"/>
/// writes a normal run folder at step 0, so every command that takes a run works on the import.
/// </summary>
public static class GuidedDiffusionImport
{
    /// <summary>
    /// A released model (guided-diffusion's README), by architecture, with the flags tensors cannot reveal. Several
    /// releases share an architecture (the unconditional ImageNet 256 px model and the LSUN models); they differ only
    /// in dropout, which only training uses, and are told apart by file name.
    /// </summary>
    private sealed record Release(string Name, string[] Files, bool ClassCond, int ModelChannels, double[] Mult, int NumResBlocks, int ImageSize,
                                   int NumHeads, int NumHeadChannels, bool NewAttentionOrder, string Schedule, double Dropout);

    /// <summary>The MODEL_FLAGS of guided-diffusion's README for each released diffusion model: --dropout 0.1 appears only
    /// for the 64 px ImageNet model and the LSUN bedroom, cat and horse models; every other model uses the default 0.0.</summary>
    private static readonly Release[] Releases =
    [
        new("64x64_diffusion.pt (ImageNet 64, class-conditional)", ["64x64_diffusion.pt"], true, 192, [1, 2, 3, 4], 3, 64, 4, 64, true, "cosine", 0.1),
        new("128x128_diffusion.pt (ImageNet 128, class-conditional)", ["128x128_diffusion.pt"], true, 256, [1, 1, 2, 3, 4], 2, 128, 4, -1, false, "linear", 0.0),
        new("256x256_diffusion.pt (ImageNet 256, class-conditional)", ["256x256_diffusion.pt"], true, 256, [1, 1, 2, 2, 4, 4], 2, 256, 4, 64, false, "linear", 0.0),
        new("256x256_diffusion_uncond.pt (ImageNet 256, unconditional)", ["256x256_diffusion_uncond.pt"], false, 256, [1, 1, 2, 2, 4, 4], 2, 256, 4, 64, false, "linear", 0.0),
        new("lsun_bedroom.pt / lsun_cat.pt / lsun_horse.pt (LSUN 256, unconditional)", ["lsun_bedroom.pt", "lsun_cat.pt", "lsun_horse.pt"], false,
            256, [1, 1, 2, 2, 4, 4], 2, 256, 4, 64, false, "linear", 0.1),
        new("lsun_horse_nodropout.pt (LSUN 256, unconditional, no dropout)", ["lsun_horse_nodropout.pt"], false, 256, [1, 1, 2, 2, 4, 4], 2, 256, 4, 64, false, "linear", 0.0),
        new("512x512_diffusion.pt (ImageNet 512, class-conditional)", ["512x512_diffusion.pt"], true, 256, [0.5, 1, 1, 2, 2, 4, 4], 2, 512, 4, 64, false, "linear", 0.0),
    ];

    /// <summary>
    /// The released model with this architecture, or null. When several share it, the one whose file name is the
    /// checkpoint's; otherwise the first of them (then <paramref name="ambiguous"/> lists them all, as their
    /// dropout may differ).
    /// </summary>
    private static Release? FindRelease(GuidedDiffusionArchitecture a, string source, out IReadOnlyList<Release> ambiguous)
    {
        var same = Releases.Where(r => r.ModelChannels == a.ModelChannels && r.NumResBlocks == a.NumResBlocks
                                       && r.Mult.SequenceEqual(a.ChannelMultipliers) && r.ClassCond == (a.NumClasses > 0)).ToList();
        ambiguous = [];
        if (same.Count <= 1) return same.FirstOrDefault();
        var file = Path.GetFileName(source);
        var byName = same.FirstOrDefault(r => r.Files.Any(f => string.Equals(f, file, StringComparison.OrdinalIgnoreCase)));
        if (byName is not null) return byName;
        ambiguous = same;
        return same[0];
    }

    // ------------------------------------------------------------------ inference from tensors

    /// <summary>Reads the architecture from a state dict's names and shapes; throws naming the first tensor that does not fit.</summary>
    public static GuidedDiffusionArchitecture Infer(IReadOnlyList<TorchTensorInfo> tensors, string source)
    {
        var shapes = new Dictionary<string, long[]>(StringComparer.Ordinal);
        foreach (var t in tensors) shapes[t.Name] = t.Shape;
        var evidence = new Dictionary<string, string>(StringComparer.Ordinal);
        string Show(string name) => $"tensor {name} [{string.Join(", ", shapes[name])}]";

        long[] Need(string name, int rank)
        {
            if (!shapes.TryGetValue(name, out var s))
            {
                var hint = shapes.ContainsKey("out.2.c_proj.weight") || (shapes.ContainsKey("input_blocks.0.0.weight") && !shapes.Keys.Any(k => k.StartsWith("output_blocks.", StringComparison.Ordinal)))
                    ? " (this looks like a guided-diffusion classifier, which is not supported: only diffusion models can be imported)"
                    : "";
                throw new NoisetteInputException($"{source} is not a guided-diffusion U-Net: tensor {name} is missing{hint}");
            }
            if (s.Length != rank)
                throw new NoisetteInputException($"{source} is not a guided-diffusion U-Net: tensor {name} has shape [{string.Join(", ", s)}], expected {rank} dimensions");
            return s;
        }

        var te = Need("time_embed.0.weight", 2);
        int mc = (int)te[1];
        if (te[0] != 4L * mc)
            throw new NoisetteInputException($"{source} is not a guided-diffusion U-Net: tensor {Show("time_embed.0.weight")} should be [4·c, c]");
        evidence["num_channels"] = Show("time_embed.0.weight");

        var first = Need("input_blocks.0.0.weight", 4);
        int inCh = (int)first[1];
        var outW = Need("out.2.weight", 4);
        int outCh = (int)outW[0];
        if (inCh == 6 && outCh is 3 or 6)
            throw new NoisetteInputException(
                $"{source} is a guided-diffusion super-resolution model (tensor {Show("input_blocks.0.0.weight")} takes the image and its low-resolution version): upsamplers are not supported, only base diffusion models");
        bool learnSigma = outCh == 2 * inCh;
        evidence["learn_sigma"] = Show("out.2.weight");

        // The decoder tells the levels: every level but the first ends in an up-sampling layer after its res block
        // (and its attention), so the levels are the up-sampling blocks plus one, each with num_res_blocks + 1 blocks.
        int outputBlocks = CountBlocks(shapes.Keys, "output_blocks.");
        if (outputBlocks == 0) Need("output_blocks.0.0.in_layers.0.weight", 1);
        var upBlocks = new List<(int Block, string Tensor, bool IsRes)>();
        for (int b = 0; b < outputBlocks; b++)
        {
            for (int layer = 1; layer <= 2; layer++)
            {
                var p = $"output_blocks.{b}.{layer}.";
                if (shapes.ContainsKey(p + "in_layers.0.weight")) { upBlocks.Add((b, p + "in_layers.0.weight", true)); break; }
                if (shapes.ContainsKey(p + "conv.weight")) { upBlocks.Add((b, p + "conv.weight", false)); break; }
            }
        }
        int levels = upBlocks.Count + 1;
        if (outputBlocks % levels != 0 || outputBlocks / levels < 2)
            throw new NoisetteInputException(
                $"{source} is not a guided-diffusion U-Net: its {outputBlocks} output blocks, {upBlocks.Count} of them up-sampling, do not form levels of equal depth");
        int nrb = outputBlocks / levels - 1;
        evidence["num_res_blocks"] = $"the {outputBlocks} output_blocks in {levels} levels";
        bool updown = upBlocks.Count > 0 && upBlocks[0].IsRes;
        if (upBlocks.Count > 0) evidence["resblock_updown"] = Show(upBlocks[0].Tensor);

        var mult = new double[levels];
        var attention = new List<int>();
        for (int level = 0; level < levels; level++)
        {
            int block = 1 + level * (nrb + 1);
            var name = $"input_blocks.{block}.0.out_layers.3.weight";
            var w = Need(name, 4);
            mult[level] = (double)w[0] / mc;
            if (level == 0) evidence["channel_mult"] = Show(name);
            var qkv = $"input_blocks.{block}.1.qkv.weight";
            if (shapes.ContainsKey(qkv)) attention.Add(level);
        }
        evidence["attention_resolutions"] = attention.Count > 0
            ? string.Join(", ", attention.Select(l => Show($"input_blocks.{1 + l * (nrb + 1)}.1.qkv.weight")))
            : "the absence of input_blocks.N.1.qkv.weight";

        var embName = "input_blocks.1.0.emb_layers.1.weight";
        var emb = Need(embName, 2);
        long firstOut = (long)(mult[0] * mc);
        bool scaleShift = emb[0] == 2 * firstOut;
        evidence["use_scale_shift_norm"] = Show(embName);

        int classes = 0;
        if (shapes.TryGetValue("label_emb.weight", out var label))
        {
            classes = (int)label[0];
            evidence["class_cond"] = Show("label_emb.weight");
        }
        else evidence["class_cond"] = "the absence of label_emb.weight";

        return new GuidedDiffusionArchitecture
        {
            InChannels = inCh,
            OutChannels = learnSigma ? inCh : outCh,
            ModelChannels = mc,
            ChannelMultipliers = mult,
            NumResBlocks = nrb,
            AttentionLevels = [.. attention],
            LearnSigma = learnSigma,
            UseScaleShiftNorm = scaleShift,
            ResblockUpdown = updown,
            NumClasses = classes,
            Evidence = evidence,
        };
    }

    private static int CountBlocks(IEnumerable<string> names, string prefix)
    {
        int max = -1;
        foreach (var n in names)
        {
            if (!n.StartsWith(prefix, StringComparison.Ordinal)) continue;
            var rest = n.AsSpan(prefix.Length);
            var dot = rest.IndexOf('.');
            if (dot > 0 && int.TryParse(rest[..dot], NumberStyles.None, CultureInfo.InvariantCulture, out var k)) max = Math.Max(max, k);
        }
        return max + 1;
    }

    // ------------------------------------------------------------------ flags + tensors → configuration

    /// <summary>
    /// Combines the inferred architecture with the flags (null = none given). Only flags that were stated are
    /// checked against the tensors; the rest take the released model's values, or guided-diffusion's defaults.
    /// </summary>
    public static GuidedDiffusionModel Resolve(GuidedDiffusionArchitecture a, GuidedDiffusionFlags? flags, string source)
    {
        flags ??= new GuidedDiffusionFlags();
        var given = flags.Given;
        var notes = new List<string>();
        bool Has(string flag) => given.Contains(flag);
        NoisetteInputException Contradiction(string flag, string stated, string inferredKey, string meaning) =>
            new($"flag --{flag} {stated} contradicts {a.Evidence.GetValueOrDefault(inferredKey, inferredKey)} in {source}, which means {meaning}");
        static string B(bool b) => b ? "True" : "False";

        var release = FindRelease(a, source, out var sameArchitecture);
        var releasedAs = sameArchitecture.Count > 1 ? string.Join(" or ", sameArchitecture.Select(r => r.Name)) : release?.Name;

        if (Has("num_channels") && flags.NumChannels != a.ModelChannels)
            throw Contradiction("num_channels", flags.NumChannels.ToString(CultureInfo.InvariantCulture), "num_channels", $"num_channels {a.ModelChannels}");
        if (Has("num_res_blocks") && flags.NumResBlocks != a.NumResBlocks)
            throw Contradiction("num_res_blocks", flags.NumResBlocks.ToString(CultureInfo.InvariantCulture), "num_res_blocks", $"num_res_blocks {a.NumResBlocks}");
        if (Has("learn_sigma") && flags.LearnSigma != a.LearnSigma)
            throw Contradiction("learn_sigma", B(flags.LearnSigma), "learn_sigma", $"learn_sigma {B(a.LearnSigma)}");
        if (Has("use_scale_shift_norm") && flags.UseScaleShiftNorm != a.UseScaleShiftNorm)
            throw Contradiction("use_scale_shift_norm", B(flags.UseScaleShiftNorm), "use_scale_shift_norm", $"use_scale_shift_norm {B(a.UseScaleShiftNorm)}");
        if (Has("resblock_updown") && flags.ResblockUpdown != a.ResblockUpdown && a.Levels > 1)
            throw Contradiction("resblock_updown", B(flags.ResblockUpdown), "resblock_updown", $"resblock_updown {B(a.ResblockUpdown)}");
        if (Has("class_cond") && flags.ClassCond != (a.NumClasses > 0))
            throw Contradiction("class_cond", B(flags.ClassCond), "class_cond", $"class_cond {B(a.NumClasses > 0)}");

        // Image size: stated, or the release's; tensors cannot tell it.
        int imageSize;
        if (Has("image_size")) imageSize = flags.ImageSize;
        else if (release is not null) { imageSize = release.ImageSize; notes.Add($"image_size {imageSize} taken from the released model {releasedAs}"); }
        else throw new NoisetteInputException(
            $"{source} is not one of the released architectures, so its image size cannot be inferred: pass --flags \"--image_size N ...\" with the MODEL_FLAGS it was trained with");
        int factor = 1 << (a.Levels - 1);
        if (imageSize % factor != 0 || imageSize < factor)
            throw new NoisetteInputException(
                $"flag --image_size {imageSize} cannot be halved {a.Levels - 1} times, as the {a.Levels} levels of {source} (channel multipliers {Join(a.ChannelMultipliers)}) need");

        if (Has("channel_mult") && flags.ChannelMult.Length > 0 && !flags.ChannelMultipliers.SequenceEqual(a.ChannelMultipliers))
            throw Contradiction("channel_mult", flags.ChannelMult, "channel_mult", $"channel multipliers {Join(a.ChannelMultipliers)} (per level: {LevelTensors(a)})");
        if (Has("image_size") && !(Has("channel_mult") && flags.ChannelMult.Length > 0) && DefaultMult(imageSize) is { } dm && !dm.SequenceEqual(a.ChannelMultipliers))
            throw Contradiction("image_size", $"{imageSize} (whose default channel_mult is {Join(dm)})", "channel_mult", $"channel multipliers {Join(a.ChannelMultipliers)}");

        // Attention: which levels is a tensor fact; the resolutions in pixels follow from the image size.
        var inferredRes = a.AttentionLevels.Select(l => imageSize >> l).ToArray();
        if (Has("attention_resolutions"))
        {
            var rates = flags.AttentionResolutionList.Select(r => imageSize / r).ToHashSet();
            var wanted = Enumerable.Range(0, a.Levels).Where(l => rates.Contains(1 << l)).ToArray();
            if (!wanted.SequenceEqual(a.AttentionLevels))
            {
                int level = Enumerable.Range(0, a.Levels).First(l => wanted.Contains(l) != a.AttentionLevels.Contains(l));
                var tensor = $"input_blocks.{1 + level * (a.NumResBlocks + 1)}.1.qkv.weight";
                throw new NoisetteInputException(wanted.Contains(level)
                    ? $"flag --attention_resolutions {flags.AttentionResolutions} asks for attention at {imageSize >> level} px, but {source} has no tensor {tensor}: its attention is at {JoinInts(inferredRes)} px"
                    : $"flag --attention_resolutions {flags.AttentionResolutions} has no attention at {imageSize >> level} px, but {source} has tensor {tensor}: its attention is at {JoinInts(inferredRes)} px");
            }
        }

        // Heads and their order: not in the tensors. Stated, else the release's, else guided-diffusion's defaults.
        int numHeads = flags.NumHeads, headChannels = flags.NumHeadChannels, headsUp = flags.NumHeadsUpsample;
        bool newOrder = flags.UseNewAttentionOrder;
        if (!Has("num_heads") && !Has("num_head_channels") && !Has("num_heads_upsample"))
        {
            if (release is not null) { numHeads = release.NumHeads; headChannels = release.NumHeadChannels; headsUp = -1; }
            notes.Add(headChannels > 0 ? $"{headChannels} channels per attention head ({(release is null ? "guided-diffusion's default" : "as released")})"
                                       : $"{numHeads} attention heads ({(release is null ? "guided-diffusion's default" : "as released")})");
        }
        if (!Has("use_new_attention_order") && release is not null) newOrder = release.NewAttentionOrder;
        var attended = a.AttentionLevels.Select(l => (Level: l, Where: $"the attention at {imageSize >> l} px", Up: true))
            .Append((Level: a.Levels - 1, Where: "the middle block's attention", Up: false));
        foreach (var (level, where, up) in attended)
        {
            int ch = (int)(a.ChannelMultipliers[level] * a.ModelChannels);
            if (headChannels > 0)
            {
                if (ch % headChannels != 0)
                    throw new NoisetteInputException($"flag --num_head_channels {headChannels} does not divide the {ch} channels of {where}");
            }
            else
            {
                if (ch % numHeads != 0) throw new NoisetteInputException($"flag --num_heads {numHeads} does not divide the {ch} channels of {where}");
                int hu = headsUp > 0 ? headsUp : numHeads;
                if (up && ch % hu != 0) throw new NoisetteInputException($"flag --num_heads_upsample {hu} does not divide the {ch} channels of {where}");
            }
        }

        // The diffusion.
        string schedule = Has("noise_schedule") ? flags.NoiseSchedule : release?.Schedule ?? flags.NoiseSchedule;
        if (schedule is not ("linear" or "cosine"))
            throw new NoisetteInputException($"flag --noise_schedule '{schedule}' is not linear or cosine");
        int steps = flags.DiffusionSteps;
        if (steps < 2) throw new NoisetteInputException($"flag --diffusion_steps {steps} must be at least 2");
        if (flags.RescaleTimesteps && steps != 1000)
            throw new NoisetteInputException($"flag --rescale_timesteps True with --diffusion_steps {steps} is not supported (the model would see timesteps scaled to 0..1000)");
        double dropout = Has("dropout") ? flags.Dropout : release?.Dropout ?? flags.Dropout;
        if (!Has("dropout") && sameArchitecture.Select(r => r.Dropout).Distinct().Count() > 1)
            notes.Add($"dropout {dropout.ToString(CultureInfo.InvariantCulture)} (as {release!.Files[0]}): the file name does not say which of " +
                      $"{string.Join(", ", sameArchitecture.SelectMany(r => r.Files))} this is, and they were trained with dropout " +
                      $"{string.Join(" or ", sameArchitecture.Select(r => r.Dropout.ToString(CultureInfo.InvariantCulture)).Distinct())}; " +
                      "dropout matters only for fine-tuning: pass --flags \"--dropout X\" to choose");
        if (dropout is < 0 or >= 1) throw new NoisetteInputException($"flag --dropout {dropout} is not in [0, 1)");
        if (flags.UseKl) notes.Add("use_kl is ignored: fine-tuning uses the hybrid loss L_simple + 0.001·L_vlb");
        if (Has("timestep_respacing") && flags.TimestepRespacing.Length > 0)
            notes.Add($"timestep_respacing {flags.TimestepRespacing} is a sampling choice: pass it to the sampler instead");

        var model = new UNetConfig
        {
            InChannels = a.InChannels,
            OutChannels = a.OutChannels == a.InChannels ? 0 : a.OutChannels,
            BaseChannels = a.ModelChannels,
            ChannelMultipliers = a.ChannelMultipliers,
            ResBlocksPerLevel = a.NumResBlocks,
            AttentionResolutions = inferredRes,
            Dropout = dropout,
            NormGroups = 32,
            NumClasses = a.NumClasses,
            NumHeads = numHeads,
            HeadChannels = headChannels,
            NumHeadsUpsample = headsUp,
            UseScaleShiftNorm = a.UseScaleShiftNorm,
            ResBlockUpDown = a.ResblockUpdown,
            NewAttentionOrder = newOrder,
            LearnSigma = a.LearnSigma,
            ImageSize = imageSize,
        };
        model.Validate();
        var diffusion = new DiffusionConfig
        {
            Timesteps = steps,
            Schedule = schedule == "cosine" ? BetaSchedule.Cosine : BetaSchedule.Linear,
            Prediction = flags.PredictXstart ? Prediction.X0 : Prediction.Epsilon,
            LearnSigma = a.LearnSigma,
        };
        diffusion.Validate();
        return new GuidedDiffusionModel(model, diffusion, a, releasedAs, notes);
    }

    /// <summary>
    /// The U-Net that the flags alone describe, as guided-diffusion's <c>create_model</c> builds it (3 input
    /// channels, 6 outputs with learned variance, 1,000 classes when class-conditional, GroupNorm(32)).
    /// </summary>
    public static UNetConfig ConfigFromFlags(GuidedDiffusionFlags flags)
    {
        flags.Validate();
        var config = new UNetConfig
        {
            InChannels = flags.InChannels,
            BaseChannels = flags.NumChannels,
            ChannelMultipliers = [.. flags.ChannelMultipliers],
            ResBlocksPerLevel = flags.NumResBlocks,
            AttentionResolutions = flags.AttentionLevels.Select(l => flags.ImageSize >> l).ToArray(),
            Dropout = flags.Dropout,
            NormGroups = 32,
            NumClasses = flags.NumClasses ?? 0,
            NumHeads = flags.NumHeads,
            HeadChannels = flags.NumHeadChannels,
            NumHeadsUpsample = flags.NumHeadsUpsample,
            UseScaleShiftNorm = flags.UseScaleShiftNorm,
            ResBlockUpDown = flags.ResblockUpdown,
            NewAttentionOrder = flags.UseNewAttentionOrder,
            LearnSigma = flags.LearnSigma,
            ImageSize = flags.ImageSize,
        };
        config.Validate();
        return config;
    }

    /// <summary>Infers and resolves in one go, then checks every tensor's name and shape against the resolved model.</summary>
    public static GuidedDiffusionModel Resolve(IReadOnlyList<TorchTensorInfo> tensors, GuidedDiffusionFlags? flags, string source)
    {
        var resolved = Resolve(Infer(tensors, source), flags, source);
        CheckTensors(resolved.Model, tensors.Select(t => (t.Name, t.Shape)).ToList(), source);
        return resolved;
    }

    /// <summary>Throws naming the first tensor the model needs that is missing or mis-shaped, or the first the model does not have.</summary>
    public static void CheckTensors(UNetConfig model, IReadOnlyList<(string Name, long[] Shape)> tensors, string source)
    {
        var given = new Dictionary<string, long[]>(StringComparer.Ordinal);
        foreach (var (n, s) in tensors) given[n] = s;
        var layout = UNetLayout.Parameters(model);
        foreach (var (name, shape) in layout)
        {
            if (!given.TryGetValue(name, out var s))
                throw new NoisetteInputException($"{source} does not fit the inferred guided-diffusion architecture: tensor {name} is missing");
            if (!s.SequenceEqual(shape))
                throw new NoisetteInputException(
                    $"{source} does not fit the inferred guided-diffusion architecture: tensor {name} has shape [{string.Join(", ", s)}], expected [{string.Join(", ", shape)}]");
        }
        var known = layout.Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var (name, _) in tensors)
            if (!known.Contains(name))
                throw new NoisetteInputException($"{source} does not fit the inferred guided-diffusion architecture: unexpected tensor {name}");
    }

    // ------------------------------------------------------------------ writing a run

    public sealed record ImportResult(RunFolder Run, GuidedDiffusionModel Model, long Parameters, string CheckpointDir);

    /// <summary>
    /// Reads a guided-diffusion checkpoint safely, resolves its configuration, converts its weights to float32 and
    /// writes a run folder: config.json, and checkpoints/step-00000000 with the weights as both model and EMA
    /// (released checkpoints are EMA weights). No optimizer state: fine-tuning starts a fresh one.
    /// </summary>
    /// <param name="modelFlags">MODEL_FLAGS as guided-diffusion's README writes them, their JSON, a path to a file of either, or null.</param>
    public static ImportResult ImportToRun(string checkpointPath, string runPath, string? modelFlags, bool force = false, Action<string>? info = null)
    {
        var source = Path.GetFileName(checkpointPath);
        GuidedDiffusionFlags? flags = null;
        if (modelFlags is not null)
            flags = File.Exists(modelFlags) ? GuidedDiffusionFlags.Load(modelFlags)
                : modelFlags.TrimStart().StartsWith('{') ? GuidedDiffusionFlags.ParseJson(modelFlags)
                : GuidedDiffusionFlags.Parse(modelFlags);

        var info0 = TorchCheckpoint.Inspect(checkpointPath);
        var resolved = Resolve(info0, flags, source);
        foreach (var n in resolved.Notes) info?.Invoke(n);

        var run = new RunFolder(runPath);
        var tensors = TorchCheckpoint.LoadStateDict(checkpointPath);
        var weights = new List<(string, Tensor)>(tensors.Count);
        var converted = new List<Tensor>();
        try
        {
            // F16/BF16 (and F64) weights become float32 one tensor at a time, so peak memory stays near the model's size.
            var byName = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            foreach (var (name, t) in tensors)
            {
                if (t.dtype == ScalarType.Float32) { byName[name] = t; continue; }
                if (t.dtype is not (ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Float64))
                    throw new NoisetteInputException($"{source}: tensor {name} is {t.dtype}, not a floating-point weight");
                var f32 = t.to(ScalarType.Float32);
                converted.Add(f32);
                byName[name] = f32;
                t.Dispose();
            }
            // Written in the model's own parameter order, so the file reads like one Noisette wrote.
            foreach (var (name, _) in UNetLayout.Parameters(resolved.Model)) weights.Add((name, byName[name]));

            run.PrepareForNewRun(force);
            var m = resolved.Model;
            var config = new TrainingConfig
            {
                Preset = m.ImageSize >= 128 ? "adm256" : m.ImageSize >= 64 ? "ddpm64" : "ddpm32",
                Model = m,
                Diffusion = resolved.Diffusion,
                Batch = m.ImageSize >= 128 ? 4 : 16,
                LearningRate = 1e-4,
                WarmupSteps = 0,
                EmaDecay = 0.9999,
            };
            config.Validate();
            var full = Path.GetFullPath(checkpointPath);
            run.WriteConfig(new RunConfig { Training = config, Run = new RunInfo { InitFrom = full } });
            var meta = new Dictionary<string, string>
            {
                ["format"] = "noisette",
                ["step"] = "0",
                ["imported_from"] = "guided-diffusion",
                ["source_file"] = source,
            };
            Checkpoint.Write(run, new CheckpointState { Step = 0 }, weights, weights, null, meta);
            run.Log($"imported {full} (guided-diffusion{(resolved.ReleasedAs is null ? "" : ", " + resolved.ReleasedAs)}); " +
                    $"flags: {(modelFlags ?? "none given")}");
            foreach (var n in resolved.Notes) run.Log("import: " + n);
            long count = weights.Sum(w => w.Item2.NumberOfElements);
            return new ImportResult(run, resolved, count, run.CheckpointDir(0));
        }
        finally
        {
            foreach (var (_, t) in tensors) t.Dispose();
            foreach (var t in converted) t.Dispose();
        }
    }

    // ------------------------------------------------------------------ helpers

    private static double[]? DefaultMult(int imageSize) => imageSize switch
    {
        512 => [0.5, 1, 1, 2, 2, 4, 4],
        256 => [1, 1, 2, 2, 4, 4],
        128 => [1, 1, 2, 3, 4],
        64 => [1, 2, 3, 4],
        _ => null,
    };

    private static string LevelTensors(GuidedDiffusionArchitecture a) => string.Join("; ",
        Enumerable.Range(0, a.Levels).Select(l => $"input_blocks.{1 + l * (a.NumResBlocks + 1)}.0.out_layers.3.weight has {a.ChannelMultipliers[l] * a.ModelChannels} channels"));

    private static string Join(IEnumerable<double> v) => string.Join(",", v.Select(x => x.ToString(CultureInfo.InvariantCulture)));
    private static string JoinInts(IEnumerable<int> v) => string.Join(",", v);
}
