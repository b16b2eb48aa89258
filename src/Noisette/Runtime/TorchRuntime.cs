using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace Noisette.Runtime;

/// <summary>Process-wide libtorch settings: device choice, threads and seeds.</summary>
public static class TorchRuntime
{
    private static bool interopSet;
    private static volatile bool threadsConfigured;

    /// <summary>
    /// The default threads (one per physical core, one inter-op thread) unless this process has already chosen its
    /// threads: what a command that was given no --threads does. It leaves an embedding program's own choice (and
    /// a test run's) as it is, since changing libtorch's thread count while another computation runs changes how
    /// that computation's sums are split, and so its last bits.
    /// </summary>
    public static void EnsureThreads()
    {
        if (!threadsConfigured) ConfigureThreads(0);
    }
    private static int processPrepared;

    [DllImport("libc", EntryPoint = "mallopt")]
    private static extern int Mallopt(int param, int value);

    [DllImport("libc", EntryPoint = "setenv")]
    private static extern int SetEnv([MarshalAs(UnmanagedType.LPUTF8Str)] string name, [MarshalAs(UnmanagedType.LPUTF8Str)] string value, int overwrite);

    [DllImport("libc", EntryPoint = "getenv")]
    private static extern IntPtr GetEnv([MarshalAs(UnmanagedType.LPUTF8Str)] string name);

    /// <summary>
    /// Process-wide settings for libtorch on Linux; call it first thing, before the first tensor (the CLI and the
    /// studio do). Two of them:
    /// <list type="bullet">
    /// <item>How OpenMP threads wait for work between operations, from <paramref name="workload"/> (unless the user
    /// set <c>OMP_WAIT_POLICY</c> or <c>GOMP_SPINCOUNT</c>). For <see cref="Workload.Shared"/> they sleep
    /// (<c>OMP_WAIT_POLICY=PASSIVE</c>): spinning threads of two computations at once (a training and a generation in
    /// the studio) take each other's cores, and together ran at half the machine's speed, or less. For
    /// <see cref="Workload.Single"/> they keep libgomp's default, a short spin before sleeping: a step of many small
    /// operations then does not pay a wake-up per operation (on an AMD EPYC with avx512_bf16, `letters32` trained
    /// 1.35× as fast as with sleeping threads). libtorch's OpenMP library reads this when it loads, so it only
    /// takes effect before the first tensor.</item>
    /// <item>glibc keeps freed tensor memory instead of returning it to the kernel after every step: tensors above
    /// the default mmap threshold are otherwise mapped and unmapped each time, costing page faults and system time
    /// that can dwarf the arithmetic. Large blocks stay in the heap (mmap threshold 32 MiB) and the heap is not
    /// trimmed below 2 GiB.</item>
    /// </list>
    /// </summary>
    public static void PrepareProcess(Workload workload = Workload.Shared)
    {
        if (Interlocked.Exchange(ref processPrepared, 1) == 1 || !OperatingSystem.IsLinux()) return;
        try
        {
            if (WaitPolicyFor(workload, GetEnv("OMP_WAIT_POLICY") != IntPtr.Zero || GetEnv("GOMP_SPINCOUNT") != IntPtr.Zero) is { } policy)
                SetEnv("OMP_WAIT_POLICY", policy, 0);
            const int M_TRIM_THRESHOLD = -1, M_MMAP_THRESHOLD = -3;
            Mallopt(M_MMAP_THRESHOLD, 32 << 20);
            Mallopt(M_TRIM_THRESHOLD, int.MaxValue);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // Not glibc (e.g. musl): nothing to tune.
        }
    }

    /// <summary>
    /// The <c>OMP_WAIT_POLICY</c> to set for a workload, or null to leave libgomp's default (a short spin, then
    /// sleep); never anything when the user chose a policy or a spin count.
    /// </summary>
    public static string? WaitPolicyFor(Workload workload, bool userChose) =>
        userChose || workload == Workload.Single ? null : "PASSIVE";

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
        throw new NoisetteInputException($"the device must be cpu, cuda or cuda:N, got '{name}'");
    }

    /// <summary>Sets intra-op threads (0 = one per physical core) and a single inter-op thread.</summary>
    public static int ConfigureThreads(int threads)
    {
        PrepareProcess();
        int n = CheckThreads(threads);
        set_num_threads(n);
        threadsConfigured = true;
        if (!interopSet)
        {
            try { set_num_interop_threads(1); } catch (Exception) { /* already started: libtorch allows setting it only once */ }
            interopSet = true;
        }
        return n;
    }

    /// <summary>
    /// The thread count <paramref name="threads"/> asks for on this machine (0 = one per physical core); a negative
    /// count or more threads than logical cores is an input error. Touches nothing, so it can run before any work starts.
    /// </summary>
    public static int CheckThreads(int threads)
    {
        int cores = Environment.ProcessorCount;
        if (threads < 0) throw new NoisetteInputException($"the number of threads must not be negative (0 means one per core), got {threads}");
        if (threads > cores)
            throw new NoisetteInputException($"{threads} threads is more than the {cores} cores of this machine; more threads than cores only slows training down");
        return threads == 0 ? DefaultThreads : threads;
    }

    /// <summary>
    /// The default thread count: one per physical core this process may use. With simultaneous multithreading two
    /// logical cores share one core's arithmetic units, and a second libtorch thread on the same core only adds
    /// contention, so the logical count this process may use is divided by the threads per core.
    /// </summary>
    public static int DefaultThreads => Math.Max(1, Environment.ProcessorCount / threadsPerCore.Value);

    /// <summary>Read from /proc/cpuinfo once: the CPU does not change while the process runs.</summary>
    private static readonly Lazy<int> threadsPerCore = new(() => ThreadsPerCore(ReadCpuInfo()));

    private static string ReadCpuInfo()
    {
        try { return OperatingSystem.IsLinux() ? File.ReadAllText("/proc/cpuinfo") : ""; }
        catch (IOException) { return ""; }
        catch (UnauthorizedAccessException) { return ""; }
    }

    /// <summary>
    /// Logical processors per physical core, from the text of /proc/cpuinfo: the processors counted against the
    /// distinct (physical id, core id) pairs. 1 when the file does not say (no ids, another OS).
    /// </summary>
    public static int ThreadsPerCore(string cpuInfo)
    {
        int processors = 0;
        var cores = new HashSet<(string, string)>();
        string? package = null, core = null;
        void EndBlock()
        {
            if (core is not null) cores.Add((package ?? "0", core));
            package = core = null;
        }
        foreach (var raw in cpuInfo.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0) { EndBlock(); continue; }
            int colon = line.IndexOf(':');
            if (colon < 0) continue;
            var key = line[..colon].Trim();
            var value = line[(colon + 1)..].Trim();
            if (key == "processor") processors++;
            else if (key == "physical id") package = value;
            else if (key == "core id") core = value;
        }
        EndBlock();
        if (processors == 0 || cores.Count == 0 || cores.Count >= processors) return 1;
        return Math.Max(1, processors / cores.Count);
    }
}

/// <summary>What a process will compute, for <see cref="TorchRuntime.PrepareProcess"/>.</summary>
public enum Workload
{
    /// <summary>Several computations at once may share the cores (the studio, a test run, a program embedding Noisette).</summary>
    Shared,
    /// <summary>One computation at a time: a command-line training, generation or benchmark.</summary>
    Single,
}
