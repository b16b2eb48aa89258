using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Noisette.Interop;

/// <summary>
/// The <c>script_util</c> arguments of OpenAI's guided-diffusion (<c>model_and_diffusion_defaults()</c>) that
/// rebuild a model and its diffusion. Parses the MODEL_FLAGS string as guided-diffusion's README writes it
/// (<c>--image_size 256 --learn_sigma True ...</c>) or a JSON object of the same names; absent flags take
/// guided-diffusion's defaults. <see cref="Given"/> says which flags were stated explicitly.
/// </summary>
public sealed record GuidedDiffusionFlags
{
    public int ImageSize { get; init; } = 64;
    public int NumChannels { get; init; } = 128;
    public int NumResBlocks { get; init; } = 2;
    public int NumHeads { get; init; } = 4;
    public int NumHeadsUpsample { get; init; } = -1;
    public int NumHeadChannels { get; init; } = -1;
    /// <summary>Resolutions in pixels (e.g. "32,16,8") at which attention blocks are used.</summary>
    public string AttentionResolutions { get; init; } = "16,8";
    /// <summary>Channel multipliers per level as written ("1,1,2,2,4,4"); empty means "by image size".</summary>
    public string ChannelMult { get; init; } = "";
    public double Dropout { get; init; }
    public bool ClassCond { get; init; }
    public bool UseCheckpoint { get; init; }
    public bool UseScaleShiftNorm { get; init; } = true;
    public bool ResblockUpdown { get; init; }
    public bool UseFp16 { get; init; }
    public bool UseNewAttentionOrder { get; init; }
    public bool LearnSigma { get; init; }
    public int DiffusionSteps { get; init; } = 1000;
    public string NoiseSchedule { get; init; } = "linear";
    public string TimestepRespacing { get; init; } = "";
    public bool UseKl { get; init; }
    public bool PredictXstart { get; init; }
    public bool RescaleTimesteps { get; init; }
    public bool RescaleLearnedSigmas { get; init; }

    /// <summary>The flags (guided-diffusion names) that were stated rather than defaulted.</summary>
    public IReadOnlySet<string> Given { get; init; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>guided-diffusion's number of classes when <see cref="ClassCond"/> is set.</summary>
    public const int NumClassesWhenConditional = 1000;

    public int? NumClasses => ClassCond ? NumClassesWhenConditional : null;
    public int InChannels => 3;
    public int OutChannels => LearnSigma ? 6 : 3;
    public int EffectiveNumHeadsUpsample => NumHeadsUpsample == -1 ? NumHeads : NumHeadsUpsample;

    /// <summary>The channel multipliers, resolved by image size when <see cref="ChannelMult"/> is empty (as <c>create_model</c> does).</summary>
    public IReadOnlyList<double> ChannelMultipliers => ResolveChannelMult(ChannelMult, ImageSize);

    /// <summary>The attention resolutions in pixels, e.g. [32, 16, 8].</summary>
    public IReadOnlyList<int> AttentionResolutionList => ParseIntList(AttentionResolutions, "attention_resolutions");

    /// <summary>The downsampling rates (image_size / resolution) at which attention is used, as <c>create_model</c> passes them to the U-Net.</summary>
    public IReadOnlyList<int> AttentionDownsampleRates => AttentionResolutionList.Select(r => ImageSize / r).ToList();

    /// <summary>
    /// The U-Net levels (0 = full resolution) whose blocks have attention: those whose downsampling rate 2^level is
    /// among <see cref="AttentionDownsampleRates"/>. Like guided-diffusion, a resolution that matches no level is
    /// silently unused (the middle block always has attention).
    /// </summary>
    public IReadOnlyList<int> AttentionLevels
    {
        get
        {
            var rates = AttentionDownsampleRates;
            return Enumerable.Range(0, ChannelMultipliers.Count).Where(l => rates.Contains(1 << l)).ToList();
        }
    }

    /// <summary>guided-diffusion's flag names, in <c>model_and_diffusion_defaults()</c> order.</summary>
    public static IReadOnlyList<string> FlagNames { get; } =
    [
        "image_size", "num_channels", "num_res_blocks", "num_heads", "num_heads_upsample", "num_head_channels",
        "attention_resolutions", "channel_mult", "dropout", "class_cond", "use_checkpoint", "use_scale_shift_norm",
        "resblock_updown", "use_fp16", "use_new_attention_order", "learn_sigma", "diffusion_steps", "noise_schedule",
        "timestep_respacing", "use_kl", "predict_xstart", "rescale_timesteps", "rescale_learned_sigmas",
    ];

    public static GuidedDiffusionFlags Defaults { get; } = new();

    // ---------------------------------------------------------------- parsing

    /// <summary>
    /// Parses a MODEL_FLAGS string such as <c>--attention_resolutions 32,16,8 --class_cond False --image_size 256</c>
    /// (also <c>--flag=value</c>, values in single or double quotes, and the whole <c>MODEL_FLAGS="..."</c> line). Unknown flags, missing or bad values,
    /// and inconsistent combinations throw <see cref="NoisetteInputException"/> naming the flag.
    /// </summary>
    public static GuidedDiffusionFlags Parse(string modelFlags)
    {
        ArgumentNullException.ThrowIfNull(modelFlags);
        var tokens = Tokenize(modelFlags);
        // Accept the README's shell line as pasted: MODEL_FLAGS="--image_size 256 ..."
        if (tokens.Count > 0 && tokens[0].StartsWith("MODEL_FLAGS=", StringComparison.Ordinal))
            tokens = [.. Tokenize(tokens[0]["MODEL_FLAGS=".Length..]), .. tokens.Skip(1)];
        var values = new List<(string Name, string Value)>();
        for (var i = 0; i < tokens.Count; i++)
        {
            var token = tokens[i];
            if (!token.StartsWith("--", StringComparison.Ordinal) || token.Length == 2)
                throw new NoisetteInputException($"guided-diffusion flags: expected a flag such as --image_size, found '{token}'");
            var name = token[2..];
            string value;
            var eq = name.IndexOf('=');
            if (eq >= 0)
            {
                value = name[(eq + 1)..];
                name = name[..eq];
            }
            else
            {
                if (!FlagNames.Contains(name)) throw Unknown(name);
                if (i + 1 >= tokens.Count || (tokens[i + 1].StartsWith("--", StringComparison.Ordinal) && tokens[i + 1].Length > 2 && !char.IsDigit(tokens[i + 1][2])))
                    throw new NoisetteInputException($"guided-diffusion flag --{name} has no value");
                value = tokens[++i];
            }
            values.Add((name, value));
        }
        return Build(values.Select(v => (v.Name, (object)v.Value)));
    }

    /// <summary>Parses a JSON object of flags, as <c>json.dump(model_and_diffusion_defaults() | ...)</c> writes it.</summary>
    public static GuidedDiffusionFlags ParseJson(string json)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new NoisetteInputException($"guided-diffusion flags: malformed JSON ({e.Message})", e);
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new NoisetteInputException("guided-diffusion flags: the JSON is not an object");
            var values = new List<(string, object)>();
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                object v = p.Value.ValueKind switch
                {
                    JsonValueKind.String => p.Value.GetString()!,
                    JsonValueKind.True => true,
                    JsonValueKind.False => false,
                    JsonValueKind.Number => p.Value.GetRawText(),
                    _ => throw new NoisetteInputException($"guided-diffusion flag {p.Name}: {p.Value.ValueKind} is not a flag value"),
                };
                values.Add((p.Name, v));
            }
            return Build(values);
        }
    }

    /// <summary>Reads a flags file: JSON if it starts with '{', a MODEL_FLAGS string otherwise.</summary>
    public static GuidedDiffusionFlags Load(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new NoisetteInputException($"{path}: cannot read guided-diffusion flags ({e.Message})", e);
        }
        try
        {
            return text.TrimStart().StartsWith('{') ? ParseJson(text) : Parse(text);
        }
        catch (NoisetteInputException e)
        {
            throw new NoisetteInputException($"{path}: {e.Message}", e);
        }
    }

    private static NoisetteInputException Unknown(string name) =>
        new($"unknown guided-diffusion flag --{name} (known: {string.Join(", ", FlagNames)})");

    private static GuidedDiffusionFlags Build(IEnumerable<(string Name, object Value)> values)
    {
        var f = new GuidedDiffusionFlags();
        var given = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, value) in values)
        {
            given.Add(name); // a repeated flag keeps its last value, as argparse does
            f = name switch
            {
                "image_size" => f with { ImageSize = Int(name, value, min: 1) },
                "num_channels" => f with { NumChannels = Int(name, value, min: 1) },
                "num_res_blocks" => f with { NumResBlocks = Int(name, value, min: 0) },
                "num_heads" => f with { NumHeads = Int(name, value, min: 1) },
                "num_heads_upsample" => f with { NumHeadsUpsample = MinusOneOrPositive(name, value) },
                "num_head_channels" => f with { NumHeadChannels = MinusOneOrPositive(name, value) },
                "attention_resolutions" => f with { AttentionResolutions = Text(name, value) },
                "channel_mult" => f with { ChannelMult = Text(name, value) },
                "dropout" => f with { Dropout = Float(name, value) },
                "class_cond" => f with { ClassCond = Bool(name, value) },
                "use_checkpoint" => f with { UseCheckpoint = Bool(name, value) },
                "use_scale_shift_norm" => f with { UseScaleShiftNorm = Bool(name, value) },
                "resblock_updown" => f with { ResblockUpdown = Bool(name, value) },
                "use_fp16" => f with { UseFp16 = Bool(name, value) },
                "use_new_attention_order" => f with { UseNewAttentionOrder = Bool(name, value) },
                "learn_sigma" => f with { LearnSigma = Bool(name, value) },
                "diffusion_steps" => f with { DiffusionSteps = Int(name, value, min: 1) },
                "noise_schedule" => f with { NoiseSchedule = Text(name, value) },
                "timestep_respacing" => f with { TimestepRespacing = Text(name, value) },
                "use_kl" => f with { UseKl = Bool(name, value) },
                "predict_xstart" => f with { PredictXstart = Bool(name, value) },
                "rescale_timesteps" => f with { RescaleTimesteps = Bool(name, value) },
                "rescale_learned_sigmas" => f with { RescaleLearnedSigmas = Bool(name, value) },
                _ => throw Unknown(name),
            };
        }
        f = f with { Given = given };
        f.Validate();
        return f;
    }

    private static NoisetteInputException BadValue(string name, object value, string expected) =>
        new($"guided-diffusion flag --{name}: '{value}' is not {expected}");

    private static int Int(string name, object value, int min)
    {
        // argparse's int(): an optional sign and decimal digits.
        if (value is string s && int.TryParse(s.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v))
            return v >= min ? v : throw BadValue(name, value, $"an integer of at least {min}");
        throw BadValue(name, value, "an integer");
    }

    private static int MinusOneOrPositive(string name, object value)
    {
        var v = Int(name, value, min: -1);
        return v is -1 or > 0 ? v : throw BadValue(name, value, "-1 or a positive integer");
    }

    private static double Float(string name, object value)
    {
        if (value is string s && double.TryParse(s.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v))
            return v;
        throw BadValue(name, value, "a number");
    }

    /// <summary>guided-diffusion's <c>str2bool</c>: yes/true/t/y/1 and no/false/f/n/0, any case.</summary>
    private static bool Bool(string name, object value)
    {
        if (value is bool b) return b;
        switch (((string)value).Trim().ToLowerInvariant())
        {
            case "yes" or "true" or "t" or "y" or "1": return true;
            case "no" or "false" or "f" or "n" or "0": return false;
            default: throw BadValue(name, value, "a boolean (True or False)");
        }
    }

    private static string Text(string name, object value) =>
        value is string s ? s.Trim() : throw BadValue(name, value, "a string");

    private static List<string> Tokenize(string s)
    {
        var tokens = new List<string>();
        var current = new StringBuilder();
        var inToken = false;
        char quote = '\0';
        foreach (var c in s)
        {
            if (quote != '\0')
            {
                if (c == quote) quote = '\0';
                else current.Append(c);
            }
            else if (c is '"' or '\'')
            {
                quote = c;
                inToken = true;
            }
            else if (char.IsWhiteSpace(c) || c == '\\')
            {
                // A backslash only continues a shell line here.
                if (inToken) tokens.Add(current.ToString());
                current.Clear();
                inToken = false;
            }
            else
            {
                current.Append(c);
                inToken = true;
            }
        }
        if (quote != '\0') throw new NoisetteInputException($"guided-diffusion flags: unbalanced {quote} quote");
        if (inToken) tokens.Add(current.ToString());
        return tokens;
    }

    private static List<int> ParseIntList(string text, string flag)
    {
        var list = new List<int>();
        foreach (var part in text.Split(','))
        {
            if (!int.TryParse(part.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var v) || v <= 0)
                throw new NoisetteInputException($"guided-diffusion flag --{flag}: '{text}' is not a comma-separated list of positive integers");
            list.Add(v);
        }
        return list;
    }

    private static IReadOnlyList<double> ResolveChannelMult(string channelMult, int imageSize)
    {
        if (channelMult.Length == 0)
        {
            return imageSize switch
            {
                512 => [0.5, 1, 1, 2, 2, 4, 4],
                256 => [1, 1, 2, 2, 4, 4],
                128 => [1, 1, 2, 3, 4],
                64 => [1, 2, 3, 4],
                _ => throw new NoisetteInputException(
                    $"guided-diffusion flag --image_size: {imageSize} has no default channel multipliers (only 64, 128, 256 and 512 do); give --channel_mult"),
            };
        }
        // create_model parses each multiplier with int(); so do we.
        return ParseIntList(channelMult, "channel_mult").Select(v => (double)v).ToList();
    }

    // ---------------------------------------------------------------- consistency

    /// <summary>Throws <see cref="NoisetteInputException"/> naming the flag when the flags cannot build a guided-diffusion model.</summary>
    public void Validate()
    {
        var mult = ChannelMultipliers;
        var levels = mult.Count;
        var maxDs = 1 << (levels - 1);
        if (ImageSize % maxDs != 0)
            throw new NoisetteInputException(
                $"guided-diffusion flag --image_size: {ImageSize} cannot be halved {levels - 1} times, as the {levels} levels of channel_mult {string.Join(",", mult)} need");

        var channels = new List<int>();
        foreach (var m in mult)
        {
            var ch = m * NumChannels;
            if (ch != Math.Floor(ch) || (int)ch % 32 != 0)
                throw new NoisetteInputException(
                    $"guided-diffusion flag --num_channels: {NumChannels} × channel multiplier {m} = {ch} is not a multiple of 32, as GroupNorm(32) needs");
            channels.Add((int)ch);
        }

        var attentionLevels = AttentionLevels;
        // Attention blocks at the listed levels, plus the middle block's, which guided-diffusion always has.
        var attended = attentionLevels.Select(l => (Level: l, Where: $"the attention at {ImageSize >> l} px", Upsample: true))
            .Append((Level: levels - 1, Where: "the middle block's attention", Upsample: false));
        foreach (var (level, where, upsample) in attended)
        {
            var ch = channels[level];
            if (NumHeadChannels != -1)
            {
                if (ch % NumHeadChannels != 0)
                    throw new NoisetteInputException($"guided-diffusion flag --num_head_channels: {NumHeadChannels} does not divide the {ch} channels of {where}");
            }
            else
            {
                if (ch % NumHeads != 0)
                    throw new NoisetteInputException($"guided-diffusion flag --num_heads: {NumHeads} does not divide the {ch} channels of {where}");
                if (upsample && ch % EffectiveNumHeadsUpsample != 0)
                    throw new NoisetteInputException($"guided-diffusion flag --num_heads_upsample: {EffectiveNumHeadsUpsample} does not divide the {ch} channels of {where}");
            }
        }

        if (Dropout is < 0 or >= 1)
            throw new NoisetteInputException($"guided-diffusion flag --dropout: {Dropout} is not in [0, 1)");
        if (NoiseSchedule is not ("linear" or "cosine"))
            throw new NoisetteInputException($"guided-diffusion flag --noise_schedule: '{NoiseSchedule}' is not linear or cosine");
        ValidateRespacing();
    }

    private void ValidateRespacing()
    {
        var r = TimestepRespacing;
        if (r.Length == 0) return;
        if (r.StartsWith("ddim", StringComparison.Ordinal))
        {
            if (int.TryParse(r.AsSpan(4), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 && n <= DiffusionSteps) return;
            throw new NoisetteInputException($"guided-diffusion flag --timestep_respacing: '{r}' is not ddimN with 0 < N <= diffusion_steps ({DiffusionSteps})");
        }
        var sections = r.Split(',');
        if (sections.Length > DiffusionSteps) throw new NoisetteInputException($"guided-diffusion flag --timestep_respacing: '{r}' has more sections than diffusion_steps ({DiffusionSteps})");
        var size = DiffusionSteps / sections.Length;
        var extra = DiffusionSteps % sections.Length;
        for (var i = 0; i < sections.Length; i++)
        {
            var sectionSize = size + (i < extra ? 1 : 0);
            if (!int.TryParse(sections[i].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var count) || count < 0 || count > sectionSize)
                throw new NoisetteInputException($"guided-diffusion flag --timestep_respacing: '{r}' is not ddimN or a comma-separated list of step counts (section {i + 1} has {sectionSize} steps)");
        }
    }

    // ---------------------------------------------------------------- writing

    /// <summary>The flags as a MODEL_FLAGS string that <see cref="Parse"/> (and guided-diffusion's scripts) read back.</summary>
    public string ToModelFlags()
    {
        static string B(bool b) => b ? "True" : "False";
        var parts = new (string Name, string Value)[]
        {
            ("image_size", ImageSize.ToString(CultureInfo.InvariantCulture)),
            ("num_channels", NumChannels.ToString(CultureInfo.InvariantCulture)),
            ("num_res_blocks", NumResBlocks.ToString(CultureInfo.InvariantCulture)),
            ("num_heads", NumHeads.ToString(CultureInfo.InvariantCulture)),
            ("num_heads_upsample", NumHeadsUpsample.ToString(CultureInfo.InvariantCulture)),
            ("num_head_channels", NumHeadChannels.ToString(CultureInfo.InvariantCulture)),
            ("attention_resolutions", AttentionResolutions),
            ("channel_mult", ChannelMult),
            ("dropout", Dropout.ToString("R", CultureInfo.InvariantCulture)),
            ("class_cond", B(ClassCond)),
            ("use_checkpoint", B(UseCheckpoint)),
            ("use_scale_shift_norm", B(UseScaleShiftNorm)),
            ("resblock_updown", B(ResblockUpdown)),
            ("use_fp16", B(UseFp16)),
            ("use_new_attention_order", B(UseNewAttentionOrder)),
            ("learn_sigma", B(LearnSigma)),
            ("diffusion_steps", DiffusionSteps.ToString(CultureInfo.InvariantCulture)),
            ("noise_schedule", NoiseSchedule),
            ("timestep_respacing", TimestepRespacing),
            ("use_kl", B(UseKl)),
            ("predict_xstart", B(PredictXstart)),
            ("rescale_timesteps", B(RescaleTimesteps)),
            ("rescale_learned_sigmas", B(RescaleLearnedSigmas)),
        };
        return string.Join(" ", parts.Select(p => p.Value.Length == 0 ? $"--{p.Name} \"\"" : $"--{p.Name} {p.Value}"));
    }
}
