using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Playwright;
using Noisette.Studio;

namespace Noisette.Tests.Studio;

/// <summary>
/// The New training form in a real browser (Debian's chromium): its defaults come from the server's
/// GET /api/training/defaults, and it stays usable when that endpoint is not there.
/// </summary>
[Collection(RunsAlone.Name)]
public class StudioTrainFormTests
{
    private const string DefaultsPath = "/api/training/defaults";
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task FormShowsTheDefaultsTheServerGivesForTheChosenModelAndLength()
    {
        await using var s = await StudioInBrowser.StartAsync(timeoutMs: 60_000);
        var page = s.Page;
        // The endpoint answers by its contract (field names as keys), with numbers no page could make up:
        // the checkpoint interval a tenth of the steps, each model its own batch.
        var asked = new List<Dictionary<string, string>>();
        await page.RouteAsync("**" + DefaultsPath + "**", async route =>
        {
            var query = QueryHelpers.ParseQuery(new Uri(route.Request.Url).Query).ToDictionary(q => q.Key, q => q.Value.ToString());
            lock (asked) asked.Add(query);
            int steps = query.TryGetValue("steps", out var n) ? int.Parse(n, CultureInfo.InvariantCulture) : 1234;
            var preset = query.GetValueOrDefault("preset", "letters32");
            await route.FulfillAsync(new()
            {
                Status = 200,
                ContentType = "application/json",
                Body = JsonSerializer.Serialize(new
                {
                    preset,
                    presets = new[] { new { name = "tiny", title = "Quick look", gray = true }, new { name = "letters32", title = "Letters 32 px", gray = true } },
                    steps,
                    checkpoint_every = steps / 10,
                    batch = preset == "tiny" ? 8 : 5,
                    learning_rate = 0.0003,
                    seed = 9,
                    flip = true,
                }),
            });
        });
        bool Asked(Func<Dictionary<string, string>, bool> what) { lock (asked) return asked.Any(what); }

        await page.GotoAsync(s.Url + "#/train");
        await Assertions.Expect(page.GetByLabel("Letters 32 px")).ToBeCheckedAsync();
        await Assertions.Expect(page.Locator("#t-steps")).ToHaveValueAsync("1234");
        await Assertions.Expect(page.Locator("#t-every")).ToHaveValueAsync("123");
        await Assertions.Expect(page.Locator("#t-batch")).ToHaveAttributeAsync("placeholder", "5");
        await Assertions.Expect(page.Locator("#t-batch")).ToHaveValueAsync("");   // left empty, the server uses its default
        await Assertions.Expect(page.Locator("#t-lr")).ToHaveAttributeAsync("placeholder", "0.0003");
        await Assertions.Expect(page.Locator("#t-seed")).ToHaveAttributeAsync("placeholder", "9");
        await Assertions.Expect(page.GetByLabel("Mirror pictures at random", new() { Exact = false })).ToBeCheckedAsync();

        // Other steps: the checkpoint interval follows them.
        await page.GetByLabel("Steps", new() { Exact = true }).FillAsync("500");
        await Assertions.Expect(page.Locator("#t-every")).ToHaveValueAsync("50");
        Assert.True(Asked(q => q.GetValueOrDefault("steps") == "500" && q.GetValueOrDefault("preset") == "letters32"));

        // Another model: its batch; an interval the person typed stays theirs.
        await page.GetByLabel("Save a checkpoint and a sample grid every … steps").FillAsync("30");
        await page.GetByLabel("Quick look").CheckAsync();
        await Assertions.Expect(page.Locator("#t-batch")).ToHaveAttributeAsync("placeholder", "8");
        Assert.True(Asked(q => q.GetValueOrDefault("preset") == "tiny" && q.GetValueOrDefault("steps") == "500"));
        await Assertions.Expect(page.Locator("#t-every")).ToHaveValueAsync("30");
        await Assertions.Expect(page.GetByLabel("Quick look")).ToBeCheckedAsync();

        // "Until I stop it" asks for the length the studio trains such a run for; the steps field keeps its number.
        await page.GetByLabel("Until I stop it").CheckAsync();
        var until = TrainingQueue.UntilStopped.ToString(CultureInfo.InvariantCulture);
        for (int i = 0; i < 100 && !Asked(q => q.GetValueOrDefault("steps") == until); i++) await Task.Delay(100, Ct);
        Assert.True(Asked(q => q.GetValueOrDefault("steps") == until), "no defaults asked for a run until stopped");
        await Assertions.Expect(page.Locator("#t-steps")).ToHaveValueAsync("500");
    }

    [Fact]
    public async Task FormStaysUsableWithoutTheDefaults()
    {
        await using var s = await StudioInBrowser.StartAsync(timeoutMs: 60_000);
        var page = s.Page;
        await page.RouteAsync("**" + DefaultsPath + "**", route => route.FulfillAsync(new() { Status = 404, ContentType = "text/plain", Body = "not found" }));
        var glyphs = StudioTestData.Glyphs(s.Dir["glyphs"], 12);
        using (var c = s.Client())
            Assert.True((await c.PostAsync("/api/datasets/add", StudioTestData.Form(("path", glyphs), ("name", "few")), Ct)).IsSuccessStatusCode);

        await page.GotoAsync(s.Url + "#/train?dataset=few");
        await Assertions.Expect(page.Locator("#main")).ToHaveAttributeAsync("aria-busy", "false");
        // No number of the page's own: the fields wait for the person, and filled in, the form trains.
        await Assertions.Expect(page.Locator("#t-steps")).ToHaveValueAsync("");
        await Assertions.Expect(page.Locator("#t-every")).ToHaveValueAsync("");
        Assert.Null(await page.Locator("#t-lr").GetAttributeAsync("placeholder"));
        await page.GetByLabel("Quick look").CheckAsync();
        await page.GetByLabel("Steps", new() { Exact = true }).FillAsync("2");
        await page.GetByLabel("Save a checkpoint and a sample grid every … steps").FillAsync("2");
        await page.Locator("summary", new() { HasText = "Advanced settings" }).ClickAsync();
        await page.GetByLabel("Pictures per step (batch)").FillAsync("2");
        await page.GetByLabel("CPU threads (0 = all", new() { Exact = false }).FillAsync("1");
        await page.GetByRole(AriaRole.Button, new() { Name = "Start training" }).ClickAsync();
        await Assertions.Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("#/run/few-"));
        await Assertions.Expect(page.Locator("[data-state=finished]")).ToBeVisibleAsync();
    }

    [Fact]
    public async Task FormShowsTheLibrarysOwnDefaults()
    {
        await using var s = await StudioInBrowser.StartAsync(timeoutMs: 60_000);
        using var c = s.Client();
        using var response = await c.GetAsync(DefaultsPath, Ct);
        if (response.StatusCode == System.Net.HttpStatusCode.NotFound) Assert.Skip($"this studio has no {DefaultsPath} yet");
        Assert.True(response.IsSuccessStatusCode, $"{DefaultsPath} answers {(int)response.StatusCode}");
        var d = await response.Json();

        var page = s.Page;
        await page.GotoAsync(s.Url + "#/train");
        await Assertions.Expect(page.Locator($"input[name=preset][value='{d.GetProperty("preset").GetString()}']")).ToBeCheckedAsync();
        await Assertions.Expect(page.Locator("#t-steps")).ToHaveValueAsync(d.GetProperty("steps").GetInt64().ToString(CultureInfo.InvariantCulture));
        await Assertions.Expect(page.Locator("#t-every")).ToHaveValueAsync(d.GetProperty("checkpoint_every").GetInt64().ToString(CultureInfo.InvariantCulture));
        await Assertions.Expect(page.Locator("#t-batch")).ToHaveAttributeAsync("placeholder", d.GetProperty("batch").GetInt64().ToString(CultureInfo.InvariantCulture));
        var lr = await page.Locator("#t-lr").GetAttributeAsync("placeholder");
        Assert.Equal(d.GetProperty("learning_rate").GetDouble(), double.Parse(lr!, CultureInfo.InvariantCulture));
    }
}
