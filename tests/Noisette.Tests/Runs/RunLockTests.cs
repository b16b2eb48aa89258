using Noisette.IO;
using Noisette.Runs;

namespace Noisette.Tests.IO;

/// <summary>One training per run folder: the claim, its release, and what `train` and `resume` do when it is taken.</summary>
public class RunLockTests
{
    private static string[] Quick => CliTests.Quick;

    private static TempFolder GlyphFolder(int count) => CliTests.GlyphFolder(count);

    private static string[] Names(string dir) =>
        Directory.EnumerateFileSystemEntries(dir).Select(p => Path.GetFileName(p)).Order(StringComparer.Ordinal).ToArray();

    [Fact]
    public void ASecondClaimIsRefusedUntilTheFirstIsReleased()
    {
        using var dir = new TempFolder();
        var run = dir["run"];
        var first = RunLock.Acquire(run);
        var refused = Assert.Throws<NoisetteInputException>(() => RunLock.Acquire(run));
        Assert.Contains("another training is using the run folder", refused.Message);
        Assert.Contains(Path.GetFullPath(run), refused.Message);
        first.Dispose();
        using var second = RunLock.Acquire(run);
        Assert.Equal(Path.Combine(Path.GetFullPath(run), RunLock.FileName), second.Path);
    }

    [Fact]
    public void ALockFileLeftByAnEndedProcessDoesNotLockTheFolder()
    {
        using var dir = new TempFolder();
        File.WriteAllText(dir[RunLock.FileName], "pid 1, since long ago, and a longer line than the new one\n");
        var claim = RunLock.Acquire(dir.Path);
        claim.Dispose();
        // The file now says who held it last, and only that.
        Assert.Matches($"^pid {Environment.ProcessId}, since [0-9T:.+-]+\n$", File.ReadAllText(claim.Path));
    }

    [Fact]
    public void TrainAndResumeAreRefusedWhileAnotherTrainingHoldsTheRunAndMoveNothing()
    {
        using var data = GlyphFolder(4);
        using var outDir = new TempFolder();
        var run = outDir["run"];
        Assert.Equal(0, CliCapture.Run(["train", "--data", data.Path, "--out", run, "--steps", "2", "--checkpoint-every", "2", .. Quick]).Code);
        var before = Names(run);

        using (RunLock.Acquire(run))
        {
            var forced = CliCapture.Run(["train", "--data", data.Path, "--out", run, "--steps", "2", "--force", .. Quick]);
            Assert.Equal(2, forced.Code);
            Assert.Contains("another training is using the run folder", forced.Err);
            var resumed = CliCapture.Run(["resume", run, "--steps", "4"]);
            Assert.Equal(2, resumed.Code);
            Assert.Contains("another training is using the run folder", resumed.Err);
            Assert.Equal(before, Names(run));                                         // --force moved nothing aside
            Assert.Equal(new long[] { 2 }, new RunFolder(run).CheckpointSteps());
        }

        // Released: resume works, and a forced new run moves the old one aside but not the lock file.
        Assert.Equal(0, CliCapture.Run(["resume", run, "--steps", "4"]).Code);
        Assert.Equal(new long[] { 2, 4 }, new RunFolder(run).CheckpointSteps());
        Assert.Equal(0, CliCapture.Run(["train", "--data", data.Path, "--out", run, "--steps", "2", "--checkpoint-every", "2", "--force", .. Quick]).Code);
        var previous = Directory.GetDirectories(run, "previous-*").Single();
        Assert.DoesNotContain(RunLock.FileName, Names(previous));
        Assert.Contains(RunLock.FileName, Names(run));
    }

    [Fact]
    public void AFolderHoldingOnlyALeftoverLockFileCountsAsEmpty()
    {
        using var data = GlyphFolder(4);
        using var outDir = new TempFolder();
        var run = outDir["run"];
        Directory.CreateDirectory(run);
        File.WriteAllText(Path.Combine(run, RunLock.FileName), "");
        Assert.Equal(0, CliCapture.Run(["train", "--data", data.Path, "--out", run, "--steps", "2", "--checkpoint-every", "2", .. Quick]).Code);
        Assert.Empty(Directory.GetDirectories(run, "previous-*"));
    }

    [Fact]
    public void TheTrainerHoldsTheClaimUntilItIsDisposed()
    {
        using var data = GlyphFolder(4);
        using var outDir = new TempFolder();
        var request = new Noisette.Runs.TrainingRequest
        {
            DataPath = data.Path, OutPath = outDir["run"], Preset = "tiny", Steps = 1, Batch = 4, Threads = 1, CheckpointEvery = 1,
        };
        var prepared = Noisette.Pipelines.TrainingPipeline.Start(request, _ => { }, _ => { });
        using (var trainer = prepared.Trainer)
        {
            Assert.Throws<NoisetteInputException>(() => RunLock.Acquire(outDir["run"]));
            trainer.Train(CancellationToken.None);
            Assert.Throws<NoisetteInputException>(() => RunLock.Acquire(outDir["run"]));
        }
        using var after = RunLock.Acquire(outDir["run"]);
    }
}
