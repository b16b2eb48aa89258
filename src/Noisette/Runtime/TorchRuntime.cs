using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace Noisette.Runtime;

/// <summary>Process-wide libtorch settings: device choice, threads and seeds.</summary>
public static class TorchRuntime
{
    private static bool interopSet;

    /// <summary>Resolves "cpu", "cuda" or "cuda:N"; a GPU that is not there is a clear input error.</summary>
    public static Device ResolveDevice(string name)
    {
        var n = name.Trim().ToLowerInvariant();
        if (n == "cpu") return CPU;
        if (n.StartsWith("cuda", StringComparison.Ordinal))
        {
            if (!cuda.is_available())
                throw new NoisetteInputException(
                    $"--device {name}: no CUDA device is available to this build. Noisette ships with the CPU build of " +
                    "TorchSharp (TorchSharp-cpu); to train on an NVIDIA GPU, replace the TorchSharp-cpu package reference " +
                    "with TorchSharp-cuda-linux (or TorchSharp-cuda-windows) of the same version, as docs/gpu.md explains.");
            return new Device(n);
        }
        throw new NoisetteInputException($"--device must be cpu, cuda or cuda:N, got '{name}'");
    }

    /// <summary>Sets intra-op threads (0 = one per core) and a single inter-op thread.</summary>
    public static int ConfigureThreads(int threads)
    {
        int cores = Environment.ProcessorCount;
        if (threads < 0) throw new NoisetteInputException($"--threads must be positive, got {threads}");
        if (threads > cores)
            throw new NoisetteInputException($"--threads {threads} is more than the {cores} cores of this machine; more threads than cores only slows training down");
        int n = threads == 0 ? cores : threads;
        set_num_threads(n);
        if (!interopSet)
        {
            try { set_num_interop_threads(1); } catch (Exception) { /* already started: libtorch allows setting it only once */ }
            interopSet = true;
        }
        return n;
    }

    /// <summary>Seeds libtorch's global generator (dropout and any unseeded draw) for one step.</summary>
    public static void SeedStep(long runSeed, long step) =>
        random.manual_seed((long)(Training.DataOrder.Mix(runSeed, step) >> 1));
}
