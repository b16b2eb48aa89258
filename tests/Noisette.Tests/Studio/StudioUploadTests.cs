using System.Buffers.Binary;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Noisette.Data;
using Noisette.Studio;

namespace Noisette.Tests.Studio;

/// <summary>Uploads that go wrong on the way in: a full disk while receiving or saving, broken forms, names taken meanwhile, zips that lie.</summary>
public class StudioUploadTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A gray picture of random pixels (so that it does not compress to nothing).</summary>
    internal static byte[] NoisePng(int width, int height, int seed = 0)
    {
        var px = new byte[width * height];
        new Random(seed).NextBytes(px);
        return PngWriter.Encode(new PlanarImage(1, width, height, px));
    }

    /// <summary>Writes through to a real spool file until <paramref name="room"/> bytes are used, then fails as a full disk does.</summary>
    private sealed class FillingStream(Stream inner, long room) : Stream
    {
        public override bool CanRead => inner.CanRead;
        public override bool CanSeek => inner.CanSeek;
        public override bool CanWrite => true;
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => inner.Position = value; }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
        public override long Seek(long offset, SeekOrigin origin) => inner.Seek(offset, origin);
        public override void SetLength(long value) => inner.SetLength(value);
        public override void Write(byte[] buffer, int offset, int count)
        {
            if (inner.Length + count > room) throw new IOException("No space left on device", 28);
            inner.Write(buffer, offset, count);
        }
        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            Write(buffer, offset, count);
            return Task.CompletedTask;
        }
        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Write(buffer.ToArray(), 0, buffer.Length);
            return ValueTask.CompletedTask;
        }
        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Dispose();
            base.Dispose(disposing);
        }
    }

    private static void AssertNothingKept(StudioFactory f, string name)
    {
        Assert.False(Directory.Exists(Path.Combine(f.Workspace, "datasets", name)));
        var staging = Path.Combine(f.Workspace, ".staging");
        Assert.True(!Directory.Exists(staging) || !Directory.EnumerateFileSystemEntries(staging).Any(),
            "left in .staging: " + (Directory.Exists(staging) ? string.Join(", ", Directory.EnumerateFileSystemEntries(staging)) : ""));
    }

    [Fact]
    public async Task DiskFullWhileReceivingTheUploadIs507AndKeepsNothing()
    {
        using var f = new StudioFactory();
        using var c = f.Client();
        var spool = f.Services.GetRequiredService<UploadSpool>();
        var opened = new List<string>();
        spool.CreateFile = path => { opened.Add(path); return new FillingStream(UploadSpool.OpenSpoolFile(path), 100_000); };
        // Bigger than what is kept in memory and than the room on the "disk": the failure comes while the body is received.
        var response = await c.PostAsync("/api/datasets/upload", StudioTestData.Upload("full",
            ("a.png", NoisePng(256, 256, 1)), ("b.png", NoisePng(256, 256, 2))), Ct);
        Assert.Equal(HttpStatusCode.InsufficientStorage, response.StatusCode);
        Assert.Contains("disk is full", (await response.Json()).GetProperty("error").GetString());
        Assert.Single(opened);
        Assert.False(File.Exists(opened[0]));   // the partial copy of the body is gone
        AssertNothingKept(f, "full");

        // The same for a picture to edit, and then the next upload works again.
        StudioTestData.MakeRun(f.Workspace, "letters", 2);
        using var edit = new MultipartFormDataContent { { new ByteArrayContent(NoisePng(400, 400, 3)), "image", "big.png" } };
        Assert.Equal(HttpStatusCode.InsufficientStorage, (await c.PostAsync("/api/runs/letters/edit", edit, Ct)).StatusCode);
        Assert.False(Directory.Exists(Path.Combine(f.Workspace, "runs", "letters", "inputs")));
        spool.CreateFile = UploadSpool.OpenSpoolFile;
        var ok = await c.PostAsync("/api/datasets/upload", StudioTestData.Upload("room", ("a.png", NoisePng(256, 256, 1)), ("b.png", NoisePng(256, 256, 2))), Ct);
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal(2, (await ok.Json()).GetProperty("kept").GetInt32());
        AssertNothingKept(f, "none");
    }

    [Fact]
    public async Task MalformedMultipartIs400WithAMessage()
    {
        using var f = new StudioFactory();
        using var c = f.Client();
        async Task<string> Refused(string contentType, string body)
        {
            using var content = new ByteArrayContent(Encoding.ASCII.GetBytes(body));
            content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
            var response = await c.PostAsync("/api/datasets/upload", content, Ct);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            return (await response.Json()).GetProperty("error").GetString()!;
        }
        // No boundary at all; a body cut off before its closing boundary; headers that never end.
        Assert.Contains("boundary", await Refused("multipart/form-data", "--x\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nset\r\n--x--\r\n"));
        Assert.Contains("could not be read", await Refused("multipart/form-data; boundary=x",
            "--x\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.png\"\r\n\r\n\x89PNG half a pic"));
        Assert.NotEmpty(await Refused("multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"name\"\r\n" + new string('h', 20_000)));
        AssertNothingKept(f, "set");
    }

    [Fact]
    public async Task SaveFailuresAndANameTakenMeanwhileKeepNothing()
    {
        using var f = new StudioFactory();
        using var c = f.Client();
        var upload = f.Services.GetRequiredService<DatasetUpload>();
        var files = new[] { ("a.png", NoisePng(16, 16, 1)), ("b.png", NoisePng(16, 16, 2)) };

        // An I/O error that is not a full disk: 400 with the reason.
        upload.WriteFile = (_, _) => throw new IOException("Input/output error", 5);
        var broken = await c.PostAsync("/api/datasets/upload", StudioTestData.Upload("broken", files), Ct);
        Assert.Equal(HttpStatusCode.BadRequest, broken.StatusCode);
        Assert.Contains("Input/output error", (await broken.Json()).GetProperty("error").GetString());
        AssertNothingKept(f, "broken");

        // Another upload of the same name finishes while this one is being checked: the rename at the end fails.
        var other = Path.Combine(f.Workspace, "datasets", "twin");
        upload.WriteFile = (path, bytes) =>
        {
            if (!Directory.Exists(other)) { Directory.CreateDirectory(other); File.WriteAllBytes(Path.Combine(other, "theirs.png"), NoisePng(8, 8)); }
            File.WriteAllBytes(path, bytes);
        };
        var raced = await c.PostAsync("/api/datasets/upload", StudioTestData.Upload("twin", files), Ct);
        Assert.Equal(HttpStatusCode.BadRequest, raced.StatusCode);
        var error = await raced.Json();
        Assert.Equal("name", error.GetProperty("field").GetString());
        Assert.Contains("another upload", error.GetProperty("error").GetString());
        Assert.Equal(["theirs.png"], Directory.GetFiles(other).Select(Path.GetFileName));   // theirs untouched, ours not mixed in
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(f.Workspace, ".staging")));

        // An edit whose input cannot be kept (RUN/inputs is a file here): 400 naming the field, not a crash.
        var run = StudioTestData.MakeRun(f.Workspace, "letters", 2);
        File.WriteAllText(Path.Combine(run, "inputs"), "in the way");
        using var edit = new MultipartFormDataContent { { new ByteArrayContent(NoisePng(32, 32)), "image", "a.png" } };
        var response = await c.PostAsync("/api/runs/letters/edit", edit, Ct);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var editError = await response.Json();
        Assert.Equal("image", editError.GetProperty("field").GetString());
        Assert.Contains("could not be kept", editError.GetProperty("error").GetString());
    }

    /// <summary>Rewrites the uncompressed size every entry of a zip declares (local headers and central directory).</summary>
    private static byte[] DeclareSizes(byte[] zip, uint declared)
    {
        var b = zip.ToArray();
        int at = 0;
        while (BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(at)) == 0x04034b50)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(at + 22), declared);
            int compressed = (int)BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(at + 18));
            at += 30 + BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(at + 26)) + BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(at + 28)) + compressed;
        }
        while (BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(at)) == 0x02014b50)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(at + 24), declared);
            at += 46 + BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(at + 28)) + BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(at + 30))
                  + BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(at + 32));
        }
        Assert.Equal(0x06054b50u, BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(at)));   // every header was visited
        return b;
    }

    private static byte[] Zip(int count, Func<int, byte[]> picture)
    {
        using var ms = new MemoryStream();
        using (var zip = new ZipArchive(ms, ZipArchiveMode.Create, leaveOpen: true))
            for (int i = 0; i < count; i++)
            {
                using var s = zip.CreateEntry($"set/p{i:D2}.png", CompressionLevel.Fastest).Open();
                s.Write(picture(i));
            }
        return ms.ToArray();
    }

    [Fact]
    public async Task ZipTotalCountsTheBytesReadNotTheSizesDeclared()
    {
        using var f = new StudioFactory();
        using var c = f.Client();
        // 40 small pictures each claiming 60 MB: 2.4 GB declared, a few KB real. They are read, and kept.
        var claimed = DeclareSizes(Zip(40, i => NoisePng(8, 8, i)), 60_000_000);
        using (var check = new ZipArchive(new MemoryStream(claimed)))
            Assert.All(check.Entries, e => Assert.Equal(60_000_000, e.Length));
        var kept = await c.PostAsync("/api/datasets/upload", StudioTestData.Upload("claims", ("set.zip", claimed)), Ct);
        Assert.Equal(HttpStatusCode.OK, kept.StatusCode);
        Assert.Equal(40, (await kept.Json()).GetProperty("kept").GetInt32());

        // The total is counted as the bytes come out: over it, nothing is kept, whatever the entries declare.
        var upload = f.Services.GetRequiredService<DatasetUpload>();
        upload.MaxUnpacked = 6_000;
        var pictures = Zip(3, i => NoisePng(48, 48, i));   // about 2.4 KB each
        foreach (var zip in new[] { pictures, DeclareSizes(pictures, 10_000_000) })
        {
            var over = await c.PostAsync("/api/datasets/upload", StudioTestData.Upload("over", ("set.zip", zip)), Ct);
            Assert.Equal(HttpStatusCode.BadRequest, over.StatusCode);
            Assert.Contains("unpacks to more than", (await over.Json()).GetProperty("error").GetString());
            AssertNothingKept(f, "over");
        }
        upload.MaxUnpacked = 8_000;
        Assert.Equal(3, (await (await c.PostAsync("/api/datasets/upload", StudioTestData.Upload("under", ("set.zip", pictures)), Ct)).Json()).GetProperty("kept").GetInt32());
    }

    [Fact]
    public async Task MaskOfANonSquarePictureLandsWhereItWasPainted()
    {
        using var f = new StudioFactory();
        using var c = f.Client();
        var run = StudioTestData.MakeRun(f.Workspace, "letters", 2);
        // A 64×32 picture: dark left half, light right half, and the model sees its centre square (x 16…47).
        var px = new byte[64 * 32];
        for (int i = 0; i < px.Length; i++) px[i] = (byte)(i % 64 < 32 ? 30 + i % 7 : 220 - i % 5);
        var picture = PngWriter.Encode(new PlanarImage(1, 64, 32, px));
        // The mask as the edit page paints it: the picture's proportions at another resolution (here 32×16),
        // white over x 8…15 of 32, that is x 16…31 of the picture: the left half of what the model sees.
        var maskPx = new byte[32 * 16];
        for (int i = 0; i < maskPx.Length; i++) maskPx[i] = (byte)(i % 32 is >= 8 and < 16 ? 255 : 0);
        var mask = PngWriter.Encode(new PlanarImage(1, 32, 16, maskPx));
        MultipartFormDataContent Form(byte[] maskBytes) => new()
        {
            { new StringContent("4"), "steps" }, { new StringContent("1"), "count" }, { new StringContent("1"), "jumps" },
            { new ByteArrayContent(picture), "image", "wide.png" }, { new ByteArrayContent(maskBytes), "mask", "mask.png" },
        };

        // A square mask over a wide picture (what a canvas stretched to a square would send) cannot line up: refused.
        var stretched = PngWriter.Encode(new PlanarImage(1, 32, 32, new byte[32 * 32].Select((_, i) => (byte)(i % 32 < 16 ? 255 : 0)).ToArray()));
        var refused = await c.PostAsync("/api/runs/letters/inpaint", Form(stretched), Ct);
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        var error = await refused.Json();
        Assert.Equal("mask", error.GetProperty("field").GetString());
        Assert.Contains("proportions", error.GetProperty("error").GetString());

        var result = await (await c.PostAsync("/api/runs/letters/inpaint", Form(mask), Ct)).Json();
        var file = Path.Combine(run, result.GetProperty("images")[0].GetProperty("path").GetString()!);
        var output = ImageDecoder.Decode(file);
        Assert.Equal((32, 32), (output.Width, output.Height));
        // The input as the model sees it: the centre square, as in training.
        Assert.True(ImageDecoder.TryDecode(picture, ".png", out var decoded, out _));
        var expected = ImagePreprocessor.Process(decoded, new DataConfig { ImageSize = 32 }, ChannelMode.Gray);
        int differing = 0;
        for (int y = 0; y < 32; y++)
            for (int x = 0; x < 32; x++)
            {
                byte got = output.Rgba[(y * 32 + x) * 4], want = expected[y * 32 + x];
                if (x >= 16) Assert.True(got == want, $"kept pixel ({x}, {y}) changed: {got} ≠ {want}");   // the unpainted half, byte for byte
                else if (got != want) differing++;
            }
        Assert.True(differing > 32, $"only {differing} of the 512 painted pixels were made anew");
    }
}
