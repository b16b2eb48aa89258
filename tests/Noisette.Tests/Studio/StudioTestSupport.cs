using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Noisette.IO;
using Noisette.Runs;
using Noisette.Studio;
using Noisette.Training;

namespace Noisette.Tests.Studio;

/// <summary>The studio in memory (TestServer) over a temp workspace.</summary>
internal sealed class StudioFactory : WebApplicationFactory<Noisette.Studio.Program>
{
    public TempFolder Dir { get; } = new();
    public StudioOptions Options { get; }
    public string Workspace => Dir["workspace"];

    public StudioFactory(long maxUploadBytes = 64L << 20) =>
        Options = new StudioOptions { Workspace = Dir["workspace"], Port = 0, OpenBrowser = false, MaxUploadBytes = maxUploadBytes };

    protected override void ConfigureWebHost(IWebHostBuilder builder) =>
        builder.ConfigureServices(s => s.AddSingleton(Options));

    /// <summary>A client that sends the launch token (or not).</summary>
    public HttpClient Client(bool token = true)
    {
        var c = CreateClient();
        if (token) c.DefaultRequestHeaders.Add(StudioHost.TokenHeader, Options.Token);
        return c;
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing) Dir.Dispose();
    }
}

internal static class StudioTestData
{
    public static string RepoRoot => Path.GetFullPath(Fixtures.Path("..", ".."));
    public static string DemoImages => Path.Combine(RepoRoot, "data", "demo", "letters-A");

    /// <summary>A folder with the first <paramref name="count"/> demo glyphs.</summary>
    public static string Glyphs(string folder, int count)
    {
        Directory.CreateDirectory(folder);
        foreach (var f in Directory.GetFiles(DemoImages, "*.png").Order(StringComparer.Ordinal).Take(count))
            File.Copy(f, Path.Combine(folder, Path.GetFileName(f)));
        return folder;
    }

    /// <summary>A run made with the library, as the CLI would: tiny model, checkpoints every 2 steps, no grids.</summary>
    public static string MakeRun(string workspace, string name, int steps, int stopAt = int.MaxValue)
    {
        var run = new RunFolder(Path.Combine(workspace, "runs", name));
        using var trainer = Trainer.Start(TestData.TinyConfig(steps, 2), run, TestData.Bars(8), TestData.Info());
        using var cancel = new CancellationTokenSource();
        trainer.Train(cancel.Token, p => { if (p.Step >= stopAt) cancel.Cancel(); });
        return run.Root;
    }

    public static FormUrlEncodedContent Form(params (string Key, string Value)[] fields) =>
        new(fields.Select(f => new KeyValuePair<string, string>(f.Key, f.Value)));

    public static async Task<JsonElement> Json(this HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    public static MultipartFormDataContent Upload(string name, params (string FileName, byte[] Bytes)[] files)
    {
        var content = new MultipartFormDataContent { { new StringContent(name), "name" } };
        foreach (var (fileName, bytes) in files)
        {
            var part = new ByteArrayContent(bytes);
            part.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            content.Add(part, "files", fileName);
        }
        return content;
    }

    /// <summary>Polls until <paramref name="done"/> or the time is up.</summary>
    public static async Task<JsonElement> WaitFor(HttpClient client, string url, Func<JsonElement, bool> done, int seconds = 90)
    {
        var end = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            var json = await (await client.GetAsync(url)).Json();
            if (done(json)) return json;
            if (DateTime.UtcNow > end) throw new TimeoutException($"{url} never reached the expected state; last: {json}");
            await Task.Delay(200);
        }
    }
}
