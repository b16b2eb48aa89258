using Noisette.Studio;

namespace Noisette.Tests.Studio;

/// <summary>The studio's browser paths are judged on real paths: no link, however nested, leads outside the root.</summary>
public sealed class SafePathTests
{
    [Theory]
    [InlineData("esc")]
    [InlineData("self/esc")]
    [InlineData("self/self/self/esc")]
    [InlineData("self/self/out-dir/secret.txt")]
    public void ALinkBehindALinkToItsOwnFolderCannotLeadOutside(string path)
    {
        using var dir = new TempFolder();
        var root = Directory.CreateDirectory(dir["root"]).FullName;
        var outside = Directory.CreateDirectory(dir["outside"]).FullName;
        File.WriteAllText(Path.Combine(outside, "secret.txt"), "secret");
        File.WriteAllText(Path.Combine(root, "a.png"), "inside");
        Directory.CreateSymbolicLink(Path.Combine(root, "self"), ".");
        // Relative targets: read against the link's text ("root/self/self/..") they stay inside; on disk they do not.
        File.CreateSymbolicLink(Path.Combine(root, "esc"), "../outside/secret.txt");
        Directory.CreateSymbolicLink(Path.Combine(root, "out-dir"), "../outside");

        var e = Assert.Throws<StudioError>(() => SafePath.Resolve(root, path, "path"));
        Assert.Equal(400, e.Status);
        Assert.Equal("path", e.Field);
        Assert.Contains("link that leads outside", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("a.png")]
    [InlineData("self/a.png")]
    [InlineData("self/self/a.png")]
    public void PathsAndLinksThatStayInsideResolve(string path)
    {
        using var dir = new TempFolder();
        var root = Directory.CreateDirectory(dir["root"]).FullName;
        File.WriteAllText(Path.Combine(root, "a.png"), "inside");
        Directory.CreateSymbolicLink(Path.Combine(root, "self"), ".");
        Assert.Equal(Path.Combine(root, path), SafePath.Resolve(root, path, "path"));
    }

    [Theory]
    [InlineData("../root2/a.png", "must not contain '..'")]
    [InlineData("/etc/passwd", "not an absolute path")]
    [InlineData("", "is empty")]
    public void TextThatLeavesTheFolderIsRefusedWithItsReason(string path, string reason)
    {
        using var dir = new TempFolder();
        var root = Directory.CreateDirectory(dir["root"]).FullName;
        var e = Assert.Throws<StudioError>(() => SafePath.Resolve(root, path, "path"));
        Assert.Contains(reason, e.Message, StringComparison.Ordinal);
    }
}
