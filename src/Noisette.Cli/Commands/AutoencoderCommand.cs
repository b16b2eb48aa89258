using System.CommandLine;
using System.Globalization;
using Noisette.Interop;
using Noisette.Pipelines;

namespace Noisette.Cli.Commands;

/// <summary><c>noisette autoencoder import|reconstruct</c>: the autoencoders latent runs train in.</summary>
public static class AutoencoderCommand
{
    public static Command Create() => new("autoencoder", "Autoencoders for latent diffusion: import a released one, or check one on your pictures")
    {
        Import(),
        Train(),
        Resume(),
        ReconstructCommand.Create(),
    };

    private static Command Train()
    {
        var data = new Option<string>("--data") { Description = "Folder of pictures (searched recursively; never written to)", Required = true };
        var output = new Option<string>("--out") { Description = "Autoencoder run folder to create; its best checkpoint is kept at its root as an autoencoder folder", Required = true };
        var size = new Option<int?>("--image-size") { Description = "Picture size in pixels, a multiple of the factor (default: --init-from's, else 256)" };
        var steps = new Option<int?>("--steps") { Description = "Optimizer steps (default 4000)" };
        var batch = new Option<int?>("--batch") { Description = "Pictures per step (default 8)" };
        var factor = new Option<int?>("--factor") { Description = "How many times smaller the latents are on each side: 4 or 8 (default 8, as Stable Diffusion's)" };
        var latent = new Option<int?>("--latent-channels") { Description = "Latent channels (default 4)" };
        var width = new Option<int?>("--width") { Description = "Channels of the first level, a multiple of 8 (default 64; 32 trains about four times faster)" };
        var initFrom = new Option<string?>("--init-from") { Description = "An autoencoder folder to fine-tune: its decoder learns your pictures, its encoder stays (so latents keep their meaning)" };
        var lr = new Option<double?>("--lr") { Description = "Learning rate (default 1e-4)" };
        var every = new Option<int?>("--checkpoint-every") { Description = "Steps between checkpoints (default: a tenth of the steps, at most 500)" };
        var discStart = new Option<int?>("--discriminator-start") { Description = "Step from which the patch discriminator trains (default: half the steps, at most 2000)" };
        var seed = new Option<long?>("--seed") { Description = "Seed for everything random (default 0)" };
        var device = new Option<string>("--device") { Description = "cpu or cuda (default cpu)", DefaultValueFactory = _ => "cpu" };
        var threads = Cli.ThreadsOption();
        var force = new Option<bool>("--force") { Description = "Use an output folder that is not empty (its contents are moved to previous-*)" };
        var cmd = new Command("train", "Train an autoencoder for latent diffusion on your pictures (L1 + KL + patch discriminator), or fine-tune one's decoder")
        {
            data, output, size, steps, batch, factor, latent, width, initFrom, lr, every, discStart, seed, device, threads, force,
        };
        cmd.SetAction(p => Cli.Guard(() =>
        {
            var trainer = AutoencoderTrainingPipeline.Start(new AutoencoderTrainingRequest
            {
                DataPath = p.GetValue(data)!,
                OutPath = p.GetValue(output)!,
                ImageSize = p.GetValue(size),
                Steps = p.GetValue(steps),
                Batch = p.GetValue(batch),
                Factor = p.GetValue(factor),
                LatentChannels = p.GetValue(latent),
                Width = p.GetValue(width),
                InitFrom = p.GetValue(initFrom),
                LearningRate = p.GetValue(lr),
                CheckpointEvery = p.GetValue(every),
                DiscriminatorStart = p.GetValue(discStart),
                Seed = p.GetValue(seed),
                Device = p.GetValue(device)!,
                Threads = p.GetValue(threads),
                Force = p.GetValue(force),
            }, Cli.Info, Cli.Warn);
            using (trainer) return Run(trainer);
        }));
        return cmd;
    }

    private static Command Resume()
    {
        var run = new Argument<string>("AE") { Description = "An autoencoder training run folder" };
        var steps = new Option<int?>("--steps") { Description = "Raise the total number of steps" };
        var force = new Option<bool>("--force") { Description = "Continue even if the pictures changed" };
        var cmd = new Command("resume", "Continue an autoencoder training run from its latest checkpoint, exactly as if it had not stopped") { run, steps, force };
        cmd.SetAction(p => Cli.Guard(() =>
        {
            var trainer = AutoencoderTrainingPipeline.Resume(p.GetValue(run)!, p.GetValue(steps), p.GetValue(force), Cli.Info, Cli.Warn);
            using (trainer) return Run(trainer);
        }));
        return cmd;
    }

    private static int Run(Noisette.Training.AutoencoderTrainer trainer)
    {
        var c = trainer.Config;
        long parameters = trainer.Model.parameters().Sum(p => p.numel());
        return TrainingView.Run(
            string.Create(CultureInfo.InvariantCulture,
                $"training an autoencoder ({parameters:N0} parameters, factor {c.Model.Factor}, {c.Model.LatentChannels} latent channels" +
                $"{(c.FreezeEncoder ? ", decoder only" : "")}) on {c.ImageSize} px pictures for {trainer.TotalSteps} steps, batch {c.Batch}, " +
                $"discriminator from step {c.DiscriminatorStart}, into {trainer.Run.Root}"),
            trainer.Step, trainer.TotalSteps, trainer.Train,
            outcome => outcome == Noisette.Training.TrainingOutcome.Completed
                ? $"done: {trainer.Step} steps. The best checkpoint is the autoencoder folder {trainer.Run.Root} " +
                  $"(reconstructions in {trainer.Run.SamplesDir}); check it with `noisette autoencoder reconstruct \"{trainer.Run.Root}\" --data FOLDER`"
                : $"stopped at step {trainer.Step}; continue with: noisette autoencoder resume \"{trainer.Run.Root}\"");
    }

    private static Command Import()
    {
        var file = new Argument<string>("FILE")
        {
            Description = "A Stable Diffusion VAE (.safetensors, or .ckpt read safely: nothing in it is executed), or a whole SD 1.x/2.x checkpoint, whose first_stage_model is read",
        };
        var output = new Option<string>("--out") { Description = "Autoencoder folder to create (new or empty)", Required = true };
        var scale = new Option<double?>("--scale") { Description = "Latent scale to record (default: the file's, else 0.18215 for Stable Diffusion's shape, else measured by each latent run)" };
        var cmd = new Command("import", "Import a released latent-diffusion autoencoder (Stable Diffusion's VAE) into an autoencoder folder") { file, output, scale };
        cmd.SetAction(p => Cli.Guard(() =>
        {
            var path = p.GetValue(file)!;
            Cli.Info($"importing {path}");
            var result = AutoencoderImport.ImportToFolder(path, p.GetValue(output)!, p.GetValue(scale));
            foreach (var n in result.Notes) Cli.Info(n);
            var c = result.Info.Config;
            Cli.Info(string.Create(CultureInfo.InvariantCulture,
                $"{result.Parameters:N0} parameters; {c.InChannels} image channels, factor {c.Factor} ({c.LatentChannels} latent channels), " +
                $"{c.BaseChannels} channels × {string.Join(",", c.ChannelMultipliers)}, {c.ResBlocksPerLevel} blocks per level" +
                $"{(c.AttentionLevels.Length > 0 ? $", attention at levels {string.Join(",", c.AttentionLevels)}" : "")}"));
            Cli.Info($"wrote {result.Folder.Root}: check it on your pictures with `noisette autoencoder reconstruct \"{result.Folder.Root}\" --data FOLDER`");
            return Cli.Ok;
        }));
        return cmd;
    }
}
