using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using Noisette.IO;
using TorchSharp;
using static TorchSharp.torch;

namespace Noisette.Tests.IO;

public sealed class SafeTensorsTests : IDisposable
{
    private readonly TempFolder _temp = new("st");

    public void Dispose()
    {
        _temp.Dispose();
    }


    private static readonly (ScalarType Type, string Code)[] AllTypes =
    {
        (ScalarType.Float64, "F64"), (ScalarType.Float32, "F32"), (ScalarType.Float16, "F16"), (ScalarType.BFloat16, "BF16"),
        (ScalarType.Int64, "I64"), (ScalarType.Int32, "I32"), (ScalarType.Int16, "I16"), (ScalarType.Int8, "I8"),
        (ScalarType.Byte, "U8"), (ScalarType.Bool, "BOOL"),
    };

    /// <summary>A contiguous tensor whose bytes are random (any bit pattern, NaNs included; 0/1 for bool).</summary>
    private static Tensor RandomBits(ScalarType type, long[] shape, int seed)
    {
        var t = empty(shape, type);
        var span = t.bytes;
        var rng = new Random(seed);
        rng.NextBytes(span);
        if (type == ScalarType.Bool) for (var i = 0; i < span.Length; i++) span[i] &= 1;
        return t;
    }

    private static byte[] RawBytes(Tensor t)
    {
        using var c = t.cpu().contiguous();
        return c.bytes.ToArray();
    }

    [Fact]
    public void EveryDTypeRoundTripsBitExactly_IncludingNonContiguousScalarAndEmptyTensors()
    {
        using var scope = NewDisposeScope();
        var items = new List<(string Name, Tensor Tensor)>();
        var seed = 1;
        foreach (var (type, code) in AllTypes)
        {
            items.Add(($"{code}.plain", RandomBits(type, [3, 5], seed++)));
            // Non-contiguous: a transposed view and a strided slice.
            items.Add(($"{code}.transposed", RandomBits(type, [4, 6], seed++).t()));
            items.Add(($"{code}.sliced", RandomBits(type, [5, 8], seed++).slice(1, 1, 8, 3)));
            items.Add(($"{code}.scalar", RandomBits(type, [], seed++)));
            items.Add(($"{code}.empty", RandomBits(type, [0, 3], seed++)));
        }
        Assert.False(items[1].Tensor.is_contiguous());
        Assert.False(items[2].Tensor.is_contiguous());

        var path = _temp["all.safetensors"];
        SafeTensors.Save(path, items);

        using var loaded = SafeTensors.Load(path);
        Assert.Equal(items.Select(i => i.Name), loaded.Names);
        foreach (var (name, expected) in items)
        {
            var actual = loaded[name];
            Assert.Equal(expected.dtype, actual.dtype);
            Assert.Equal(expected.shape, actual.shape);
            Assert.Equal(DeviceType.CPU, actual.device_type);
            Assert.Equal(RawBytes(expected), RawBytes(actual));
        }
        Assert.Empty(loaded.Metadata);
        Assert.Equal(0, loaded["F32.scalar"].dim());
        Assert.Equal(0, loaded["F32.empty"].NumberOfElements);
    }

    [Fact]
    public void ReadIntoFillsExistingTensorsInPlaceOrThroughAConversion()
    {
        using var scope = NewDisposeScope();
        var a = RandomBits(ScalarType.Float32, [3, 4], 11);
        var b = RandomBits(ScalarType.Float16, [2, 5], 12);
        var c = RandomBits(ScalarType.Float32, [6], 13);
        var path = _temp["into.safetensors"];
        SafeTensors.Save(path, [("a", a), ("b", b), ("c", c)]);
        var header = SafeTensors.ReadHeader(path);

        // A contiguous view into a larger buffer (as a model's flat parameters are) is filled in place;
        // a float32 destination for a float16 entry converts; a transposed destination is filled through a copy.
        var buffer = zeros(30);
        var intoA = buffer.narrow(0, 5, 12).view(3, 4);
        var intoB = zeros(2, 5);
        var intoC = zeros(6);
        SafeTensors.ReadInto(path, header, new Dictionary<string, Tensor> { ["a"] = intoA, ["b"] = intoB, ["c"] = intoC });
        Assert.Equal(RawBytes(a), RawBytes(buffer.narrow(0, 5, 12)));     // the view's own memory holds the values
        Assert.Equal(RawBytes(b.to(ScalarType.Float32)), RawBytes(intoB));
        Assert.Equal(RawBytes(c), RawBytes(intoC));
        Assert.Equal(0f, buffer.narrow(0, 0, 5).abs().sum().item<float>());      // nothing outside the view is touched
        Assert.Equal(0f, buffer.narrow(0, 17, 13).abs().sum().item<float>());

        var transposed = zeros(4, 3).t();
        SafeTensors.ReadInto(path, header, new Dictionary<string, Tensor> { ["a"] = transposed });
        Assert.Equal(RawBytes(a), RawBytes(transposed));
        Assert.Throws<ArgumentException>(() => SafeTensors.ReadInto(path, header, new Dictionary<string, Tensor> { ["a"] = zeros(4, 3) }));
    }

    [Fact]
    public void HeaderLayoutIsTheSafetensorsFormat()
    {
        using var scope = NewDisposeScope();
        var a = arange(6, dtype: ScalarType.Float32).reshape(2, 3);
        var b = tensor(new long[] { 7, -1 });
        var c = ones(new long[] { 1 }, ScalarType.Float16);
        var meta = new Dictionary<string, string> { ["format"] = "pt", ["note"] = "héllo \"quoted\"" };
        var path = _temp["layout.safetensors"];
        // Deliberately not alphabetical: the given order must be kept.
        SafeTensors.Save(path, [("zeta", a), ("alpha", b.t()), ("mid", c)], meta);

        var bytes = File.ReadAllBytes(path);
        var n = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(0, n % 8);
        var headerBytes = bytes.AsSpan(8, (int)n);
        Assert.Equal((byte)'{', headerBytes[0]);
        var text = Encoding.UTF8.GetString(headerBytes);
        var trimmed = text.TrimEnd(' ');
        Assert.EndsWith("}", trimmed);
        Assert.True(text.Length - trimmed.Length < 8, "padding is shorter than 8 spaces");

        using var doc = JsonDocument.Parse(trimmed);
        var props = doc.RootElement.EnumerateObject().ToList();
        Assert.Equal(["__metadata__", "zeta", "alpha", "mid"], props.Select(p => p.Name));
        Assert.Equal("pt", props[0].Value.GetProperty("format").GetString());
        Assert.Equal("héllo \"quoted\"", props[0].Value.GetProperty("note").GetString());

        var data = bytes.AsSpan(8 + (int)n);
        Assert.Equal(6 * 4 + 2 * 8 + 2, data.Length);
        long expectedBegin = 0;
        foreach (var (name, dtype, shape, tensor) in new[] { ("zeta", "F32", new long[] { 2, 3 }, a), ("alpha", "I64", new long[] { 2 }, b), ("mid", "F16", new long[] { 1 }, c) })
        {
            var e = doc.RootElement.GetProperty(name);
            Assert.Equal(dtype, e.GetProperty("dtype").GetString());
            Assert.Equal(shape, e.GetProperty("shape").EnumerateArray().Select(x => x.GetInt64()));
            var off = e.GetProperty("data_offsets").EnumerateArray().Select(x => x.GetInt64()).ToArray();
            Assert.Equal(expectedBegin, off[0]);
            Assert.Equal(RawBytes(tensor), data[(int)off[0]..(int)off[1]].ToArray());
            expectedBegin = off[1];
        }
        Assert.Equal(data.Length, expectedBegin);

        // The little-endian float 1.0 in F16 is 0x3C00.
        Assert.Equal(new byte[] { 0x00, 0x3C }, data[^2..].ToArray());

        var header = SafeTensors.ReadHeader(path);
        Assert.Equal(["zeta", "alpha", "mid"], header.Tensors.Select(t => t.Name));
        Assert.Equal(new long[] { 2, 3 }, header.Tensors[0].Shape);
        Assert.Equal(ScalarType.Int64, header.Tensors[1].ScalarType);
        Assert.Equal(8 + n, header.DataStart);
        Assert.Equal("pt", header.Metadata["format"]);
    }

    [Fact]
    public void SaveRefusesDuplicateAndReservedNamesAndLeavesNoFile()
    {
        using var scope = NewDisposeScope();
        var path = _temp["dup.safetensors"];
        Assert.Throws<ArgumentException>(() => SafeTensors.Save(path, [("a", zeros(1)), ("a", zeros(2))]));
        Assert.Throws<ArgumentException>(() => SafeTensors.Save(path, [("__metadata__", zeros(1))]));
        Assert.Throws<NoisetteInputException>(() => SafeTensors.Save(path, [("c", zeros(new long[] { 1 }, ScalarType.ComplexFloat32))]));
        Assert.False(File.Exists(path));
        Assert.Empty(Directory.GetFiles(_temp.Path));
    }

    private string WriteSample()
    {
        using var scope = NewDisposeScope();
        var path = _temp["sample.safetensors"];
        SafeTensors.Save(path, [("w", randn(4, 4)), ("b", randn(4))], new Dictionary<string, string> { ["k"] = "v" });
        return path;
    }

    private static NoisetteInputException Refused(string path)
    {
        var e = Assert.Throws<NoisetteInputException>(() => { using var _ = SafeTensors.Load(path); });
        Assert.Contains(path, e.Message);
        return e;
    }

    [Fact]
    public void TruncatedFilesAreRefused()
    {
        var good = File.ReadAllBytes(WriteSample());
        var path = _temp["cut.safetensors"];

        File.WriteAllBytes(path, good[..^4]);
        Assert.Contains("truncated", Refused(path).Message);
        Assert.Throws<NoisetteInputException>(() => SafeTensors.ReadHeader(path));

        File.WriteAllBytes(path, good[..20]);
        Assert.Contains("header length", Refused(path).Message);

        File.WriteAllBytes(path, good[..5]);
        Assert.Contains("shorter than", Refused(path).Message);

        File.WriteAllBytes(path, []);
        Refused(path);
    }

    [Fact]
    public void CorruptedHeadersAreRefused()
    {
        var good = File.ReadAllBytes(WriteSample());
        var n = (int)BinaryPrimitives.ReadUInt64LittleEndian(good);
        var header = Encoding.UTF8.GetString(good, 8, n);
        var path = _temp["bad.safetensors"];

        void WriteWithHeader(string h, byte[]? lengthOverride = null)
        {
            var hb = Encoding.UTF8.GetBytes(h);
            var len = new byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)hb.Length);
            File.WriteAllBytes(path, [.. lengthOverride ?? len, .. hb, .. good.AsSpan(8 + n)]);
        }

        // Garbage in the JSON.
        var broken = good.ToArray();
        broken[8] = (byte)'#';
        File.WriteAllBytes(path, broken);
        Assert.Contains("malformed", Refused(path).Message);

        // A length far beyond the file.
        var huge = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(huge, 1UL << 40);
        WriteWithHeader(header, huge);
        Assert.Contains("header length", Refused(path).Message);

        // Offsets that do not match the shape.
        WriteWithHeader(header.Replace("[4,4]", "[4,5]"));
        Assert.Contains("'w'", Refused(path).Message);

        // An unknown dtype.
        WriteWithHeader(header.Replace("\"F32\"", "\"F8_E4M3\""));
        Assert.Contains("dtype", Refused(path).Message);

        // Not an object.
        WriteWithHeader("[1,2,3]".PadRight(n));
        Assert.Contains("not an object", Refused(path).Message);

        // Negative shape.
        WriteWithHeader(header.Replace("\"shape\":[4]", "\"shape\":[-4]"));
        Assert.Contains("non-negative", Refused(path).Message);

        // Trailing bytes after the data.
        File.WriteAllBytes(path, [.. good, 0, 0, 0, 0]);
        Assert.Contains("follow", Refused(path).Message);

        // Missing file.
        Assert.Contains("no such file", Refused(_temp["absent.safetensors"]).Message);
    }

    [Fact]
    public void ReadsTheFixtureWrittenByPython()
    {
        var path = Fixtures.Path("guided-diffusion", "cases.safetensors");
        var header = SafeTensors.ReadHeader(path);
        var expected = new (string Name, string DType, long[] Shape)[]
        {
            ("x", "F32", [2, 3, 32, 32]), ("t", "I64", [2]), ("y", "I64", [2]),
            ("adm_tiny.out", "F32", [2, 6, 32, 32]),
            ("adm_tiny.p_mean", "F32", [2, 3, 32, 32]), ("adm_tiny.p_log_variance", "F32", [2, 3, 32, 32]),
            ("adm_tiny.pred_xstart", "F32", [2, 3, 32, 32]),
            ("ddim10.x_T", "F32", [2, 3, 32, 32]), ("adm_tiny.ddim10.sample", "F32", [2, 3, 32, 32]),
            ("ddim10.timesteps", "I64", [10]), ("adm_tiny_cond.out", "F32", [2, 6, 32, 32]),
        };
        Assert.Equal(expected.Select(e => e.Name), header.Tensors.Select(t => t.Name));
        foreach (var (e, t) in expected.Zip(header.Tensors))
        {
            Assert.Equal(e.DType, t.DType);
            Assert.Equal(e.Shape, t.Shape);
        }

        using var file = SafeTensors.Load(path);
        Assert.Equal(new long[] { 10, 700 }, file["t"].data<long>().ToArray());
        Assert.Equal(new long[] { 3, 999 }, file["y"].data<long>().ToArray());
        Assert.Equal(Enumerable.Range(0, 10).Select(i => 100L * i), file["ddim10.timesteps"].data<long>().ToArray());
        var x = file["x"];
        Assert.True(x.isfinite().all().item<bool>());
        var std = x.std().item<float>();
        Assert.InRange(std, 0.9f, 1.1f); // torch.randn
    }

    [Fact]
    public void TakenTensorsOutliveTheFile()
    {
        var path = WriteSample();
        Tensor w;
        using (var file = SafeTensors.Load(path)) w = file.Take("w");
        using (w) Assert.Equal(16, w.NumberOfElements);
    }
}
