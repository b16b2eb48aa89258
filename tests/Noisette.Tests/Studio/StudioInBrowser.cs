using Microsoft.AspNetCore.Builder;
using Microsoft.Playwright;
using Noisette.Studio;

namespace Noisette.Tests.Studio;

/// <summary>
/// A studio over a temp workspace, listening on a free port, and one page of Debian's chromium on it, driven by
/// Playwright (nothing is downloaded). Skips the test when chromium is not installed.
/// </summary>
internal sealed class StudioInBrowser : IAsyncDisposable
{
    public const string Chromium = "/usr/bin/chromium";
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public TempFolder Dir { get; } = new();
    public StudioOptions Options { get; }
    public WebApplication App { get; }
    public string Url { get; private set; } = "";
    public IPage Page { get; private set; } = null!;
    private IPlaywright? playwright;
    private IBrowser? browser;

    private StudioInBrowser()
    {
        Options = new StudioOptions { Workspace = Dir["workspace"], Port = 0, OpenBrowser = false };
        App = StudioHost.Build(Options);
    }

    /// <summary>Starts both; <paramref name="timeoutMs"/> is how long the page's actions and expectations may wait.</summary>
    public static async Task<StudioInBrowser> StartAsync(float timeoutMs)
    {
        if (!File.Exists(Chromium)) Assert.Skip($"{Chromium} is not installed (apt-get install -y chromium); the browser tests need it");
        var s = new StudioInBrowser();
        try
        {
            await s.App.StartAsync(Ct);
            s.Url = StudioHost.Address(s.App);
            s.playwright = await Playwright.CreateAsync();
            s.browser = await s.playwright.Chromium.LaunchAsync(new()
            {
                ExecutablePath = Chromium,
                Headless = true,
                Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
            });
            s.Page = await s.browser.NewPageAsync(new() { ViewportSize = new() { Width = 1280, Height = 900 } });
            s.Page.SetDefaultTimeout(timeoutMs);
            Assertions.SetDefaultExpectTimeout(timeoutMs);
            return s;
        }
        catch
        {
            await s.DisposeAsync();
            throw;
        }
    }

    /// <summary>A client of this studio that carries its token.</summary>
    public HttpClient Client()
    {
        var c = new HttpClient { BaseAddress = new Uri(Url) };
        c.DefaultRequestHeaders.Add(StudioHost.TokenHeader, Options.Token);
        return c;
    }

    public async ValueTask DisposeAsync()
    {
        if (browser is not null) await browser.DisposeAsync();
        playwright?.Dispose();
        await App.StopAsync(Ct);
        await App.DisposeAsync();
        Dir.Dispose();
    }
}
