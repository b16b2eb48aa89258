using System.Net;
using System.Text.Json;
using Noisette.IO;
using Noisette.Runs;
using Noisette.Studio;

namespace Noisette.Tests.Studio;

/// <summary>
/// Training through the API end to end: "until I stop", the queue, stopping a running and a waiting job, what may not
/// be removed meanwhile, the live event stream, resuming and fine-tuning.
/// </summary>
public class StudioQueueTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Collects the server events of one page (an open /api/events stream) in the background.</summary>
    private sealed class EventRecorder : IAsyncDisposable
    {
        private readonly CancellationTokenSource stop = new();
        private readonly Task reading;
        private readonly List<(string Type, JsonElement Data)> events = [];

        public EventRecorder(HttpClient client)
        {
            reading = Task.Run(async () =>
            {
                try
                {
                    using var response = await client.GetAsync("/api/events", HttpCompletionOption.ResponseHeadersRead, stop.Token);
                    using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(stop.Token));
                    string? type = null;
                    while (await reader.ReadLineAsync(stop.Token) is { } line)
                    {
                        if (line.StartsWith("event: ", StringComparison.Ordinal)) type = line["event: ".Length..];
                        else if (line.StartsWith("data: ", StringComparison.Ordinal) && type is not null)
                            lock (events) events.Add((type, JsonDocument.Parse(line["data: ".Length..]).RootElement.Clone()));
                    }
                }
                catch (OperationCanceledException) { }
                catch (IOException) { }
            });
        }

        public async Task<JsonElement> WaitFor(string type, Func<JsonElement, bool> match, int seconds = 120)
        {
            var end = DateTime.UtcNow.AddSeconds(seconds);
            while (DateTime.UtcNow < end)
            {
                lock (events)
                    foreach (var (t, d) in events)
                        if (t == type && match(d)) return d;
                await Task.Delay(100, Ct);
            }
            lock (events) throw new TimeoutException($"no matching '{type}' event in {seconds} s; saw {events.Count} events: {string.Join(", ", events.Select(e => e.Type).Distinct())}");
        }

        public async ValueTask DisposeAsync()
        {
            await stop.CancelAsync();
            await reading;
            stop.Dispose();
        }
    }

    private static async Task<JsonElement> Detail(HttpClient c, string run) => await (await c.GetAsync($"/api/runs/{run}", Ct)).Json();

    [Fact]
    public async Task UntilStoppedRunsLiveWhileAQueuedOneWaitsAndBothStop()
    {
        using var f = new StudioFactory();
        using var c = f.Client();
        // 20 pictures or more get a validation split, hence a validation loss at every checkpoint.
        await c.PostAsync("/api/datasets/add", StudioTestData.Form(("path", StudioTestData.Glyphs(f.Dir["first"], 20)), ("name", "first")), Ct);
        await c.PostAsync("/api/datasets/add", StudioTestData.Form(("path", StudioTestData.Glyphs(f.Dir["second"], 4)), ("name", "second")), Ct);
        await using var events = new EventRecorder(f.Client(token: false));
        await events.WaitFor("hello", _ => true);   // the stream is open before anything starts

        var endless = await (await c.PostAsync("/api/runs", StudioTestData.Form(("dataset", "first"), ("preset", "tiny"), ("length", "until-stopped"),
            ("checkpoint_every", "3"), ("batch", "2"), ("threads", "1"), ("name", "endless")), Ct)).Json();
        Assert.False(endless.GetProperty("queued").GetBoolean());
        var waiting = await (await c.PostAsync("/api/runs", StudioTestData.Form(("dataset", "second"), ("preset", "tiny"), ("steps", "2"),
            ("batch", "2"), ("threads", "1"), ("name", "waiting")), Ct)).Json();
        Assert.True(waiting.GetProperty("queued").GetBoolean());

        // Running with no total: the step climbs, there is no time left to show.
        var running = await StudioTestData.WaitFor(c, "/api/runs/endless", d => d.GetProperty("job").ValueKind == JsonValueKind.Object
            && d.GetProperty("job").GetProperty("phase").GetString() == "training" && d.GetProperty("job").GetProperty("step").GetInt64() > 0, 120);
        var job = running.GetProperty("job");
        Assert.True(job.GetProperty("untilStopped").GetBoolean());
        Assert.Equal(JsonValueKind.Null, job.GetProperty("etaSeconds").ValueKind);
        Assert.True(running.GetProperty("run").GetProperty("untilStopped").GetBoolean());
        Assert.Equal("training", running.GetProperty("run").GetProperty("state").GetString());
        Assert.Equal("queued", (await Detail(c, "waiting")).GetProperty("run").GetProperty("state").GetString());

        // Nothing in use may be removed: not the run, not its pictures, not the pictures a queued run waits for.
        Assert.Equal(HttpStatusCode.Conflict, (await c.PostAsync("/api/runs/endless/remove", StudioTestData.Form(("confirm", "endless")), Ct)).StatusCode);
        var first = await c.PostAsync("/api/datasets/first/remove", StudioTestData.Form(("confirm", "first")), Ct);
        Assert.Equal(HttpStatusCode.Conflict, first.StatusCode);
        Assert.Contains("endless", (await first.Json()).GetProperty("error").GetString());
        var second = await c.PostAsync("/api/datasets/second/remove", StudioTestData.Form(("confirm", "second")), Ct);
        Assert.Equal(HttpStatusCode.Conflict, second.StatusCode);
        Assert.Contains("waiting", (await second.Json()).GetProperty("error").GetString());
        var list = await (await c.GetAsync("/api/datasets", Ct)).Json();
        Assert.Contains(list.EnumerateArray(), d => d.GetProperty("name").GetString() == "second");

        // The event stream carries the progress live, with the validation loss and the status hint at each checkpoint.
        var progress = await events.WaitFor("progress", e => e.GetProperty("run").GetString() == "endless" && e.GetProperty("step").GetInt32() >= 1);
        Assert.True(progress.GetProperty("untilStopped").GetBoolean());
        var checkpoint = await events.WaitFor("progress", e => e.GetProperty("run").GetString() == "endless" && e.GetProperty("validationLoss").ValueKind == JsonValueKind.Number);
        Assert.Equal(checkpoint.GetProperty("step").GetInt64(), checkpoint.GetProperty("checkpointStep").GetInt64());
        var validation = checkpoint.GetProperty("validationLoss").GetDouble();
        Assert.True(validation > 0 && double.IsFinite(validation), $"validation loss {validation}");
        Assert.Contains("too early to tell", checkpoint.GetProperty("hint").GetString());   // one evaluation so far
        var onDisk = Noisette.Monitoring.Metrics.Read(Path.Combine(f.Workspace, "runs", "endless", "metrics.jsonl"))
            .Single(m => m.Step == checkpoint.GetProperty("step").GetInt64() && m.ValLoss is not null);
        Assert.Equal(onDisk.ValLoss!.Value, validation, 6);
        await events.WaitFor("queue", q => q.GetProperty("current").ValueKind == JsonValueKind.Object
                                           && q.GetProperty("waiting").EnumerateArray().Any(w => w.GetProperty("run").GetString() == "waiting"));

        // A waiting job is taken off the queue; it never made a folder, so it is gone.
        var off = await (await c.PostAsync("/api/runs/waiting/stop", StudioTestData.Form(), Ct)).Json();
        Assert.Contains("taken off the queue", off.GetProperty("message").GetString());
        var queue = (await (await c.GetAsync("/api/runs", Ct)).Json()).GetProperty("queue");
        Assert.Empty(queue.GetProperty("waiting").EnumerateArray());
        Assert.Equal(HttpStatusCode.NotFound, (await c.GetAsync("/api/runs/waiting", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await c.PostAsync("/api/datasets/second/remove", StudioTestData.Form(("confirm", "second")), Ct)).StatusCode);

        // The running one writes a checkpoint, then stops; it can be resumed.
        var stopping = await (await c.PostAsync("/api/runs/endless/stop", StudioTestData.Form(), Ct)).Json();
        Assert.Contains("checkpoint", stopping.GetProperty("message").GetString());
        var stopped = await StudioTestData.WaitFor(c, "/api/runs/endless", d => d.GetProperty("run").GetProperty("state").GetString() == "stopped", 120);
        var latest = stopped.GetProperty("run").GetProperty("latestCheckpoint").GetInt64();
        Assert.Equal(stopped.GetProperty("run").GetProperty("step").GetInt64(), latest);
        Assert.True(File.Exists(Path.Combine(new RunFolder(Path.Combine(f.Workspace, "runs", "endless")).CheckpointDir(latest), Checkpoint.StateFile)));
        Assert.True(stopped.GetProperty("run").GetProperty("canResume").GetBoolean());
        Assert.Contains(TrainingQueue.StoppedMarker, File.ReadAllText(Path.Combine(f.Workspace, "runs", "endless", "log.txt")));
        Assert.Equal(HttpStatusCode.Conflict, (await c.PostAsync("/api/runs/endless/stop", StudioTestData.Form(), Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await c.PostAsync("/api/runs/endless/remove", StudioTestData.Form(("confirm", "endless")), Ct)).StatusCode);
    }

    [Fact]
    public async Task ResumeTrainsOnAndFineTuneKeepsTheSourceModel()
    {
        using var f = new StudioFactory();
        using var c = f.Client();
        await c.PostAsync("/api/datasets/add", StudioTestData.Form(("path", StudioTestData.Glyphs(f.Dir["letters"], 6))), Ct);
        await c.PostAsync("/api/runs", StudioTestData.Form(("dataset", "letters"), ("preset", "tiny"), ("steps", "2"), ("checkpoint_every", "2"),
            ("batch", "2"), ("threads", "1"), ("name", "base")), Ct);
        await StudioTestData.WaitFor(c, "/api/runs/base", d => d.GetProperty("run").GetProperty("state").GetString() == "finished");

        // Resume with a new total: it continues from step 2 to step 4.
        Assert.Equal("steps", (await (await c.PostAsync("/api/runs/base/resume", StudioTestData.Form(("steps", "2")), Ct)).Json()).GetProperty("field").GetString());
        var resumed = await (await c.PostAsync("/api/runs/base/resume", StudioTestData.Form(("steps", "4")), Ct)).Json();
        Assert.False(resumed.GetProperty("queued").GetBoolean());
        var after = await StudioTestData.WaitFor(c, "/api/runs/base", d => d.GetProperty("run").GetProperty("state").GetString() == "finished"
                                                                         && d.GetProperty("run").GetProperty("step").GetInt64() == 4);
        Assert.Equal([2L, 4L], after.GetProperty("checkpoints").EnumerateArray().Select(x => x.GetProperty("step").GetInt64()));
        Assert.Equal(4, after.GetProperty("run").GetProperty("total").GetInt64());

        // A fine-tune keeps the source's model: another preset is refused, none (or the same) is fine.
        var other = await c.PostAsync("/api/runs", StudioTestData.Form(("dataset", "letters"), ("preset", "letters32"), ("steps", "2"), ("init_from", "base")), Ct);
        Assert.Equal(HttpStatusCode.BadRequest, other.StatusCode);
        var error = await other.Json();
        Assert.Equal("preset", error.GetProperty("field").GetString());
        Assert.Contains("keeps the model of run 'base'", error.GetProperty("error").GetString());
        Assert.Equal("init_step", (await (await c.PostAsync("/api/runs", StudioTestData.Form(("dataset", "letters"), ("steps", "2"), ("init_from", "base"), ("init_step", "3")), Ct)).Json()).GetProperty("field").GetString());
        Assert.Single(Directory.GetDirectories(Path.Combine(f.Workspace, "runs")));

        var tuned = await (await c.PostAsync("/api/runs", StudioTestData.Form(("dataset", "letters"), ("steps", "2"), ("checkpoint_every", "2"), ("batch", "2"),
            ("threads", "1"), ("init_from", "base"), ("init_step", "2"), ("name", "tuned")), Ct)).Json();
        Assert.Equal("tiny", tuned.GetProperty("preset").GetString());
        Assert.Contains("the model comes from run 'base' (step 2", tuned.GetProperty("message").GetString());
        var done = await StudioTestData.WaitFor(c, "/api/runs/tuned", d => d.GetProperty("run").GetProperty("state").GetString() is "finished" or "damaged" or "no-checkpoint");
        Assert.Equal("finished", done.GetProperty("run").GetProperty("state").GetString());
        Assert.Equal("tiny", done.GetProperty("run").GetProperty("preset").GetString());
        var config = new RunFolder(Path.Combine(f.Workspace, "runs", "tuned")).ReadConfig();
        Assert.Equal(new RunFolder(Path.Combine(f.Workspace, "runs", "base")).CheckpointDir(2), config.Run.InitFrom);
        Assert.Contains("step-00000002", done.GetProperty("settings").GetProperty("fine-tuned from").GetString());
    }
}
