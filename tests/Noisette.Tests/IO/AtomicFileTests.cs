using Noisette.IO;
using Noisette.Runs;

namespace Noisette.Tests.IO;

/// <summary>Folder replacement that never loses the old copy, and the clean-up of what a crash leaves.</summary>
public class AtomicFileTests
{
    private static string MakeFolder(string path, string content)
    {
        Directory.CreateDirectory(path);
        File.WriteAllText(Path.Combine(path, "file.txt"), content);
        return path;
    }

    private static string[] Names(string dir) => Directory.EnumerateFileSystemEntries(dir).Select(p => Path.GetFileName(p)).Order(StringComparer.Ordinal).ToArray();

    [Fact]
    public void ReplacingAFolderLeavesOnlyTheNewOne()
    {
        using var dir = new TempFolder();
        var final = MakeFolder(dir["step-00000004"], "old");
        var temp = MakeFolder(AtomicFile.LeftoverPath(final, AtomicFile.TempSuffix), "new");
        AtomicFile.PublishDirectory(temp, final);
        Assert.Equal("new", File.ReadAllText(Path.Combine(final, "file.txt")));
        Assert.Equal(new[] { "step-00000004" }, Names(dir.Path));
    }

    [Fact]
    public void AFailedReplacementKeepsTheOldFolder()
    {
        using var dir = new TempFolder();
        var final = MakeFolder(dir["step-00000004"], "old");
        // The new folder is gone (say, removed under us): the rename in fails after the old one was set aside.
        var missing = AtomicFile.LeftoverPath(final, AtomicFile.TempSuffix);
        Assert.ThrowsAny<IOException>(() => AtomicFile.PublishDirectory(missing, final));
        Assert.Equal("old", File.ReadAllText(Path.Combine(final, "file.txt")));
        Assert.Equal(new[] { "step-00000004" }, Names(dir.Path));
    }

    [Fact]
    public void LeftoverNamesAreRecognised()
    {
        var temp = Path.GetFileName(AtomicFile.LeftoverPath("/x/step-00000012", AtomicFile.TempSuffix));
        var aside = Path.GetFileName(AtomicFile.LeftoverPath("/x/step-00000012", AtomicFile.AsideSuffix));
        Assert.Equal(("step-00000012", false), AtomicFile.ParseLeftover(temp));
        Assert.Equal(("step-00000012", true), AtomicFile.ParseLeftover(aside));
        Assert.Null(AtomicFile.ParseLeftover("step-00000012"));
        Assert.Null(AtomicFile.ParseLeftover(".step-00000012.abc.partial"));      // not a name our code makes
        Assert.Null(AtomicFile.ParseLeftover(".hidden"));
    }

    [Fact]
    public void RecoveryRestoresAnOrphanedCopyAndDeletesTheRest()
    {
        using var dir = new TempFolder();
        // step 2: the crash came between the two renames: only the set-aside copy and the new temp folder exist.
        MakeFolder(AtomicFile.LeftoverPath(dir["step-00000002"], AtomicFile.AsideSuffix), "old 2");
        MakeFolder(AtomicFile.LeftoverPath(dir["step-00000002"], AtomicFile.TempSuffix), "new 2");
        // step 4: the crash came after the new one was in, before the old copy was deleted.
        MakeFolder(dir["step-00000004"], "new 4");
        MakeFolder(AtomicFile.LeftoverPath(dir["step-00000004"], AtomicFile.AsideSuffix), "old 4");
        // step 6: a write cut short.
        MakeFolder(AtomicFile.LeftoverPath(dir["step-00000006"], AtomicFile.TempSuffix), "half");
        // Not ours: left alone.
        MakeFolder(dir[".mine"], "user");
        MakeFolder(AtomicFile.LeftoverPath(dir["notes"], AtomicFile.TempSuffix), "other");

        var reports = new List<(string, bool)>();
        AtomicFile.RecoverDirectories(dir.Path, RunFolder.IsStepName, (m, restored) => reports.Add((m, restored)));

        Assert.Equal("old 2", File.ReadAllText(Path.Combine(dir["step-00000002"], "file.txt")));
        Assert.Equal("new 4", File.ReadAllText(Path.Combine(dir["step-00000004"], "file.txt")));
        var left = Names(dir.Path);
        Assert.Equal(4, left.Length);
        Assert.Contains(".mine", left);
        Assert.Single(left, n => n.StartsWith(".notes.", StringComparison.Ordinal));
        Assert.Equal(new[] { "step-00000002", "step-00000004" }, left.Where(n => n.StartsWith("step-", StringComparison.Ordinal)));
        Assert.Equal(4, reports.Count);
        Assert.Single(reports, r => r.Item2 && r.Item1.Contains("step-00000002"));
    }
}
