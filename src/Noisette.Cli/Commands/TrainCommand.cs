using System.CommandLine;
using Noisette.Pipelines;
using Noisette.Runs;
using Noisette.Runtime;

namespace Noisette.Cli.Commands;

public static class TrainCommand
{
    private static readonly TrainingConfig Defaults = new();

    public static Command Create()
    {
        var data = new Option<string>("--data") { Description = "Folder of training images (searched recursively; never written to)", Required = true };
        var output = new Option<string>("--out") { Description = "Run folder to create", Required = true };
        var config = new Option<string?>("--config") { Description = "Config file (see `noisette init`)" };
        var preset = new Option<string?>("--preset") { Description = "Model preset: tiny, letters32, ddpm32, letters64, ddpm64, adm256; with --autoencoder latent256 or latent512 (default: chosen from the images)" };
        var autoencoder = new Option<string?>("--autoencoder") { Description = "Train on the latents of this autoencoder folder (latent diffusion; see `noisette autoencoder`): pictures its factor times the U-Net's size" };
        var imageSize = new Option<int?>("--image-size") { Description = $"Training image size in pixels (default: the preset's, else {TrainingDefaults.ImageSize})" };
        var steps = new Option<int?>("--steps") { Description = $"Optimizer steps in total (default {TrainingDefaults.Steps})" };
        var batch = new Option<int?>("--batch") { Description = "Images per step (default: the preset's)" };
        var lr = new Option<double?>("--lr") { Description = $"Learning rate (default {Defaults.LearningRate.ToString(System.Globalization.CultureInfo.InvariantCulture)})" };
        var every = new Option<int?>("--checkpoint-every") { Description = "Steps between checkpoints (default: a tenth of the steps, at most 1000)" };
        var initFrom = new Option<string?>("--init-from") { Description = "Start from the weights of this run or checkpoint (fine-tuning)" };
        var seed = new Option<long?>("--seed") { Description = $"Seed for everything random (default {Defaults.Seed})" };
        var device = new Option<string?>("--device") { Description = $"cpu or cuda (default {Defaults.Device})" };
        var threads = Cli.ThreadsOption();
        var precision = new Option<string?>("--precision") { Description = "fp32 (default), bf16, fp16 (GPUs only) or auto (bf16 where the CPU or GPU computes it natively, else fp32); weights and checkpoints stay float32" };
        var flip = new Option<bool>("--flip") { Description = "Augment with random horizontal flips (off by default: letters are not symmetric)" };
        var force = new Option<bool>("--force") { Description = "Train despite fatal data-check problems, and use an output folder that is not empty (its contents are moved to previous-*)" };
        var classes = new Option<string>("--classes") { Description = "Class labels: auto (from subfolders when every image sits in one), subfolders, none", DefaultValueFactory = _ => "auto" };
        var classDropout = new Option<double?>("--class-dropout") { Description = $"Share of labels dropped for classifier-free guidance (default {Defaults.ClassDropout.ToString(System.Globalization.CultureInfo.InvariantCulture)})" };
        var balanced = new Option<bool>("--balanced") { Description = "Show every class equally often, however many images each has" };
        var cmd = new Command("train", "Train a diffusion model on a folder of images")
        {
            data, output, config, preset, autoencoder, imageSize, steps, batch, lr, every, initFrom, seed, device, threads, precision, flip, force,
            classes, classDropout, balanced,
        };
        cmd.SetAction(p => Cli.Guard(() =>
        {
            var request = new TrainingRequest
            {
                DataPath = p.GetValue(data)!,
                OutPath = p.GetValue(output)!,
                ConfigFile = p.GetValue(config),
                Preset = p.GetValue(preset),
                Autoencoder = p.GetValue(autoencoder),
                ImageSize = p.GetValue(imageSize),
                Steps = p.GetValue(steps),
                Batch = p.GetValue(batch),
                LearningRate = p.GetValue(lr),
                CheckpointEvery = p.GetValue(every),
                InitFrom = p.GetValue(initFrom),
                Seed = p.GetValue(seed),
                Device = p.GetValue(device),
                Threads = p.GetValue(threads),
                Precision = p.GetValue(precision) is { } pr ? Noisette.Runtime.PrecisionSupport.Parse(pr) : null,
                Flip = p.GetValue(flip) ? true : null,
                Force = p.GetValue(force),
                Classes = p.GetValue(classes)!.ToLowerInvariant() switch
                {
                    "auto" => Noisette.Data.ClassMode.Auto,
                    "subfolders" => Noisette.Data.ClassMode.Subfolders,
                    "none" => Noisette.Data.ClassMode.None,
                    var other => throw new NoisetteInputException($"--classes must be auto, subfolders or none, got '{other}'"),
                },
                ClassDropout = p.GetValue(classDropout),
                ClassBalanced = p.GetValue(balanced) ? true : null,
            };
            var prepared = TrainingPipeline.Start(request, Cli.Info, Cli.Warn);
            using var trainer = prepared.Trainer;
            return TrainingView.Run(trainer);
        }));
        return cmd;
    }
}

public static class ResumeCommand
{
    public static Command Create()
    {
        var run = new Argument<string>("RUN") { Description = "Run folder to continue" };
        var steps = new Option<int?>("--steps") { Description = "New total number of steps" };
        var force = new Option<bool>("--force") { Description = "Continue even if the data folder's images changed" };
        var cmd = new Command("resume", "Continue a run from its newest valid checkpoint") { run, steps, force };
        cmd.SetAction(p => Cli.Guard(() =>
        {
            var prepared = TrainingPipeline.Resume(p.GetValue(run)!, p.GetValue(steps), p.GetValue(force), Cli.Info, Cli.Warn);
            using var trainer = prepared.Trainer;
            if (trainer.Step >= trainer.TotalSteps)
            {
                Cli.Info($"run is complete at step {trainer.Step}; pass --steps N to train further");
                return Cli.Ok;
            }
            return TrainingView.Run(trainer);
        }));
        return cmd;
    }
}
