namespace Noisette.Studio;

/// <summary>A request the studio refuses, with the HTTP status, a sentence for the person, and the form field at fault if any.</summary>
public sealed class StudioError : Exception
{
    public int Status { get; }
    public string? Field { get; }

    public StudioError(int status, string message, string? field = null) : base(message)
    {
        Status = status;
        Field = field;
    }

    public static StudioError BadField(string field, string message) => new(StatusCodes.Status400BadRequest, $"{field}: {message}", field);
    public static StudioError NotFound(string message) => new(StatusCodes.Status404NotFound, message);
    public static StudioError Conflict(string message) => new(StatusCodes.Status409Conflict, message);
}
