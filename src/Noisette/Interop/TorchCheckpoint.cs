using System.IO.Compression;
using System.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace Noisette.Interop;

/// <summary>One tensor of a PyTorch checkpoint as its pickle describes it, before any data is read.</summary>
public sealed record TorchTensorInfo(string Name, ScalarType DType, long[] Shape, long[] Stride, long StorageOffset, string StorageKey)
{
    public long NumberOfElements => Shape.Aggregate(1L, (a, b) => a * b);
}

/// <summary>
/// Reads PyTorch checkpoints (<c>torch.save</c>'s zip format: <c>ARCHIVE/data.pkl</c>, <c>ARCHIVE/data/KEY</c> storages,
/// <c>ARCHIVE/version</c>, optional <c>ARCHIVE/byteorder</c>) safely: the pickle goes through a restricted
/// unpickler that understands only state dicts and refuses every other global by name, so nothing in the file
/// is ever executed. Storages are streamed from the archive straight into tensor memory, each read once.
/// </summary>
public static class TorchCheckpoint
{
    /// <summary>Keys under which training scripts commonly nest the state dict, tried in this order.</summary>
    public static readonly IReadOnlyList<string> NestedStateDictKeys = ["state_dict", "model", "model_state_dict", "module", "ema", "net"];

    /// <summary>
    /// Loads the state dict of a checkpoint: its tensors in file order as CPU tensors, owned by the caller.
    /// A dict of tensors at the top level is used as it is; otherwise the dict of tensors under
    /// <paramref name="key"/> (or, when null, the first of <see cref="NestedStateDictKeys"/> that holds one).
    /// </summary>
    /// <param name="include">When given, only the tensors whose names it accepts are read (the others' data is never touched).</param>
    public static IReadOnlyList<(string Name, Tensor Tensor)> LoadStateDict(string path, string? key = null, Func<string, bool>? include = null)
    {
        using var archive = OpenArchive(path);
        var (prefix, refs) = ReadPickle(archive, path, key);
        if (include is not null) refs = refs.Where(r => include(r.Name)).ToList();
        return Materialize(archive, path, prefix, refs);
    }

    /// <summary>Names, dtypes and shapes of a checkpoint's state dict, read from its pickle only (no tensor data).</summary>
    public static IReadOnlyList<TorchTensorInfo> Inspect(string path, string? key = null)
    {
        using var archive = OpenArchive(path);
        var (_, refs) = ReadPickle(archive, path, key);
        return refs.Select(r => new TorchTensorInfo(r.Name, r.Tensor.Storage.DType, r.Tensor.Shape, r.Tensor.Stride, r.Tensor.StorageOffset, r.Tensor.Storage.Key)).ToList();
    }

    private static NoisetteInputException Bad(string path, string problem, Exception? inner = null)
    {
        var msg = $"{path}: {problem}";
        return inner is null ? new NoisetteInputException(msg) : new NoisetteInputException(msg, inner);
    }

    private static ZipArchive OpenArchive(string path)
    {
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        }
        catch (FileNotFoundException) { throw Bad(path, "no such file"); }
        catch (DirectoryNotFoundException) { throw Bad(path, "no such file"); }
        catch (UnauthorizedAccessException e) { throw Bad(path, $"cannot open ({e.Message})", e); }

        try
        {
            Span<byte> head = stackalloc byte[4];
            var n = stream.ReadAtLeast(head, 4, throwOnEndOfStream: false);
            stream.Position = 0;
            if (n >= 2 && head[0] == 0x80 && head[1] <= 5)
                throw Bad(path, "this is PyTorch's legacy (pre-1.6) checkpoint format, which is not supported; re-save it in Python with torch.save(torch.load(f), g)");
            if (n < 4 || head[0] != (byte)'P' || head[1] != (byte)'K')
                throw Bad(path, "not a PyTorch checkpoint (not a zip archive)");
            return new ZipArchive(stream, ZipArchiveMode.Read, leaveOpen: false);
        }
        catch (InvalidDataException e)
        {
            stream.Dispose();
            throw Bad(path, $"not a readable PyTorch checkpoint: the zip archive is damaged or truncated ({e.Message})", e);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    private static (string Prefix, List<(string Name, TensorRef Tensor)> Refs) ReadPickle(ZipArchive archive, string path, string? key)
    {
        var pickles = archive.Entries.Where(e => e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal)
                                                && e.FullName.IndexOf('/') == e.FullName.Length - "/data.pkl".Length).ToList();
        if (pickles.Count == 0) throw Bad(path, "not a PyTorch checkpoint (the zip archive has no ARCHIVE/data.pkl)");
        if (pickles.Count > 1) throw Bad(path, $"not a PyTorch checkpoint (the zip archive has {pickles.Count} data.pkl records)");
        var prefix = pickles[0].FullName[..^"/data.pkl".Length];

        var byteOrder = archive.GetEntry($"{prefix}/byteorder");
        if (byteOrder is not null)
        {
            var order = Encoding.ASCII.GetString(ReadSmallEntry(byteOrder, path, 64)).Trim();
            if (order != "little") throw Bad(path, $"the checkpoint's byte order is '{order}'; only little-endian checkpoints are supported");
        }
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("reading PyTorch checkpoints assumes a little-endian machine");

        const int maxPickle = 1 << 30;
        var data = ReadSmallEntry(pickles[0], path, maxPickle);
        var root = RestrictedUnpickler.Load(data, path);
        return (prefix, StateDict(root, path, key));
    }

    private static byte[] ReadSmallEntry(ZipArchiveEntry entry, string path, int limit)
    {
        if (entry.Length > limit) throw Bad(path, $"{entry.FullName} is implausibly large ({entry.Length} bytes)");
        try
        {
            using var s = entry.Open();
            var buffer = new byte[entry.Length];
            var n = s.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
            if (n != buffer.Length) throw Bad(path, $"{entry.FullName} is truncated");
            return buffer;
        }
        catch (InvalidDataException e)
        {
            throw Bad(path, $"{entry.FullName} is damaged ({e.Message})", e);
        }
    }

    private static List<(string, TensorRef)> StateDict(object? root, string path, string? key)
    {
        if (root is not PickleDict dict) throw Bad(path, $"not a state dict: the checkpoint holds {PickleValues.Describe(root)}, not a dict");
        if (key is not null)
        {
            if (!dict.TryGet(key, out var nested)) throw Bad(path, $"the checkpoint has no entry '{key}' (it has {TopKeys(dict)})");
            return AsTensorDict(nested, path, $"entry '{key}'") ?? throw Bad(path, $"entry '{key}' is not a dict of tensors");
        }
        var direct = AsTensorDict(dict, path, "the checkpoint");
        if (direct is not null) return direct;
        foreach (var k in NestedStateDictKeys)
            if (dict.TryGet(k, out var nested) && AsTensorDict(nested, path, $"entry '{k}'") is { } found) return found;
        throw Bad(path, $"not a state dict: the top-level dict holds more than tensors and none of {string.Join(", ", NestedStateDictKeys)} holds a dict of tensors (keys: {TopKeys(dict)})");
    }

    private static string TopKeys(PickleDict d) =>
        string.Join(", ", d.Items.Take(10).Select(kv => PickleValues.Describe(kv.Key))) + (d.Count > 10 ? ", ..." : "");

    /// <summary>The dict's (name, tensor) pairs if every value is a tensor under a string key; null otherwise.</summary>
    private static List<(string, TensorRef)>? AsTensorDict(object? value, string path, string what)
    {
        if (value is not PickleDict d) return null;
        var list = new List<(string, TensorRef)>(d.Count);
        foreach (var (k, v) in d.Items)
        {
            if (v is not TensorRef t) return null;
            if (k is not string name) throw Bad(path, $"{what} has a tensor under the non-string key {PickleValues.Describe(k)}");
            list.Add((name, t));
        }
        return list;
    }

    private static IReadOnlyList<(string Name, Tensor Tensor)> Materialize(ZipArchive archive, string path, string prefix, List<(string Name, TensorRef Tensor)> refs)
    {
        // How many tensors use each storage, so that a storage can be released as soon as its last view is made.
        var remaining = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (_, r) in refs) remaining[r.Storage.Key] = remaining.GetValueOrDefault(r.Storage.Key) + 1;

        var results = new List<(string, Tensor)>(refs.Count);
        var loaded = new Dictionary<string, (StorageRef Ref, Tensor Tensor)>(StringComparer.Ordinal);
        try
        {
            using var scope = NewDisposeScope();
            foreach (var (name, r) in refs)
            {
                if (!loaded.TryGetValue(r.Storage.Key, out var storage))
                {
                    storage = (r.Storage, ReadStorage(archive, path, prefix, r.Storage));
                    loaded[r.Storage.Key] = storage;
                }
                else if (storage.Ref.DType != r.Storage.DType || storage.Ref.NumberOfElements != r.Storage.NumberOfElements)
                {
                    throw Bad(path, $"tensor '{name}': storage {r.Storage.Key} is described inconsistently");
                }

                var t = View(storage.Tensor, r, name, path);
                results.Add((name, t.MoveToOuterDisposeScope()));

                if (--remaining[r.Storage.Key] == 0)
                {
                    storage.Tensor.Dispose(); // its memory lives on in views that share it
                    loaded.Remove(r.Storage.Key);
                }
            }
        }
        catch
        {
            foreach (var (_, t) in results) t.Dispose();
            throw;
        }
        return results;
    }

    /// <summary>The tensor that <c>_rebuild_tensor_v2</c> would build: the storage viewed with the given offset, sizes and strides.</summary>
    private static Tensor View(Tensor storage, TensorRef r, string name, string path)
    {
        var storageNumel = storage.shape[0];
        var numel = r.NumberOfElements;
        if (numel > 0)
        {
            // Bounds: the furthest element addressed must lie inside the storage.
            long last = r.StorageOffset;
            try
            {
                checked { for (var i = 0; i < r.Shape.Length; i++) last += (r.Shape[i] - 1) * r.Stride[i]; }
            }
            catch (OverflowException)
            {
                throw Bad(path, $"tensor '{name}': its sizes and strides overflow");
            }
            if (last >= storageNumel)
                throw Bad(path, $"tensor '{name}' (shape [{string.Join(", ", r.Shape)}], stride [{string.Join(", ", r.Stride)}], offset {r.StorageOffset}) reaches element {last} of a storage of {storageNumel}");
        }
        else if (r.StorageOffset > storageNumel)
        {
            throw Bad(path, $"tensor '{name}': storage offset {r.StorageOffset} is beyond its storage of {storageNumel}");
        }

        if (r.StorageOffset == 0 && numel == storageNumel && IsContiguous(r.Shape, r.Stride))
            return storage.view(r.Shape); // the common case: the tensor is its whole storage; no copy

        // A view of part of a storage, or a permuted one: copy it out contiguously so that the storage can go.
        using var strided = storage.as_strided(r.Shape, r.Stride, r.StorageOffset);
        var copy = empty(r.Shape, storage.dtype);
        copy.copy_(strided);
        return copy;
    }

    private static bool IsContiguous(long[] shape, long[] stride)
    {
        long expected = 1;
        for (var i = shape.Length - 1; i >= 0; i--)
        {
            if (shape[i] == 1) continue;
            if (stride[i] != expected) return false;
            expected *= shape[i];
        }
        return true;
    }

    private const long ChunkBytes = 1 << 30;

    /// <summary>Reads one storage entry straight into a new 1-D tensor's memory.</summary>
    private static Tensor ReadStorage(ZipArchive archive, string path, string prefix, StorageRef s)
    {
        var entryName = $"{prefix}/data/{s.Key}";
        var entry = archive.GetEntry(entryName) ?? throw Bad(path, $"storage {s.Key} is missing from the archive ({entryName})");
        var t = empty(s.NumberOfElements, s.DType);
        var bytes = s.NumberOfElements * t.ElementSize;
        if (entry.Length != bytes)
            throw Bad(path, $"storage {s.Key} holds {entry.Length} bytes but the pickle describes {s.NumberOfElements} {s.TypeName} elements ({bytes} bytes)");
        if (bytes == 0) return t;
        try
        {
            using var stream = entry.Open();
            if (bytes <= ChunkBytes)
            {
                Fill(stream, t.bytes, path, entryName);
            }
            else
            {
                var per = ChunkBytes / t.ElementSize;
                for (long start = 0; start < s.NumberOfElements; start += per)
                {
                    using var part = t.narrow(0, start, Math.Min(per, s.NumberOfElements - start));
                    Fill(stream, part.bytes, path, entryName);
                }
            }
        }
        catch (InvalidDataException e)
        {
            throw Bad(path, $"storage {s.Key} is damaged ({e.Message})", e);
        }
        return t;
    }

    private static void Fill(Stream stream, Span<byte> span, string path, string entryName)
    {
        var got = stream.ReadAtLeast(span, span.Length, throwOnEndOfStream: false);
        if (got < span.Length) throw Bad(path, $"{entryName} is truncated");
    }
}
