using System.IO.Compression;
using System.Net;
using System.Text.Json;
using Noisette.Runs;
using Noisette.Tests.Data;
using Noisette.Data;
using Noisette.Studio;
using Microsoft.Extensions.DependencyInjection;

namespace Noisette.Tests.Studio;

/// <summary>The studio's HTTP API in memory: security (host, token, paths), datasets, uploads, runs, generation.</summary>
public class StudioApiTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static byte[] Png(int size = 32, byte shade = 40)
    {
        var px = new byte[size * size];
        for (int i = 0; i < px.Length; i++) px[i] = (byte)(i % size < size / 2 ? shade : 255);
        return PngWriter.Encode(new PlanarImage(1, size, size, px));
    }

    [Theory]
    [InlineData("evil.example", HttpStatusCode.BadRequest)]
    [InlineData("127.0.0.1.nip.io:7860", HttpStatusCode.BadRequest)]
    [InlineData("localhost", HttpStatusCode.OK)]
    [InlineData("localhost:7860", HttpStatusCode.OK)]
    [InlineData("127.0.0.1:1234", HttpStatusCode.OK)]
    [InlineData("[::1]:80", HttpStatusCode.OK)]
    public async Task HostHeaderMustBeLoopback(string host, HttpStatusCode expected)
    {
        using var f = new StudioFactory();
        using var c = f.Client();
        using var req = new HttpRequestMessage(HttpMethod.Get, "/api/state");
        req.Headers.Host = host;
        Assert.Equal(expected, (await c.SendAsync(req, Ct)).StatusCode);
    }

    [Fact]
    public async Task StateChangingRequestsNeedTheLaunchToken()
    {
        using var f = new StudioFactory();
        using var anonymous = f.Client(token: false);
        var form = StudioTestData.Form(("path", StudioTestData.DemoImages));
        Assert.Equal(HttpStatusCode.Forbidden, (await anonymous.PostAsync("/api/datasets/add", form, Ct)).StatusCode);
        anonymous.DefaultRequestHeaders.Add(StudioHost.TokenHeader, "0123");
        Assert.Equal(HttpStatusCode.Forbidden, (await anonymous.PostAsync("/api/datasets/add", form, Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/api/datasets", Ct)).StatusCode);   // reading needs none
        Assert.Empty(await (await anonymous.GetAsync("/api/datasets", Ct)).Json() is var j ? j.EnumerateArray() : default);

        using var c = f.Client();
        Assert.Equal(HttpStatusCode.OK, (await c.PostAsync("/api/datasets/add", form, Ct)).StatusCode);
    }

    [Fact]
    public async Task PageCarriesTheTokenAndServesItsScripts()
    {
        using var f = new StudioFactory();
        using var c = f.Client(token: false);
        var html = await c.GetStringAsync("/", Ct);
        Assert.Contains(f.Options.Token, html);
        Assert.Contains("addEventListener", await c.GetStringAsync("/app.js", Ct));
        Assert.Contains("--accent", await c.GetStringAsync("/app.css", Ct));
        var state = await (await c.GetAsync("/api/state", Ct)).Json();
        Assert.Contains(state.GetProperty("presets").EnumerateArray(), p => p.GetProperty("title").GetString() == "Quick look" && p.GetProperty("name").GetString() == "tiny");
        Assert.True(state.GetProperty("editAvailable").GetBoolean());
    }

    [Fact]
    public async Task EventStreamSaysHello()
    {
        using var f = new StudioFactory();
        using var c = f.Client(token: false);
        using var response = await c.GetAsync("/api/events", HttpCompletionOption.ResponseHeadersRead, Ct);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(Ct));
        var lines = new List<string>();
        while (lines.Count < 3) lines.Add(await reader.ReadLineAsync(Ct) ?? "");
        Assert.Contains("event: hello", lines);
    }

    [Fact]
    public async Task AddedFolderGetsAReportWithThumbnails()
    {
        using var f = new StudioFactory();
        using var c = f.Client();
        var data = StudioTestData.Glyphs(f.Dir["letters"], 10);
        File.Copy(Path.Combine(data, Directory.GetFiles(data)[0]), Path.Combine(data, "copy.png"));   // an exact duplicate
        File.WriteAllText(Path.Combine(data, "notes.png"), "not an image");

        var bad = await c.PostAsync("/api/datasets/add", StudioTestData.Form(("path", "letters")), Ct);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal("path", (await bad.Json()).GetProperty("field").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, (await c.PostAsync("/api/datasets/add", StudioTestData.Form(("path", f.Dir["nowhere"])), Ct)).StatusCode);
        var badName = await c.PostAsync("/api/datasets/add", StudioTestData.Form(("path", data), ("name", "../up")), Ct);
        Assert.Equal("name", (await badName.Json()).GetProperty("field").GetString());

        var added = await (await c.PostAsync("/api/datasets/add", StudioTestData.Form(("path", data)), Ct)).Json();
        Assert.Equal("letters", added.GetProperty("name").GetString());
        var report = await (await c.GetAsync("/api/datasets/letters/report", Ct)).Json();
        Assert.Equal(11, report.GetProperty("readable").GetInt32());
        Assert.Equal("gray", report.GetProperty("channels").GetString());
        Assert.Contains(report.GetProperty("unreadable").EnumerateArray(), u => u.GetProperty("path").GetString() == "notes.png");
        var dup = report.GetProperty("problems").EnumerateArray().First(p => p.GetProperty("kind").GetString() == "exact-duplicates");
        var thumb = dup.GetProperty("files").EnumerateArray().First().GetProperty("url").GetString()!;
        var image = await c.GetAsync(thumb, Ct);
        Assert.Equal(HttpStatusCode.OK, image.StatusCode);
        Assert.Equal("image/png", image.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.NotFound, (await c.GetAsync("/api/datasets/other/report", Ct)).StatusCode);
    }

    [Theory]
    [InlineData("../letters2/a.png")]
    [InlineData("sub/../../secret.txt")]
    [InlineData("/etc/passwd")]
    [InlineData("link-out/secret.txt")]
    [InlineData("file-link.png")]
    public async Task BrowserPathsStayInsideTheirFolder(string path)
    {
        using var f = new StudioFactory();
        using var c = f.Client();
        var data = StudioTestData.Glyphs(f.Dir["letters"], 3);
        var outside = Directory.CreateDirectory(f.Dir["outside"]).FullName;
        File.WriteAllText(Path.Combine(outside, "secret.txt"), "secret");
        Directory.CreateSymbolicLink(Path.Combine(data, "link-out"), outside);
        File.CreateSymbolicLink(Path.Combine(data, "file-link.png"), Path.Combine(outside, "secret.txt"));
        await c.PostAsync("/api/datasets/add", StudioTestData.Form(("path", data)), Ct);

        var response = await c.GetAsync($"/api/datasets/letters/file?path={Uri.EscapeDataString(path)}", Ct);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("path", (await response.Json()).GetProperty("field").GetString());
        var first = Path.GetFileName(Directory.GetFiles(data, "*.png").Order(StringComparer.Ordinal).First(p => !p.EndsWith("file-link.png", StringComparison.Ordinal)));
        Assert.Equal(HttpStatusCode.OK, (await c.GetAsync($"/api/datasets/letters/file?path={first}", Ct)).StatusCode);
    }

    [Fact]
    public async Task UploadKeepsOnlyImagesAndRefusesAnUploadWithoutOne()
    {
        using var f = new StudioFactory();
        using var c = f.Client();
        var text = await c.PostAsync("/api/datasets/upload", StudioTestData.Upload("words", ("readme.png", "hello, not a picture"u8.ToArray())), Ct);
        Assert.Equal(HttpStatusCode.BadRequest, text.StatusCode);
        var error = await text.Json();
        Assert.Equal("files", error.GetProperty("field").GetString());
        Assert.Contains("readme.png", error.GetProperty("error").GetString());
        Assert.Contains("not an image", error.GetProperty("error").GetString());
        Assert.False(Directory.Exists(Path.Combine(f.Workspace, "datasets", "words")));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(f.Workspace, ".staging")));

        var ok = await (await c.PostAsync("/api/datasets/upload",
            StudioTestData.Upload("mine", ("a.png", Png()), ("b.png", Png(shade: 90)), ("c.txt", "text"u8.ToArray())), Ct)).Json();
        Assert.Equal(2, ok.GetProperty("kept").GetInt32());
        Assert.Equal("c.txt", ok.GetProperty("rejected")[0].GetProperty("file").GetString());
        Assert.Equal(2, Directory.GetFiles(Path.Combine(f.Workspace, "datasets", "mine")).Length);

        var again = await c.PostAsync("/api/datasets/upload", StudioTestData.Upload("mine", ("a.png", Png())), Ct);
        Assert.Equal("name", (await again.Json()).GetProperty("field").GetString());
    }

    [Fact]
    public async Task ZipUploadUnpacksImagesAndRefusesEscapingEntries()
    {
        using var f = new StudioFactory();
        using var c = f.Client();
        using var ms = new MemoryStream();
        using (var zip = new ZipArchive(ms, ZipArchiveMode.Create, leaveOpen: true))
        {
            void Add(string name, byte[] bytes) { using var s = zip.CreateEntry(name).Open(); s.Write(bytes); }
            Add("glyphs/a.png", Png());
            Add("glyphs/b.png", Png(shade: 100));
            Add("../../escape.png", Png());
            Add("__MACOSX/._a.png", [1, 2, 3]);
            Add("broken.png", Png()[..40]);
        }
        var result = await (await c.PostAsync("/api/datasets/upload", StudioTestData.Upload("zipped", ("set.zip", ms.ToArray())), Ct)).Json();
        Assert.Equal(2, result.GetProperty("kept").GetInt32());
        var reasons = result.GetProperty("rejected").EnumerateArray().Select(r => r.GetProperty("reason").GetString()).ToList();
        Assert.Contains("unsafe path inside the zip", reasons);
        Assert.Contains(reasons, r => r!.Contains("truncated", StringComparison.Ordinal));
        Assert.True(File.Exists(Path.Combine(f.Workspace, "datasets", "zipped", "glyphs", "a.png")));
        Assert.False(File.Exists(Path.Combine(f.Workspace, "escape.png")));
        Assert.False(File.Exists(Path.Combine(f.Workspace, "datasets", "escape.png")));
    }

    [Fact]
    public async Task UploadOverTheLimitIsRefused()
    {
        using var f = new StudioFactory(maxUploadBytes: 4_000);
        using var c = f.Client();
        var big = await c.PostAsync("/api/datasets/upload", StudioTestData.Upload("big", ("a.png", Png(128)), ("b.png", new byte[8_000])), Ct);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, big.StatusCode);
        Assert.False(Directory.Exists(Path.Combine(f.Workspace, "datasets", "big")));
    }

    [Fact]
    public async Task FullDiskLeavesNoHalfWrittenDataset()
    {
        using var f = new StudioFactory();
        using var c = f.Client();
        int written = 0;
        f.Services.GetRequiredService<DatasetUpload>().WriteFile = (path, bytes) =>
        {
            if (++written == 2) throw new IOException("No space left on device", 28);
            File.WriteAllBytes(path, bytes);
        };
        var response = await c.PostAsync("/api/datasets/upload", StudioTestData.Upload("full", ("a.png", Png()), ("b.png", Png(shade: 9)), ("c.png", Png(shade: 99))), Ct);
        Assert.Equal(HttpStatusCode.InsufficientStorage, response.StatusCode);
        Assert.Contains("disk is full", (await response.Json()).GetProperty("error").GetString());
        Assert.False(Directory.Exists(Path.Combine(f.Workspace, "datasets", "full")));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(f.Workspace, ".staging")));
    }

    [Fact]
    public async Task RemovingNeedsConfirmationAndGoesToTrash()
    {
        using var f = new StudioFactory();
        using var c = f.Client();
        await c.PostAsync("/api/datasets/upload", StudioTestData.Upload("mine", ("a.png", Png())), Ct);
        var unconfirmed = await c.PostAsync("/api/datasets/mine/remove", StudioTestData.Form(("confirm", "yes")), Ct);
        Assert.Equal("confirm", (await unconfirmed.Json()).GetProperty("field").GetString());
        Assert.Equal(HttpStatusCode.OK, (await c.PostAsync("/api/datasets/mine/remove", StudioTestData.Form(("confirm", "mine")), Ct)).StatusCode);
        Assert.Single(Directory.GetDirectories(Path.Combine(f.Workspace, "trash")), d => Path.GetFileName(d).StartsWith("dataset-mine-", StringComparison.Ordinal));

        // An added folder is only forgotten, never moved.
        var data = StudioTestData.Glyphs(f.Dir["letters"], 2);
        await c.PostAsync("/api/datasets/add", StudioTestData.Form(("path", data)), Ct);
        Assert.Equal(HttpStatusCode.OK, (await c.PostAsync("/api/datasets/letters/remove", StudioTestData.Form(("confirm", "letters")), Ct)).StatusCode);
        Assert.Equal(2, Directory.GetFiles(data).Length);

        StudioTestData.MakeRun(f.Workspace, "old", 2);
        // A run that a training in another process holds is neither removed nor queued for resuming.
        using (Noisette.Runs.RunLock.Acquire(Path.Combine(f.Workspace, "runs", "old")))
        {
            var held = await c.PostAsync("/api/runs/old/remove", StudioTestData.Form(("confirm", "old")), Ct);
            Assert.Equal(HttpStatusCode.Conflict, held.StatusCode);
            Assert.Contains("another process", (await held.Json()).GetProperty("error").GetString());
            Assert.Equal(HttpStatusCode.Conflict, (await c.PostAsync("/api/runs/old/resume", StudioTestData.Form(("steps", "9")), Ct)).StatusCode);
            Assert.True(Directory.Exists(Path.Combine(f.Workspace, "runs", "old")));
        }
        Assert.Equal(HttpStatusCode.BadRequest, (await c.PostAsync("/api/runs/old/remove", StudioTestData.Form(("confirm", "ol")), Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await c.PostAsync("/api/runs/old/remove", StudioTestData.Form(("confirm", "old")), Ct)).StatusCode);
        Assert.False(Directory.Exists(Path.Combine(f.Workspace, "runs", "old")));
        Assert.Contains(Directory.GetDirectories(Path.Combine(f.Workspace, "trash")), d => Path.GetFileName(d).StartsWith("run-old-", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("steps", "many", "steps")]
    [InlineData("steps", "0", "steps")]
    [InlineData("preset", "huge", "preset")]
    [InlineData("preset", "ddpm32", "preset")]          // colour model, gray pictures
    [InlineData("checkpoint_every", "-3", "checkpoint_every")]
    [InlineData("learning_rate", "fast", "learning_rate")]
    [InlineData("threads", "999", "threads")]
    [InlineData("length", "forever", "length")]
    [InlineData("name", "a/b", "name")]
    [InlineData("init_from", "nope", "init_from")]
    [InlineData("flip", "maybe", "flip")]
    public async Task MalformedTrainingFormNamesTheField(string field, string value, string expectedField)
    {
        using var f = new StudioFactory();
        using var c = f.Client();
        await c.PostAsync("/api/datasets/add", StudioTestData.Form(("path", StudioTestData.Glyphs(f.Dir["letters"], 4))), Ct);
        var fields = new Dictionary<string, string> { ["dataset"] = "letters", ["preset"] = "tiny", ["steps"] = "10", [field] = value };
        var response = await c.PostAsync("/api/runs", new FormUrlEncodedContent(fields), Ct);
        Assert.True(response.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.NotFound, response.StatusCode.ToString());
        var error = await response.Json();
        if (response.StatusCode == HttpStatusCode.BadRequest) Assert.Equal(expectedField, error.GetProperty("field").GetString());
        Assert.Empty(Directory.GetDirectories(Path.Combine(f.Workspace, "runs")));
    }

    [Fact]
    public async Task TrainingRunsInTheBackgroundAndASecondOneQueues()
    {
        using var f = new StudioFactory();
        using var c = f.Client();
        await c.PostAsync("/api/datasets/add", StudioTestData.Form(("path", StudioTestData.Glyphs(f.Dir["letters"], 12))), Ct);
        (string, string)[] Quick(string name) => [("dataset", "letters"), ("preset", "tiny"), ("steps", "2"), ("checkpoint_every", "2"), ("batch", "2"), ("threads", "1"), ("name", name)];
        var first = await (await c.PostAsync("/api/runs", StudioTestData.Form(Quick("first")), Ct)).Json();
        Assert.False(first.GetProperty("queued").GetBoolean());
        var second = await (await c.PostAsync("/api/runs", StudioTestData.Form(Quick("second")), Ct)).Json();
        Assert.True(second.GetProperty("queued").GetBoolean());
        Assert.Contains("queued", second.GetProperty("message").GetString());
        var queue = (await (await c.GetAsync("/api/runs", Ct)).Json()).GetProperty("queue");
        Assert.Contains(queue.GetProperty("waiting").EnumerateArray(), w => w.GetProperty("run").GetString() == "second");
        var duplicate = await c.PostAsync("/api/runs", StudioTestData.Form(Quick("first")), Ct);
        Assert.Equal("name", (await duplicate.Json()).GetProperty("field").GetString());

        foreach (var run in new[] { "first", "second" })
        {
            var detail = await StudioTestData.WaitFor(c, $"/api/runs/{run}", d => d.GetProperty("run").GetProperty("state").GetString() == "finished");
            Assert.Equal(2, detail.GetProperty("run").GetProperty("step").GetInt64());
            var grid = detail.GetProperty("grids")[0].GetProperty("url").GetString()!;
            Assert.Equal("image/png", (await c.GetAsync(grid, Ct)).Content.Headers.ContentType?.MediaType);
            Assert.NotEmpty(detail.GetProperty("metrics").EnumerateArray());
            // The one checkpoint measured its sample distance, and "best" goes by it.
            Assert.True(detail.GetProperty("checkpoints")[0].GetProperty("sampleDistance").GetDouble() > 0);
            Assert.Equal(2, detail.GetProperty("bestStep").GetInt64());
            Assert.Equal("sample distance", detail.GetProperty("bestBy").GetString());
        }
        Assert.Equal(HttpStatusCode.Conflict, (await c.PostAsync("/api/runs/first/stop", StudioTestData.Form(), Ct)).StatusCode);
        var resume = await c.PostAsync("/api/runs/first/resume", StudioTestData.Form(), Ct);
        Assert.Equal("steps", (await resume.Json()).GetProperty("field").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await c.GetAsync("/api/runs/third", Ct)).StatusCode);
    }

    [Fact]
    public async Task RunStatesComeFromTheDiskAndDamageDoesNotBreakTheList()
    {
        using var f = new StudioFactory();
        using var c = f.Client();
        StudioTestData.MakeRun(f.Workspace, "done", 2);
        StudioTestData.MakeRun(f.Workspace, "crashed", 6, stopAt: 2);
        var stopped = StudioTestData.MakeRun(f.Workspace, "paused", 6, stopAt: 2);
        new Noisette.Runs.RunFolder(stopped).Log(TrainingQueue.StoppedMarker);
        var broken = Directory.CreateDirectory(Path.Combine(f.Workspace, "runs", "broken")).FullName;
        File.WriteAllText(Path.Combine(broken, "config.json"), "{ not json");
        Directory.CreateDirectory(Path.Combine(f.Workspace, "runs", "stray"));
        var hurt = StudioTestData.MakeRun(f.Workspace, "hurt", 2);
        File.WriteAllBytes(Path.Combine(hurt, "checkpoints", "step-00000002", "ema.safetensors"), [1, 2, 3]);

        var runs = (await (await c.GetAsync("/api/runs", Ct)).Json()).GetProperty("runs").EnumerateArray()
            .ToDictionary(r => r.GetProperty("name").GetString()!, r => r);
        Assert.Equal("finished", runs["done"].GetProperty("state").GetString());
        Assert.Equal("cut-off", runs["crashed"].GetProperty("state").GetString());
        Assert.True(runs["crashed"].GetProperty("canResume").GetBoolean());
        Assert.Equal("stopped", runs["paused"].GetProperty("state").GetString());
        Assert.Equal("damaged", runs["broken"].GetProperty("state").GetString());
        Assert.Equal("damaged", runs["stray"].GetProperty("state").GetString());
        Assert.Equal("damaged", runs["hurt"].GetProperty("state").GetString());
        Assert.Contains("ema.safetensors", runs["hurt"].GetProperty("stateText").GetString());
        Assert.Equal(HttpStatusCode.OK, (await c.GetAsync("/api/runs/broken", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await c.PostAsync("/api/runs/broken/resume", StudioTestData.Form(), Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await c.GetAsync("/api/runs/..%2Fdatasets", Ct)).StatusCode);

        // Resuming needs the pictures; this run's folder is gone, so the queue reports why it failed.
        var message = await (await c.PostAsync("/api/runs/crashed/resume", StudioTestData.Form(), Ct)).Json();
        Assert.False(message.GetProperty("queued").GetBoolean());
        var after = await StudioTestData.WaitFor(c, "/api/runs", j => j.GetProperty("queue").GetProperty("problems").GetArrayLength() > 0);
        Assert.Equal("crashed", after.GetProperty("queue").GetProperty("problems")[0].GetProperty("run").GetString());
        Assert.Contains("/nonexistent", after.GetProperty("queue").GetProperty("problems")[0].GetProperty("message").GetString());
    }

    /// <summary>
    /// An imported class-conditional model (OpenAI's format: 1,000 classes without names and without a null class)
    /// generates by class index, with plain guidance by default; names, "all" and indices out of range are refused.
    /// </summary>
    [Fact]
    public async Task AnImportedConditionalModelGeneratesByClassIndex()
    {
        using var f = new StudioFactory();
        using var c = f.Client();
        var run = Path.Combine(f.Workspace, "runs", "imagenet");
        Noisette.Interop.GuidedDiffusionImport.ImportToRun(Fixtures.Path("guided-diffusion", "adm_tiny_cond.pt"), run,
                                                          Fixtures.Path("guided-diffusion", "adm_tiny_cond.flags.json"));
        var detail = await (await c.GetAsync("/api/runs/imagenet", Ct)).Json();
        Assert.Equal(1000, detail.GetProperty("unnamedClasses").GetInt32());
        Assert.False(detail.GetProperty("nullClass").GetBoolean());

        foreach (var bad in new[] { "all", "cat", "1000", "-1" })
        {
            var refused = await c.PostAsync("/api/runs/imagenet/generate", StudioTestData.Form(("class", bad), ("steps", "2")), Ct);
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            var error = await refused.Json();
            Assert.Equal("class", error.GetProperty("field").GetString());
            Assert.Contains("index from 0 to 999", error.GetProperty("error").GetString());
        }
        var batch = await (await c.PostAsync("/api/runs/imagenet/generate",
            StudioTestData.Form(("class", "207"), ("count", "2"), ("steps", "2"), ("seed", "3")), Ct)).Json();
        var images = batch.GetProperty("images").EnumerateArray().ToList();
        Assert.Equal(2, images.Count);
        var first = Path.Combine(run, images[0].GetProperty("path").GetString()!);
        var text = PngText.Read(first);
        Assert.Contains(text, kv => kv.Key == "noisette:class" && kv.Value == "207");
        Assert.Contains(text, kv => kv.Key == "noisette:guidance" && kv.Value == "1");
    }

    [Fact]
    public async Task GenerateStarRegenerateAndDownload()
    {
        using var f = new StudioFactory();
        using var c = f.Client();
        var run = StudioTestData.MakeRun(f.Workspace, "letters", 2);

        var badCount = await c.PostAsync("/api/runs/letters/generate", StudioTestData.Form(("count", "lots")), Ct);
        Assert.Equal("count", (await badCount.Json()).GetProperty("field").GetString());
        var badSampler = await c.PostAsync("/api/runs/letters/generate", StudioTestData.Form(("sampler", "magic")), Ct);
        Assert.Equal("sampler", (await badSampler.Json()).GetProperty("field").GetString());
        var badRange = await c.PostAsync("/api/runs/letters/generate", StudioTestData.Form(("seed", "10"), ("seed_to", "3")), Ct);
        Assert.Equal("seed_to", (await badRange.Json()).GetProperty("field").GetString());

        var batch = await (await c.PostAsync("/api/runs/letters/generate",
            StudioTestData.Form(("count", "3"), ("steps", "4"), ("seed", "5"), ("checkpoint", "2")), Ct)).Json();
        var images = batch.GetProperty("images").EnumerateArray().ToList();
        Assert.Equal(3, images.Count);
        Assert.Equal([5L, 6L, 7L], images.Select(i => i.GetProperty("seed").GetInt64()));
        var path = images[1].GetProperty("path").GetString()!;
        var png = await c.GetByteArrayAsync(images[1].GetProperty("url").GetString(), Ct);
        Assert.Equal(File.ReadAllBytes(Path.Combine(run, path)), png);

        Assert.Equal(HttpStatusCode.BadRequest, (await c.PostAsync("/api/runs/letters/star", StudioTestData.Form(("path", "../letters/config.json")), Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await c.PostAsync("/api/runs/letters/star", StudioTestData.Form(("path", "config.json")), Ct)).StatusCode);
        var star = await (await c.PostAsync("/api/runs/letters/star", StudioTestData.Form(("path", path)), Ct)).Json();
        var favourite = Path.Combine(run, star.GetProperty("path").GetString()!);
        Assert.Equal(png, File.ReadAllBytes(favourite));
        Assert.Contains(PngText.Read(favourite), kv => kv.Key == "noisette:seed" && kv.Value == "6");

        var again = await (await c.PostAsync("/api/runs/letters/regenerate", StudioTestData.Form(("favourite", Path.GetFileName(favourite))), Ct)).Json();
        Assert.True(again.GetProperty("sameBytes").GetBoolean());
        Assert.Equal(png, File.ReadAllBytes(Path.Combine(run, again.GetProperty("image").GetProperty("path").GetString()!)));
        Assert.Equal(HttpStatusCode.BadRequest, (await c.PostAsync("/api/runs/letters/regenerate", StudioTestData.Form(("favourite", "../config.json")), Ct)).StatusCode);

        var gallery = await (await c.GetAsync("/api/runs/letters/gallery", Ct)).Json();
        Assert.Single(gallery.GetProperty("favourites").GetProperty("images").EnumerateArray());
        Assert.Contains(gallery.GetProperty("batches").EnumerateArray().SelectMany(b => b.GetProperty("images").EnumerateArray()), i => i.GetProperty("favourite").GetBoolean());

        var download = await c.GetAsync(images[0].GetProperty("url").GetString() + "?download=true", Ct);
        Assert.Equal("attachment", download.Content.Headers.ContentDisposition?.DispositionType);
        var zipBytes = await c.GetByteArrayAsync("/api/runs/letters/zip?folder=favourites", Ct);
        using (var zip = new ZipArchive(new MemoryStream(zipBytes)))
            Assert.Equal(png, ReadAll(zip.Entries.Single().Open()));
        Assert.Equal(HttpStatusCode.BadRequest, (await c.GetAsync("/api/runs/letters/zip?folder=checkpoints", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await c.GetAsync("/api/runs/letters/zip?folder=/tmp", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await c.GetAsync("/api/runs/letters/files/config.json", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await c.GetAsync("/api/runs/letters/files/generated/..%2F..%2Fconfig.json", Ct)).StatusCode);
    }

    private static MultipartFormDataContent Multipart(IEnumerable<(string Key, string Value)> fields, params (string Field, string FileName, byte[] Bytes)[] files)
    {
        var content = new MultipartFormDataContent();
        foreach (var (k, v) in fields) content.Add(new StringContent(v), k);
        foreach (var (field, fileName, bytes) in files)
        {
            var part = new ByteArrayContent(bytes);
            part.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/octet-stream");
            content.Add(part, field, fileName);
        }
        return content;
    }

    private static async Task<string?> Field(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        return (await response.Json()).GetProperty("field").GetString();
    }

    /// <summary>A gray mask: white (regenerate) in the left half.</summary>
    private static byte[] Mask(int size = 32, bool white = true)
    {
        var px = new byte[size * size];
        for (int i = 0; i < px.Length; i++) px[i] = (byte)(white && i % size < size / 2 ? 255 : 0);
        return PngWriter.Encode(new PlanarImage(1, size, size, px));
    }

    [Fact]
    public async Task EditAndInpaintKeepTheirInputsAndProvenance()
    {
        using var f = new StudioFactory();
        using var c = f.Client();
        var run = StudioTestData.MakeRun(f.Workspace, "letters", 2);
        (string, string)[] quick = [("steps", "4"), ("count", "2"), ("seed", "3"), ("strength", "0.4")];

        // Security and bad input: token, run name, fields, uploads that are not pictures, paths out of the run.
        using (var anonymous = f.Client(token: false))
            Assert.Equal(HttpStatusCode.Forbidden, (await anonymous.PostAsync("/api/runs/letters/edit", Multipart(quick, ("image", "a.png", Png())), Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await c.PostAsync("/api/runs/..%2Fdatasets/edit", Multipart(quick, ("image", "a.png", Png())), Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await c.PostAsync("/api/runs/other/edit", Multipart(quick, ("image", "a.png", Png())), Ct)).StatusCode);
        Assert.Equal("strength", await Field(await c.PostAsync("/api/runs/letters/edit", Multipart([("strength", "1.5")], ("image", "a.png", Png())), Ct)));
        Assert.Equal("count", await Field(await c.PostAsync("/api/runs/letters/edit", Multipart([("count", "500")], ("image", "a.png", Png())), Ct)));
        Assert.Equal("image", await Field(await c.PostAsync("/api/runs/letters/edit", Multipart(quick), Ct)));
        var text = await c.PostAsync("/api/runs/letters/edit", Multipart(quick, ("image", "notes.png", "not a picture"u8.ToArray())), Ct);
        Assert.Equal("image", await Field(text));
        Assert.False(Directory.Exists(Path.Combine(run, "inputs")) && Directory.EnumerateFiles(Path.Combine(run, "inputs")).Any());
        var huge = PngWriter.Encode(new PlanarImage(1, 4100, 2, new byte[8200]));
        Assert.Equal("image", await Field(await c.PostAsync("/api/runs/letters/edit", Multipart(quick, ("image", "wide.png", huge)), Ct)));
        Assert.Equal("source", await Field(await c.PostAsync("/api/runs/letters/edit", Multipart([.. quick, ("source", "../letters/config.json")]), Ct)));
        Assert.Equal("source", await Field(await c.PostAsync("/api/runs/letters/edit", Multipart([.. quick, ("source", "config.json")]), Ct)));
        Assert.Equal("source", await Field(await c.PostAsync("/api/runs/letters/edit", Multipart([.. quick, ("source", "/etc/passwd")]), Ct)));

        // An edit: one picture per seed, with the strength and the kept input in its provenance.
        var edit = await (await c.PostAsync("/api/runs/letters/edit", Multipart(quick, ("image", "my letter.png", Png())), Ct)).Json();
        var edited = edit.GetProperty("images").EnumerateArray().ToList();
        Assert.Equal(2, edited.Count);
        Assert.All(edited, i => Assert.Equal("edit", i.GetProperty("kind").GetString()));
        Assert.Equal(0.4, edited[0].GetProperty("strength").GetDouble());
        var provenance = Noisette.Pipelines.Provenance.Read(Path.Combine(run, edited[0].GetProperty("path").GetString()!));
        Assert.True(SafePathInside(Path.Combine(run, "inputs"), provenance.Input!));
        Assert.Equal(Png(), File.ReadAllBytes(provenance.Input!));

        // Inpainting from a picture the run made, with a painted mask.
        var source = edited[1].GetProperty("path").GetString()!;
        (string, string)[] fill = [("steps", "6"), ("count", "1"), ("jumps", "2"), ("jump_length", "2"), ("source", source)];
        Assert.Equal("mask", await Field(await c.PostAsync("/api/runs/letters/inpaint", Multipart(fill), Ct)));
        Assert.Equal("mask", await Field(await c.PostAsync("/api/runs/letters/inpaint", Multipart(fill, ("mask", "m.png", Mask(white: false))), Ct)));
        Assert.Equal("mask", await Field(await c.PostAsync("/api/runs/letters/inpaint", Multipart(fill, ("mask", "m.png", [1, 2, 3])), Ct)));
        Assert.Equal("jumps", await Field(await c.PostAsync("/api/runs/letters/inpaint", Multipart([.. fill, ("jumps", "0")], ("mask", "m.png", Mask())), Ct)));
        var inpaint = await (await c.PostAsync("/api/runs/letters/inpaint", Multipart(fill, ("mask", "m.png", Mask())), Ct)).Json();
        var filled = Assert.Single(inpaint.GetProperty("images").EnumerateArray());
        Assert.Equal("inpaint", filled.GetProperty("kind").GetString());
        var filledPath = Path.Combine(run, filled.GetProperty("path").GetString()!);
        var p = Noisette.Pipelines.Provenance.Read(filledPath);
        Assert.Equal(Path.Combine(run, source), p.Input);
        Assert.True(SafePathInside(Path.Combine(run, "inputs"), p.Mask!));
        Assert.Equal(2, p.Jumps);

        // Starred, an inpainting is made again from its kept input and mask, byte for byte.
        var star = await (await c.PostAsync("/api/runs/letters/star", StudioTestData.Form(("path", filled.GetProperty("path").GetString()!)), Ct)).Json();
        var again = await (await c.PostAsync("/api/runs/letters/regenerate", StudioTestData.Form(("favourite", Path.GetFileName(star.GetProperty("path").GetString()!))), Ct)).Json();
        Assert.True(again.GetProperty("sameBytes").GetBoolean());
        var gallery = await (await c.GetAsync("/api/runs/letters/gallery", Ct)).Json();
        Assert.Contains(gallery.GetProperty("batches").EnumerateArray(), b => b.GetProperty("title").GetString()!.StartsWith("inpainted ", StringComparison.Ordinal));
        Assert.Contains(gallery.GetProperty("batches").EnumerateArray(), b => b.GetProperty("title").GetString()!.StartsWith("edited ", StringComparison.Ordinal));
    }

    private static bool SafePathInside(string root, string path) => Noisette.IO.PathContainment.IsSameOrInside(path, root);

    [Fact]
    public async Task EditUploadOverTheLimitIsRefused()
    {
        using var f = new StudioFactory(maxUploadBytes: 4_000);
        using var c = f.Client();
        StudioTestData.MakeRun(f.Workspace, "letters", 2);
        var big = await c.PostAsync("/api/runs/letters/edit", Multipart([("steps", "2")], ("image", "a.png", new byte[8_000])), Ct);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, big.StatusCode);
    }

    [Fact]
    public async Task ClassesFromSubfoldersTrainAndGenerateByClass()
    {
        using var f = new StudioFactory();
        using var c = f.Client();
        var data = f.Dir["io"];
        foreach (var cls in new[] { "I", "O" })
        {
            Directory.CreateDirectory(Path.Combine(data, cls));
            foreach (var file in Directory.GetFiles(Fixtures.Path("letters-IO", cls), "*.png").Order(StringComparer.Ordinal).Take(6))
                File.Copy(file, Path.Combine(data, cls, Path.GetFileName(file)));
        }
        await c.PostAsync("/api/datasets/add", StudioTestData.Form(("path", data)), Ct);
        await c.PostAsync("/api/datasets/add", StudioTestData.Form(("path", StudioTestData.Glyphs(f.Dir["flat"], 4))), Ct);
        var report = await (await c.GetAsync("/api/datasets/io/report", Ct)).Json();
        Assert.Equal(["I", "O"], report.GetProperty("classes").EnumerateArray().Select(x => x.GetString()));
        Assert.Equal(JsonValueKind.Null, (await (await c.GetAsync("/api/datasets/flat/report", Ct)).Json()).GetProperty("classes").ValueKind);

        (string, string)[] Quick(string dataset, string classes) =>
            [("dataset", dataset), ("preset", "tiny"), ("steps", "2"), ("checkpoint_every", "2"), ("batch", "2"), ("threads", "1"), ("classes", classes)];
        Assert.Equal("classes", await Field(await c.PostAsync("/api/runs", StudioTestData.Form(Quick("flat", "subfolders")), Ct)));
        Assert.Equal("classes", await Field(await c.PostAsync("/api/runs", StudioTestData.Form(Quick("io", "sometimes")), Ct)));
        var started = await (await c.PostAsync("/api/runs", StudioTestData.Form([.. Quick("io", "subfolders"), ("name", "io")]), Ct)).Json();
        Assert.Equal("io", started.GetProperty("run").GetString());
        var detail = await StudioTestData.WaitFor(c, "/api/runs/io", d => d.GetProperty("run").GetProperty("state").GetString() == "finished");
        Assert.Equal(["I", "O"], detail.GetProperty("classNames").EnumerateArray().Select(x => x.GetString()));

        Assert.Equal("class", await Field(await c.PostAsync("/api/runs/io/generate", StudioTestData.Form(("class", "Z")), Ct)));
        Assert.Equal("guidance", await Field(await c.PostAsync("/api/runs/io/generate", StudioTestData.Form(("class", "I"), ("guidance", "-1")), Ct)));
        Assert.Equal("count", await Field(await c.PostAsync("/api/runs/io/generate", StudioTestData.Form(("class", "all"), ("count", "40")), Ct)));
        var one = await (await c.PostAsync("/api/runs/io/generate", StudioTestData.Form(("class", "o"), ("count", "2"), ("steps", "4"), ("guidance", "3")), Ct)).Json();
        var images = one.GetProperty("images").EnumerateArray().ToList();
        Assert.Equal(2, images.Count);
        Assert.All(images, i => Assert.Equal("O", i.GetProperty("class").GetString()));
        Assert.All(images, i => Assert.Equal(3.0, i.GetProperty("guidance").GetDouble()));
        var all = await (await c.PostAsync("/api/runs/io/generate", StudioTestData.Form(("class", "all"), ("count", "1"), ("steps", "4")), Ct)).Json();
        Assert.Equal(["I", "O"], all.GetProperty("images").EnumerateArray().Select(i => i.GetProperty("class").GetString()));

        // A class picture is made again with its class and guidance: the same bytes.
        var star = await (await c.PostAsync("/api/runs/io/star", StudioTestData.Form(("path", images[1].GetProperty("path").GetString()!)), Ct)).Json();
        var again = await (await c.PostAsync("/api/runs/io/regenerate", StudioTestData.Form(("favourite", Path.GetFileName(star.GetProperty("path").GetString()!))), Ct)).Json();
        Assert.True(again.GetProperty("sameBytes").GetBoolean());

        // An unconditional run has no classes to ask for.
        StudioTestData.MakeRun(f.Workspace, "plain", 2);
        Assert.Equal("class", await Field(await c.PostAsync("/api/runs/plain/generate", StudioTestData.Form(("class", "I")), Ct)));
    }

    [Fact]
    public async Task PrepareAndGlyphsMakeNewDatasetsInTheWorkspace()
    {
        using var f = new StudioFactory();
        using var c = f.Client();
        var data = StudioTestData.Glyphs(f.Dir["letters"], 5);
        await c.PostAsync("/api/datasets/add", StudioTestData.Form(("path", data)), Ct);
        using (var anonymous = f.Client(token: false))
        {
            Assert.Equal(HttpStatusCode.Forbidden, (await anonymous.PostAsync("/api/datasets/letters/prepare", StudioTestData.Form(), Ct)).StatusCode);
            Assert.Equal(HttpStatusCode.Forbidden, (await anonymous.PostAsync("/api/datasets/glyphs", StudioTestData.Form(), Ct)).StatusCode);
        }
        Assert.Equal("align", await Field(await c.PostAsync("/api/datasets/letters/prepare", StudioTestData.Form(("align", "diagonal")), Ct)));
        Assert.Equal("target_height", await Field(await c.PostAsync("/api/datasets/letters/prepare", StudioTestData.Form(("target_height", "150")), Ct)));
        Assert.Equal("image_size", await Field(await c.PostAsync("/api/datasets/letters/prepare", StudioTestData.Form(("image_size", "4")), Ct)));
        Assert.Equal("new_name", await Field(await c.PostAsync("/api/datasets/letters/prepare", StudioTestData.Form(("new_name", "../escape")), Ct)));
        Assert.Equal("new_name", await Field(await c.PostAsync("/api/datasets/letters/prepare", StudioTestData.Form(("new_name", "letters")), Ct)));
        Assert.Equal(HttpStatusCode.NotFound, (await c.PostAsync("/api/datasets/nothing/prepare", StudioTestData.Form(), Ct)).StatusCode);

        var prepared = await (await c.PostAsync("/api/datasets/letters/prepare",
            StudioTestData.Form(("new_name", "tidy"), ("align", "center"), ("image_size", "32"), ("target_height", "60")), Ct)).Json();
        Assert.Equal(5, prepared.GetProperty("written").GetInt32());
        var tidy = Path.Combine(f.Workspace, "datasets", "tidy");
        Assert.Equal(5, Directory.GetFiles(tidy, "*.png").Length);
        Assert.All(Directory.GetFiles(tidy, "*.png"), p => Assert.Equal(32, ImageDecoder.Decode(p).Width));
        Assert.Equal(5, Directory.GetFiles(data).Length);   // the source is untouched
        Assert.Contains((await (await c.GetAsync("/api/datasets", Ct)).Json()).EnumerateArray(), d => d.GetProperty("name").GetString() == "tidy");

        var fonts = Path.Combine(TestImages.FixturesDir, "fonts");
        Assert.Equal("fonts", await Field(await c.PostAsync("/api/datasets/glyphs", StudioTestData.Form(("fonts", "fonts"), ("chars", "A")), Ct)));
        Assert.Equal("fonts", await Field(await c.PostAsync("/api/datasets/glyphs", StudioTestData.Form(("fonts", f.Dir["no-fonts-here"]), ("chars", "A")), Ct)));
        Assert.Equal("fonts", await Field(await c.PostAsync("/api/datasets/glyphs", StudioTestData.Form(("fonts", f.Workspace), ("chars", "A")), Ct)));
        Assert.Equal("chars", await Field(await c.PostAsync("/api/datasets/glyphs", StudioTestData.Form(("fonts", fonts)), Ct)));
        Assert.Equal("name", await Field(await c.PostAsync("/api/datasets/glyphs", StudioTestData.Form(("fonts", fonts), ("chars", "A"), ("name", "a/b")), Ct)));
        Assert.Equal("name", await Field(await c.PostAsync("/api/datasets/glyphs", StudioTestData.Form(("fonts", fonts), ("chars", "A"), ("name", "tidy")), Ct)));
        var glyphs = await (await c.PostAsync("/api/datasets/glyphs", StudioTestData.Form(("fonts", fonts), ("chars", "AH"), ("image_size", "32"), ("name", "drawn")), Ct)).Json();
        Assert.Equal(6, glyphs.GetProperty("written").GetInt32());         // the three fixture fonts, two characters
        var report = await (await c.GetAsync("/api/datasets/drawn/report", Ct)).Json();
        Assert.Equal(6, report.GetProperty("readable").GetInt32());
        Assert.Equal(["A", "H"], report.GetProperty("classes").EnumerateArray().Select(x => x.GetString()));
    }

    [Fact]
    public async Task EstimateIsMeasuredOnceAndCached()
    {
        using var f = new StudioFactory();
        using var c = f.Client();
        using (var anonymous = f.Client(token: false))
            Assert.Equal(HttpStatusCode.Forbidden, (await anonymous.PostAsync("/api/estimate", StudioTestData.Form(("preset", "tiny")), Ct)).StatusCode);
        Assert.Equal("preset", await Field(await c.PostAsync("/api/estimate", StudioTestData.Form(("preset", "huge")), Ct)));
        Assert.Equal("batch", await Field(await c.PostAsync("/api/estimate", StudioTestData.Form(("preset", "tiny"), ("batch", "x")), Ct)));
        Assert.Equal("threads", await Field(await c.PostAsync("/api/estimate", StudioTestData.Form(("preset", "tiny"), ("threads", "999")), Ct)));
        var first = await (await c.PostAsync("/api/estimate", StudioTestData.Form(("preset", "tiny"), ("batch", "2"), ("threads", "1")), Ct)).Json();
        Assert.True(first.GetProperty("measured").GetBoolean());
        Assert.True(first.GetProperty("secondsPerStep").GetDouble() > 0);
        var second = await (await c.PostAsync("/api/estimate", StudioTestData.Form(("preset", "tiny"), ("batch", "2"), ("threads", "1")), Ct)).Json();
        Assert.Equal(first.GetProperty("secondsPerStep").GetDouble(), second.GetProperty("secondsPerStep").GetDouble());
        var large = await (await c.PostAsync("/api/estimate", StudioTestData.Form(("preset", "adm256")), Ct)).Json();
        Assert.False(large.GetProperty("measured").GetBoolean());
        Assert.Contains("graphics card", large.GetProperty("reason").GetString());
    }

    [Fact]
    public async Task VariationsAroundAFavouriteAndUnstarring()
    {
        using var f = new StudioFactory();
        using var c = f.Client();
        var run = StudioTestData.MakeRun(f.Workspace, "letters", 2);
        var batch = await (await c.PostAsync("/api/runs/letters/generate", StudioTestData.Form(("count", "1"), ("steps", "4"), ("seed", "6")), Ct)).Json();
        var star = await (await c.PostAsync("/api/runs/letters/star", StudioTestData.Form(("path", batch.GetProperty("images")[0].GetProperty("path").GetString()!)), Ct)).Json();
        var favourite = Path.GetFileName(star.GetProperty("path").GetString()!);

        Assert.Equal("spread", await Field(await c.PostAsync("/api/runs/letters/variations", StudioTestData.Form(("favourite", favourite), ("spread", "0")), Ct)));
        Assert.Equal("favourite", await Field(await c.PostAsync("/api/runs/letters/variations", StudioTestData.Form(("favourite", "../config.json")), Ct)));
        Assert.Equal(HttpStatusCode.NotFound, (await c.PostAsync("/api/runs/letters/variations", StudioTestData.Form(("favourite", "gone.png")), Ct)).StatusCode);
        var variations = await (await c.PostAsync("/api/runs/letters/variations", StudioTestData.Form(("favourite", favourite), ("spread", "1")), Ct)).Json();
        Assert.Equal([5L, 7L], variations.GetProperty("images").EnumerateArray().Select(i => i.GetProperty("seed").GetInt64()));
        Assert.All(variations.GetProperty("images").EnumerateArray(), i => Assert.Equal(4, i.GetProperty("steps").GetInt32()));

        using (var anonymous = f.Client(token: false))
            Assert.Equal(HttpStatusCode.Forbidden, (await anonymous.PostAsync("/api/runs/letters/unstar", StudioTestData.Form(("favourite", favourite)), Ct)).StatusCode);
        Assert.Equal("favourite", await Field(await c.PostAsync("/api/runs/letters/unstar", StudioTestData.Form(("favourite", "../config.json")), Ct)));
        Assert.Equal("favourite", await Field(await c.PostAsync("/api/runs/letters/unstar", StudioTestData.Form(("favourite", "/etc/passwd")), Ct)));
        Assert.Equal(HttpStatusCode.NotFound, (await c.PostAsync("/api/runs/letters/unstar", StudioTestData.Form(("favourite", "gone.png")), Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await c.PostAsync("/api/runs/letters/unstar", StudioTestData.Form(("favourite", favourite)), Ct)).StatusCode);
        Assert.Empty(Directory.GetFiles(Path.Combine(run, "favourites")));
        Assert.Single(Directory.GetFiles(Path.Combine(f.Workspace, "trash")), t => Path.GetFileName(t).StartsWith("favourite-", StringComparison.Ordinal));
        Assert.Single(Directory.GetFiles(Path.Combine(run, "generated"), "*.png", SearchOption.AllDirectories), p => p.Contains("seed6", StringComparison.Ordinal));
    }

    private static byte[] ReadAll(Stream s)
    {
        using var ms = new MemoryStream();
        s.CopyTo(ms);
        s.Dispose();
        return ms.ToArray();
    }
}
