using System.Diagnostics;
using System.Net;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;

namespace Noisette.Studio;

/// <summary>Builds and runs the studio: a web app on 127.0.0.1 serving the pages, the JSON API and the event stream.</summary>
public static class StudioHost
{
    public const string TokenHeader = "X-Noisette-Token";

    /// <summary>Runs until Ctrl+C; prints the address and opens the browser unless told not to. Returns an exit code.</summary>
    public static int Run(StudioOptions options)
    {
        var app = Build(options);
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var opts = app.Services.GetRequiredService<StudioOptions>();
            var url = Address(app);
            Console.WriteLine($"Noisette Studio is open at {url}");
            Console.WriteLine($"Workspace: {app.Services.GetRequiredService<Workspace>().Root}");
            Console.WriteLine("Press Ctrl+C to close it; a running training writes a checkpoint first.");
            if (opts.OpenBrowser) OpenBrowser(url);
        });
        try
        {
            app.Run();
            return 0;
        }
        catch (IOException e) when (e.InnerException is System.Net.Sockets.SocketException || e.Message.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
        {
            Console.Error.WriteLine($"error: port {options.Port} is already in use; choose another with --port N");
            return 2;
        }
    }

    /// <summary>The address the studio listens on once started (useful with port 0).</summary>
    public static string Address(WebApplication app)
    {
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses;
        var first = addresses?.FirstOrDefault() ?? "http://127.0.0.1";
        return first.TrimEnd('/') + "/";
    }

    public static WebApplication Build(StudioOptions options)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(StudioHost).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, options.Port);   // loopback only, never another interface
            k.Limits.MaxRequestBodySize = options.MaxUploadBytes;
        });
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddOptions<FormOptions>().Configure<StudioOptions>((f, o) =>
        {
            f.MultipartBodyLengthLimit = o.MaxUploadBytes;
            f.ValueCountLimit = 256;
        });
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton<Workspace>();
        builder.Services.AddSingleton<EventHub>();
        builder.Services.AddSingleton<DatasetCatalog>();
        builder.Services.AddSingleton<DatasetUpload>();
        builder.Services.AddSingleton<UploadSpool>();
        builder.Services.AddSingleton<TrainingQueue>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<TrainingQueue>());
        builder.Services.AddSingleton<RunCatalog>();
        builder.Services.AddSingleton<GenerationService>();
        builder.Services.AddSingleton<TrainingEstimates>();

        var app = builder.Build();
        app.Use(Guard);
        app.Use(Errors);
        Endpoints.Map(app);
        return app;
    }

    /// <summary>Host check (against DNS rebinding) on every request, and the launch token on every state-changing one.</summary>
    private static async Task Guard(HttpContext ctx, RequestDelegate next)
    {
        if (!IsLoopbackHost(ctx.Request.Host))
        {
            ctx.Response.StatusCode = StatusCodes.Status400BadRequest;
            await ctx.Response.WriteAsync("Noisette Studio answers only to localhost, 127.0.0.1 and [::1].");
            return;
        }
        var method = ctx.Request.Method;
        if (!(HttpMethods.IsGet(method) || HttpMethods.IsHead(method)))
        {
            var token = ctx.RequestServices.GetRequiredService<StudioOptions>().Token;
            var sent = ctx.Request.Headers[TokenHeader].ToString();
            if (!CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(sent), Encoding.UTF8.GetBytes(token)))
            {
                await WriteError(ctx, StatusCodes.Status403Forbidden, "this request does not carry the studio's token; reload the page", null);
                return;
            }
        }
        ctx.Response.Headers.XContentTypeOptions = "nosniff";
        ctx.Response.Headers.XFrameOptions = "DENY";
        await next(ctx);
    }

    public static bool IsLoopbackHost(HostString host) =>
        host.HasValue && host.Host.ToLowerInvariant() is "localhost" or "127.0.0.1" or "[::1]";

    private static async Task Errors(HttpContext ctx, RequestDelegate next)
    {
        try
        {
            await next(ctx);
        }
        catch (StudioError e) { await WriteError(ctx, e.Status, e.Message, e.Field); }
        catch (NoisetteInputException e) { await WriteError(ctx, StatusCodes.Status400BadRequest, e.Message, null); }
        catch (BadHttpRequestException e) { await WriteError(ctx, e.StatusCode, e.StatusCode == 413 ? "the upload is larger than the studio accepts" : e.Message, null); }
        catch (InvalidDataException e) when (e.Message.Contains("limit", StringComparison.OrdinalIgnoreCase))
        {
            await WriteError(ctx, StatusCodes.Status413PayloadTooLarge, "the upload is larger than the studio accepts: " + e.Message, "files");
        }
        finally
        {
            // Before the response ends, so that nothing of an upload outlives its request.
            await UploadSpool.ReleaseAsync(ctx);
        }
    }

    private static async Task WriteError(HttpContext ctx, int status, string message, string? field)
    {
        if (ctx.Response.HasStarted) return;
        ctx.Response.Clear();
        ctx.Response.StatusCode = status;
        await ctx.Response.WriteAsJsonAsync(new { error = message, field });
    }

    private static void OpenBrowser(string url)
    {
        try
        {
            var psi = OperatingSystem.IsWindows() ? new ProcessStartInfo(url) { UseShellExecute = true }
                    : new ProcessStartInfo(OperatingSystem.IsMacOS() ? "open" : "xdg-open", url) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
            using var p = Process.Start(psi);
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            Console.WriteLine("(could not open a browser; open the address above yourself)");
        }
    }

    /// <summary>
    /// The embedded front-end files by their path under Web/ ("index.html", "app.js", "js/pages/train.js"), always with
    /// '/' (MSBuild writes the folder part of a resource's name with the build machine's separator).
    /// </summary>
    internal static IReadOnlyDictionary<string, string> WebFiles { get; } = Assembly.GetExecutingAssembly().GetManifestResourceNames()
        .Where(n => n.StartsWith("web/", StringComparison.Ordinal))
        .ToDictionary(n => n["web/".Length..].Replace('\\', '/'), n => n, StringComparer.Ordinal);

    /// <summary>An embedded front-end file (index.html, app.css, app.js, js/…), by its path under Web/.</summary>
    internal static string WebFile(string name)
    {
        using var s = (WebFiles.TryGetValue(name, out var resource) ? Assembly.GetExecutingAssembly().GetManifestResourceStream(resource) : null)
            ?? throw new FileNotFoundException("missing embedded file " + name);
        using var r = new StreamReader(s);
        return r.ReadToEnd();
    }
}
