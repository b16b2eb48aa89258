namespace Noisette.Studio;

/// <summary>Lets the studio run on its own (`dotnet run --project src/Noisette.Studio -- --workspace DIR`); the usual way in is `noisette studio`.</summary>
public sealed class Program
{
    private Program() { }

    public static int Main(string[] args)
    {
        try
        {
            return StudioHost.Run(StudioOptions.Parse(args));
        }
        catch (NoisetteInputException e)
        {
            Console.Error.WriteLine("error: " + e.Message);
            return 2;
        }
    }
}
