using Noisette.IO;
using Noisette.Models;
using Noisette.Training;
using static TorchSharp.torch;

namespace Noisette.Tests;

[Collection(RunsAlone.Name)]
public class TrainerTests
{
    private static Dictionary<string, float[]> Snapshot(Trainer t)
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
        using var a = new TestData.TempDir();
        using var b = new TestData.TempDir();

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

    [Fact]
    public void LossFallsOnATinySet()
    {
        var images = TestData.Bars(16);
        using var dir = new TestData.TempDir();
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
        using var dir = new TestData.TempDir();
        using var t = Trainer.Start(TestData.TinyConfig(200, 100000) with { Batch = 2, LogEvery = 50 },
                                    new RunFolder(dir.Path), images, TestData.Info());
        var counts = new List<long>();
        t.Train(CancellationToken.None, p =>
        {
            if (p.CheckpointDir is null) { GC.Collect(); GC.WaitForPendingFinalizers(); counts.Add(TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount); }
        });
        Assert.True(counts.Count >= 4, "expected a count at every logged step");
        // After the first window the number of live tensors must not grow with the number of steps.
        Assert.True(counts[^1] <= counts[1], $"live tensors grew over 200 steps: {string.Join(", ", counts)}");
    }

    [Fact]
    public void LeftoverTempFilesAndTruncatedCheckpointsAreIgnoredOnResume()
    {
        var images = TestData.Bars(12);
        using var dir = new TestData.TempDir();
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
        using var dir = new TestData.TempDir();
        var run = new RunFolder(dir.Path);
        run.WriteConfig(new RunConfig { Training = TestData.TinyConfig(4, 2) });
        var e = Assert.Throws<NoisetteInputException>(() => Trainer.Resume(run, TestData.Bars(4), "test"));
        Assert.Contains("no valid checkpoint", e.Message);
    }

    [Fact]
    public void FineTuneStartsFromTheSourceWeights()
    {
        var images = TestData.Bars(12);
        using var src = new TestData.TempDir();
        using var dst = new TestData.TempDir();
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
        using var src = new TestData.TempDir();
        using var dst = new TestData.TempDir();
        using (var t = Trainer.Start(TestData.TinyConfig(2, 2), new RunFolder(src.Path), images, TestData.Info()))
            t.Train(CancellationToken.None);
        var wider = TestData.TinyConfig(2, 2) with { Model = ModelPresets.Get("tiny").Model with { BaseChannels = 24 } };
        var e = Assert.Throws<NoisetteInputException>(() => Trainer.Start(wider, new RunFolder(dst.Path), images, TestData.Info(), src.Path));
        Assert.Contains("time_embed.0.weight", e.Message);
    }
}
