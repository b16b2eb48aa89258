namespace Noisette.Studio;

/// <summary>Lets the studio run on its own (`dotnet run --project src/Noisette.Studio -- --workspace DIR`); the usual way in is `noisette studio`.</summary>
public static class Program
{
    public static int Main(string[] args) => StudioHost.Run(StudioOptions.Parse(args));
}
