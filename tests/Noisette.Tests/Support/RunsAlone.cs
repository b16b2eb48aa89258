namespace Noisette.Tests;

/// <summary>
/// Tests that run alone, after the parallel ones. libtorch's thread count is process-wide, and other tests set
/// their own: results that must be bit-identical between two trainings (resume equivalence), or that compare two
/// trainings closely (the bf16 quality guard), need it to stay put.
/// The studio's browser walk waits on a live training, and on 2 cores the other classes would starve it of CPU.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RunsAlone
{
    public const string Name = "runs alone";
}
