using Noisette.Models;

namespace Noisette.Runs;

/// <summary>
/// The one default of each training setting that depends on another (the others are the initial values of
/// <see cref="TrainingConfig"/>'s properties). The CLI, the demo, <c>noisette init</c> and the studio's form all take
/// their defaults from here or from <see cref="For"/>.
/// </summary>
public static class TrainingDefaults
{
    /// <summary>The preset a new run starts from when a person picks none from a list (the studio's first choice).</summary>
    public const string Preset = "tiny";
    /// <summary>Optimizer steps of a run that says nothing else.</summary>
    public const int Steps = 10_000;
    /// <summary>Picture size when neither the request, a config file, a starting model nor a preset gives one.</summary>
    public const int ImageSize = 32;

    /// <summary>Steps between checkpoints: a tenth of the run's steps, at least 1 and at most 1000.</summary>
    public static int CheckpointEvery(int steps) => Math.Clamp(steps / 10, 1, 1000);

    /// <summary>Pictures per step of a preset.</summary>
    public static int Batch(string preset) => ModelPresets.Get(preset).DefaultBatch;

    /// <summary>The full configuration of a new run of <paramref name="preset"/> for <paramref name="steps"/> steps.</summary>
    public static TrainingConfig For(string preset = Preset, int steps = Steps)
    {
        var p = ModelPresets.Get(preset);
        return new TrainingConfig
        {
            Preset = p.Name,
            Model = p.Model,
            Diffusion = new Diffusion.DiffusionConfig { LearnSigma = p.Model.LearnSigma },
            Batch = p.DefaultBatch,
            Steps = steps,
            CheckpointEvery = CheckpointEvery(steps),
        };
    }
}
