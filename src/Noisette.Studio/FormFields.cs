using System.Globalization;

namespace Noisette.Studio;

/// <summary>Typed reading of submitted form fields; a malformed value is a 400 that names its field.</summary>
public sealed class FormFields(IFormCollection form)
{
    public IFormCollection Form { get; } = form;

    public static async Task<FormFields> ReadAsync(HttpRequest request)
    {
        if (!request.HasFormContentType)
            throw new StudioError(StatusCodes.Status400BadRequest, "the request must be a form (multipart/form-data or application/x-www-form-urlencoded)");
        var cancel = request.HttpContext.RequestAborted;
        try
        {
            if (request.HasFormContentType && request.ContentType?.StartsWith("multipart/", StringComparison.OrdinalIgnoreCase) == true)
                await request.HttpContext.RequestServices.GetRequiredService<UploadSpool>().SpoolAsync(request, cancel);
            return new FormFields(await request.ReadFormAsync(cancel));
        }
        catch (IOException e) when (DatasetUpload.IsDiskFull(e))
        {
            throw new StudioError(StatusCodes.Status507InsufficientStorage,
                "the disk is full: the upload could not be received, and nothing of it was kept. Free some space and try again.");
        }
        catch (IOException e) when (!cancel.IsCancellationRequested && e is not BadHttpRequestException)
        {
            throw new StudioError(StatusCodes.Status400BadRequest, "the upload could not be read (" + e.Message.Trim() + "); nothing of it was kept");
        }
        catch (InvalidDataException e) when (e.Message.Contains("body length limit", StringComparison.OrdinalIgnoreCase)
                                             || e.Message.Contains("value length limit", StringComparison.OrdinalIgnoreCase))
        {
            throw new StudioError(StatusCodes.Status413PayloadTooLarge, "the upload is larger than the studio accepts: " + e.Message, "files");
        }
        catch (InvalidDataException e)
        {
            throw new StudioError(StatusCodes.Status400BadRequest, "the request is not a well-formed form: " + e.Message);
        }
    }

    public string? Optional(string field)
    {
        var v = Form[field].ToString().Trim();
        return v.Length == 0 ? null : v;
    }

    public string Required(string field) => Optional(field) ?? throw StudioError.BadField(field, "is required");

    public int? OptionalInt(string field, int min, int max)
    {
        var text = Optional(field);
        if (text is null) return null;
        if (!int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v))
            throw StudioError.BadField(field, $"must be a whole number, got '{Clip(text)}'");
        if (v < min || v > max) throw StudioError.BadField(field, $"must be from {min} to {max}, got {v}");
        return v;
    }

    /// <summary>A whole number whose range the library checks (a training setting: see TrainingConfigResolver).</summary>
    public int? OptionalInt(string field) => OptionalInt(field, int.MinValue, int.MaxValue);

    public int Int(string field, int min, int max, int fallback) => OptionalInt(field, min, max) ?? fallback;

    public long? OptionalLong(string field, long min, long max)
    {
        var text = Optional(field);
        if (text is null) return null;
        if (!long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v))
            throw StudioError.BadField(field, $"must be a whole number, got '{Clip(text)}'");
        if (v < min || v > max) throw StudioError.BadField(field, $"must be from {min} to {max}, got {v}");
        return v;
    }

    /// <summary>A number whose range the library checks (a training setting: see TrainingConfigResolver).</summary>
    public double? OptionalDouble(string field) => OptionalDouble(field, double.MinValue, double.MaxValue, minInclusive: true);

    public double? OptionalDouble(string field, double min, double max, bool minInclusive = false)
    {
        var text = Optional(field);
        if (text is null) return null;
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || !double.IsFinite(v))
            throw StudioError.BadField(field, $"must be a number, got '{Clip(text)}'");
        if (v < min || (!minInclusive && v == min) || v > max)
            throw StudioError.BadField(field, $"must be {(minInclusive ? "from" : "above")} {min.ToString(CultureInfo.InvariantCulture)} {(minInclusive ? "to" : "and at most")} {max.ToString(CultureInfo.InvariantCulture)}, got {text}");
        return v;
    }

    public bool Flag(string field)
    {
        var text = Optional(field);
        return text switch
        {
            null or "false" or "off" or "0" => false,
            "true" or "on" or "1" => true,
            _ => throw StudioError.BadField(field, $"must be on or off, got '{Clip(text)}'"),
        };
    }

    public string Choice(string field, IReadOnlyCollection<string> allowed, string? fallback = null)
    {
        var text = Optional(field) ?? fallback ?? throw StudioError.BadField(field, "is required");
        var match = allowed.FirstOrDefault(a => string.Equals(a, text, StringComparison.OrdinalIgnoreCase));
        return match ?? throw StudioError.BadField(field, $"must be one of {string.Join(", ", allowed)}, got '{Clip(text)}'");
    }

    private static string Clip(string s) => s.Length > 40 ? s[..40] + "…" : s;
}
