using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace Noisette.Tests.Interop;

/// <summary>Writes pickle opcodes by hand (protocol 2, as torch.save does), for building test checkpoints.</summary>
internal sealed class PickleBuilder
{
    private readonly MemoryStream _s = new();

    public PickleBuilder() => Op(0x80).Byte(2);

    public PickleBuilder Op(byte op) { _s.WriteByte(op); return this; }
    private PickleBuilder Byte(byte b) { _s.WriteByte(b); return this; }

    public PickleBuilder Mark() => Op((byte)'(');
    public PickleBuilder Tuple() => Op((byte)'t');
    public PickleBuilder EmptyTuple() => Op((byte)')');
    public PickleBuilder EmptyDict() => Op((byte)'}');
    public PickleBuilder Reduce() => Op((byte)'R');
    public PickleBuilder PersId() => Op((byte)'Q');
    public PickleBuilder SetItems() => Op((byte)'u');
    public PickleBuilder SetItem() => Op((byte)'s');
    public PickleBuilder False() => Op(0x89);
    public PickleBuilder Stop() => Op((byte)'.');

    public PickleBuilder Str(string s)
    {
        var b = Encoding.UTF8.GetBytes(s);
        Op((byte)'X');
        Span<byte> len = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(len, b.Length);
        _s.Write(len);
        _s.Write(b);
        return this;
    }

    public PickleBuilder Int(long v)
    {
        if (v is >= 0 and < 256) return Op((byte)'K').Byte((byte)v);
        Op((byte)'J');
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(b, checked((int)v));
        _s.Write(b);
        return this;
    }

    public PickleBuilder Global(string module, string name)
    {
        Op((byte)'c');
        _s.Write(Encoding.ASCII.GetBytes($"{module}\n{name}\n"));
        return this;
    }

    public PickleBuilder IntTuple(params long[] values)
    {
        Mark();
        foreach (var v in values) Int(v);
        return Tuple();
    }

    /// <summary>Pushes <c>_rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())</c>.</summary>
    public PickleBuilder Tensor(string storageType, string key, long storageNumel, long offset, long[] size, long[] stride)
    {
        Global("torch._utils", "_rebuild_tensor_v2");
        Mark();
        Mark().Str("storage").Global("torch", storageType).Str(key).Str("cpu").Int(storageNumel).Tuple().PersId();
        Int(offset).IntTuple(size).IntTuple(stride).False();
        Global("collections", "OrderedDict").EmptyTuple().Reduce();
        Tuple();
        return Reduce();
    }

    /// <summary>Starts <c>OrderedDict()</c> and a MARK for SETITEMS.</summary>
    public PickleBuilder BeginStateDict() => Global("collections", "OrderedDict").EmptyTuple().Reduce().Mark();

    public PickleBuilder EndStateDict() => SetItems().Stop();

    public byte[] ToArray() => _s.ToArray();

    /// <summary>Writes a torch.save-style zip: ARCHIVE/data.pkl, ARCHIVE/data/KEY storages, version and byteorder.</summary>
    public static void WriteCheckpoint(string path, byte[] pickle, IReadOnlyDictionary<string, byte[]> storages, string archive = "archive", bool byteorder = true)
    {
        using var fs = File.Create(path);
        using var zip = new ZipArchive(fs, ZipArchiveMode.Create);
        void Add(string name, byte[] data)
        {
            var e = zip.CreateEntry($"{archive}/{name}", CompressionLevel.NoCompression);
            using var s = e.Open();
            s.Write(data);
        }
        Add("data.pkl", pickle);
        if (byteorder) Add("byteorder", "little"u8.ToArray());
        foreach (var (k, v) in storages) Add($"data/{k}", v);
        Add("version", "3\n"u8.ToArray());
    }
}
