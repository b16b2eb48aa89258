using Noisette.Data;

namespace Noisette.Runs;

/// <summary>
/// What was measured on a data folder that decides a training configuration. The callers gather it (the CLI from its
/// data check, the studio from its cached dataset report), so that <see cref="TrainingConfigResolver"/> reads no file.
/// </summary>
public sealed record DataFacts
{
    /// <summary>Gray when every readable picture is gray, else Rgb.</summary>
    public required ChannelMode Channels { get; init; }
    public required int ReadableImages { get; init; }
    /// <summary>Class names when every readable picture sits in one of two or more subfolders; otherwise null.</summary>
    public string[]? ClassFolders { get; init; }
    /// <summary>Why there are no class subfolders (null when there are).</summary>
    public string? NoClassesReason { get; init; }

    public static DataFacts From(DatasetReport report)
    {
        var paths = report.Images.Select(i => i.RelativePath).ToList();
        return new DataFacts
        {
            Channels = report.ResolvedChannels,
            ReadableImages = report.ReadableCount,
            ClassFolders = ClassLabels.FromSubfolders(paths, ClassMode.Auto)?.Names,
            NoClassesReason = ClassLabels.WhyNoClasses(paths),
        };
    }
}
