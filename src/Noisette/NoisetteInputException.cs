namespace Noisette;

/// <summary>
/// A problem with what the user gave us (a missing folder, an unknown preset, a damaged checkpoint...).
/// Faces report its message as it is and exit with code 2; every other exception is an internal error.
/// </summary>
public sealed class NoisetteInputException : Exception
{
    public NoisetteInputException(string message) : base(message) { }
    public NoisetteInputException(string message, Exception inner) : base(message, inner) { }
}
