using Noisette.Data;
using Noisette.Evaluation;
using Noisette.IO;
using Noisette.Models;
using Noisette.Monitoring;
using Noisette.Runs;
using Noisette.Training;

namespace Noisette.Tests;

public class MonitoringTests
{
    [Fact]
    public void ValidationLossIsDeterministicAndBucketed()
    {
        var images = TestData.Bars(10, seed: 3);
        TorchSharp.torch.random.manual_seed(1);
        using var model = new UNet(ModelPresets.Get("tiny").Model);
        var diffusion = new Diffusion.GaussianDiffusion(new Diffusion.DiffusionConfig());
        var a = ValidationLoss.Compute(model, diffusion, images)!;
        TorchSharp.torch.random.manual_seed(999);   // the global generator must not matter
        var b = ValidationLoss.Compute(model, diffusion, images, batchSize: 7)!;
        Assert.Equal(a, b);
        Assert.Equal(10, a.Images);
        // A fresh model predicts zero noise, so the loss is the noise's mean square: about 1 everywhere.
        Assert.InRange(a.Loss, 0.9, 1.1);
        foreach (var bucket in new[] { a.LowNoise, a.MidNoise, a.HighNoise }) Assert.InRange(bucket, 0.85, 1.15);
    }

    [Fact]
    public void HintsReadSyntheticHistories()
    {
        static List<(long, double)> H(params double[] v) => v.Select((x, i) => ((long)(i + 1) * 100, x)).ToList();
        Assert.Equal(TrainingHint.TooEarly, RunStatus.Hint(H(0.5, 0.4)).Kind);
        Assert.Equal(TrainingHint.Improving, RunStatus.Hint(H(0.5, 0.4, 0.35, 0.30)).Kind);
        var plateau = RunStatus.Hint(H(0.5, 0.4, 0.301, 0.300, 0.302, 0.3005));
        Assert.Equal(TrainingHint.Plateaued, plateau.Kind);
        Assert.Equal(300, plateau.SinceStep);
        var overfit = RunStatus.Hint(H(0.5, 0.4, 0.30, 0.32, 0.34, 0.37));
        Assert.Equal(TrainingHint.Overfitting, overfit.Kind);
        Assert.Equal(300, overfit.SinceStep);
        Assert.Contains("overfitting", overfit.Text);
        // A single noisy bump is not overfitting.
        Assert.NotEqual(TrainingHint.Overfitting, RunStatus.Hint(H(0.5, 0.4, 0.30, 0.30, 0.34, 0.301)).Kind);
    }

    [Fact]
    public void CheckpointsRecordValidationLossAndTheBestOneIsKept()
    {
        var train = TestData.Bars(16);
        var val = TestData.Bars(4, seed: 9);
        using var dir = new TempFolder();
        var run = new RunFolder(dir.Path);
        var cfg = TestData.TinyConfig(8, 2) with { KeepCheckpoints = 1, SampleCount = 2, SampleSteps = 2 };
        using (var t = Trainer.Start(cfg, run, train, TestData.Info(), validation: val))
            t.Train(CancellationToken.None);

        var best = Checkpoint.Best(run)!;
        var kept = run.CheckpointSteps();
        Assert.Contains(8L, kept);                       // the newest
        Assert.Contains(best.Step, kept);                // and the best, even with keep_checkpoints = 1
        Assert.True(kept.Count <= 2);
        Assert.NotNull(best.ValidationLoss);
        Assert.Equal(3, best.ValidationByNoise!.Length);
        var records = Metrics.Read(run.MetricsPath);
        Assert.Equal(4, records.Count(r => r.ValLoss is not null));   // one per checkpoint: steps 2, 4, 6, 8
        Assert.Equal(records.Where(r => r.ValLoss is not null).Min(r => r.ValLoss), best.ValidationLoss);
        Assert.True(File.Exists(run.LossPlotPath));
        using (var chart = SkiaSharp.SKBitmap.Decode(run.LossPlotPath)) Assert.True(chart.Width > 100);

        var (resolved, _, _) = Checkpoint.Resolve(dir.Path, "best");
        Assert.Equal(run.CheckpointDir(best.Step), resolved);
        var status = RunStatus.Read(run);
        Assert.Equal(8, status.Step);
        Assert.Equal(best.Step, status.BestStep);

        // The TensorBoard event file parses with the protobuf classes TorchSharp ships.
        var file = Directory.GetFiles(run.TensorBoardDir).Single();
        var events = ReadRecords(file).Select(Tensorboard.Event.Parser.ParseFrom).ToList();
        Assert.Equal("brain.Event:2", events[0].FileVersion);
        var scalars = events.Where(e => e.Summary is not null).SelectMany(e => e.Summary.Value.Select(v => (e.Step, v))).ToList();
        Assert.Contains(scalars, s => s.v.Tag == "train/loss" && s.Step == 8);
        var valScalars = scalars.Where(s => s.v.Tag == "validation/loss").ToList();
        Assert.Equal(4, valScalars.Count);
        Assert.Equal((float)best.ValidationLoss!.Value, valScalars.Single(s => s.Step == best.Step).v.SimpleValue);
        var image = scalars.First(s => s.v.Tag == "samples").v.Image;
        using var decoded = SkiaSharp.SKBitmap.Decode(image.EncodedImageString.ToByteArray());
        Assert.Equal(image.Width, decoded.Width);
    }

    [Fact]
    public void CheckpointsMeasureTheirSampleDistanceAndBestFollowsIt()
    {
        var train = TestData.Bars(16);
        var val = TestData.Bars(4, seed: 9);
        using var dir = new TempFolder();
        var run = new RunFolder(dir.Path);
        var cfg = TestData.TinyConfig(6, 2) with { SampleCount = 4, SampleSteps = 2, DistanceSamples = 8, KeepCheckpoints = 5 };
        using (var t = Trainer.Start(cfg, run, train, TestData.Info(), validation: val))
            t.Train(CancellationToken.None);

        var states = run.CheckpointSteps().Select(s => Json.Read<CheckpointState>(Path.Combine(run.CheckpointDir(s), Checkpoint.StateFile))).ToList();
        Assert.Equal(3, states.Count);
        Assert.All(states, s => Assert.True(s.SampleDistance is > 0 && double.IsFinite(s.SampleDistance.Value)));
        Assert.All(states, s => Assert.NotNull(s.ValidationLoss));
        var best = Checkpoint.Best(run)!;
        Assert.Equal(states.MinBy(s => s.SampleDistance)!.Step, best.Step);
        Assert.Equal("sample distance", Checkpoint.BestMeasure(best.SampleDistance));

        // The distance is the final checkpoint's EMA samples (the grid's sampler and seeds) against the training pictures.
        using (var model = Noisette.Pipelines.LoadedModel.Load(dir.Path, "6"))
        {
            var samples = CheckpointGrid.Sample(model.Bundle, cfg, 8);
            using var distance = SampleDistance.To(train);
            Assert.Equal(states.Single(s => s.Step == 6).SampleDistance!.Value, distance.Of(samples), 9);
            // The grid is the first of those samples.
            var expected = ImageGrid.Compose(samples.Take(4).Select(b => new PlanarImage(1, 32, 32, b)).ToList());
            using var grid = SkiaSharp.SKBitmap.Decode(run.SampleGridPath(6));
            Assert.Equal((expected.Width, expected.Height), (grid.Width, grid.Height));
            for (int y = 0; y < grid.Height; y++)
                for (int x = 0; x < grid.Width; x++)
                    Assert.Equal(expected.Pixels[y * grid.Width + x], grid.GetPixel(x, y).Red);
        }

        var records = Metrics.Read(run.MetricsPath).Where(r => r.SampleDistance is not null).ToList();
        Assert.Equal(new long[] { 2, 4, 6 }, records.Select(r => r.Step));
        Assert.Equal(states.Select(s => s.SampleDistance), records.Select(r => r.SampleDistance));
        var status = RunStatus.Read(run);
        Assert.Equal(best.Step, status.BestStep);
        Assert.Contains(string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"best:       step {best.Step} (sample distance {best.SampleDistance!.Value:F2}, the lowest; validation loss {best.ValidationLoss!.Value:F5})"),
            RunStatus.Describe(status));
        var (resolved, _, _) = Checkpoint.Resolve(dir.Path, "best");
        Assert.Equal(run.CheckpointDir(best.Step), resolved);

        var scalars = Directory.GetFiles(run.TensorBoardDir).SelectMany(ReadRecords).Select(Tensorboard.Event.Parser.ParseFrom)
            .Where(e => e.Summary is not null).SelectMany(e => e.Summary.Value.Select(v => (e.Step, v))).ToList();
        Assert.Equal(records.Select(r => (float)r.SampleDistance!.Value), scalars.Where(s => s.v.Tag == "samples/distance").Select(s => s.v.SimpleValue));
    }

    /// <summary>
    /// A run resumed from an older checkpoint than its last logged step (a crash between checkpoints) starts its new
    /// event file with a restart mark just after the checkpoint, which tells TensorBoard to drop the earlier file's
    /// events from there on; the new file then logs those steps again. A fresh run has no mark.
    /// </summary>
    [Fact]
    public void AResumedRunMarksTheRestartForTensorBoard()
    {
        var train = TestData.Bars(8);
        using var dir = new TempFolder();
        var run = new RunFolder(dir.Path);
        using (var t = Trainer.Start(TestData.TinyConfig(6, 4), run, train, TestData.Info()))
            t.Train(CancellationToken.None);
        Directory.Delete(run.CheckpointDir(6), true);        // as if the process had died after logging step 6
        var first = Directory.GetFiles(run.TensorBoardDir).Single();
        Assert.DoesNotContain(Events(first), e => e.SessionLog is not null);
        Assert.Contains(Events(first), e => e.Step == 6 && e.Summary is not null);

        using (var t = Trainer.Resume(run, train, "test"))
            t.Train(CancellationToken.None);
        var second = Directory.GetFiles(run.TensorBoardDir).Single(f => f != first);
        var events = Events(second);
        Assert.Equal("brain.Event:2", events[0].FileVersion);
        Assert.Equal(Tensorboard.SessionLog.Types.SessionStatus.Start, events[1].SessionLog.Status);
        Assert.Equal(5, events[1].Step);
        Assert.Equal(new long[] { 5, 6 }, events.Where(e => e.Summary?.Value.Any(v => v.Tag == "train/loss") == true).Select(e => e.Step).ToArray());

        static List<Tensorboard.Event> Events(string file) => ReadRecords(file).Select(Tensorboard.Event.Parser.ParseFrom).ToList();
    }

    /// <summary>Reads TFRecord framing and checks both masked CRCs.</summary>
    internal static IEnumerable<byte[]> ReadRecords(string path)
    {
        var bytes = File.ReadAllBytes(path);
        int pos = 0;
        while (pos < bytes.Length)
        {
            ulong len = BitConverter.ToUInt64(bytes, pos);
            Assert.Equal(TensorBoardWriter.MaskedCrc(bytes.AsSpan(pos, 8)), BitConverter.ToUInt32(bytes, pos + 8));
            var data = bytes.AsSpan(pos + 12, (int)len).ToArray();
            Assert.Equal(TensorBoardWriter.MaskedCrc(data), BitConverter.ToUInt32(bytes, pos + 12 + (int)len));
            yield return data;
            pos += 16 + (int)len;
        }
    }

    [Fact]
    public void KeepLastKNeverDeletesAnOldBestCheckpoint()
    {
        using var dir = new TempFolder();
        var run = new RunFolder(dir.Path);
        // Five checkpoints; the validation loss was lowest at step 200 and has risen since (overfitting).
        double[] losses = [0.30, 0.20, 0.25, 0.28, 0.31];
        void Make()
        {
            for (int i = 0; i < losses.Length; i++)
            {
                long step = (i + 1) * 100;
                Directory.CreateDirectory(run.CheckpointDir(step));
                Json.Write(Path.Combine(run.CheckpointDir(step), Checkpoint.StateFile), new CheckpointState { Step = step, ValidationLoss = losses[i] });
            }
        }
        Make();
        var best = Checkpoint.Best(run)!;
        Assert.Equal(200, best.Step);
        Checkpoint.Prune(run, 2, new HashSet<long> { best.Step });
        Assert.Equal(new long[] { 200, 400, 500 }, run.CheckpointSteps());     // the last two, and the best
        Assert.Equal(200, Checkpoint.Best(run)!.Step);

        // Without the protection keep-last-2 would have deleted it.
        Make();
        Checkpoint.Prune(run, 2);
        Assert.Equal(new long[] { 400, 500 }, run.CheckpointSteps());
    }

    [Fact]
    public void TheTrainerKeepsAnOldBestCheckpointWhenItPrunes()
    {
        var train = TestData.Bars(8);
        var val = TestData.Bars(2, seed: 9);
        using var dir = new TempFolder();
        var run = new RunFolder(dir.Path);
        var cfg = TestData.TinyConfig(2, 1) with { KeepCheckpoints = 2 };
        using (var t = Trainer.Start(cfg, run, train, TestData.Info(), validation: val))
            t.Train(CancellationToken.None);
        // Make step 1 the best by far, as if the validation loss had risen ever since.
        var statePath = Path.Combine(run.CheckpointDir(1), Checkpoint.StateFile);
        Json.Write(statePath, Json.Read<CheckpointState>(statePath) with { ValidationLoss = 1e-6 });
        using (var t = Trainer.Resume(run, train, "test", totalSteps: 5, validation: val))
            t.Train(CancellationToken.None);
        Assert.Equal(new long[] { 1, 4, 5 }, run.CheckpointSteps());
        Assert.Equal(1, Checkpoint.Best(run)!.Step);
    }

    [Fact]
    public void Crc32CMatchesTheKnownCheckValue()
    {
        // The standard check value of CRC-32C for "123456789".
        Assert.Equal(0xE3069283u, TensorBoardWriter.Crc32C("123456789"u8));
    }
}
