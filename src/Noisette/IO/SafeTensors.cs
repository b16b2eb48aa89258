using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace Noisette.IO;

/// <summary>One tensor's entry in a safetensors header: its dtype code ("F32", "BF16"...), shape and byte range in the data section.</summary>
public sealed record SafeTensorInfo(string Name, string DType, long[] Shape, long Begin, long End)
{
    public long ByteLength => End - Begin;
    public long NumberOfElements => Shape.Aggregate(1L, (a, b) => a * b);
    public ScalarType ScalarType => SafeTensors.ScalarTypeOf(DType);
}

/// <summary>A parsed, validated safetensors header: the tensors in header order, the metadata, and where the data section starts.</summary>
public sealed class SafeTensorsHeader
{
    internal SafeTensorsHeader(string path, IReadOnlyList<SafeTensorInfo> tensors, IReadOnlyDictionary<string, string> metadata, long dataStart)
    {
        Path = path;
        Tensors = tensors;
        Metadata = metadata;
        DataStart = dataStart;
    }

    public string Path { get; }
    /// <summary>The tensors in the order the header lists them.</summary>
    public IReadOnlyList<SafeTensorInfo> Tensors { get; }
    /// <summary>The free-form string map under "__metadata__" (empty when absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }
    /// <summary>File offset of the first data byte (8 + header length).</summary>
    public long DataStart { get; }

    public SafeTensorInfo? Find(string name) => Tensors.FirstOrDefault(t => t.Name == name);
}

/// <summary>
/// The tensors of a loaded safetensors file, as CPU tensors in header order, plus its metadata.
/// Owns its tensors: disposing it disposes them (detach one with <see cref="Take"/> to keep it).
/// </summary>
public sealed class SafeTensorsFile : IDisposable
{
    private readonly List<(string Name, Tensor Tensor)> _tensors;
    private readonly Dictionary<string, int> _index;
    private readonly HashSet<string> _taken = new(StringComparer.Ordinal);

    internal SafeTensorsFile(List<(string Name, Tensor Tensor)> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        _tensors = tensors;
        Metadata = metadata;
        _index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < tensors.Count; i++) _index[tensors[i].Name] = i;
    }

    public IReadOnlyList<(string Name, Tensor Tensor)> Tensors => _tensors;
    public IReadOnlyDictionary<string, string> Metadata { get; }
    public IEnumerable<string> Names => _tensors.Select(t => t.Name);
    public int Count => _tensors.Count;

    public bool Contains(string name) => _index.ContainsKey(name);

    public Tensor this[string name] =>
        _index.TryGetValue(name, out var i) ? _tensors[i].Tensor : throw new KeyNotFoundException($"no tensor named '{name}'");

    public bool TryGet(string name, out Tensor tensor)
    {
        if (_index.TryGetValue(name, out var i)) { tensor = _tensors[i].Tensor; return true; }
        tensor = null!;
        return false;
    }

    /// <summary>Returns a tensor that this file will no longer dispose; the caller owns it.</summary>
    public Tensor Take(string name)
    {
        var t = this[name];
        _taken.Add(name);
        return t;
    }

    public void Dispose()
    {
        foreach (var (name, t) in _tensors)
            if (!_taken.Contains(name)) t.Dispose();
        _tensors.Clear();
        _index.Clear();
    }
}

/// <summary>
/// The safetensors format (huggingface/safetensors), byte-compatible with Python's <c>safetensors</c>:
/// an 8-byte little-endian header length N, N bytes of UTF-8 JSON
/// <c>{"__metadata__": {str: str}, name: {"dtype", "shape", "data_offsets": [begin, end]}, ...}</c>
/// padded with spaces so that N is a multiple of 8, then the tensors' row-major little-endian bytes,
/// contiguous, in header order.
/// </summary>
public static class SafeTensors
{
    public const string MetadataKey = "__metadata__";
    /// <summary>The largest header we accept (the reference implementation's limit).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    private static readonly (string Code, ScalarType Type, int Size)[] DTypes =
    {
        ("F64", ScalarType.Float64, 8),
        ("F32", ScalarType.Float32, 4),
        ("F16", ScalarType.Float16, 2),
        ("BF16", ScalarType.BFloat16, 2),
        ("I64", ScalarType.Int64, 8),
        ("I32", ScalarType.Int32, 4),
        ("I16", ScalarType.Int16, 2),
        ("I8", ScalarType.Int8, 1),
        ("U8", ScalarType.Byte, 1),
        ("BOOL", ScalarType.Bool, 1),
    };

    public static IReadOnlyList<string> SupportedDTypes { get; } = DTypes.Select(d => d.Code).ToArray();

    public static ScalarType ScalarTypeOf(string dtype)
    {
        foreach (var d in DTypes) if (d.Code == dtype) return d.Type;
        throw new NoisetteInputException($"unsupported safetensors dtype '{dtype}' (supported: {string.Join(", ", SupportedDTypes)})");
    }

    public static string DTypeOf(ScalarType type)
    {
        foreach (var d in DTypes) if (d.Type == type) return d.Code;
        throw new NoisetteInputException($"cannot store tensors of type {type} in safetensors (supported: {string.Join(", ", SupportedDTypes)})");
    }

    private static int SizeOf(string dtype)
    {
        foreach (var d in DTypes) if (d.Code == dtype) return d.Size;
        throw new InvalidOperationException(dtype);
    }

    // ---------------------------------------------------------------- writing

    /// <summary>
    /// Writes the tensors, in the given order, atomically to <paramref name="path"/>. Tensors may live on any
    /// device and be non-contiguous; their values are written as CPU row-major bytes. Names must be unique.
    /// </summary>
    public static void Save(string path, IReadOnlyList<(string Name, Tensor Tensor)> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        EnsureLittleEndian();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, tensor) in tensors)
        {
            if (string.IsNullOrEmpty(name)) throw new ArgumentException("a tensor name is empty", nameof(tensors));
            if (name == MetadataKey) throw new ArgumentException($"'{MetadataKey}' is reserved and cannot name a tensor", nameof(tensors));
            if (!seen.Add(name)) throw new ArgumentException($"tensor name '{name}' appears twice", nameof(tensors));
            ArgumentNullException.ThrowIfNull(tensor, $"tensor '{name}'");
            DTypeOf(tensor.dtype);
        }

        AtomicFile.Write(path, stream =>
        {
            var header = BuildHeader(tensors, metadata);
            Span<byte> len = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)header.Length);
            stream.Write(len);
            stream.Write(header);
            foreach (var (_, tensor) in tensors)
            {
                using var scope = NewDisposeScope();
                var cpu = tensor.detach().cpu().contiguous();
                WriteData(stream, cpu);
            }
        });
    }

    private static byte[] BuildHeader(IReadOnlyList<(string Name, Tensor Tensor)> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject(MetadataKey);
                foreach (var (k, v) in metadata)
                {
                    ArgumentNullException.ThrowIfNull(v, $"metadata '{k}'");
                    json.WriteString(k, v);
                }
                json.WriteEndObject();
            }
            long offset = 0;
            foreach (var (name, tensor) in tensors)
            {
                var bytes = tensor.NumberOfElements * tensor.ElementSize;
                json.WriteStartObject(name);
                json.WriteString("dtype", DTypeOf(tensor.dtype));
                json.WriteStartArray("shape");
                foreach (var d in tensor.shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + bytes);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += bytes;
            }
            json.WriteEndObject();
        }
        var pad = (int)((8 - buffer.Length % 8) % 8);
        for (var i = 0; i < pad; i++) buffer.WriteByte((byte)' ');
        return buffer.ToArray();
    }

    private const long ChunkBytes = 1 << 30;

    private static void WriteData(Stream stream, Tensor cpuContiguous)
    {
        var total = cpuContiguous.NumberOfElements * cpuContiguous.ElementSize;
        if (total == 0) return;
        if (total <= ChunkBytes) { stream.Write(cpuContiguous.bytes); return; }
        // Span<byte> is int-sized: write huge tensors through 1-D views of at most ChunkBytes each.
        using var flat = cpuContiguous.view(-1);
        var per = ChunkBytes / cpuContiguous.ElementSize;
        for (long start = 0; start < flat.shape[0]; start += per)
        {
            using var part = flat.narrow(0, start, Math.Min(per, flat.shape[0] - start));
            stream.Write(part.bytes);
        }
    }

    // ---------------------------------------------------------------- reading

    /// <summary>Reads and validates the header only (names, dtypes, shapes, offsets, metadata); no tensor data is read.</summary>
    public static SafeTensorsHeader ReadHeader(string path)
    {
        using var stream = OpenRead(path);
        return ReadHeader(stream, path);
    }

    /// <summary>Loads every tensor (or those <paramref name="include"/> accepts) as a CPU tensor, in header order, with the metadata.</summary>
    public static SafeTensorsFile Load(string path, Func<string, bool>? include = null)
    {
        EnsureLittleEndian();
        using var stream = OpenRead(path);
        var header = ReadHeader(stream, path);
        var list = new List<(string, Tensor)>(header.Tensors.Count);
        try
        {
            foreach (var info in header.Tensors)
            {
                if (include is not null && !include(info.Name)) continue;
                var t = empty(info.Shape, info.ScalarType).DetachFromDisposeScope();
                list.Add((info.Name, t));
                stream.Position = header.DataStart + info.Begin;
                ReadData(stream, t, info.ByteLength, path, info.Name);
            }
        }
        catch
        {
            foreach (var (_, t) in list) t.Dispose();
            throw;
        }
        return new SafeTensorsFile(list, header.Metadata);
    }

    /// <summary>
    /// Reads the tensors of a file whose header was read by <see cref="ReadHeader(string)"/> straight into existing
    /// tensors of the same shapes, one at a time: a contiguous CPU destination of the file's dtype receives the bytes
    /// directly, any other goes through one temporary tensor. Entries without a destination are skipped.
    /// </summary>
    public static void ReadInto(string path, SafeTensorsHeader header, IReadOnlyDictionary<string, Tensor> destinations)
    {
        EnsureLittleEndian();
        using var stream = OpenRead(path);
        using var _ = no_grad();
        foreach (var info in header.Tensors)
        {
            if (!destinations.TryGetValue(info.Name, out var target)) continue;
            if (!target.shape.SequenceEqual(info.Shape))
                throw new ArgumentException($"tensor '{info.Name}' has shape [{string.Join(", ", info.Shape)}], its destination [{string.Join(", ", target.shape)}]", nameof(destinations));
            stream.Position = header.DataStart + info.Begin;
            if (target.dtype == info.ScalarType && target.device_type == DeviceType.CPU && target.is_contiguous())
            {
                ReadData(stream, target, info.ByteLength, path, info.Name);
                continue;
            }
            using var temp = empty(info.Shape, info.ScalarType);
            ReadData(stream, temp, info.ByteLength, path, info.Name);
            target.copy_(temp);
        }
    }

    private static FileStream OpenRead(string path)
    {
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        }
        catch (FileNotFoundException) { throw new NoisetteInputException($"{path}: no such file"); }
        catch (DirectoryNotFoundException) { throw new NoisetteInputException($"{path}: no such file"); }
        catch (UnauthorizedAccessException e) { throw new NoisetteInputException($"{path}: cannot open ({e.Message})", e); }
    }

    private static void ReadData(Stream stream, Tensor t, long total, string path, string name)
    {
        if (total == 0) return;
        if (total <= ChunkBytes) { Fill(stream, t.bytes, path, name); return; }
        using var flat = t.view(-1);
        var per = ChunkBytes / t.ElementSize;
        for (long start = 0; start < flat.shape[0]; start += per)
        {
            using var part = flat.narrow(0, start, Math.Min(per, flat.shape[0] - start));
            Fill(stream, part.bytes, path, name);
        }
    }

    private static void Fill(Stream stream, Span<byte> span, string path, string name)
    {
        var got = stream.ReadAtLeast(span, span.Length, throwOnEndOfStream: false);
        if (got < span.Length) throw Bad(path, $"tensor '{name}' is truncated");
    }

    private static NoisetteInputException Bad(string path, string problem, Exception? inner = null)
    {
        var msg = $"{path}: not a valid safetensors file: {problem}";
        return inner is null ? new NoisetteInputException(msg) : new NoisetteInputException(msg, inner);
    }

    private static SafeTensorsHeader ReadHeader(Stream stream, string path)
    {
        var fileLength = stream.Length;
        if (fileLength < 8) throw Bad(path, $"the file is {fileLength} bytes, shorter than the 8-byte header length");
        Span<byte> lenBytes = stackalloc byte[8];
        stream.ReadExactly(lenBytes);
        var n = BinaryPrimitives.ReadUInt64LittleEndian(lenBytes);
        if (n == 0) throw Bad(path, "the header length is 0");
        if (n > MaxHeaderBytes) throw Bad(path, $"the header length {n} is larger than the {MaxHeaderBytes}-byte limit");
        if ((long)n > fileLength - 8) throw Bad(path, $"the header length {n} runs past the end of the {fileLength}-byte file (truncated?)");
        var headerBytes = new byte[n];
        stream.ReadExactly(headerBytes);
        var dataStart = 8 + (long)n;
        var dataLength = fileLength - dataStart;

        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(headerBytes, new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException e)
        {
            throw Bad(path, $"the JSON header is malformed ({e.Message})", e);
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw Bad(path, "the JSON header is not an object");
            var tensors = new List<SafeTensorInfo>();
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var prop in root.EnumerateObject())
            {
                if (!names.Add(prop.Name)) throw Bad(path, $"the header names '{prop.Name}' twice");
                if (prop.Name == MetadataKey)
                {
                    if (prop.Value.ValueKind != JsonValueKind.Object) throw Bad(path, $"'{MetadataKey}' is not an object");
                    foreach (var m in prop.Value.EnumerateObject())
                    {
                        if (m.Value.ValueKind != JsonValueKind.String) throw Bad(path, $"metadata '{m.Name}' is not a string");
                        if (!metadata.TryAdd(m.Name, m.Value.GetString()!)) throw Bad(path, $"metadata '{m.Name}' appears twice");
                    }
                    continue;
                }
                tensors.Add(ParseEntry(path, prop));
            }

            // The data section must be exactly the tensors' bytes, back to back.
            long expected = 0;
            foreach (var t in tensors.OrderBy(t => t.Begin).ThenBy(t => t.End))
            {
                if (t.Begin != expected)
                    throw Bad(path, t.Begin > expected
                        ? $"tensor '{t.Name}' starts at data offset {t.Begin}, leaving a gap after offset {expected}"
                        : $"tensor '{t.Name}' at data offset {t.Begin} overlaps the previous tensor, which ends at {expected}");
                expected = t.End;
            }
            if (expected > dataLength)
                throw Bad(path, $"the tensors need {expected} data bytes but only {dataLength} follow the header (truncated?)");
            if (expected < dataLength)
                throw Bad(path, $"{dataLength - expected} bytes follow the last tensor's data");
            return new SafeTensorsHeader(path, tensors, metadata, dataStart);
        }
    }

    private static SafeTensorInfo ParseEntry(string path, JsonProperty prop)
    {
        var name = prop.Name;
        var v = prop.Value;
        if (v.ValueKind != JsonValueKind.Object) throw Bad(path, $"the entry of tensor '{name}' is not an object");
        string? dtype = null;
        long[]? shape = null;
        long[]? offsets = null;
        foreach (var f in v.EnumerateObject())
        {
            switch (f.Name)
            {
                case "dtype":
                    if (f.Value.ValueKind != JsonValueKind.String) throw Bad(path, $"tensor '{name}': dtype is not a string");
                    dtype = f.Value.GetString()!;
                    break;
                case "shape":
                    shape = ReadLongs(path, name, "shape", f.Value);
                    break;
                case "data_offsets":
                    offsets = ReadLongs(path, name, "data_offsets", f.Value);
                    break;
                default:
                    throw Bad(path, $"tensor '{name}': unknown field '{f.Name}'");
            }
        }
        if (dtype is null) throw Bad(path, $"tensor '{name}' has no dtype");
        if (shape is null) throw Bad(path, $"tensor '{name}' has no shape");
        if (offsets is null) throw Bad(path, $"tensor '{name}' has no data_offsets");
        if (!SupportedDTypes.Contains(dtype)) throw Bad(path, $"tensor '{name}' has unsupported dtype '{dtype}' (supported: {string.Join(", ", SupportedDTypes)})");
        if (offsets.Length != 2) throw Bad(path, $"tensor '{name}': data_offsets must be [begin, end]");
        var (begin, end) = (offsets[0], offsets[1]);
        if (end < begin) throw Bad(path, $"tensor '{name}': data_offsets [{begin}, {end}] end before they begin");
        long bytes = SizeOf(dtype);
        try
        {
            checked { foreach (var d in shape) bytes *= d; }
        }
        catch (OverflowException)
        {
            throw Bad(path, $"tensor '{name}': shape [{string.Join(", ", shape)}] is too large");
        }
        if (bytes != end - begin)
            throw Bad(path, $"tensor '{name}': {dtype} [{string.Join(", ", shape)}] needs {bytes} bytes but data_offsets [{begin}, {end}] hold {end - begin}");
        return new SafeTensorInfo(name, dtype, shape, begin, end);
    }

    private static long[] ReadLongs(string path, string name, string field, JsonElement e)
    {
        if (e.ValueKind != JsonValueKind.Array) throw Bad(path, $"tensor '{name}': {field} is not an array");
        var list = new long[e.GetArrayLength()];
        var i = 0;
        foreach (var x in e.EnumerateArray())
        {
            if (x.ValueKind != JsonValueKind.Number || !x.TryGetInt64(out var value) || value < 0)
                throw Bad(path, $"tensor '{name}': {field} holds {x.GetRawText()}, not a non-negative integer");
            list[i++] = value;
        }
        return list;
    }

    private static void EnsureLittleEndian()
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("safetensors I/O assumes a little-endian machine");
    }
}
