using System.Globalization;
using System.Security.Cryptography;
using Noisette.Data;
using Noisette.Runtime;

namespace Noisette.Pipelines;

/// <summary>
/// Everything needed to make an output image again, kept in its PNG text chunks (keys <c>noisette:*</c>): what kind
/// of output it is, the run and checkpoint, the sampler settings, the seed, and for edits and inpainting the input
/// files (path and SHA-256) and their settings. <c>noisette sample --from-png</c> reads it back.
/// </summary>
public sealed record Provenance
{
    public const string Sample = "sample", Edit = "edit", Inpaint = "inpaint", Interpolate = "interpolate", ContactSheet = "contact-sheet";

    public string Kind { get; init; } = Sample;
    public required string Run { get; init; }
    public required long CheckpointStep { get; init; }
    /// <summary>"ema" or "model".</summary>
    public string Weights { get; init; } = "ema";
    public required string Sampler { get; init; }
    /// <summary>The steps asked of the sampler (resolved: never 0); regeneration asks for the same.</summary>
    public required int Steps { get; init; }
    /// <summary>
    /// The network calls made for the output: fewer than <see cref="Steps"/> where log-SNR spacing merged duplicate
    /// timesteps (DPM-Solver++, Euler ancestral), or where an edit's strength cut the schedule; more for inpainting's
    /// resampling. Informative: regeneration recomputes it from the settings. Written only when it differs from
    /// <see cref="Steps"/> (so a sample's PNG is the same as before it existed); read back as Steps when absent.
    /// </summary>
    public int? NetworkCalls { get; init; }
    public double Eta { get; init; }
    public required long Seed { get; init; }
    public double? Strength { get; init; }
    public string? Input { get; init; }
    public string? InputSha256 { get; init; }
    public string? Mask { get; init; }
    public string? MaskSha256 { get; init; }
    public int? Jumps { get; init; }
    public int? JumpLength { get; init; }
    /// <summary>The seeds of an interpolation or a contact sheet, comma-separated.</summary>
    public string? Seeds { get; init; }
    public int? Frame { get; init; }
    /// <summary>Class of a class-conditional sample, and the guidance scale it was drawn with.</summary>
    public string? Class { get; init; }
    public double? Guidance { get; init; }
    /// <summary>The classes (rows) of a contact sheet, comma-separated.</summary>
    public string? Classes { get; init; }
    public int? Frames { get; init; }
    /// <summary>
    /// The batch the image was made in and its slot (see <see cref="BatchSlot"/>): regeneration computes a batch of the
    /// same size so that the bytes come out the same. Written only for batches of more than one image.
    /// </summary>
    public BatchSlot Batch { get; init; } = BatchSlot.Alone;
    /// <summary>The precision the network ran in: fp32 (the default, not written) or bf16/fp16.</summary>
    public string Precision { get; init; } = "fp32";
    public string Version { get; init; } = Noisette.Version.Current;

    private const string Prefix = "noisette:";
    private static string F(long v) => v.ToString(CultureInfo.InvariantCulture);
    private static string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>The PNG text chunks, in a fixed order (so the same provenance always gives the same bytes).</summary>
    public Dictionary<string, string> ToText()
    {
        var d = new Dictionary<string, string>
        {
            [Prefix + "kind"] = Kind,
            [Prefix + "run"] = Run,
            [Prefix + "checkpoint_step"] = F(CheckpointStep),
            [Prefix + "weights"] = Weights,
            [Prefix + "sampler"] = Sampler,
            [Prefix + "steps"] = F(Steps),
            [Prefix + "eta"] = F(Eta),
            [Prefix + "seed"] = F(Seed),
        };
        if (NetworkCalls is { } calls && calls != Steps) d[Prefix + "network_calls"] = F(calls);
        if (Strength is { } s) d[Prefix + "strength"] = F(s);
        if (Input is not null) d[Prefix + "input"] = Input;
        if (InputSha256 is not null) d[Prefix + "input_sha256"] = InputSha256;
        if (Mask is not null) d[Prefix + "mask"] = Mask;
        if (MaskSha256 is not null) d[Prefix + "mask_sha256"] = MaskSha256;
        if (Jumps is { } j) d[Prefix + "jumps"] = F(j);
        if (JumpLength is { } l) d[Prefix + "jump_length"] = F(l);
        if (Seeds is not null) d[Prefix + "seeds"] = Seeds;
        if (Frame is { } f) d[Prefix + "frame"] = F(f);
        if (Frames is { } n) d[Prefix + "frames"] = F(n);
        if (Class is not null) d[Prefix + "class"] = Class;
        if (Guidance is { } g) d[Prefix + "guidance"] = F(g);
        if (Classes is not null) d[Prefix + "classes"] = Classes;
        if (Batch.Size > 1)
        {
            d[Prefix + "batch_size"] = F(Batch.Size);
            d[Prefix + "batch_index"] = F(Batch.Index);
        }
        if (Precision != "fp32") d[Prefix + "precision"] = Precision;
        d[Prefix + "version"] = Version;
        return d;
    }

    /// <summary>Reads the provenance of a PNG written by Noisette; bad or missing metadata is a <see cref="NoisetteInputException"/>.</summary>
    public static Provenance Read(string pngPath)
    {
        if (!File.Exists(pngPath)) throw new NoisetteInputException($"'{pngPath}' does not exist");
        return FromText(PngText.Read(pngPath), pngPath);
    }

    public static Provenance FromText(IEnumerable<KeyValuePair<string, string>> text, string name = "the PNG")
    {
        var d = new Dictionary<string, string>();
        foreach (var (k, v) in text) if (k.StartsWith(Prefix, StringComparison.Ordinal)) d[k[Prefix.Length..]] = v;
        string Need(string key) => d.TryGetValue(key, out var v)
            ? v
            : throw new NoisetteInputException($"{name} carries no Noisette provenance '{Prefix}{key}'; only images written by Noisette can be regenerated");
        string? Opt(string key) => d.GetValueOrDefault(key);
        long Long(string key, string text) => long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v)
            ? v : throw new NoisetteInputException($"{name}: provenance '{Prefix}{key}' is not a whole number: '{text}'");
        double Double(string key, string text) => double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v)
            ? v : throw new NoisetteInputException($"{name}: provenance '{Prefix}{key}' is not a number: '{text}'");
        int? OptInt(string key) => Opt(key) is { } t ? checked((int)Long(key, t)) : null;
        return new Provenance
        {
            Kind = Opt("kind") ?? Sample,
            Run = Need("run"),
            CheckpointStep = Long("checkpoint_step", Need("checkpoint_step")),
            Weights = Opt("weights") ?? "ema",
            Sampler = Need("sampler"),
            Steps = checked((int)Long("steps", Need("steps"))),
            NetworkCalls = OptInt("network_calls") ?? checked((int)Long("steps", Need("steps"))),
            Eta = Opt("eta") is { } e ? Double("eta", e) : 0,
            Seed = Long("seed", Need("seed")),
            Strength = Opt("strength") is { } s ? Double("strength", s) : null,
            Input = Opt("input"),
            InputSha256 = Opt("input_sha256"),
            Mask = Opt("mask"),
            MaskSha256 = Opt("mask_sha256"),
            Jumps = OptInt("jumps"),
            JumpLength = OptInt("jump_length"),
            Seeds = Opt("seeds"),
            Frame = OptInt("frame"),
            Frames = OptInt("frames"),
            Class = Opt("class"),
            Guidance = Opt("guidance") is { } g ? Double("guidance", g) : null,
            Classes = Opt("classes"),
            Batch = new BatchSlot(OptInt("batch_size") ?? 1, OptInt("batch_index") ?? 0),
            Precision = Opt("precision") ?? "fp32",
            Version = Opt("version") ?? "",
        };
    }

    /// <summary>The provenance common to every output of a loaded model.</summary>
    public static Provenance For(LoadedModel model, string kind, string sampler, int steps, double eta, long seed) => new()
    {
        Kind = kind,
        Run = model.Run.Root,
        CheckpointStep = model.State.Step,
        Weights = model.UsesEma ? "ema" : "model",
        Sampler = sampler,
        Steps = steps,
        Eta = eta,
        Seed = seed,
        Precision = Runtime.PrecisionSupport.Name(model.Precision),
    };

    /// <summary>Lower-case hex SHA-256 of a file, to tell later whether an input is still the same.</summary>
    public static string FileSha256(string path)
    {
        try { return Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path))); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new NoisetteInputException($"Cannot read '{path}': {e.Message}", e);
        }
    }
}
