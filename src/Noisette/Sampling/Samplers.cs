namespace Noisette.Sampling;

/// <summary>Samplers by name, for configuration files and command lines.</summary>
public static class Samplers
{
    /// <summary>
    /// The sampler of <c>noisette sample</c>, <c>edit</c>, the studio's Generate page and the checkpoint grids when
    /// none is named: Euler ancestral at 20 steps, the best of the samplers at 20 network calls on the letters
    /// benchmark (docs/quality.md).
    /// </summary>
    public const string Default = "euler-a";

    public static IReadOnlyList<string> Names { get; } = ["euler-a", "dpm++", "ddim", "ddpm"];

    public static ISampler Get(string name) => name.ToLowerInvariant() switch
    {
        "ddpm" => new DdpmSampler(),
        "ddim" => new DdimSampler(),
        "euler-a" or "euler_a" or "euler-ancestral" => new EulerAncestralSampler(),
        "dpm++" or "dpmpp-2m" or "dpmpp" or "dpm++2m" => new DpmSolverSampler(),
        _ => throw new NoisetteInputException($"unknown sampler '{name}'. Known samplers: {string.Join(", ", Names)} (dpm++ is also called dpmpp-2m, euler-a euler-ancestral)"),
    };
}
