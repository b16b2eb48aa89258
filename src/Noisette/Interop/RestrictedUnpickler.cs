using System.Buffers.Binary;
using System.Text;
using static TorchSharp.torch;

namespace Noisette.Interop;

// The plain values a restricted unpickle produces. Python's None is null; int is long; float is double;
// str is string; bytes is byte[]; list is List<object?>; tuple is PickleTuple; dict/OrderedDict is PickleDict.

/// <summary>A Python tuple.</summary>
internal sealed class PickleTuple(object?[] items)
{
    public object?[] Items { get; } = items;
    public int Count => Items.Length;
    public object? this[int i] => Items[i];
}

/// <summary>A Python dict or OrderedDict: insertion-ordered, keys compared by value.</summary>
internal sealed class PickleDict
{
    private readonly List<KeyValuePair<object, object?>> _items = new();
    private readonly Dictionary<object, int> _index = new();

    public IReadOnlyList<KeyValuePair<object, object?>> Items => _items;
    public int Count => _items.Count;

    public void Set(object? key, object? value, Func<string, Exception> error)
    {
        // State dicts (and their _metadata) are keyed by strings; plain scalars are harmless too. Anything else
        // (a tuple, say) would need deep hashing, which a hostile pickle could nest deep enough to crash.
        if (key is not (string or long or bool or double))
            throw error($"unsupported dict key {PickleValues.Describe(key)}");
        if (_index.TryGetValue(key, out var i)) _items[i] = new(key, value);
        else
        {
            _index[key] = _items.Count;
            _items.Add(new(key, value));
        }
    }

    public bool TryGet(object key, out object? value)
    {
        if (_index.TryGetValue(key, out var i)) { value = _items[i].Value; return true; }
        value = null;
        return false;
    }
}

/// <summary>A named module-level Python object, allowed only from a short list; it is never looked up or called.</summary>
internal sealed record PickleGlobal(string Module, string Name)
{
    public string FullName => $"{Module}.{Name}";
}

/// <summary>A reference to one storage of the checkpoint (the persistent id <c>('storage', type, key, location, numel)</c>).</summary>
internal sealed record StorageRef(string Key, ScalarType DType, string TypeName, string Location, long NumberOfElements);

/// <summary>A tensor as <c>torch._utils._rebuild_tensor_v2</c> would build it: a view of a storage.</summary>
internal sealed record TensorRef(StorageRef Storage, long StorageOffset, long[] Shape, long[] Stride, bool RequiresGrad)
{
    public long NumberOfElements => Shape.Aggregate(1L, (a, b) => a * b);
}

internal static class PickleValues
{
    public static string Describe(object? v) => v switch
    {
        null => "None",
        string s => $"'{(s.Length > 40 ? s[..40] + "..." : s)}'",
        long or double or bool => v.ToString()!,
        PickleTuple t => $"a tuple of {t.Count}",
        List<object?> l => $"a list of {l.Count}",
        PickleDict d => $"a dict of {d.Count}",
        PickleGlobal g => g.FullName,
        TensorRef => "a tensor",
        StorageRef => "a storage",
        byte[] b => $"{b.Length} bytes",
        _ => v.GetType().Name,
    };
}

/// <summary>
/// Reads a pickle (protocols 2 to 5, the opcodes that <c>torch.save</c> and plain containers use) into plain values,
/// without ever importing or calling anything. The only globals it accepts are those a state dict needs;
/// every other global is refused by name the moment the pickle names it, before any later opcode runs.
/// </summary>
internal sealed class RestrictedUnpickler
{
    private static readonly Dictionary<string, ScalarType> StorageTypes = new()
    {
        ["FloatStorage"] = ScalarType.Float32,
        ["HalfStorage"] = ScalarType.Float16,
        ["BFloat16Storage"] = ScalarType.BFloat16,
        ["DoubleStorage"] = ScalarType.Float64,
        ["LongStorage"] = ScalarType.Int64,
        ["IntStorage"] = ScalarType.Int32,
        ["ShortStorage"] = ScalarType.Int16,
        ["CharStorage"] = ScalarType.Int8,
        ["ByteStorage"] = ScalarType.Byte,
        ["BoolStorage"] = ScalarType.Bool,
    };

    private static readonly HashSet<string> CallableGlobals = new(StringComparer.Ordinal)
    {
        "collections.OrderedDict",
        "torch._utils._rebuild_tensor_v2",
        "torch._utils._rebuild_tensor",
        "torch._utils._rebuild_parameter",
        "torch._utils._rebuild_parameter_with_state",
    };

    /// <summary>Whether a global may appear in a pickle we read (a callable above, or a storage type).</summary>
    public static bool IsAllowed(string module, string name) =>
        CallableGlobals.Contains($"{module}.{name}") || (module == "torch" && StorageTypes.ContainsKey(name));

    private readonly byte[] _data;
    private readonly string _source;
    private int _pos;
    private readonly List<object?> _stack = new();
    private readonly Stack<int> _marks = new();
    private readonly Dictionary<long, object?> _memo = new();

    private RestrictedUnpickler(byte[] data, string source)
    {
        _data = data;
        _source = source;
    }

    /// <summary>Unpickles <paramref name="data"/>; <paramref name="source"/> names it in error messages.</summary>
    public static object? Load(byte[] data, string source) => new RestrictedUnpickler(data, source).Run();

    private NoisetteInputException Error(string problem) => new($"{_source}: {problem}");

    private NoisetteInputException Damaged(string problem) => Error($"damaged checkpoint pickle at byte {_pos}: {problem}");

    private object? Run()
    {
        while (true)
        {
            if (_pos >= _data.Length) throw Damaged("the pickle ends without a STOP opcode (truncated?)");
            var opAt = _pos;
            var op = _data[_pos++];
            switch (op)
            {
                case 0x80: // PROTO
                {
                    var proto = ReadByte();
                    if (proto > 5) throw Damaged($"unsupported pickle protocol {proto}");
                    break;
                }
                case 0x95: // FRAME: an 8-byte length; frames are only a buffering hint
                    ReadBytes(8);
                    break;
                case (byte)'.': // STOP
                    if (_stack.Count != 1 || _marks.Count != 0) throw Damaged("STOP with an unbalanced stack");
                    return _stack[0];
                case (byte)'(':
                    _marks.Push(_stack.Count);
                    break;
                case (byte)'}':
                    Push(new PickleDict());
                    break;
                case (byte)']':
                    Push(new List<object?>());
                    break;
                case (byte)')':
                    Push(new PickleTuple([]));
                    break;
                case (byte)'t': // TUPLE
                    Push(new PickleTuple(PopMark().ToArray()));
                    break;
                case 0x85: Push(new PickleTuple([Pop()])); break; // TUPLE1
                case 0x86: // TUPLE2
                {
                    var b = Pop(); var a = Pop();
                    Push(new PickleTuple([a, b]));
                    break;
                }
                case 0x87: // TUPLE3
                {
                    var c = Pop(); var b = Pop(); var a = Pop();
                    Push(new PickleTuple([a, b, c]));
                    break;
                }
                case (byte)'l': // LIST
                    Push(PopMark());
                    break;
                case (byte)'d': // DICT
                {
                    var items = PopMark();
                    if (items.Count % 2 != 0) throw Damaged("DICT with an odd number of items");
                    var d = new PickleDict();
                    for (var i = 0; i < items.Count; i += 2) d.Set(items[i], items[i + 1], Damaged);
                    Push(d);
                    break;
                }
                case (byte)'X': Push(ReadString(ReadUInt32())); break; // BINUNICODE
                case 0x8c: Push(ReadString(ReadByte())); break; // SHORT_BINUNICODE
                case 0x8d: Push(ReadString(ReadUInt64())); break; // BINUNICODE8
                case (byte)'B': Push(ReadBytes(ReadUInt32()).ToArray()); break; // BINBYTES
                case (byte)'C': Push(ReadBytes(ReadByte()).ToArray()); break; // SHORT_BINBYTES
                case 0x8e: Push(ReadBytes(ReadUInt64()).ToArray()); break; // BINBYTES8
                case (byte)'J': Push((long)BinaryPrimitives.ReadInt32LittleEndian(ReadBytes(4))); break; // BININT
                case (byte)'K': Push((long)ReadByte()); break; // BININT1
                case (byte)'M': Push((long)BinaryPrimitives.ReadUInt16LittleEndian(ReadBytes(2))); break; // BININT2
                case 0x8a: Push(ReadLong(ReadByte())); break; // LONG1
                case 0x8b: Push(ReadLong(ReadUInt32())); break; // LONG4
                case (byte)'G': Push(BinaryPrimitives.ReadDoubleBigEndian(ReadBytes(8))); break; // BINFLOAT
                case 0x88: Push(true); break; // NEWTRUE
                case 0x89: Push(false); break; // NEWFALSE
                case (byte)'N': Push(null); break; // NONE
                case (byte)'c': // GLOBAL "module\nname\n"
                {
                    var module = ReadLine();
                    var name = ReadLine();
                    Push(Global(module, name));
                    break;
                }
                case 0x93: // STACK_GLOBAL
                {
                    var name = Pop();
                    var module = Pop();
                    if (module is not string m || name is not string n) throw Damaged("STACK_GLOBAL without two strings");
                    Push(Global(m, n));
                    break;
                }
                case (byte)'R': // REDUCE
                {
                    var args = Pop();
                    var callable = Pop();
                    Push(Reduce(callable, args));
                    break;
                }
                case (byte)'Q': // BINPERSID
                    Push(PersistentLoad(Pop()));
                    break;
                case (byte)'b': // BUILD: sets an object's state; we keep objects plain and never call __setstate__
                {
                    var state = Pop();
                    var target = Peek();
                    if (target is not (PickleDict or TensorRef))
                        throw Error($"refused: the pickle sets the state of {PickleValues.Describe(target)}, which a state dict never does");
                    _ = state; // OrderedDict._metadata and tensor hooks: irrelevant to the values
                    break;
                }
                case (byte)'q': Memo(ReadByte()); break; // BINPUT
                case (byte)'r': Memo(ReadUInt32()); break; // LONG_BINPUT
                case 0x94: Memo(_memo.Count); break; // MEMOIZE
                case (byte)'h': Push(Recall(ReadByte())); break; // BINGET
                case (byte)'j': Push(Recall(ReadUInt32())); break; // LONG_BINGET
                case (byte)'s': // SETITEM
                {
                    var value = Pop();
                    var key = Pop();
                    AsDict(Peek(), "SETITEM").Set(key, value, Damaged);
                    break;
                }
                case (byte)'u': // SETITEMS
                {
                    var items = PopMark();
                    if (items.Count % 2 != 0) throw Damaged("SETITEMS with an odd number of items");
                    var d = AsDict(Peek(), "SETITEMS");
                    for (var i = 0; i < items.Count; i += 2) d.Set(items[i], items[i + 1], Damaged);
                    break;
                }
                case (byte)'a': // APPEND
                {
                    var value = Pop();
                    AsList(Peek(), "APPEND").Add(value);
                    break;
                }
                case (byte)'e': // APPENDS
                {
                    var items = PopMark();
                    AsList(Peek(), "APPENDS").AddRange(items);
                    break;
                }
                case (byte)'0': Pop(); break; // POP
                case (byte)'1': PopMark(); break; // POP_MARK
                case (byte)'2': Push(Peek()); break; // DUP
                default:
                    _pos = opAt;
                    throw Error(op is (byte)'i' or (byte)'o' or 0x81 or 0x92 or (byte)'I' or (byte)'L' or (byte)'S' or (byte)'V' or (byte)'F' or (byte)'p' or (byte)'g' or (byte)'P' or 0x82 or 0x83 or 0x84
                        ? $"refused: the pickle uses opcode 0x{op:x2} ('{(char)op}') at byte {opAt}, which a state dict saved by torch.save never uses"
                        : $"damaged checkpoint pickle: unknown opcode 0x{op:x2} at byte {opAt}");
            }
        }
    }

    private PickleGlobal Global(string module, string name)
    {
        if (!IsAllowed(module, name))
            throw Error($"refused: the pickle names the forbidden global {module}.{name}; a checkpoint may only use state-dict globals (collections.OrderedDict, torch._utils._rebuild_tensor_v2, torch storage types). Nothing was executed.");
        return new PickleGlobal(module, name);
    }

    private object? Reduce(object? callable, object? args)
    {
        if (callable is not PickleGlobal g) throw Error($"refused: the pickle calls {PickleValues.Describe(callable)}, which is not a known function");
        if (args is not PickleTuple a) throw Damaged($"{g.FullName} called with {PickleValues.Describe(args)} instead of an argument tuple");
        switch (g.FullName)
        {
            case "collections.OrderedDict":
            {
                var d = new PickleDict();
                if (a.Count == 0) return d;
                if (a.Count == 1 && a[0] is List<object?> pairs)
                {
                    foreach (var p in pairs)
                    {
                        if (p is not PickleTuple { Count: 2 } kv) throw Damaged("OrderedDict built from something other than pairs");
                        d.Set(kv[0], kv[1], Damaged);
                    }
                    return d;
                }
                throw Damaged("OrderedDict called with unexpected arguments");
            }
            case "torch._utils._rebuild_tensor_v2":
            case "torch._utils._rebuild_tensor":
            {
                // (storage, storage_offset, size, stride[, requires_grad, backward_hooks[, metadata]])
                if (a.Count < 4 || a[0] is not StorageRef storage)
                    throw Damaged($"{g.Name} called with unexpected arguments");
                var offset = AsLong(a[1], "storage offset");
                var shape = AsLongs(a[2], "size");
                var stride = AsLongs(a[3], "stride");
                var requiresGrad = a.Count > 4 && a[4] is true;
                if (shape.Length != stride.Length) throw Damaged($"a tensor has {shape.Length} sizes but {stride.Length} strides");
                return new TensorRef(storage, offset, shape, stride, requiresGrad);
            }
            case "torch._utils._rebuild_parameter":
            case "torch._utils._rebuild_parameter_with_state":
            {
                // (data, requires_grad, backward_hooks[, state]): a Parameter is its tensor
                if (a.Count < 1 || a[0] is not TensorRef t) throw Damaged($"{g.Name} called without a tensor");
                return t with { RequiresGrad = a.Count > 1 && a[1] is true };
            }
            default:
                throw Error($"refused: the pickle calls {g.FullName}, which only names a type and is never called by torch.save");
        }
    }

    private StorageRef PersistentLoad(object? pid)
    {
        // ('storage', storage_type, key, location, numel)
        if (pid is not PickleTuple { Count: 5 } t || t[0] is not "storage")
            throw Damaged($"unsupported persistent id {PickleValues.Describe(pid)}");
        if (t[1] is not PickleGlobal { Module: "torch" } type || !StorageTypes.TryGetValue(type.Name, out var dtype))
            throw Damaged($"unsupported storage type {PickleValues.Describe(t[1])}");
        if (t[2] is not string key || key.Length == 0 || key.Contains('/') || key.Contains('\\') || key.Contains(".."))
            throw Damaged($"bad storage key {PickleValues.Describe(t[2])}");
        var location = t[3] as string ?? throw Damaged($"bad storage location {PickleValues.Describe(t[3])}");
        var numel = AsLong(t[4], "storage size");
        return new StorageRef(key, dtype, type.Name, location, numel);
    }

    private long AsLong(object? v, string what) =>
        v is long l && l >= 0 ? l : throw Damaged($"{what} is {PickleValues.Describe(v)}, not a non-negative integer");

    private long[] AsLongs(object? v, string what) =>
        v is PickleTuple t ? t.Items.Select(x => AsLong(x, what)).ToArray() : throw Damaged($"{what} is {PickleValues.Describe(v)}, not a tuple");

    private PickleDict AsDict(object? v, string op) =>
        v as PickleDict ?? throw Damaged($"{op} on {PickleValues.Describe(v)}");

    private List<object?> AsList(object? v, string op) =>
        v as List<object?> ?? throw Damaged($"{op} on {PickleValues.Describe(v)}");

    private void Push(object? v) => _stack.Add(v);

    private object? Pop()
    {
        var floor = _marks.Count > 0 ? _marks.Peek() : 0;
        if (_stack.Count <= floor) throw Damaged("stack underflow");
        var v = _stack[^1];
        _stack.RemoveAt(_stack.Count - 1);
        return v;
    }

    private object? Peek()
    {
        var floor = _marks.Count > 0 ? _marks.Peek() : 0;
        if (_stack.Count <= floor) throw Damaged("stack underflow");
        return _stack[^1];
    }

    private List<object?> PopMark()
    {
        if (_marks.Count == 0) throw Damaged("no MARK to pop to");
        var at = _marks.Pop();
        var items = _stack.GetRange(at, _stack.Count - at);
        _stack.RemoveRange(at, _stack.Count - at);
        return items;
    }

    private void Memo(long index)
    {
        if (_stack.Count == 0) throw Damaged("memoizing an empty stack");
        if (_memo.Count > 10_000_000) throw Damaged("too many memo entries");
        _memo[index] = _stack[^1];
    }

    private object? Recall(long index) =>
        _memo.TryGetValue(index, out var v) ? v : throw Damaged($"memo entry {index} is not defined");

    private byte ReadByte()
    {
        if (_pos >= _data.Length) throw Damaged("the pickle ends mid-opcode (truncated?)");
        return _data[_pos++];
    }

    private ReadOnlySpan<byte> ReadBytes(long n)
    {
        if (n < 0 || n > _data.Length - _pos) throw Damaged("the pickle ends mid-opcode (truncated?)");
        var span = _data.AsSpan(_pos, (int)n);
        _pos += (int)n;
        return span;
    }

    private uint ReadUInt32() => BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4));

    private long ReadUInt64()
    {
        var v = BinaryPrimitives.ReadUInt64LittleEndian(ReadBytes(8));
        return v > int.MaxValue ? throw Damaged("a length beyond 2 GB") : (long)v;
    }

    private string ReadString(long n)
    {
        try
        {
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(ReadBytes(n));
        }
        catch (DecoderFallbackException)
        {
            throw Damaged("a string is not valid UTF-8");
        }
    }

    private object ReadLong(long n)
    {
        if (n == 0) return 0L;
        if (n > 8) throw Damaged($"an integer of {n} bytes is out of range");
        var bytes = ReadBytes(n);
        long v = 0;
        for (var i = (int)n - 1; i >= 0; i--) v = (v << 8) | bytes[i];
        var shift = 64 - 8 * (int)n;
        return shift == 0 ? v : (v << shift) >> shift; // sign-extend two's complement
    }

    private string ReadLine()
    {
        var end = Array.IndexOf(_data, (byte)'\n', _pos);
        if (end < 0 || end - _pos > 1000) throw Damaged("GLOBAL without a newline-terminated name");
        var s = Encoding.ASCII.GetString(_data, _pos, end - _pos);
        _pos = end + 1;
        return s;
    }
}
