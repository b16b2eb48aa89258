namespace Noisette.Sampling;

/// <summary>Samplers by name, for configuration files and command lines.</summary>
public static class Samplers
{
    public static IReadOnlyList<string> Names { get; } = ["ddpm", "ddim"];

    public static ISampler Get(string name) => name.ToLowerInvariant() switch
    {
        "ddpm" => new DdpmSampler(),
        "ddim" => new DdimSampler(),
        _ => throw new NoisetteInputException($"unknown sampler '{name}'. Known samplers: {string.Join(", ", Names)}"),
    };
}
