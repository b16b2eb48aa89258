using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Noisette.IO;

/// <summary>The one JSON style of every file Noisette writes: snake_case names, enums as snake_case strings, indented.</summary>
public static class Json
{
    public static JsonSerializerOptions Options { get; } = Create(indented: true);
    public static JsonSerializerOptions Compact { get; } = Create(indented: false);

    private static JsonSerializerOptions Create(bool indented)
    {
        var o = new JsonSerializerOptions
        {
            PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
            WriteIndented = indented,
            ReadCommentHandling = JsonCommentHandling.Skip,
            AllowTrailingCommas = true,
            UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
            NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        };
        o.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower));
        return o;
    }

    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, Options);

    public static T Deserialize<T>(string json, string what)
    {
        try
        {
            return JsonSerializer.Deserialize<T>(json, Options) ?? throw new NoisetteInputException($"{what} is empty");
        }
        catch (JsonException e)
        {
            throw new NoisetteInputException($"{what} is not valid: {e.Message}", e);
        }
    }

    public static T Read<T>(string path)
    {
        if (!File.Exists(path)) throw new NoisetteInputException($"{path} does not exist");
        return Deserialize<T>(File.ReadAllText(path), path);
    }

    /// <summary>
    /// Reads a file as <typeparamref name="T"/> after <paramref name="upgrade"/> has rewritten its JSON tree: how a file
    /// written by an earlier version is brought to today's shape before the strict deserialiser sees it.
    /// </summary>
    public static T Read<T>(string path, Action<JsonNode> upgrade)
    {
        if (!File.Exists(path)) throw new NoisetteInputException($"{path} does not exist");
        try
        {
            var node = JsonNode.Parse(File.ReadAllText(path), null, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            if (node is null) throw new NoisetteInputException($"{path} is empty");
            upgrade(node);
            return node.Deserialize<T>(Options) ?? throw new NoisetteInputException($"{path} is empty");
        }
        catch (JsonException e)
        {
            throw new NoisetteInputException($"{path} is not valid: {e.Message}", e);
        }
    }

    public static void Write<T>(string path, T value) => AtomicFile.WriteAllText(path, Serialize(value) + "\n");
}
