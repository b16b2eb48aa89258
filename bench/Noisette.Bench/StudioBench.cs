using System.Diagnostics;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Playwright;
using Noisette.Pipelines;
using Noisette.Runs;
using Noisette.Studio;

namespace Noisette.Bench;

/// <summary>
/// How fast the studio's pages load in a real browser: Debian's chromium driven by Playwright (as the browser tests
/// do; nothing is downloaded). The studio runs on a temporary workspace holding the bundled demo letters as a dataset
/// and a 4-step tiny run with two checkpoints, so that every page has something to show. Each page is loaded
/// <c>repeats</c> times by a full navigation (from about:blank, not a hash change), timed until the page has fetched
/// what it shows (<c>#main</c> no longer aria-busy), its images are decoded, and for the dataset page the health
/// report is shown. The first load of each page is reported apart: it includes the server's first request of that
/// kind, and for the dataset page the health check itself.
/// </summary>
public static class StudioBench
{
    private const string Chromium = "/usr/bin/chromium";
    private const string Dataset = "letters-A", RunName = "letters-A-tiny";

    public static string Run(int repeats, int threads) => RunAsync(repeats, threads).GetAwaiter().GetResult();

    private static async Task<string> RunAsync(int repeats, int threads)
    {
        if (repeats < 1) throw new NoisetteInputException("--repeats must be at least 1");
        if (!File.Exists(Chromium)) throw new NoisetteInputException($"{Chromium} is not installed (apt-get install -y chromium); the studio benchmark drives it");
        var demo = DemoFolder();
        var root = Path.Combine(Path.GetTempPath(), $"noisette-studio-bench-{Environment.ProcessId}");
        try
        {
            var options = new StudioOptions { Workspace = root, Port = 0, OpenBrowser = false };
            TrainRun(demo, Path.Combine(root, "runs", RunName), threads);
            await using var app = StudioHost.Build(options);
            await app.StartAsync();
            var url = StudioHost.Address(app);
            await AddDataset(url, options.Token, demo);

            using var playwright = await Playwright.CreateAsync();
            await using var browser = await playwright.Chromium.LaunchAsync(new()
            {
                ExecutablePath = Chromium,
                Headless = true,
                Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
            });
            var page = await browser.NewPageAsync(new() { ViewportSize = new() { Width = 1280, Height = 900 } });
            (string Route, string? Ready)[] pages =
            [
                ("datasets", null), ($"datasets/{Dataset}", "#report-verdict"), ($"train?dataset={Dataset}", null), ("runs", null),
                ($"run/{RunName}", null), ($"timeline/{RunName}", null), ($"generate/{RunName}", null), ($"edit/{RunName}", null),
            ];
            var results = new List<PageLoad>();
            foreach (var (route, ready) in pages)
            {
                var times = new List<double>();
                for (int i = 0; i <= repeats; i++) times.Add(await LoadMs(page, url + "#/" + route, ready));
                var warm = times.Skip(1).Order().ToList();
                results.Add(new PageLoad(route, Math.Round(times[0], 1), Math.Round(warm[warm.Count / 2], 1), Math.Round(warm[^1], 1)));
            }
            await app.StopAsync();
            return JsonSerializer.Serialize(new
            {
                bench = "studio",
                repeats,
                browser = $"chromium {browser.Version}",
                pages = results.Select(r => new { page = r.Page, first_ms = r.FirstMs, median_ms = r.MedianMs, max_ms = r.MaxMs }),
                slowest_median_ms = results.Max(r => r.MedianMs),
            });
        }
        finally
        {
            try { Directory.Delete(root, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    /// <summary>One full load of a page: from a blank tab until it shows what it fetched, with its images decoded.</summary>
    private static async Task<double> LoadMs(IPage page, string address, string? ready)
    {
        await page.GotoAsync("about:blank");
        var clock = Stopwatch.StartNew();
        await page.GotoAsync(address);
        await page.WaitForFunctionAsync(@"ready => {
            const main = document.querySelector('#main');
            return main && main.getAttribute('aria-busy') === 'false' && (!ready || document.querySelector(ready))
                && [...document.images].every(img => img.complete);
        }", ready, new() { Timeout = 120_000, PollingInterval = 5 });
        return clock.Elapsed.TotalMilliseconds;
    }

    private static void TrainRun(string data, string outPath, int threads)
    {
        var request = new TrainingRequest
        {
            DataPath = data, OutPath = outPath, Preset = "tiny", Steps = 4, Batch = 4, Threads = threads, CheckpointEvery = 2,
        };
        var prepared = TrainingPipeline.Start(request, _ => { }, _ => { });
        using var trainer = prepared.Trainer;
        trainer.Train(CancellationToken.None);
    }

    private static async Task AddDataset(string url, string token, string folder)
    {
        using var http = new HttpClient { BaseAddress = new Uri(url) };
        http.DefaultRequestHeaders.Add(StudioHost.TokenHeader, token);
        using var form = new MultipartFormDataContent { { new StringContent(folder), "path" }, { new StringContent(Dataset), "name" } };
        using var response = await http.PostAsync("/api/datasets/add", form);
        if (!response.IsSuccessStatusCode)
            throw new InvalidOperationException($"adding the demo dataset failed: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    private static string DemoFolder()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "data", "demo", "letters-A");
            if (Directory.Exists(candidate)) return candidate;
        }
        throw new NoisetteInputException("data/demo/letters-A not found above the benchmark's folder: run it from the repository");
    }

    private sealed record PageLoad(string Page, double FirstMs, double MedianMs, double MaxMs);
}
