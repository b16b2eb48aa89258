using Microsoft.Playwright;
using Noisette.Runs;
using Noisette.Studio;

namespace Noisette.Tests.Studio;

/// <summary>
/// The whole loop in a real browser (Debian's chromium, driven by Playwright; nothing is downloaded) on the bundled
/// demo letters with the tiny preset, with a screenshot of each page.
/// </summary>
[Collection(RunsAlone.Name)]
public class StudioBrowserTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    /// <summary>Screenshots go to the test's temporary folder; with NOISETTE_SCREENSHOTS=1 they refresh docs/studio/.</summary>
    private static string ShotsIn(TempFolder dir) => Environment.GetEnvironmentVariable("NOISETTE_SCREENSHOTS") == "1"
        ? Path.Combine(StudioTestData.RepoRoot, "docs", "studio")
        : dir["screenshots"];

    [Fact]
    public async Task WholeLoopOnTheDemoLetters()
    {
        await using var studio = await StudioInBrowser.StartAsync(timeoutMs: 90_000);
        var (dir, options, url, page) = (studio.Dir, studio.Options, studio.Url, studio.Page);
        var shots = ShotsIn(dir);
        Directory.CreateDirectory(shots);
        async Task Shot(string name)
        {
            // Every control on the page has a name a screen reader can say (a label, aria-label or its own text).
            var unnamed = await page.EvaluateAsync<string[]>(@"() => [...document.querySelectorAll('input, select, textarea, button')]
                .filter(el => el.type !== 'hidden' && !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                              && !el.getAttribute('aria-labelledby') && !(el.tagName === 'BUTTON' && el.textContent.trim()))
                .map(el => el.id || el.name || el.outerHTML.slice(0, 80))");
            Assert.True(unnamed.Length == 0, $"controls without a label on the {name} page: {string.Join(", ", unnamed)}");
            await page.ScreenshotAsync(new() { Path = Path.Combine(shots, name + ".png"), FullPage = true });
        }
        // Records what the run page shows from the event stream alone (the page is never reloaded while it trains):
        // the validation series drawn from a progress event, and the status hint it carries.
        await page.AddInitScriptAsync(@"(() => {
            window.__live = {};
            new MutationObserver(() => {
                if (document.querySelector('#r-chart[data-live-validation=true] polyline.val')) window.__live.validation = true;
                const hint = document.querySelector('#r-hint[data-live=true]');
                if (hint) window.__live.hint = hint.textContent;
            }).observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
        })()");

        // 1. Add the demo folder and see its health report.
        await page.GotoAsync(url);   // how fast the pages load is measured by `bench studio`, not here
        await page.GetByLabel("Folder path").FillAsync(StudioTestData.DemoImages);
        await page.GetByRole(AriaRole.Button, new() { Name = "Add folder" }).ClickAsync();
        await Assertions.Expect(page.Locator("#report-verdict")).ToContainTextAsync("Ready to train");
        await Assertions.Expect(page.Locator("#report-verdict")).ToContainTextAsync("637 readable");
        await Assertions.Expect(page.Locator(".problem .thumbs img").First).ToBeVisibleAsync();
        await Shot("datasets");

        // 2. Start a 60-step training of the tiny model; watch the step counter and the chart move.
        await page.GetByRole(AriaRole.Link, new() { Name = "Train on letters-A" }).First.ClickAsync();
        await page.GetByLabel("Quick look").CheckAsync();
        await page.GetByLabel("Steps", new() { Exact = true }).FillAsync("60");
        await page.GetByLabel("Save a checkpoint and a sample grid every … steps").FillAsync("30");
        await page.Locator("summary", new() { HasText = "Advanced settings" }).ClickAsync();
        await page.GetByLabel("Pictures per step (batch)").FillAsync("4");
        await page.GetByLabel("CPU threads (0 = all", new() { Exact = false }).FillAsync("1");
        // The time estimate comes from a few real training steps of the model, measured by the studio.
        await Assertions.Expect(page.Locator("#t-estimate[data-measured=true]")).ToContainTextAsync("measured on this computer");
        await Shot("train");
        await page.GetByRole(AriaRole.Button, new() { Name = "Start training" }).ClickAsync();
        // A hash route: the URL changes without a page load (and may already have changed by now), so poll the URL
        // rather than wait for a navigation event.
        try { await Assertions.Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("#/run/letters-A-tiny-1$"), new() { Timeout = 30_000 }); }
        catch (Exception e) when (e is PlaywrightException or TimeoutException)
        {
            await page.ScreenshotAsync(new() { Path = Path.Combine(Path.GetTempPath(), "studio-train-failed.png"), FullPage = true });
            Assert.Fail("the training did not start: " + await page.Locator("#notice").TextContentAsync() + " / " + page.Url);
        }
        var step = page.Locator("#r-step");
        await Assertions.Expect(step).ToContainTextAsync("/ 60");
        await page.WaitForFunctionAsync("() => parseInt(document.querySelector('#r-step').textContent) >= 10");
        var seen = await step.TextContentAsync();
        await page.WaitForFunctionAsync("() => Number(document.querySelector('#r-chart').dataset.points) >= 2");
        // The counter moves on (on a quiet machine the 60 steps may already be done: then it reads 60 / 60).
        await page.WaitForFunctionAsync($"() => {{ const t = document.querySelector('#r-step').textContent; return t !== '{seen}' || t.startsWith('60 /'); }}");

        // 3. A sample grid appears; then the checkpoint timeline.
        await Assertions.Expect(page.Locator("#r-grid")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("#r-grid")).ToHaveAttributeAsync("src", new System.Text.RegularExpressions.Regex("/grid/"));
        await Shot("run");
        await Assertions.Expect(page.Locator("[data-state=finished]")).ToBeVisibleAsync();
        // The validation loss of the checkpoints (steps 30 and 60) and the hint came live, without a reload.
        var live = await page.EvaluateAsync<System.Text.Json.JsonElement>("() => window.__live");
        Assert.True(live.TryGetProperty("validation", out var drawn) && drawn.GetBoolean(), $"no validation series from the events: {live}");
        Assert.Contains("too early to tell", live.TryGetProperty("hint", out var hint) ? hint.GetString() : "(no hint from the events)");
        await Assertions.Expect(page.Locator("#r-chart polyline.val")).ToBeVisibleAsync();
        await page.GetByRole(AriaRole.Link, new() { Name = "Checkpoint timeline" }).ClickAsync();
        // A route change puts the keyboard on the new page's heading.
        await Assertions.Expect(page.Locator("#main h1")).ToBeFocusedAsync();
        await Assertions.Expect(page.Locator("ol.timeline img")).ToHaveCountAsync(2);
        await Assertions.Expect(page.Locator("#main")).ToContainTextAsync("The best, by sample distance, is marked.");
        await Assertions.Expect(page.Locator("ol.timeline .best")).ToHaveCountAsync(1);
        await Shot("timeline");
        await page.GetByRole(AriaRole.Link, new() { Name = "Generate from the checkpoint of step 60" }).ClickAsync();
        await Assertions.Expect(page.GetByLabel("Checkpoint")).ToHaveValueAsync("60");

        // 4. Generate 4 images and star one.
        await page.GetByLabel("Sampling steps (0 = the sampler's default)").FillAsync("10");
        await page.GetByLabel("How many pictures (seed, seed+1, …)").FillAsync("4");
        await page.GetByRole(AriaRole.Button, new() { Name = "Generate", Exact = true }).ClickAsync();
        await Assertions.Expect(page.Locator("#g-gallery figure")).ToHaveCountAsync(4);
        await page.Locator("#g-gallery button.star").Nth(2).ClickAsync();
        await Assertions.Expect(page.Locator("#g-favs figure")).ToHaveCountAsync(1);

        // 5. Make the favourite again: the same bytes.
        await page.GetByRole(AriaRole.Button, new() { Name = "Make again" }).ClickAsync();
        await Assertions.Expect(page.Locator("#regen-verdict")).ToHaveAttributeAsync("data-same", "true");
        await Shot("generate");
        var run = Path.Combine(options.Workspace, "runs", "letters-A-tiny-1");
        var favourite = File.ReadAllBytes(Directory.GetFiles(Path.Combine(run, "favourites")).Single());
        var remade = Directory.GetFiles(Path.Combine(run, "generated"), "*.png", SearchOption.AllDirectories)
            .Single(f => Path.GetFileName(Path.GetDirectoryName(f)!).StartsWith("regenerated-", StringComparison.Ordinal));
        Assert.Equal(favourite, File.ReadAllBytes(remade));

        // 6. Train further, stop (a checkpoint first), resume.
        await page.GotoAsync(url + "#/run/letters-A-tiny-1");
        await page.GetByLabel("New total steps (optional)").FillAsync("100000");
        await page.GetByRole(AriaRole.Button, new() { Name = "Resume" }).ClickAsync();
        await Assertions.Expect(page.Locator("[data-state=training]")).ToBeVisibleAsync();
        await page.WaitForFunctionAsync("() => parseInt(document.querySelector('#r-step').textContent) > 60");
        await page.GetByRole(AriaRole.Button, new() { Name = "Stop (a checkpoint is saved first)" }).ClickAsync();
        await Assertions.Expect(page.Locator("[data-state=stopped]")).ToBeVisibleAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Resume" }).ClickAsync();
        await Assertions.Expect(page.Locator("[data-state=training]")).ToBeVisibleAsync();
        await page.GotoAsync(url + "#/runs");
        await Assertions.Expect(page.Locator("tr[data-run='letters-A-tiny-1'] [data-state=training]")).ToBeVisibleAsync();
        await Shot("runs");
        await page.GetByRole(AriaRole.Button, new() { Name = "Stop" }).ClickAsync();
        await Assertions.Expect(page.Locator("tr[data-run='letters-A-tiny-1'] [data-state=stopped]")).ToBeVisibleAsync();

        // A fine-tune shows that the model comes from the chosen run: the presets no longer apply.
        await page.GetByRole(AriaRole.Link, new() { Name = "New training" }).ClickAsync();
        await Assertions.Expect(page.Locator("#main h1")).ToBeFocusedAsync();
        await page.Locator("summary", new() { HasText = "Start from an existing run" }).ClickAsync();
        await page.GetByLabel("Run to start from").SelectOptionAsync("letters-A-tiny-1");
        await Assertions.Expect(page.Locator("#t-model-from")).ToContainTextAsync("keeps it");
        await Assertions.Expect(page.Locator("#t-model-legend")).ToContainTextAsync("letters-A-tiny-1");
        await Assertions.Expect(page.GetByLabel("Quick look")).ToBeDisabledAsync();
        await Assertions.Expect(page.GetByLabel("Quick look")).ToBeCheckedAsync();
        await Assertions.Expect(page.GetByLabel("Letters 32 px")).ToBeDisabledAsync();

        // 7. Edit: upload a picture and redraw it at a strength; inpaint: paint a mask with the brush and fill it in.
        await page.GetByRole(AriaRole.Link, new() { Name = "Edit & inpaint" }).ClickAsync();
        // A wide picture keeps its proportions on the canvas (and so in the mask); the model's centre square is marked.
        var wide = dir["wide.png"];
        File.WriteAllBytes(wide, Noisette.Data.PngWriter.Encode(new Noisette.Data.PlanarImage(1, 64, 32, new byte[64 * 32].Select((_, i) => (byte)(i % 64 * 4)).ToArray())));
        await page.GetByLabel("Picture to start from (upload)").SetInputFilesAsync(wide);
        await Assertions.Expect(page.Locator("#e-mask-view")).ToHaveAttributeAsync("height", "128");
        await Assertions.Expect(page.Locator("#e-mask-view")).ToHaveAttributeAsync("width", "256");
        await Assertions.Expect(page.Locator("#e-crop-note")).ToBeVisibleAsync();
        await page.GetByLabel("Picture to start from (upload)").SetInputFilesAsync(Directory.GetFiles(StudioTestData.DemoImages, "*.png").Order(StringComparer.Ordinal).First());
        await Assertions.Expect(page.Locator("#e-mask-view")).ToHaveAttributeAsync("height", "256");
        await Assertions.Expect(page.Locator("#e-crop-note")).ToBeHiddenAsync();
        await page.GetByLabel("Sampling steps (0 = the sampler's default)").FillAsync("10");
        await page.GetByLabel("How many versions (seed, seed+1, …)").FillAsync("2");
        await page.GetByRole(AriaRole.Button, new() { Name = "Redraw" }).ClickAsync();
        await Assertions.Expect(page.Locator("#e-gallery figure[data-kind=edit]")).ToHaveCountAsync(2);
        await page.GetByLabel("Fill in a painted area").CheckAsync();
        // Nothing painted yet: the error sits by the mask tools, and the keyboard lands on the quick mask.
        await page.GetByRole(AriaRole.Button, new() { Name = "Fill in" }).ClickAsync();
        await Assertions.Expect(page.Locator("#e-mask-tools .field-error")).ToContainTextAsync("paint the area");
        await Assertions.Expect(page.Locator("#e-quick")).ToBeFocusedAsync();
        var canvas = await page.Locator("#e-mask-view").BoundingBoxAsync() ?? throw new InvalidOperationException("no canvas");
        await page.Mouse.MoveAsync(canvas.X + 60, canvas.Y + 40);
        await page.Mouse.DownAsync();
        await page.Mouse.MoveAsync(canvas.X + 190, canvas.Y + 120, new() { Steps = 8 });
        await page.Mouse.MoveAsync(canvas.X + 80, canvas.Y + 210, new() { Steps = 8 });
        await page.Mouse.UpAsync();
        await page.GetByLabel("Sampling steps (0 = the sampler's default)").FillAsync("10");
        await page.GetByLabel("Resampling rounds (1 = none; more blends better, slower)").FillAsync("2");
        await page.GetByLabel("Jump length (steps)").FillAsync("2");
        await page.GetByRole(AriaRole.Button, new() { Name = "Fill in" }).ClickAsync();
        await Assertions.Expect(page.Locator("#e-gallery figure[data-kind=inpaint]")).ToHaveCountAsync(2);
        await Shot("edit");
        await studio.App.StopAsync(Ct);
    }
}
