using System.Globalization;
using Noisette.Training;
using Spectre.Console;

namespace Noisette.Cli;

/// <summary>
/// Runs a trainer on its own thread and shows its progress: a live bar on a terminal, plain lines otherwise.
/// Ctrl-C asks the trainer to write a checkpoint and stop; the process then exits 0.
/// </summary>
public static class TrainingView
{
    public static int Run(Trainer trainer) => Run(
        $"training {trainer.Config.Preset} ({trainer.Model.ParameterCount():N0} parameters) for {trainer.TotalSteps} steps " +
        $"on {trainer.Device.type.ToString().ToLowerInvariant()}, batch {trainer.Config.Batch}, into {trainer.Run.Root}",
        trainer.Step, trainer.TotalSteps, trainer.Train,
        outcome => outcome == TrainingOutcome.Completed
            ? $"done: {trainer.Step} steps. Checkpoints in {trainer.Run.CheckpointsDir}, sample grids in {trainer.Run.SamplesDir}"
            : $"stopped at step {trainer.Step}; continue with: noisette resume \"{trainer.Run.Root}\"");

    /// <summary>
    /// Runs any training loop (<paramref name="train"/>) on its own thread with the progress display, Ctrl-C writing
    /// a checkpoint, and the closing line <paramref name="done"/> gives for the outcome.
    /// </summary>
    public static int Run(string header, int startStep, int totalSteps, Func<CancellationToken, Action<TrainingProgress>, TrainingOutcome> train,
                          Func<TrainingOutcome, string> done)
    {
        using var cts = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            e.Cancel = true;
            if (!cts.IsCancellationRequested) Cli.Err.WriteLine("\nstopping: writing a checkpoint (press Ctrl-C again to abort without one)");
            else { e.Cancel = false; }
            cts.Cancel();
        };
        EventHandler onExit = (_, _) => { try { cts.Cancel(); } catch (ObjectDisposedException) { } };
        Console.CancelKeyPress += onCancel;
        AppDomain.CurrentDomain.ProcessExit += onExit;
        // SIGTERM (a shutdown, `kill`, a container stopping) stops like Ctrl-C: the loop writes its checkpoint and the
        // command ends normally. Left to the runtime, the process would end at once and lose the steps since the last
        // checkpoint. A second SIGTERM ends it without one.
        using var onTerm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, context =>
        {
            if (cts.IsCancellationRequested) return;
            context.Cancel = true;
            Cli.Err.WriteLine("\nstopping (terminate signal): writing a checkpoint");
            try { cts.Cancel(); } catch (ObjectDisposedException) { }
        });
        try
        {
            TrainingOutcome outcome = TrainingOutcome.Interrupted;
            Exception? failure = null;
            TrainingProgress? last = null;
            var pending = new System.Collections.Concurrent.ConcurrentQueue<TrainingProgress>();
            var thread = new Thread(() =>
            {
                try { outcome = train(cts.Token, p => pending.Enqueue(p)); }
                catch (Exception e) { failure = e; }
            }, maxStackSize: 16 << 20) { Name = "noisette-train" };

            Cli.Info(header);
            thread.Start();
            if (Cli.Interactive)
            {
                AnsiConsole.Progress()
                    .AutoClear(false)
                    .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn())
                    .Start(ctx =>
                    {
                        var task = ctx.AddTask("starting", maxValue: totalSteps);
                        task.Value = startStep;
                        while (thread.IsAlive || !pending.IsEmpty)
                        {
                            while (pending.TryDequeue(out var p))
                            {
                                last = p;
                                task.Value = p.Step;
                                task.Description = Markup.Escape(Describe(p));
                                if (p.CheckpointDir is not null) AnsiConsole.MarkupLine(Markup.Escape(CheckpointLine(p)));
                            }
                            ctx.Refresh();
                            Thread.Sleep(100);
                        }
                    });
            }
            else
            {
                var lastPrint = DateTime.MinValue;
                while (thread.IsAlive || !pending.IsEmpty)
                {
                    while (pending.TryDequeue(out var p))
                    {
                        last = p;
                        if (p.CheckpointDir is not null) Cli.Out.WriteLine(CheckpointLine(p));
                        else if ((DateTime.UtcNow - lastPrint).TotalSeconds >= 5) { Cli.Out.WriteLine(Describe(p)); lastPrint = DateTime.UtcNow; }
                    }
                    Thread.Sleep(100);
                }
            }
            thread.Join();
            if (failure is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(failure).Throw();
            Cli.Info(done(outcome));
            return Cli.Ok;
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
            AppDomain.CurrentDomain.ProcessExit -= onExit;
        }
    }

    private static string Describe(TrainingProgress p) => string.Create(CultureInfo.InvariantCulture,
        $"step {p.Step}/{p.TotalSteps} · loss {p.Loss:F4} · {p.ImagesPerSecond:F0} img/s · ETA {Format(p.Eta)}");

    private static string CheckpointLine(TrainingProgress p) => string.Create(CultureInfo.InvariantCulture,
        $"checkpoint step {p.Step} (loss {p.Loss:F4}{(p.ValidationLoss is { } v ? $", validation {v:F4}" : "")}{(p.SampleDistance is { } d ? $", sample distance {d:F2}" : "")}) → {p.CheckpointDir}{(p.SampleGrid is null ? "" : $"; samples → {p.SampleGrid}")}");

    private static string Format(TimeSpan t) => t.TotalHours >= 1 ? $"{(int)t.TotalHours}h{t.Minutes:D2}m" : $"{t.Minutes}m{t.Seconds:D2}s";
}
