using System.Runtime.CompilerServices;

namespace Noisette.Tests;

/// <summary>The tests run in one process as the CLI does: libtorch's process settings are made before the first tensor.</summary>
internal static class ProcessSetup
{
    [ModuleInitializer]
    internal static void Prepare() => Noisette.Runtime.TorchRuntime.PrepareProcess();
}
