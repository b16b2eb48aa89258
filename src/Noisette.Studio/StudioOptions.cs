using System.Globalization;
using System.Security.Cryptography;

namespace Noisette.Studio;

/// <summary>How the studio is launched: which workspace, which port, whether to open a browser. One token per launch.</summary>
public sealed record StudioOptions
{
    /// <summary>The folder holding datasets/, runs/ and trash/; ~/Noisette by default.</summary>
    public string Workspace { get; init; } = DefaultWorkspace;
    /// <summary>Port on 127.0.0.1; 0 picks a free one.</summary>
    public int Port { get; init; } = 7860;
    public bool OpenBrowser { get; init; } = true;
    /// <summary>Largest upload accepted, in bytes (the whole request).</summary>
    public long MaxUploadBytes { get; init; } = 512L << 20;
    /// <summary>Carried by every state-changing request; another web page cannot know it.</summary>
    public string Token { get; init; } = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));

    public static string DefaultWorkspace =>
        Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), "Noisette");

    /// <summary>Parses `--workspace DIR --port N --no-browser` for running the studio project on its own.</summary>
    public static StudioOptions Parse(IReadOnlyList<string> args)
    {
        var o = new StudioOptions();
        for (int i = 0; i < args.Count; i++)
        {
            string Value() => i + 1 < args.Count ? args[++i] : throw new NoisetteInputException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--workspace": o = o with { Workspace = Value() }; break;
                case "--port":
                    var text = Value();
                    if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port > 65535)
                        throw new NoisetteInputException($"--port must be a number from 0 to 65535, got '{text}'");
                    o = o with { Port = port };
                    break;
                case "--no-browser": o = o with { OpenBrowser = false }; break;
                case var host when host.StartsWith("--", StringComparison.Ordinal) && host.Contains('='): break;   // host settings (--environment=...)
                default: throw new NoisetteInputException($"unknown option '{args[i]}'");
            }
        }
        return o;
    }
}
