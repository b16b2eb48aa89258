using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Noisette.Studio;

/// <summary>
/// The names of the studio's server events and job phases, defined once. The server publishes with them (each
/// payload record carries its event's name) and the page reads them from <c>/js/names.js</c>, which
/// <see cref="NamesModule"/> writes from these definitions, so a name is never spelt twice.
/// </summary>
public static class StudioEvents
{
    /// <summary>The first frame of every event stream (no payload).</summary>
    public const string Hello = "hello";
    public const string Progress = "progress";
    public const string Queue = "queue";
    public const string Runs = "runs";
    public const string Datasets = "datasets";
    public const string Log = "log";
    public const string Failed = "failed";

    /// <summary>Every event name by its C# name (Progress → "progress").</summary>
    public static IReadOnlyDictionary<string, string> Names { get; } = typeof(StudioEvents)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Where(f => f.IsLiteral && f.FieldType == typeof(string))
        .ToDictionary(f => f.Name, f => (string)f.GetRawConstantValue()!);

    /// <summary>Every job phase by its C# name (Training → "training"), spelt as it is on the wire.</summary>
    public static IReadOnlyDictionary<string, string> Phases { get; } = Enum.GetValues<JobPhase>()
        .ToDictionary(p => p.ToString(), p => JsonSerializer.Serialize(p).Trim('"'));

    /// <summary>The page's module of names: <c>export const Events = {…}; export const Phases = {…};</c></summary>
    public static string NamesModule() =>
        "// Written by the studio from StudioEvents.cs: the server's event and job-phase names, for the page.\n" +
        $"export const Events = Object.freeze({JsonSerializer.Serialize(Names)});\n" +
        $"export const Phases = Object.freeze({JsonSerializer.Serialize(Phases)});\n";
}

/// <summary>A payload the studio sends to its pages; its type fixes the name of the event it travels under.</summary>
public interface IStudioEvent
{
    static abstract string EventName { get; }
}

/// <summary>Where a training job is: waiting, loading its pictures, training, or writing a checkpoint before it stops.</summary>
[JsonConverter(typeof(LowerCaseEnumConverter<JobPhase>))]
public enum JobPhase { Queued, Preparing, Training, Stopping }

/// <summary>Writes and reads an enum as its lower-case name (JobPhase.Training ↔ "training").</summary>
public sealed class LowerCaseEnumConverter<T>() : JsonStringEnumConverter<T>(JsonNamingPolicy.SnakeCaseLower, allowIntegerValues: false)
    where T : struct, Enum;

/// <summary>A dataset was added, made, changed or removed.</summary>
public sealed record DatasetChanged(string Name) : IStudioEvent
{
    public static string EventName => StudioEvents.Datasets;
}

/// <summary>A run was created, started, ended, resumed, stopped or removed.</summary>
public sealed record RunChanged(string Run) : IStudioEvent
{
    public static string EventName => StudioEvents.Runs;
}

/// <summary>A line of a training's log, as it is written.</summary>
public sealed record LogLine(string Run, string Level, string Message) : IStudioEvent
{
    public static string EventName => StudioEvents.Log;
    public static LogLine Info(string run, string message) => new(run, "info", message);
    public static LogLine Warning(string run, string message) => new(run, "warning", message);
}

/// <summary>A training ended with an error.</summary>
public sealed record TrainingFailed(string Run, string Message) : IStudioEvent
{
    public static string EventName => StudioEvents.Failed;
}

/// <summary>A training's progress report: a logging step or a checkpoint (then with its grid and validation loss).</summary>
public sealed record TrainingProgressed(
    string Run, int Step, int Total, bool UntilStopped, double? Loss, double Lr, double ImagesPerSecond, double? EtaSeconds,
    long? CheckpointStep, double? ValidationLoss, string? Hint, string? Grid, string? Message) : IStudioEvent
{
    public static string EventName => StudioEvents.Progress;
}
