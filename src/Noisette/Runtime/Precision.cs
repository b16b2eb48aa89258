using TorchSharp;
using static TorchSharp.torch;

namespace Noisette.Runtime;

/// <summary>
/// The floating-point type of the forward and backward passes. Master weights, optimizer state and the EMA are
/// float32 whatever the choice, and so are checkpoints.
/// </summary>
public enum Precision
{
    /// <summary>bf16 where the hardware computes it natively (CPUs with AVX-512 BF16 or AMX, recent GPUs), else fp32.</summary>
    Auto,
    Fp32,
    Bf16,
    /// <summary>float16 with dynamic loss scaling: for GPUs only.</summary>
    Fp16,
}

/// <summary>Which precision runs where: resolving <see cref="Precision.Auto"/>, and refusing what cannot work.</summary>
public static class PrecisionSupport
{
    private static readonly Lazy<bool> cpuBf16 = new(DetectCpuBf16);

    /// <summary>True when this CPU has native bf16 arithmetic (the avx512_bf16 or amx_bf16 flag of /proc/cpuinfo).</summary>
    public static bool CpuHasBf16 => cpuBf16.Value;

    /// <summary>True when the CPU flags of a /proc/cpuinfo text include avx512_bf16 or amx_bf16.</summary>
    public static bool FlagsHaveBf16(string cpuinfo)
    {
        foreach (var line in cpuinfo.Split('\n'))
        {
            if (!line.StartsWith("flags", StringComparison.Ordinal)) continue;
            int colon = line.IndexOf(':');
            if (colon < 0) continue;
            var flags = line[(colon + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (flags.Contains("avx512_bf16") || flags.Contains("amx_bf16")) return true;
        }
        return false;
    }

    private static bool DetectCpuBf16()
    {
        try
        {
            return OperatingSystem.IsLinux() && File.Exists("/proc/cpuinfo") && FlagsHaveBf16(File.ReadAllText("/proc/cpuinfo"));
        }
        catch (IOException) { return false; }
        catch (UnauthorizedAccessException) { return false; }
    }

    /// <summary>
    /// The concrete precision for a device: <see cref="Precision.Auto"/> becomes bf16 or fp32; fp16 on a CPU is a
    /// <see cref="NoisetteInputException"/>; bf16 on hardware without it works, with a warning.
    /// </summary>
    public static Precision Resolve(Precision requested, Device device, Action<string>? warn = null)
    {
        bool gpu = device.type == DeviceType.CUDA;
        return Resolve(requested, gpu, gpu ? GpuHasBf16(device) : CpuHasBf16, warn);
    }

    /// <summary>The same decision for a device described by whether it is a GPU and whether it has native bf16.</summary>
    public static Precision Resolve(Precision requested, bool gpu, bool nativeBf16, Action<string>? warn = null)
    {
        switch (requested)
        {
            case Precision.Auto:
                return nativeBf16 ? Precision.Bf16 : Precision.Fp32;
            case Precision.Fp16 when !gpu:
                throw new NoisetteInputException(
                    "--precision fp16 is for GPUs: CPUs have no fast float16 arithmetic, and fp16's narrow range needs loss " +
                    "scaling. On a CPU use bf16 (fast where the CPU has AVX-512 BF16 or AMX) or fp32; --precision auto picks for you");
            case Precision.Bf16 when !nativeBf16:
                warn?.Invoke(gpu
                    ? "--precision bf16: this GPU has no native bf16 arithmetic; training works but is slower than fp32"
                    : "--precision bf16: this CPU has no native bf16 instructions (avx512_bf16 or amx_bf16); training works, " +
                      "emulated and slower than fp32. --precision auto picks fp32 here");
                return Precision.Bf16;
            default:
                return requested;
        }
    }

    /// <summary>
    /// GPUs from compute capability 8.0 (Ampere) on compute bf16 natively. TorchSharp 0.107 does not expose the
    /// compute capability, so every GPU counts as bf16-capable; on an older card bf16 runs emulated, and
    /// --precision fp16 or fp32 is the faster choice there (docs/gpu.md).
    /// </summary>
    private static bool GpuHasBf16(Device device) => device.type == DeviceType.CUDA;

    /// <summary>The tensor type of a resolved precision.</summary>
    public static ScalarType ScalarTypeOf(Precision precision) => precision switch
    {
        Precision.Fp32 => ScalarType.Float32,
        Precision.Bf16 => ScalarType.BFloat16,
        Precision.Fp16 => ScalarType.Float16,
        _ => throw new ArgumentException("resolve the precision first", nameof(precision)),
    };

    /// <summary>Parses a command-line value: fp32, bf16, fp16 or auto.</summary>
    public static Precision Parse(string value) => value.Trim().ToLowerInvariant() switch
    {
        "auto" => Precision.Auto,
        "fp32" or "float32" => Precision.Fp32,
        "bf16" or "bfloat16" => Precision.Bf16,
        "fp16" or "float16" or "half" => Precision.Fp16,
        _ => throw new NoisetteInputException($"the precision must be fp32, bf16, fp16 or auto, got '{value}'"),
    };

    /// <summary>The name used on the command line and in config.json.</summary>
    public static string Name(Precision precision) => precision.ToString().ToLowerInvariant();
}
