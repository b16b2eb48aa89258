using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Noisette.Studio;

namespace Noisette.Tests.Studio;

/// <summary>Endpoints not walked elsewhere: damaged configs, a report checked again, missing grids, seed ranges, the served files.</summary>
public partial class StudioEndpointTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("""{"training":null}""", "training section")]
    [InlineData("""{"run":null}""", "run section")]
    [InlineData("""{"training":{"model":null}}""", "training.model")]
    [InlineData("""{"training":{"diffusion":null,"data":null}}""", "training.diffusion")]
    [InlineData("""{"training":{"model":{"channel_multipliers":null}}}""", "channel_multipliers")]
    [InlineData("""{"training":{"steps":"many"}}""", "not valid")]
    [InlineData("""{"training":{"batch":0}}""", "batch must be at least 1")]
    [InlineData("""{"training":{"preset":null}}""", "training.preset")]
    [InlineData("""{"run":{"data_path":null}}""", "run.data_path")]
    [InlineData("""[1, 2]""", "not valid")]
    [InlineData("""null""", "empty")]
    public async Task ConfigThatFailsValidationIsDamagedAndTheOthersStillList(string config, string named)
    {
        using var f = new StudioFactory();
        using var c = f.Client();
        StudioTestData.MakeRun(f.Workspace, "good", 2);
        var bad = StudioTestData.MakeRun(f.Workspace, "bad", 2);
        File.WriteAllText(Path.Combine(bad, "config.json"), config);   // the metrics stay, so the speed table reads it too

        var list = await c.GetAsync("/api/runs", Ct);
        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        var runs = (await list.Json()).GetProperty("runs").EnumerateArray().ToDictionary(r => r.GetProperty("name").GetString()!);
        Assert.Equal("finished", runs["good"].GetProperty("state").GetString());
        Assert.Equal("damaged", runs["bad"].GetProperty("state").GetString());
        Assert.Contains(named, runs["bad"].GetProperty("stateText").GetString());
        Assert.False(runs["bad"].GetProperty("canResume").GetBoolean());

        var detail = await c.GetAsync("/api/runs/bad", Ct);
        Assert.Equal(HttpStatusCode.OK, detail.StatusCode);
        Assert.Empty((await detail.Json()).GetProperty("settings").EnumerateObject());
        Assert.Equal(HttpStatusCode.OK, (await c.GetAsync("/api/state", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await c.PostAsync("/api/runs/bad/resume", StudioTestData.Form(), Ct)).StatusCode);
        var generate = await c.PostAsync("/api/runs/bad/generate", StudioTestData.Form(("count", "1"), ("steps", "2")), Ct);
        Assert.Equal(HttpStatusCode.BadRequest, generate.StatusCode);
        Assert.Contains("config.json", (await generate.Json()).GetProperty("error").GetString());
        await c.PostAsync("/api/datasets/add", StudioTestData.Form(("path", StudioTestData.Glyphs(f.Dir["letters"], 4))), Ct);
        var tune = await c.PostAsync("/api/runs", StudioTestData.Form(("dataset", "letters"), ("steps", "2"), ("init_from", "bad")), Ct);
        Assert.Equal(HttpStatusCode.BadRequest, tune.StatusCode);
        Assert.Equal("init_from", (await tune.Json()).GetProperty("field").GetString());
    }

    [Fact]
    public async Task ReportIsCachedUntilRefreshed()
    {
        using var f = new StudioFactory();
        using var c = f.Client();
        var data = StudioTestData.Glyphs(f.Dir["letters"], 3);
        await c.PostAsync("/api/datasets/add", StudioTestData.Form(("path", data)), Ct);
        Assert.Equal(3, (await (await c.GetAsync("/api/datasets/letters/report", Ct)).Json()).GetProperty("readable").GetInt32());
        foreach (var extra in Directory.GetFiles(StudioTestData.DemoImages, "*.png").Order(StringComparer.Ordinal).Skip(10).Take(2))
            File.Copy(extra, Path.Combine(data, Path.GetFileName(extra)));
        Assert.Equal(3, (await (await c.GetAsync("/api/datasets/letters/report", Ct)).Json()).GetProperty("readable").GetInt32());
        Assert.Equal(5, (await (await c.GetAsync("/api/datasets/letters/report?refresh=true", Ct)).Json()).GetProperty("readable").GetInt32());
        Assert.Equal(5, (await (await c.GetAsync("/api/datasets/letters/report", Ct)).Json()).GetProperty("readable").GetInt32());
    }

    [Fact]
    public async Task GridsThatDoNotExistAre404AndASeedRangeGivesEachSeed()
    {
        using var f = new StudioFactory();
        using var c = f.Client();
        StudioTestData.MakeRun(f.Workspace, "letters", 2);   // made without sample grids
        Assert.Equal(HttpStatusCode.NotFound, (await c.GetAsync("/api/runs/letters/grid/2", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await c.GetAsync("/api/runs/letters/grid/999", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await c.GetAsync("/api/runs/nothing/grid/2", Ct)).StatusCode);

        Assert.Equal("seed_to", (await (await c.PostAsync("/api/runs/letters/generate", StudioTestData.Form(("seed", "0"), ("seed_to", "64")), Ct)).Json()).GetProperty("field").GetString());
        var batch = await (await c.PostAsync("/api/runs/letters/generate", StudioTestData.Form(("seed", "3"), ("seed_to", "5"), ("count", "1"), ("steps", "3")), Ct)).Json();
        var images = batch.GetProperty("images").EnumerateArray().ToList();
        Assert.Equal([3L, 4L, 5L], images.Select(i => i.GetProperty("seed").GetInt64()));
        Assert.Equal(3, images.Select(i => i.GetProperty("path").GetString()).Distinct().Count());
        Assert.All(images, i => Assert.True(File.Exists(Path.Combine(f.Workspace, "runs", "letters", i.GetProperty("path").GetString()!))));
    }

    [GeneratedRegex(@"/\*.*?\*/", RegexOptions.Singleline)]
    private static partial Regex BlockComment();
    [GeneratedRegex(@"(?<![:""'\\])//[^\n]*")]
    private static partial Regex LineComment();
    [GeneratedRegex(@"<!--.*?-->", RegexOptions.Singleline)]
    private static partial Regex HtmlComment();

    [Fact]
    public async Task ServedFilesReferenceNothingOutsideTheStudio()
    {
        using var f = new StudioFactory();
        using var c = f.Client(token: false);
        var html = await c.GetStringAsync("/", Ct);
        var js = await c.GetStringAsync("/app.js", Ct);
        var css = await c.GetStringAsync("/app.css", Ct);
        var code = new Dictionary<string, string>
        {
            ["index.html"] = HtmlComment().Replace(html, ""),
            ["app.js"] = LineComment().Replace(BlockComment().Replace(js, ""), ""),
            ["app.css"] = BlockComment().Replace(css, ""),
        };
        foreach (var (file, text) in code)
        {
            Assert.DoesNotMatch(new Regex(@"https?://", RegexOptions.IgnoreCase), text);
            Assert.DoesNotMatch(new Regex(@"(src|href|url)\s*[=(]\s*[""']?//", RegexOptions.IgnoreCase), text);   // protocol-relative
            Assert.DoesNotContain("@import", text);
            Assert.True(text.Length > 500, $"{file} is served ({text.Length} characters after comments)");
        }
        // The page loads exactly the two files the studio serves itself.
        Assert.Equal(["/app.js"], Regex.Matches(html, @"<script[^>]*\ssrc=""([^""]+)""").Select(m => m.Groups[1].Value));
        Assert.Equal(["/app.css"], Regex.Matches(html, @"<link[^>]*\shref=""([^""]+)""").Select(m => m.Groups[1].Value));
        Assert.DoesNotContain("fetch(\"http", js);
    }
}
