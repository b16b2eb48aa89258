using System.CommandLine;
using Noisette.Pipelines;
using Noisette.Runs;
using Noisette.Runtime;

namespace Noisette.Cli.Commands;

/// <summary>The arguments every generating command shares: which run, checkpoint, weights and device.</summary>
public sealed class ModelArguments
{
    public Argument<string?> Target { get; } = new("RUN_OR_CHECKPOINT") { Description = "A run folder or one of its checkpoint folders" };
    public Option<string> Checkpoint { get; } = new("--checkpoint") { Description = "latest, best (lowest validation loss), or a step number", DefaultValueFactory = _ => "latest" };
    public Option<bool> NoEma { get; } = new("--no-ema") { Description = "Use the raw weights instead of the EMA weights" };
    public Option<string> Device { get; } = new("--device") { Description = "cpu or cuda", DefaultValueFactory = _ => "cpu" };
    public Option<int> Batch { get; } = new("--batch")
    {
        Description = "Images per network call (default: as many as fit in the free memory, at most 32; the images do not depend on it in fp32)",
    };
    public Option<int?> Threads { get; } = Cli.ThreadsOption();
    public Option<string> Precision { get; } = new("--precision")
    {
        Description = "fp32 (default: the same pixels on every machine and batch size), bf16 (faster where the CPU has AVX-512 BF16), fp16 (GPUs) or auto",
        DefaultValueFactory = _ => "fp32",
    };

    public void AddTo(Command command)
    {
        command.Add(Target);
        command.Add(Checkpoint);
        command.Add(NoEma);
        command.Add(Device);
        command.Add(Batch);
        command.Add(Precision);
        command.Add(Threads);
    }

    /// <summary>The batch size asked for, or the model's automatic one.</summary>
    public int BatchFor(ParseResult p, LoadedModel model) => p.GetValue(Batch) is int b and > 0 ? b : model.AutoBatchSize;

    /// <summary>The generation settings these arguments give for a loaded model: its batch size and precision.</summary>
    public GenerationSettings Settings(ParseResult p, LoadedModel model) =>
        new() { BatchSize = BatchFor(p, model), Precision = Runtime.PrecisionSupport.Parse(p.GetValue(Precision)!) };

    public LoadedModel Load(ParseResult p)
    {
        var target = p.GetValue(Target) ?? throw new NoisetteInputException("name a run folder (or a checkpoint folder)");
        if (p.GetResult(Batch) is not null && p.GetValue(Batch) < 1) throw new NoisetteInputException("--batch must be at least 1");
        if (p.GetValue(Threads) is int threads) Runtime.TorchRuntime.ConfigureThreads(threads);
        else Runtime.TorchRuntime.EnsureThreads();
        var precision = Runtime.PrecisionSupport.Parse(p.GetValue(Precision)!);
        return LoadedModel.Load(target, p.GetValue(Checkpoint)!, !p.GetValue(NoEma), p.GetValue(Device)!, Cli.Warn, precision);
    }
}
