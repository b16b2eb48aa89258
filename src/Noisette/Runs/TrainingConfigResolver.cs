using Noisette.Data;
using Noisette.Models;

namespace Noisette.Runs;

/// <summary>
/// The rules that turn a training request into a <see cref="TrainingConfig"/>, in one pure function shared by the CLI
/// and the studio: what a config file, a fine-tune's starting model, a preset and the measured data each decide, and
/// which combinations are refused. It reads no file; its callers gather the config file, the starting run and the
/// <see cref="DataFacts"/>.
/// </summary>
public static class TrainingConfigResolver
{
    /// <summary>
    /// Side of the pictures the run will train on, known before the data is measured (the health check needs it):
    /// the request's, else the starting model's, the preset's (times the autoencoder's factor for a latent preset), the
    /// config file's, else for a latent run the size the autoencoder was trained at, else <see cref="TrainingDefaults.ImageSize"/>
    /// (a latent run: 32 latents times the factor).
    /// An unknown preset is a <see cref="NoisetteInputException"/>.
    /// </summary>
    public static int PictureSize(TrainingRequest request, TrainingConfig? configFile = null, FineTuneSource? source = null, LatentSpace? latent = null)
    {
        if (request.ImageSize is int asked) return asked;
        if (source is not null) return source.Config.PixelSize;
        var preset = request.Preset is { } p ? ModelPresets.Get(p) : null;
        int factor = latent?.Factor ?? 1;
        if (preset is not null) return preset.Model.ImageSize * (preset.Latent ? latent?.Factor ?? 8 : 1);
        if (configFile is not null) return latent is null ? configFile.PixelSize : configFile.Model.ImageSize * factor;
        return latent is null ? TrainingDefaults.ImageSize : latent.TrainedImageSize ?? ModelPresets.Get("latent256").Model.ImageSize * factor;
    }

    /// <summary>How the data check reads the pictures for this request: the config file's or starting model's data settings at <see cref="PictureSize"/>.</summary>
    public static DataConfig CheckSettings(TrainingRequest request, TrainingConfig? configFile = null, FineTuneSource? source = null, LatentSpace? latent = null) =>
        new(configFile?.Data ?? source?.Config.Data ?? new DataSettings(), PictureSize(request, configFile, source, latent));

    /// <summary>
    /// The configuration of a new run. In order of precedence: the request's values; then a config file's; then, for a
    /// fine-tune without a config file, the starting run's settings (never its machine's: device, threads and precision
    /// take this machine's defaults); then the defaults. A fine-tune always keeps the starting model and diffusion.
    /// <paramref name="latent"/> is the autoencoder of <see cref="TrainingRequest.Autoencoder"/>, read by the caller:
    /// the U-Net then learns its latents, and the pictures are its factor times the U-Net's size.
    /// </summary>
    public static ConfigResolution Resolve(TrainingRequest request, DataFacts facts, TrainingConfig? configFile = null, FineTuneSource? source = null,
                                           LatentSpace? latent = null)
    {
        var problems = new List<ConfigProblem>();
        var notes = new List<string>();
        if (facts.ReadableImages == 0) problems.Add(new("dataset", "the data folder holds no readable picture"));
        if (request.ImageSize is int asked && asked is < 1 or > 4096)
            problems.Add(new("image_size", $"the picture size must be from 1 to 4096 pixels, got {asked}"));

        // 1. Where the model comes from: the starting run, a preset, the config file, or a preset chosen from the pictures.
        var cfg = configFile;
        ModelPresets.Preset? preset = null;
        if (source is not null)
        {
            var src = source.Config;
            var machine = new TrainingConfig();
            cfg = (cfg ?? src with { Device = machine.Device, Threads = machine.Threads, Precision = machine.Precision }) with
            {
                Preset = src.Preset,
                ClassNames = src.ClassNames,
                Model = src.Model,
                Diffusion = src.Diffusion,
                Autoencoder = src.Autoencoder,
                Data = cfg?.Data ?? src.Data,
            };
            if (request.Preset is { } p && !string.Equals(p, src.Preset, StringComparison.OrdinalIgnoreCase))
                problems.Add(new("preset", $"a fine-tune keeps the model of run '{source.Name}' ({InWords(src.Preset)}); leave the preset out or choose {src.Preset}"));
            if (latent is not null && src.Autoencoder is null)
                problems.Add(new("autoencoder", $"run '{source.Name}' learned pixels, not an autoencoder's latents: a fine-tune keeps its space, so choose no autoencoder"));
            else if (latent is not null && !string.Equals(latent.Sha256, src.Autoencoder!.Sha256, StringComparison.OrdinalIgnoreCase))
                problems.Add(new("autoencoder", $"run '{source.Name}' learned the latents of another autoencoder ({src.Autoencoder.Path}); " +
                                                "a fine-tune keeps it, so choose no other"));
        }
        else if (request.Preset is { } p)
        {
            preset = ModelPresets.Find(p);
            if (preset is null) problems.Add(new("preset", ModelPresets.Unknown(p)));
            else if (preset.Latent && latent is null)
                problems.Add(new("preset", $"preset {preset.Named} learns an autoencoder's latents: choose an autoencoder folder " +
                                           "(made by `noisette autoencoder train` or `noisette autoencoder import`), or a pixel preset"));
            else if (!preset.Latent && latent is not null)
                problems.Add(new("preset", $"preset {preset.Named} learns pixels; with an autoencoder choose a latent preset: " +
                                           string.Join(", ", ModelPresets.All.Where(x => x.Latent).Select(x => x.Named))));
            else cfg = cfg is null ? TrainingDefaults.For(preset.Name) : cfg with { Preset = preset.Name, Model = preset.Model };
        }
        if (problems.Count > 0) return Refused();
        int size = PictureSize(request, configFile, source, latent);
        cfg ??= TrainingDefaults.For(latent is null ? AutoPreset(facts.Channels, size) : AutoLatentPreset(size / latent.Factor));
        if (latent is not null && source is null)
        {
            // The U-Net takes the autoencoder's latents: a preset's channels follow them; a config file's must match.
            var model = preset is not null || configFile is null ? cfg.Model with { InChannels = latent.LatentChannels, OutChannels = 0 } : cfg.Model;
            cfg = cfg with { Autoencoder = latent, Model = model };
        }
        int factor = cfg.Autoencoder?.Factor ?? 1;
        if (size % factor != 0)
            return Refused(new ConfigProblem("image_size", $"the picture size {size} px is not a multiple of the autoencoder's factor {factor}: " +
                                                           $"its latents are {factor} times smaller on each side; choose {size / factor * factor} or {(size / factor + 1) * factor} px"));
        if (size != cfg.PixelSize)
        {
            size /= factor;
            var resized = cfg.Model.Resized(size);
            int halvings = 1 << (resized.ChannelMultipliers.Length - 1);
            if (size % halvings != 0)
                return Refused(new ConfigProblem("image_size", $"the picture size {size * factor} px does not suit the model ({InWords(cfg.Preset)}): it halves " +
                                                 (factor > 1 ? $"the {size}×{size} latents " : "the pictures ") +
                                                 $"{resized.ChannelMultipliers.Length - 1} times, so the size must be a multiple of {halvings * factor} px"));
            cfg = cfg with { Model = resized };
        }

        // 2. The pictures' channels against the model's.
        bool picturesGray = cfg.Data.Channels switch { ChannelMode.Gray => true, ChannelMode.Rgb => false, _ => facts.Channels == ChannelMode.Gray };
        bool modelGray = cfg.PixelChannels == ChannelMode.Gray;
        string pictures = picturesGray ? "gray" : "in colour";
        if (source is not null)
        {
            // Gray pictures become colour ones without loss; colour pictures would lose their colour in a gray model.
            if (modelGray && !picturesGray)
                problems.Add(new("init_from", $"the pictures are in colour but the model of run '{source.Name}' is gray; fine-tune a colour run, or choose gray pictures"));
            else if (!modelGray && picturesGray)
                notes.Add($"the pictures are gray; they are given three equal colour channels for the colour model of run '{source.Name}'");
        }
        else if (cfg.Autoencoder is { } ae)
        {
            if (modelGray && !picturesGray)
                problems.Add(new("autoencoder", $"the pictures are in colour but the autoencoder {ae.Path} takes gray pictures; " +
                                                "choose a colour autoencoder, or set data.channels to gray in a config file to train on them in gray"));
            else if (!modelGray && picturesGray)
                notes.Add("the pictures are gray; they are given three equal colour channels for the colour autoencoder");
        }
        else if (picturesGray != modelGray)
        {
            var fitting = string.Join(", ", ModelPresets.All.Where(x => !x.Latent && x.Gray == picturesGray).Select(x => x.Named));
            problems.Add(preset is not null || configFile is null
                ? new("preset", $"the pictures are {pictures}, but preset {Named(cfg.Preset)} is for {(modelGray ? "gray" : "colour")} pictures; " +
                                $"choose a {(picturesGray ? "gray" : "colour")} preset: {fitting}")
                : new("channels", $"the pictures are {pictures}, but the config file's model takes {(modelGray ? "gray" : "colour")} pictures " +
                                  $"(model.in_channels {cfg.Model.InChannels}); choose a {(picturesGray ? "gray" : "colour")} preset ({fitting}), " +
                                  $"or set data.channels to {(modelGray ? "gray" : "rgb")} in the config file to convert the pictures"));
        }

        // 3. Classes from subfolders.
        string[]? classes = request.Classes switch
        {
            ClassMode.None => null,
            ClassMode.Subfolders when facts.ClassFolders is null => Fail(new("classes", ClassLabels.NoClassesMessage(facts.NoClassesReason ?? "none found"))),
            _ => facts.ClassFolders,
        };
        if (classes is not null)
        {
            notes.Add($"classes from subfolders ({classes.Length}): {string.Join(", ", classes)}");
            if (cfg.ClassNames is { } known && !known.SequenceEqual(classes))
                problems.Add(new("classes", $"the folder's classes ({string.Join(", ", classes)}) differ from the starting model's ({string.Join(", ", known)})"));
            if (source is not null && cfg.ClassNames is null && cfg.Model.NumClasses > 0)
                notes.Add($"the starting model's {cfg.Model.NumClasses} classes have no names (an import): the folder's {classes.Length} classes and the null class " +
                          $"get a new class embedding (label_emb.weight, {classes.Length + 1} rows), each row starting at the mean of the starting model's " +
                          $"{cfg.Model.NumClasses} rows; every other weight is the starting model's");
            cfg = cfg with { ClassNames = classes, Model = cfg.Model with { NumClasses = classes.Length, NullClass = true } };
        }
        else if (cfg.ClassNames is not null || cfg.Model.NumClasses > 0)
        {
            if (source is null) cfg = cfg with { ClassNames = null, Model = cfg.Model with { NumClasses = 0, NullClass = false } };
            else problems.Add(new("classes", "the starting model is class-conditional: put the pictures in one subfolder per class"));
        }

        // 4. The request's settings over the rest.
        int steps = request.Steps ?? cfg.Steps;
        cfg = cfg with
        {
            Data = request.Flip is { } flip ? cfg.Data with { FlipAugment = flip } : cfg.Data,
            ClassDropout = request.ClassDropout ?? cfg.ClassDropout,
            ClassBalanced = request.ClassBalanced ?? cfg.ClassBalanced,
            Steps = steps,
            Batch = request.Batch ?? cfg.Batch,
            LearningRate = request.LearningRate ?? cfg.LearningRate,
            EmaDecay = request.EmaDecay ?? cfg.EmaDecay,
            // A new run's checkpoints follow its length; a config file or a starting run says its own.
            CheckpointEvery = request.CheckpointEvery ?? (configFile is null && source is null ? TrainingDefaults.CheckpointEvery(steps) : cfg.CheckpointEvery),
            Seed = request.Seed ?? cfg.Seed,
            Device = request.Device ?? cfg.Device,
            Threads = request.Threads ?? cfg.Threads,
            Precision = request.Precision ?? cfg.Precision,
        };
        problems.AddRange(cfg.Problems().Where(p => !problems.Any(q => q.Key == p.Key)));
        return problems.Count > 0 ? Refused() : new(cfg, problems, notes);

        ConfigResolution Refused(params ConfigProblem[] more)
        {
            problems.AddRange(more);
            return new(null, problems, notes);
        }
        string[]? Fail(ConfigProblem problem)
        {
            problems.Add(problem);
            return null;
        }
    }

    /// <summary>The latent preset for latents of this size when nothing says which.</summary>
    public static string AutoLatentPreset(int latentSize) => latentSize <= 32 ? "latent256" : "latent512";

    /// <summary>The preset for pictures of these channels and size when nothing says which.</summary>
    public static string AutoPreset(ChannelMode channels, int imageSize) => (channels, imageSize) switch
    {
        (ChannelMode.Gray, <= 32) => "letters32",
        (ChannelMode.Gray, _) => "letters64",
        (_, <= 32) => "ddpm32",
        _ => "ddpm64",
    };

    private static string Named(string preset) => ModelPresets.Find(preset)?.Named ?? preset;

    /// <summary>"Quick look, tiny": a preset in a parenthesis.</summary>
    private static string InWords(string preset) => ModelPresets.Find(preset) is { } p ? $"{p.Title}, {p.Name}" : preset;
}
