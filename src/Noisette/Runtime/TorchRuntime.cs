using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace Noisette.Runtime;

/// <summary>Process-wide libtorch settings: device choice, threads and seeds.</summary>
public static class TorchRuntime
{
    private static bool interopSet;
    private static int allocatorTuned;

    [DllImport("libc", EntryPoint = "mallopt")]
    private static extern int Mallopt(int param, int value);

    /// <summary>
    /// On Linux, stops glibc from returning freed tensor memory to the kernel after every step: tensors above the
    /// default mmap threshold are otherwise mapped and unmapped each time, costing page faults and system time that
    /// can dwarf the arithmetic. Large blocks stay in the heap (mmap threshold 32 MiB) and the heap is not trimmed
    /// below 2 GiB. Called once, before the first tensor.
    /// </summary>
    public static void TuneAllocator()
    {
        if (Interlocked.Exchange(ref allocatorTuned, 1) == 1 || !OperatingSystem.IsLinux()) return;
        try
        {
            const int M_TRIM_THRESHOLD = -1, M_MMAP_THRESHOLD = -3;
            Mallopt(M_MMAP_THRESHOLD, 32 << 20);
            Mallopt(M_TRIM_THRESHOLD, int.MaxValue);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // Not glibc (e.g. musl): nothing to tune.
        }
    }

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
        TuneAllocator();
        int n = CheckThreads(threads);
        set_num_threads(n);
        if (!interopSet)
        {
            try { set_num_interop_threads(1); } catch (Exception) { /* already started: libtorch allows setting it only once */ }
            interopSet = true;
        }
        return n;
    }

    /// <summary>
    /// The thread count <paramref name="threads"/> asks for on this machine (0 = one per core); a negative count or
    /// more threads than cores is an input error. Touches nothing, so it can run before any work starts.
    /// </summary>
    public static int CheckThreads(int threads)
    {
        int cores = Environment.ProcessorCount;
        if (threads < 0) throw new NoisetteInputException($"--threads must be positive, got {threads}");
        if (threads > cores)
            throw new NoisetteInputException($"--threads {threads} is more than the {cores} cores of this machine; more threads than cores only slows training down");
        return threads == 0 ? cores : threads;
    }

    /// <summary>Seeds libtorch's global generator (dropout and any unseeded draw) for one step.</summary>
    public static void SeedStep(long runSeed, long step) =>
        random.manual_seed((long)(Training.DataOrder.Mix(runSeed, step) >> 1));
}
