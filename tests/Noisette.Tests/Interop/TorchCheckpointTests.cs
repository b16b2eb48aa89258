using System.Buffers.Binary;
using System.IO.Compression;
using Noisette.Interop;
using static TorchSharp.torch;

namespace Noisette.Tests.Interop;

public sealed class TorchCheckpointTests : IDisposable
{
    private readonly TempFolder _temp = new("pt");

    public void Dispose()
    {
        _temp.Dispose();
    }


    private static string Fixture(string name) => Fixtures.Path("guided-diffusion", name);

    private static void DisposeAll(IReadOnlyList<(string Name, Tensor Tensor)> list)
    {
        foreach (var (_, t) in list) t.Dispose();
    }

    [Theory]
    [InlineData("adm_tiny.pt", 216, 1_422_278L)]
    [InlineData("adm_tiny_cond.pt", 217, 1_550_278L)]
    public void GuidedDiffusionFixturesLoadWithTheirParameterCounts(string file, int tensors, long parameters)
    {
        var sd = TorchCheckpoint.LoadStateDict(Fixture(file));
        try
        {
            Assert.Equal(tensors, sd.Count);
            Assert.Equal(parameters, sd.Sum(p => p.Tensor.NumberOfElements));
            Assert.All(sd, p => Assert.Equal(ScalarType.Float32, p.Tensor.dtype));
            Assert.All(sd, p => Assert.True(p.Tensor.is_contiguous()));
            Assert.Equal(sd.Count, sd.Select(p => p.Name).Distinct().Count());

            // File order is kept: the state dict starts with the time embedding and ends with the output head.
            Assert.Equal("time_embed.0.weight", sd[0].Name);
            Assert.Equal(new long[] { 128, 32 }, sd[0].Tensor.shape);
            Assert.Equal("out.2.bias", sd[^1].Name);
            Assert.Equal(new long[] { 6 }, sd[^1].Tensor.shape);
            // The first values of storage 0, read independently from the zip with Python's struct module.
            var first = sd[0].Tensor.view(-1)[..4].data<float>().ToArray();
            if (file == "adm_tiny.pt") Assert.Equal(new[] { -0.1735745519399643f, 0.049157533794641495f, 0.15756535530090332f, 0.18741543591022491f }, first);

            var byName = sd.ToDictionary(p => p.Name, p => p.Tensor);
            if (file == "adm_tiny_cond.pt") Assert.Equal(new long[] { 1000, 128 }, byName["label_emb.weight"].shape);
            else Assert.DoesNotContain("label_emb.weight", byName.Keys);
        }
        finally { DisposeAll(sd); }
    }

    [Fact]
    public void AnImportedStateDictSurvivesASafetensorsRoundTripBitExactly()
    {
        var sd = TorchCheckpoint.LoadStateDict(Fixture("adm_tiny.pt"));
        try
        {
            var path = _temp["adm_tiny.safetensors"];
            Noisette.IO.SafeTensors.Save(path, sd, new Dictionary<string, string> { ["source"] = "adm_tiny.pt" });
            using var back = Noisette.IO.SafeTensors.Load(path);
            Assert.Equal(sd.Select(p => p.Name), back.Names);
            foreach (var (name, t) in sd)
                Assert.True(t.bytes.SequenceEqual(back[name].bytes), name);
        }
        finally { DisposeAll(sd); }
    }

    [Fact]
    public void InspectReadsNamesAndShapesWithoutData()
    {
        var info = TorchCheckpoint.Inspect(Fixture("adm_tiny.pt"));
        Assert.Equal(216, info.Count);
        Assert.Equal(1_422_278L, info.Sum(i => i.NumberOfElements));
        Assert.Equal("time_embed.0.weight", info[0].Name);
        Assert.Equal(new long[] { 128, 32 }, info[0].Shape);
        Assert.Equal(ScalarType.Float32, info[0].DType);
    }

    [Fact]
    public void MaliciousCheckpointIsRefusedByNameBeforeAnythingRuns()
    {
        var e = Assert.Throws<NoisetteInputException>(() => TorchCheckpoint.LoadStateDict(Fixture("malicious.pt")));
        Assert.Contains("posix.system", e.Message);
        Assert.Contains("malicious.pt", e.Message);
        Assert.Throws<NoisetteInputException>(() => TorchCheckpoint.Inspect(Fixture("malicious.pt")));
    }

    /// <summary>
    /// malicious.pt only runs <c>echo</c>, whose effect we cannot observe; so build the same attack with a command
    /// that leaves a trace (<c>touch SENTINEL</c>), in the exact shape of malicious.pt's pickle (a valid tensor
    /// first, then <c>posix.system</c> reduced inside the same SETITEMS), and check the sentinel never appears.
    /// </summary>
    [Theory]
    [InlineData("posix", "system")]
    [InlineData("os", "system")]
    [InlineData("builtins", "exec")]
    [InlineData("subprocess", "call")]
    public void AForbiddenGlobalIsNeverCalled(string module, string name)
    {
        var sentinel = _temp["pwned"];
        var payload = name == "exec" ? $"open('{sentinel}','w').close()" : $"touch {sentinel}";
        var p = new PickleBuilder()
            .EmptyDict().Mark()
            .Str("w").Tensor("FloatStorage", "0", 1, 0, [1], [1])
            .Str("payload").Global(module, name).Str(payload).Op(0x85 /* TUPLE1 */).Reduce()
            .SetItems().Stop();
        var path = _temp["evil.pt"];
        PickleBuilder.WriteCheckpoint(path, p.ToArray(), new Dictionary<string, byte[]> { ["0"] = new byte[4] });

        var e = Assert.Throws<NoisetteInputException>(() => TorchCheckpoint.LoadStateDict(path));
        Assert.Contains($"forbidden global {module}.{name}", e.Message);
        Assert.False(File.Exists(sentinel));

        // The same refusal for the protocol-4 form (STACK_GLOBAL from two strings).
        var p4 = new PickleBuilder().Str(module).Str(name).Op(0x93).Str(payload).Op(0x85).Reduce().Stop();
        PickleBuilder.WriteCheckpoint(path, p4.ToArray(), new Dictionary<string, byte[]>());
        e = Assert.Throws<NoisetteInputException>(() => TorchCheckpoint.LoadStateDict(path));
        Assert.Contains($"{module}.{name}", e.Message);
        Assert.False(File.Exists(sentinel));
    }

    [Fact]
    public void OtherCodePathsOfPickleAreRefused()
    {
        var path = _temp["inst.pt"];
        // INST ('i'): builds an object by calling a class; never used by torch.save.
        var p = new PickleBuilder().Mark().Str("x").Op((byte)'i').Stop();
        PickleBuilder.WriteCheckpoint(path, p.ToArray(), new Dictionary<string, byte[]>());
        Assert.Contains("refused", Assert.Throws<NoisetteInputException>(() => TorchCheckpoint.LoadStateDict(path)).Message);

        // A storage type is allowed as a persistent-id tag but may not be called.
        var q = new PickleBuilder().Global("torch", "FloatStorage").EmptyTuple().Reduce().Stop();
        PickleBuilder.WriteCheckpoint(path, q.ToArray(), new Dictionary<string, byte[]>());
        Assert.Contains("torch.FloatStorage", Assert.Throws<NoisetteInputException>(() => TorchCheckpoint.LoadStateDict(path)).Message);

        // Dict keys are strings or scalars only: a (possibly deeply nested) tuple key is refused, not hashed.
        var r = new PickleBuilder().EmptyDict().IntTuple(1, 2).Int(3).SetItem().Stop();
        PickleBuilder.WriteCheckpoint(path, r.ToArray(), new Dictionary<string, byte[]>());
        Assert.Contains("dict key", Assert.Throws<NoisetteInputException>(() => TorchCheckpoint.LoadStateDict(path)).Message);
    }

    [Fact]
    public void ParametersAreTheirTensors()
    {
        // OrderedDict(w=_rebuild_parameter(_rebuild_tensor_v2(...), True, OrderedDict()))
        var p = new PickleBuilder().BeginStateDict()
            .Str("w").Global("torch._utils", "_rebuild_parameter")
            .Mark().Tensor("FloatStorage", "0", 2, 0, [2], [1]).Op(0x88 /* NEWTRUE */).Global("collections", "OrderedDict").EmptyTuple().Reduce().Tuple()
            .Reduce()
            .EndStateDict();
        var path = _temp["param.pt"];
        PickleBuilder.WriteCheckpoint(path, p.ToArray(), new Dictionary<string, byte[]> { ["0"] = FloatBytes(3, 4) });
        var sd = TorchCheckpoint.LoadStateDict(path);
        try { Assert.Equal(new[] { 3f, 4f }, Assert.Single(sd).Tensor.data<float>().ToArray()); }
        finally { DisposeAll(sd); }
    }

    [Fact]
    public void TruncatedAndNonCheckpointFilesAreRefused()
    {
        var good = File.ReadAllBytes(Fixture("adm_tiny.pt"));
        var path = _temp["cut.pt"];

        File.WriteAllBytes(path, good[..(good.Length / 2)]);
        var e = Assert.Throws<NoisetteInputException>(() => TorchCheckpoint.LoadStateDict(path));
        Assert.Contains("truncated", e.Message);
        Assert.Contains(path, e.Message);

        File.WriteAllBytes(path, good[..^30]); // only the end of the central directory is lost
        Assert.Throws<NoisetteInputException>(() => TorchCheckpoint.LoadStateDict(path));

        var random = new byte[100_000];
        new Random(7).NextBytes(random);
        File.WriteAllBytes(path, random);
        Assert.Contains("not a PyTorch checkpoint", Assert.Throws<NoisetteInputException>(() => TorchCheckpoint.LoadStateDict(path)).Message);

        File.WriteAllBytes(path, []);
        Assert.Contains("not a PyTorch checkpoint", Assert.Throws<NoisetteInputException>(() => TorchCheckpoint.LoadStateDict(path)).Message);

        // A zip that is not a checkpoint.
        using (var fs = File.Create(path))
        using (var zip = new ZipArchive(fs, ZipArchiveMode.Create))
        using (var s = zip.CreateEntry("hello.txt").Open()) s.Write("hi"u8);
        Assert.Contains("data.pkl", Assert.Throws<NoisetteInputException>(() => TorchCheckpoint.LoadStateDict(path)).Message);

        // A legacy (non-zip) torch.save file starts with a protocol-2 pickle.
        File.WriteAllBytes(path, [0x80, 0x02, 0x8a, 0x0a]);
        Assert.Contains("legacy", Assert.Throws<NoisetteInputException>(() => TorchCheckpoint.LoadStateDict(path)).Message);

        Assert.Contains("no such file", Assert.Throws<NoisetteInputException>(() => TorchCheckpoint.LoadStateDict(_temp["absent.pt"])).Message);
    }

    [Fact]
    public void DamagedPicklesAndStoragesAreRefused()
    {
        var path = _temp["bad.pt"];
        var sd = new PickleBuilder().BeginStateDict().Str("w").Tensor("FloatStorage", "0", 6, 0, [2, 3], [3, 1]).EndStateDict().ToArray();

        // The storage is shorter than the pickle says.
        PickleBuilder.WriteCheckpoint(path, sd, new Dictionary<string, byte[]> { ["0"] = new byte[20] });
        Assert.Contains("storage 0", Assert.Throws<NoisetteInputException>(() => TorchCheckpoint.LoadStateDict(path)).Message);

        // The storage is missing.
        PickleBuilder.WriteCheckpoint(path, sd, new Dictionary<string, byte[]>());
        Assert.Contains("missing", Assert.Throws<NoisetteInputException>(() => TorchCheckpoint.LoadStateDict(path)).Message);

        // The pickle is cut short.
        PickleBuilder.WriteCheckpoint(path, sd[..^5], new Dictionary<string, byte[]> { ["0"] = new byte[24] });
        Assert.Throws<NoisetteInputException>(() => TorchCheckpoint.LoadStateDict(path));

        // A view reaching past its storage.
        var over = new PickleBuilder().BeginStateDict().Str("w").Tensor("FloatStorage", "0", 6, 2, [2, 3], [3, 1]).EndStateDict().ToArray();
        PickleBuilder.WriteCheckpoint(path, over, new Dictionary<string, byte[]> { ["0"] = new byte[24] });
        Assert.Contains("'w'", Assert.Throws<NoisetteInputException>(() => TorchCheckpoint.LoadStateDict(path)).Message);

        // Not a dict at all.
        PickleBuilder.WriteCheckpoint(path, new PickleBuilder().Int(3).Stop().ToArray(), new Dictionary<string, byte[]>());
        Assert.Contains("not a state dict", Assert.Throws<NoisetteInputException>(() => TorchCheckpoint.LoadStateDict(path)).Message);
    }

    private static byte[] FloatBytes(params float[] v)
    {
        var b = new byte[v.Length * 4];
        for (var i = 0; i < v.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(b.AsSpan(i * 4), v[i]);
        return b;
    }

    private static byte[] UShortBytes(params ushort[] v)
    {
        var b = new byte[v.Length * 2];
        for (var i = 0; i < v.Length; i++) BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(i * 2), v[i]);
        return b;
    }

    [Fact]
    public void OffsetsAndStridesAreHonoured()
    {
        // Storage 0 holds 0..11. Tensors: its whole self as 3x4; the transpose (4x3, strides 1,4);
        // a strided column slice starting at offset 1 (3 rows, every other column: [[1,3],[5,7],[9,11]]);
        // a 0-d tensor at offset 7; and an empty one.
        var p = new PickleBuilder().BeginStateDict()
            .Str("whole").Tensor("FloatStorage", "0", 12, 0, [3, 4], [4, 1])
            .Str("transposed").Tensor("FloatStorage", "0", 12, 0, [4, 3], [1, 4])
            .Str("slice").Tensor("FloatStorage", "0", 12, 1, [3, 2], [4, 2])
            .Str("scalar").Tensor("FloatStorage", "0", 12, 7, [], [])
            .Str("empty").Tensor("FloatStorage", "0", 12, 0, [0, 4], [4, 1])
            .EndStateDict();
        var path = _temp["views.pt"];
        PickleBuilder.WriteCheckpoint(path, p.ToArray(), new Dictionary<string, byte[]> { ["0"] = FloatBytes(Enumerable.Range(0, 12).Select(i => (float)i).ToArray()) }, archive: "views");

        var sd = TorchCheckpoint.LoadStateDict(path);
        try
        {
            Assert.Equal(["whole", "transposed", "slice", "scalar", "empty"], sd.Select(x => x.Name));
            var d = sd.ToDictionary(x => x.Name, x => x.Tensor);
            using var scope = NewDisposeScope();
            var expected = arange(12, dtype: ScalarType.Float32).reshape(3, 4);
            Assert.True(d["whole"].eq(expected).all().item<bool>());
            Assert.True(d["transposed"].eq(expected.t()).all().item<bool>());
            Assert.Equal(new long[] { 4, 3 }, d["transposed"].shape);
            Assert.Equal(new[] { 1f, 3f, 5f, 7f, 9f, 11f }, d["slice"].contiguous().data<float>().ToArray());
            Assert.Equal(0, d["scalar"].dim());
            Assert.Equal(7f, d["scalar"].item<float>());
            Assert.Equal(new long[] { 0, 4 }, d["empty"].shape);
            // Everything returned is independent of the storage: changing one tensor leaves the others alone.
            d["transposed"].zero_();
            Assert.Equal(5f, d["slice"][1, 0].item<float>());
        }
        finally { DisposeAll(sd); }
    }

    [Fact]
    public void HalfBFloat16DoubleAndLongStoragesConvert()
    {
        // F16: 1, -2, 0.5, 65504 (largest half); BF16: 1, -2, 0.5, 3.140625.
        var half = UShortBytes(0x3C00, 0xC000, 0x3800, 0x7BFF);
        var bf16 = UShortBytes(0x3F80, 0xC000, 0x3F00, 0x4049);
        var f64 = new byte[16];
        BinaryPrimitives.WriteDoubleLittleEndian(f64, Math.PI);
        BinaryPrimitives.WriteDoubleLittleEndian(f64.AsSpan(8), -1e300);
        var i64 = new byte[16];
        BinaryPrimitives.WriteInt64LittleEndian(i64, long.MinValue);
        BinaryPrimitives.WriteInt64LittleEndian(i64.AsSpan(8), 42);

        var p = new PickleBuilder().BeginStateDict()
            .Str("h").Tensor("HalfStorage", "0", 4, 0, [2, 2], [2, 1])
            .Str("b").Tensor("BFloat16Storage", "1", 4, 0, [4], [1])
            .Str("bt").Tensor("BFloat16Storage", "1", 4, 0, [2, 2], [1, 2])
            .Str("d").Tensor("DoubleStorage", "2", 2, 0, [2], [1])
            .Str("l").Tensor("LongStorage", "3", 2, 0, [2], [1])
            .EndStateDict();
        var path = _temp["types.pt"];
        PickleBuilder.WriteCheckpoint(path, p.ToArray(), new Dictionary<string, byte[]> { ["0"] = half, ["1"] = bf16, ["2"] = f64, ["3"] = i64 }, byteorder: false);

        var sd = TorchCheckpoint.LoadStateDict(path);
        try
        {
            var d = sd.ToDictionary(x => x.Name, x => x.Tensor);
            using var scope = NewDisposeScope();
            Assert.Equal(ScalarType.Float16, d["h"].dtype);
            Assert.Equal(new[] { 1f, -2f, 0.5f, 65504f }, d["h"].to(ScalarType.Float32).view(-1).data<float>().ToArray());
            Assert.Equal(ScalarType.BFloat16, d["b"].dtype);
            Assert.Equal(new[] { 1f, -2f, 0.5f, 3.140625f }, d["b"].to(ScalarType.Float32).data<float>().ToArray());
            Assert.Equal(new[] { 1f, 0.5f, -2f, 3.140625f }, d["bt"].to(ScalarType.Float32).contiguous().view(-1).data<float>().ToArray());
            Assert.Equal(new[] { Math.PI, -1e300 }, d["d"].data<double>().ToArray());
            Assert.Equal(new[] { long.MinValue, 42L }, d["l"].data<long>().ToArray());
        }
        finally { DisposeAll(sd); }
    }

    [Fact]
    public void AStateDictNestedUnderAKeyIsFound()
    {
        // {"epoch": 3, "state_dict": OrderedDict(w=...)}
        var p = new PickleBuilder().EmptyDict().Mark()
            .Str("epoch").Int(3)
            .Str("state_dict").BeginStateDict().Str("w").Tensor("FloatStorage", "0", 2, 0, [2], [1]).SetItems()
            .SetItems().Stop();
        var path = _temp["nested.pt"];
        PickleBuilder.WriteCheckpoint(path, p.ToArray(), new Dictionary<string, byte[]> { ["0"] = FloatBytes(1, 2) });
        var sd = TorchCheckpoint.LoadStateDict(path);
        try
        {
            Assert.Equal("w", Assert.Single(sd).Name);
            Assert.Equal(new[] { 1f, 2f }, sd[0].Tensor.data<float>().ToArray());
        }
        finally { DisposeAll(sd); }
        Assert.Contains("'nope'", Assert.Throws<NoisetteInputException>(() => TorchCheckpoint.LoadStateDict(path, key: "nope")).Message);
    }
}
