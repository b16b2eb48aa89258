namespace Noisette;

public static class Version
{
    public const string Current = "0.1.0";
}
