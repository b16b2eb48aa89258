using Noisette.Runs;
using Noisette.Training;

namespace Noisette.Tests;

/// <summary>A run trained for two steps of the tiny preset: a real checkpoint for pipeline and CLI tests.</summary>
public sealed class TinyRunFixture : IDisposable
{
    private readonly TempFolder dir = new();
    public string Run => dir["run"];

    public TinyRunFixture()
    {
        using var t = Trainer.Start(TestData.TinyConfig(2, 2), new RunFolder(Run), TestData.Bars(8), TestData.Info());
        t.Train(CancellationToken.None);
    }

    public void Dispose() => dir.Dispose();
}
