using Noisette.IO;
using Noisette.Pipelines;
using Noisette.Runs;
using Noisette.Training;

namespace Noisette.Studio;

/// <summary>One training the studio was asked for: a new run or the continuation of one.</summary>
public sealed class TrainingJob
{
    public required string Run { get; init; }
    public required string RunPath { get; init; }
    /// <summary>Set for a new run; null for a resume.</summary>
    public TrainingRequest? NewRun { get; init; }
    public int? ResumeSteps { get; init; }
    public CancellationTokenSource Cancel { get; } = new();
    public JobPhase Phase { get; set; } = JobPhase.Queued;
    public TrainingProgress? Last { get; set; }
    public int? Total { get; set; }
}

public sealed record JobView(string Run, string Kind, JobPhase Phase, long Step, long? Total, bool UntilStopped,
                             double? Loss, double? ImagesPerSecond, double? EtaSeconds);
public sealed record FailureView(string Run, string Message, DateTimeOffset When);
public sealed record QueueView(JobView? Current, IReadOnlyList<JobView> Waiting, IReadOnlyList<FailureView> Problems) : IStudioEvent
{
    public static string EventName => StudioEvents.Queue;
}

/// <summary>
/// Trains one run at a time on a thread of its own, so training goes on whatever the browser does.
/// Further requests wait in a visible queue. Stopping asks the trainer to write a checkpoint and return.
/// </summary>
public sealed class TrainingQueue : IHostedService, IDisposable
{
    /// <summary>The total given to a run trained "until I stop".</summary>
    public const int UntilStopped = 1_000_000_000;

    private readonly object gate = new();
    private readonly List<TrainingJob> waiting = [];
    private readonly List<FailureView> problems = [];
    private readonly EventHub hub;
    private readonly Thread worker;
    private TrainingJob? current;
    private bool shuttingDown;

    public TrainingQueue(EventHub hub)
    {
        this.hub = hub;
        worker = new Thread(Work) { IsBackground = true, Name = "noisette-training" };
        worker.Start();
    }

    /// <summary>Adds a job; returns a sentence saying whether it starts now or waits.</summary>
    public string Enqueue(TrainingJob job)
    {
        string message;
        lock (gate)
        {
            if (shuttingDown) throw new StudioError(StatusCodes.Status503ServiceUnavailable, "the studio is shutting down");
            if (IsBusy(job.Run)) throw StudioError.Conflict($"run '{job.Run}' is already training or waiting");
            waiting.Add(job);
            int ahead = waiting.Count - 1 + (current is null ? 0 : 1);
            message = ahead == 0
                ? $"training of '{job.Run}' starts now"
                : $"queued: '{current?.Run ?? waiting[0].Run}' is using the machine; '{job.Run}' starts when the {(ahead == 1 ? "training" : ahead + " trainings")} before it end{(ahead == 1 ? "s" : "")}";
            Monitor.PulseAll(gate);
        }
        PublishQueue();
        return message;
    }

    public bool IsBusy(string run)
    {
        lock (gate) return current?.Run == run || waiting.Any(j => j.Run == run);
    }

    /// <summary>Stops the running job (a checkpoint is written first) or takes a waiting one off the queue.</summary>
    public string Stop(string run)
    {
        lock (gate)
        {
            if (current?.Run == run)
            {
                current.Phase = JobPhase.Stopping;
                current.Cancel.Cancel();
                ThreadPool.QueueUserWorkItem(_ => PublishQueue());
                return "stopping: a checkpoint is written, then the training stops";
            }
            var job = waiting.FirstOrDefault(j => j.Run == run) ?? throw StudioError.Conflict($"run '{run}' is not training");
            waiting.Remove(job);
        }
        PublishQueue();
        return "taken off the queue";
    }

    public QueueView Snapshot()
    {
        lock (gate)
            return new QueueView(current is null ? null : View(current), waiting.Select(View).ToList(), problems.TakeLast(5).Reverse().ToList());
    }

    public JobView? Find(string run)
    {
        lock (gate)
        {
            if (current?.Run == run) return View(current);
            var w = waiting.FirstOrDefault(j => j.Run == run);
            return w is null ? null : View(w);
        }
    }

    /// <summary>The picture folder of every job in the queue, running or waiting (a resume's from its config.json).</summary>
    public IReadOnlyList<(string Run, string DataPath)> DataPathsInUse()
    {
        List<TrainingJob> jobs;
        lock (gate) jobs = [.. waiting.Prepend(current).OfType<TrainingJob>()];
        var result = new List<(string, string)>();
        foreach (var j in jobs)
        {
            if (j.NewRun is { } request) { result.Add((j.Run, request.DataPath)); continue; }
            try { result.Add((j.Run, new RunFolder(j.RunPath).ReadConfig().Run.DataPath)); }
            catch (Exception e) when (e is NoisetteInputException or IOException or UnauthorizedAccessException) { }
        }
        return result;
    }

    private static JobView View(TrainingJob j)
    {
        var p = j.Last;
        long? total = p?.TotalSteps ?? j.Total ?? j.NewRun?.Steps;
        bool until = total >= UntilStopped;
        return new JobView(j.Run, j.NewRun is null ? "resume" : "new", j.Phase, p?.Step ?? 0, total, until, p?.Loss,
                           p?.ImagesPerSecond, p is null || until ? null : p.Eta.TotalSeconds);
    }

    private void PublishQueue() => hub.Publish(Snapshot());

    private void Work()
    {
        while (true)
        {
            TrainingJob job;
            lock (gate)
            {
                while (waiting.Count == 0 && !shuttingDown) Monitor.Wait(gate);
                if (shuttingDown) return;
                job = waiting[0];
                waiting.RemoveAt(0);
                current = job;
                job.Phase = JobPhase.Preparing;
            }
            PublishQueue();
            try
            {
                RunJob(job);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                var message = e is NoisetteInputException or StudioError ? e.Message : "internal error: " + e.Message;
                lock (gate) problems.Add(new FailureView(job.Run, message, DateTimeOffset.UtcNow));
                try { if (Directory.Exists(job.RunPath) && File.Exists(Path.Combine(job.RunPath, "config.json"))) new RunFolder(job.RunPath).Log("studio: training failed: " + message); }
                catch (IOException) { }
                hub.Publish(new TrainingFailed(job.Run, message));
            }
            finally
            {
                lock (gate) current = null;
                job.Cancel.Dispose();
                PublishQueue();
                hub.Publish(new RunChanged(job.Run));
            }
        }
    }

    private void RunJob(TrainingJob job)
    {
        void Info(string m) => hub.Publish(LogLine.Info(job.Run, m));
        void Warn(string m) => hub.Publish(LogLine.Warning(job.Run, m));
        var prepared = job.NewRun is { } request
            ? TrainingPipeline.Start(request, Info, Warn)
            : TrainingPipeline.Resume(job.RunPath, job.ResumeSteps, false, Info, Warn);
        using var trainer = prepared.Trainer;
        job.Total = trainer.TotalSteps;
        if (job.Cancel.IsCancellationRequested)
        {
            trainer.Run.Log("studio: stopped before the first step");
            return;
        }
        lock (gate) if (job.Phase == JobPhase.Preparing) job.Phase = JobPhase.Training;
        hub.Publish(new RunChanged(job.Run));
        PublishQueue();
        var outcome = trainer.Train(job.Cancel.Token, p =>
        {
            job.Last = p;
            // A checkpoint with a validation loss changes the status hint; it is read again from the metrics just written.
            double? validation = p.ValidationLoss is { } v && double.IsFinite(v) ? v : null;
            var hint = validation is null ? null : RunCatalog.Hint(trainer.Run);
            bool until = p.TotalSteps >= UntilStopped;
            hub.Publish(new TrainingProgressed(
                Run: job.Run,
                Step: p.Step,
                Total: p.TotalSteps,
                UntilStopped: until,
                Loss: double.IsFinite(p.Loss) ? p.Loss : null,
                Lr: p.LearningRate,
                ImagesPerSecond: p.ImagesPerSecond,
                EtaSeconds: until ? null : p.Eta.TotalSeconds,
                CheckpointStep: p.CheckpointDir is null ? null : p.Step,
                ValidationLoss: validation,
                Hint: hint,
                Grid: p.SampleGrid is null ? null : $"/api/runs/{Uri.EscapeDataString(job.Run)}/grid/{p.Step}",
                Message: p.Message));
        });
        if (outcome == TrainingOutcome.Interrupted && job.Cancel.IsCancellationRequested)
            trainer.Run.Log(StoppedMarker);
    }

    /// <summary>The log line that tells a run stopped on purpose from one cut off by a crash.</summary>
    public const string StoppedMarker = "studio: stopped by the user; resume continues from the last checkpoint";

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>On shutdown the running training writes its checkpoint before the process ends.</summary>
    public Task StopAsync(CancellationToken cancellationToken)
    {
        lock (gate)
        {
            shuttingDown = true;
            waiting.Clear();
            if (current is not null) { current.Phase = JobPhase.Stopping; current.Cancel.Cancel(); }
            Monitor.PulseAll(gate);
        }
        return Task.Run(() => worker.Join(TimeSpan.FromMinutes(2)), CancellationToken.None);
    }

    public void Dispose()
    {
        lock (gate) { shuttingDown = true; Monitor.PulseAll(gate); }
    }
}
