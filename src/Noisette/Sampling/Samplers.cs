namespace Noisette.Sampling;

/// <summary>Samplers by name, for configuration files and command lines.</summary>
public static class Samplers
{
    /// <summary>The sampler of <c>noisette sample</c> when none is named.</summary>
    public const string Default = "dpm++";

    public static IReadOnlyList<string> Names { get; } = ["dpm++", "ddim", "euler-a", "ddpm"];

    public static ISampler Get(string name) => name.ToLowerInvariant() switch
    {
        "ddpm" => new DdpmSampler(),
        "ddim" => new DdimSampler(),
        "euler-a" or "euler_a" or "euler-ancestral" => new EulerAncestralSampler(),
        "dpm++" or "dpmpp-2m" or "dpmpp" or "dpm++2m" => new DpmSolverSampler(),
        _ => throw new NoisetteInputException($"unknown sampler '{name}'. Known samplers: {string.Join(", ", Names)} (dpm++ is also called dpmpp-2m, euler-a euler-ancestral)"),
    };
}
