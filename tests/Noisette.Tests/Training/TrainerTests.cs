using Noisette.IO;
using Noisette.Models;
using Noisette.Runs;
using Noisette.Training;
using static TorchSharp.torch;

namespace Noisette.Tests;

[Collection(RunsAlone.Name)]
public class TrainerTests
{
    internal static Dictionary<string, float[]> Snapshot(Trainer t)
    {
        var d = new Dictionary<string, float[]>();
        foreach (var (n, p) in ModelWeights.Named(t.Model)) d["model/" + n] = p.data<float>().ToArray();
        foreach (var (n, p) in ModelWeights.Named(t.Ema.Model)) d["ema/" + n] = p.data<float>().ToArray();
        foreach (var (n, p) in t.Optimizer.State()) d["opt/" + n] = p.data<float>().ToArray();
        return d;
    }

    [Fact]
    public void ResumingGivesTheSameWeightsAsAnUninterruptedRun()
    {
        var images = TestData.Bars(24);
        using var a = new TempFolder();
        using var b = new TempFolder();

        Dictionary<string, float[]> straight;
        using (var t = Trainer.Start(TestData.TinyConfig(6, 3), new RunFolder(a.Path), images, TestData.Info()))
        {
            Assert.Equal(TrainingOutcome.Completed, t.Train(CancellationToken.None));
            straight = Snapshot(t);
        }

        // The same run stopped after 3 steps (its config says 6) and resumed from its checkpoint.
        using (var t = Trainer.Start(TestData.TinyConfig(6, 3), new RunFolder(b.Path), images, TestData.Info()))
        {
            using var cts = new CancellationTokenSource();
            t.Train(cts.Token, p => { if (p.CheckpointDir is not null && p.Step == 3) cts.Cancel(); });
            Assert.Equal(3, t.Step);
        }
        using (var t = Trainer.Resume(new RunFolder(b.Path), images, "test"))
        {
            Assert.Equal(3, t.Step);
            Assert.Equal(TrainingOutcome.Completed, t.Train(CancellationToken.None));
            var resumed = Snapshot(t);
            Assert.Equal(straight.Keys.Order(), resumed.Keys.Order());
            foreach (var (name, values) in straight)
                Assert.True(values.AsSpan().SequenceEqual(resumed[name]), $"{name} differs after resume");
        }
    }

    /// <summary>
    /// A training draws its timesteps, noise and dropout masks from its own generator: another thread drawing from,
    /// and even reseeding, libtorch's process-wide generator all through the steps leaves its weights bit for bit the
    /// same. (The initial weights come from the process-wide generator, seeded under the lock every Noisette network
    /// construction takes; the other thread starts once they exist.)
    /// </summary>
    [Fact]
    public void OtherDrawsFromTheProcessWideGeneratorLeaveATrainingAlone()
    {
        var images = TestData.Bars(24);
        var config = TestData.TinyConfig(6, 6) with { Model = TestData.TinyConfig(6, 6).Model with { Dropout = 0.3 } };
        Dictionary<string, float[]> Train(TrainingConfig cfg, bool disturbed)
        {
            using var dir = new TempFolder();
            using var done = new CancellationTokenSource();
            var other = new Thread(() =>
            {
                while (!done.IsCancellationRequested)
                {
                    random.manual_seed(12345);
                    using var r = randn(257);
                }
            });
            try
            {
                using var t = Trainer.Start(cfg, new RunFolder(dir.Path), images, TestData.Info());
                if (disturbed) other.Start();
                Assert.Equal(TrainingOutcome.Completed, t.Train(CancellationToken.None));
                return Snapshot(t);
            }
            finally
            {
                done.Cancel();
                if (other.IsAlive) other.Join();
            }
        }
        var quiet = Train(config, disturbed: false);
        var disturbedRun = Train(config, disturbed: true);
        foreach (var (name, values) in quiet)
            Assert.True(values.AsSpan().SequenceEqual(disturbedRun[name]), $"{name} moved with the other thread's draws");
        // The dropout masks were drawn (and mattered): without dropout the same run ends elsewhere.
        var noDropout = Train(config with { Model = config.Model with { Dropout = 0 } }, disturbed: false);
        Assert.Contains(quiet, kv => !kv.Value.AsSpan().SequenceEqual(noDropout[kv.Key]));
    }

    [Fact]
    public void LossFallsOnATinySet()
    {
        var images = TestData.Bars(16);
        using var dir = new TempFolder();
        var losses = new List<double>();
        using var t = Trainer.Start(TestData.TinyConfig(120, 1000) with { Batch = 8, LogEvery = 20, Model = ModelPresets.Get("tiny").Model },
                                    new RunFolder(dir.Path), images, TestData.Info());
        t.Train(CancellationToken.None, p => { if (p.CheckpointDir is null) losses.Add(p.Loss); });
        Assert.True(losses.Count >= 5);
        Assert.True(losses[^1] < losses[0] * 0.6, $"loss went from {losses[0]} to {losses[^1]}");
        Assert.All(losses, l => Assert.True(double.IsFinite(l)));
    }

    [Fact]
    public void LiveTensorCountStaysFlatOverTrainingSteps()
    {
        var images = TestData.Bars(16);
        using var dir = new TempFolder();
        using var t = Trainer.Start(TestData.TinyConfig(200, 100000) with { Batch = 2, LogEvery = 10 },
                                    new RunFolder(dir.Path), images, TestData.Info());
        // Trainer.LiveTensors sums TorchSharp's per-thread counts of the training and batch-loader threads: a batch is
        // made on the one and disposed on the other, so either count alone moves by a batch per step without any leak.
        var counts = new SortedDictionary<int, long>();
        t.Train(CancellationToken.None, p => { if (p.CheckpointDir is null) counts[p.Step] = t.LiveTensors; });
        Assert.Equal(20, counts.Count);
        // Between step 100 and step 200 the sum moves only by the batches in flight (at most 3 queued and 1 waiting,
        // one tensor each, plus 2 temporaries of one being built), however many steps ran: one leaked tensor per
        // step would add 100.
        const int InFlight = 6;
        long reference = counts[100];
        foreach (var (step, count) in counts.Where(c => c.Key >= 100))
            Assert.True(Math.Abs(count - reference) <= InFlight,
                        $"live tensors at step {step}: {count}, at step 100: {reference} (all: {string.Join(", ", counts.Values)})");
    }

    /// <summary>
    /// The same at checkpoints: each one computes the validation loss, samples the EMA grid and the pictures of the
    /// sample distance (whose reference statistics the trainer keeps from the first checkpoint on), and writes files. Counted
    /// halfway between checkpoints (steps 15, 25, … 145), 13 checkpoints apart the sum differs only by the batches in
    /// flight; one tensor left behind per checkpoint would add 13.
    /// </summary>
    [Fact]
    public void LiveTensorCountStaysFlatOverCheckpoints()
    {
        var images = TestData.Bars(16);
        using var dir = new TempFolder();
        var config = TestData.TinyConfig(150, 10) with { Batch = 2, LogEvery = 5, SampleCount = 2, SampleSteps = 2, KeepCheckpoints = 2, DistanceSamples = 8 };
        using var t = Trainer.Start(config, new RunFolder(dir.Path), images, TestData.Info(), validation: TestData.Bars(4, seed: 5));
        var counts = new SortedDictionary<int, long>();
        int checkpoints = 0;
        t.Train(CancellationToken.None, p =>
        {
            if (p.CheckpointDir is not null) { checkpoints++; Assert.NotNull(p.ValidationLoss); Assert.NotNull(p.SampleDistance); }
            else if (p.Step % 10 == 5) counts[p.Step] = t.LiveTensors;
        });
        Assert.Equal(15, checkpoints);
        Assert.Equal(15, counts.Count);
        const int InFlight = 6;
        foreach (var (step, count) in counts.Where(c => c.Key >= 15))
            Assert.True(Math.Abs(count - counts[15]) <= InFlight,
                        $"live tensors at step {step}: {count}, at step 15: {counts[15]} (all: {string.Join(", ", counts.Values)})");
    }

    [Fact]
    public void CancellingBetweenCheckpointsWritesOneAndResumesExactly()
    {
        var images = TestData.Bars(24);
        using var a = new TempFolder();
        using var b = new TempFolder();

        Dictionary<string, float[]> straight;
        using (var t = Trainer.Start(TestData.TinyConfig(10, 100), new RunFolder(a.Path), images, TestData.Info()))
        {
            Assert.Equal(TrainingOutcome.Completed, t.Train(CancellationToken.None));
            straight = Snapshot(t);
        }

        // Ctrl-C at step 7, far from the next scheduled checkpoint (100): the trainer writes one at step 7.
        var run = new RunFolder(b.Path);
        using (var t = Trainer.Start(TestData.TinyConfig(10, 100), run, images, TestData.Info()))
        {
            using var cts = new CancellationTokenSource();
            var outcome = t.Train(cts.Token, p => { if (p.Step == 7 && p.CheckpointDir is null) cts.Cancel(); });
            Assert.Equal(TrainingOutcome.Interrupted, outcome);
            Assert.Equal(7, t.Step);
        }
        Assert.Equal(new long[] { 7 }, run.CheckpointSteps());
        var state = Checkpoint.Verify(run.CheckpointDir(7));
        Assert.Equal(7, state.Step);
        Assert.Equal(7 * 4, state.DataPosition);

        using (var t = Trainer.Resume(run, images, "test"))
        {
            Assert.Equal(7, t.Step);
            Assert.Equal(TrainingOutcome.Completed, t.Train(CancellationToken.None));
            var resumed = Snapshot(t);
            Assert.Equal(straight.Keys.Order(), resumed.Keys.Order());
            foreach (var (name, values) in straight)
                Assert.True(values.AsSpan().SequenceEqual(resumed[name]), $"{name} differs after resuming from the Ctrl-C checkpoint");
        }
    }

    private sealed class SimulatedCrash : Exception;

    [Fact]
    public void ResumeCutsTheMetricsBackToItsCheckpoint()
    {
        var images = TestData.Bars(24);
        var validation = TestData.Bars(4, seed: 9);
        using var dir = new TempFolder();
        var run = new RunFolder(dir.Path);
        // Checkpoints at 3, 6 and 8; every step logged. The process dies at step 5, after logging it, and a
        // last line was being appended when it died.
        using (var t = Trainer.Start(TestData.TinyConfig(8, 3), run, images, TestData.Info(), validation: validation))
            Assert.Throws<SimulatedCrash>(() => t.Train(CancellationToken.None, p => { if (p.Step == 5 && p.CheckpointDir is null) throw new SimulatedCrash(); }));
        Assert.Equal(new long[] { 3 }, run.CheckpointSteps());
        File.AppendAllText(run.MetricsPath, "{\"step\":6,\"loss\":0.1");

        using (var t = Trainer.Resume(run, images, "test", validation: validation))
        {
            Assert.Equal(3, t.Step);
            Assert.Equal(TrainingOutcome.Completed, t.Train(CancellationToken.None));
        }

        var training = new List<long>();
        var validated = new List<long>();
        foreach (var line in File.ReadAllLines(run.MetricsPath))
        {
            using var doc = System.Text.Json.JsonDocument.Parse(line);         // every line is whole
            long step = doc.RootElement.GetProperty("step").GetInt64();
            (doc.RootElement.TryGetProperty("val_loss", out _) ? validated : training).Add(step);
        }
        Assert.Equal(Enumerable.Range(1, 8).Select(s => (long)s), training);   // one line per logged step
        Assert.Equal(new long[] { 3, 6, 8 }, validated);                        // one per checkpoint
        Assert.Equal(11, Noisette.Monitoring.Metrics.Read(run.MetricsPath).Count);
    }

    [Fact]
    public void AFailedResumeWithARaisedTotalLeavesTheConfigAlone()
    {
        using var dir = new TempFolder();
        var run = new RunFolder(dir.Path);
        using (var t = Trainer.Start(TestData.TinyConfig(2, 2), run, TestData.Bars(8), TestData.Info()))
            t.Train(CancellationToken.None);
        // 16 px images for a 32 px model: the trainer is refused after the checks of the checkpoint and --steps.
        Assert.Throws<NoisetteInputException>(() => Trainer.Resume(run, TestData.Bars(8, size: 16), "test", totalSteps: 10));
        Assert.Equal(2, run.ReadConfig().Training.Steps);

        using (var t = Trainer.Resume(run, TestData.Bars(8), "test", totalSteps: 4))
            Assert.Equal(4, t.TotalSteps);
        Assert.Equal(4, run.ReadConfig().Training.Steps);
    }

    [Fact]
    public void AnInterruptedCheckpointReplacementIsRecoveredOnResume()
    {
        var images = TestData.Bars(12);
        using var dir = new TempFolder();
        var run = new RunFolder(dir.Path);
        using (var t = Trainer.Start(TestData.TinyConfig(4, 2), run, images, TestData.Info()))
            t.Train(CancellationToken.None);

        // A crash while step 4 was being replaced, between its two renames: the old copy is set aside, the new
        // one still has its temp name; and an unrelated write of step 6 was cut short.
        Directory.Move(run.CheckpointDir(4), AtomicFile.LeftoverPath(run.CheckpointDir(4), AtomicFile.AsideSuffix));
        Directory.CreateDirectory(AtomicFile.LeftoverPath(run.CheckpointDir(4), AtomicFile.TempSuffix));
        var half = Directory.CreateDirectory(AtomicFile.LeftoverPath(run.CheckpointDir(6), AtomicFile.TempSuffix)).FullName;
        File.WriteAllBytes(Path.Combine(half, Checkpoint.ModelFile), [1, 2, 3]);
        Assert.Equal(new long[] { 2 }, run.CheckpointSteps());                  // leftovers are never checkpoints

        var warnings = new List<string>();
        using var resumed = Trainer.Resume(run, images, "test", warn: warnings.Add);
        Assert.Equal(4, resumed.Step);
        Assert.Equal(new[] { "step-00000002", "step-00000004" },
                     Directory.GetDirectories(run.CheckpointsDir).Select(d => Path.GetFileName(d)).Order(StringComparer.Ordinal));
        Assert.Contains(warnings, w => w.Contains("restored step-00000004"));
        Assert.Contains("removed .step-00000006.", File.ReadAllText(run.LogPath));
    }

    [Fact]
    public void LeftoverTempFilesAndTruncatedCheckpointsAreIgnoredOnResume()
    {
        var images = TestData.Bars(12);
        using var dir = new TempFolder();
        var run = new RunFolder(dir.Path);
        using (var t = Trainer.Start(TestData.TinyConfig(4, 2), run, images, TestData.Info()))
            t.Train(CancellationToken.None);
        Assert.Equal(new long[] { 2, 4 }, run.CheckpointSteps());

        // A crash mid-write leaves a temp folder; a disk problem truncates the newest checkpoint's weights.
        Directory.CreateDirectory(Path.Combine(run.CheckpointsDir, ".step-00000006.abc" + AtomicFile.TempSuffix));
        File.WriteAllBytes(Path.Combine(run.CheckpointsDir, ".step-00000006.abc" + AtomicFile.TempSuffix, "model.safetensors"), [1, 2, 3]);
        var model4 = Path.Combine(run.CheckpointDir(4), Checkpoint.ModelFile);
        var bytes = File.ReadAllBytes(model4);
        File.WriteAllBytes(model4, bytes[..(bytes.Length / 2)]);

        var warnings = new List<string>();
        using var resumed = Trainer.Resume(run, images, "test", warn: warnings.Add);
        Assert.Equal(2, resumed.Step);
        Assert.Contains(warnings, w => w.Contains("step-00000004") && w.Contains("model.safetensors"));
    }

    [Fact]
    public void ResumeWithoutAValidCheckpointIsRefused()
    {
        using var dir = new TempFolder();
        var run = new RunFolder(dir.Path);
        run.WriteConfig(new RunConfig { Training = TestData.TinyConfig(4, 2) });
        var e = Assert.Throws<NoisetteInputException>(() => Trainer.Resume(run, TestData.Bars(4), "test"));
        Assert.Contains("no valid checkpoint", e.Message);
    }

    [Fact]
    public void FineTuneStartsFromTheSourceWeights()
    {
        var images = TestData.Bars(12);
        using var src = new TempFolder();
        using var dst = new TempFolder();
        using (var t = Trainer.Start(TestData.TinyConfig(3, 3), new RunFolder(src.Path), images, TestData.Info()))
            t.Train(CancellationToken.None);
        var ckpt = new RunFolder(src.Path).CheckpointDir(3);
        using var source = SafeTensors.Load(Path.Combine(ckpt, Checkpoint.ModelFile));
        using var sourceEma = SafeTensors.Load(Path.Combine(ckpt, Checkpoint.EmaFile));
        using var tuned = Trainer.Start(TestData.TinyConfig(3, 3), new RunFolder(dst.Path), TestData.Bars(12, seed: 5), TestData.Info(), src.Path);
        foreach (var (n, p) in ModelWeights.Named(tuned.Model))
            Assert.True(p.data<float>().ToArray().AsSpan().SequenceEqual(source[n].data<float>().ToArray()), n);
        foreach (var (n, p) in ModelWeights.Named(tuned.Ema.Model))
            Assert.True(p.data<float>().ToArray().AsSpan().SequenceEqual(sourceEma[n].data<float>().ToArray()), n);
        Assert.Equal(0, tuned.Step);
    }

    [Fact]
    public void FineTuneFromAnIncompatibleCheckpointNamesTheTensor()
    {
        var images = TestData.Bars(12);
        using var src = new TempFolder();
        using var dst = new TempFolder();
        using (var t = Trainer.Start(TestData.TinyConfig(2, 2), new RunFolder(src.Path), images, TestData.Info()))
            t.Train(CancellationToken.None);
        var wider = TestData.TinyConfig(2, 2) with { Model = ModelPresets.Get("tiny").Model with { BaseChannels = 24 } };
        var e = Assert.Throws<NoisetteInputException>(() => Trainer.Start(wider, new RunFolder(dst.Path), images, TestData.Info(), src.Path));
        Assert.Contains("time_embed.0.weight", e.Message);
    }
}
