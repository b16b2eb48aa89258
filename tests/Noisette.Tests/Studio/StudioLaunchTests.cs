using System.Diagnostics;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Noisette.Studio;

namespace Noisette.Tests.Studio;

/// <summary>The studio as a real server: it listens on loopback only, and `noisette studio` prints its address and serves.</summary>
public class StudioLaunchTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try { return ((IPEndPoint)listener.LocalEndpoint).Port; }
        finally { listener.Stop(); }
    }

    [Fact]
    public async Task ListensOnLoopbackOnly()
    {
        using var dir = new TempFolder();
        await using var app = StudioHost.Build(new StudioOptions { Workspace = dir["workspace"], Port = 0, OpenBrowser = false });
        await app.StartAsync(Ct);
        try
        {
            var address = new Uri(StudioHost.Address(app));
            Assert.Equal("127.0.0.1", address.Host);
            var listening = IPGlobalProperties.GetIPGlobalProperties().GetActiveTcpListeners().Where(e => e.Port == address.Port).ToList();
            Assert.NotEmpty(listening);
            Assert.All(listening, e => Assert.True(IPAddress.IsLoopback(e.Address), $"listening on {e}"));

            using var http = new HttpClient();
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(address, Ct)).StatusCode);
            // Any other address of this machine is refused.
            var others = NetworkInterface.GetAllNetworkInterfaces().Where(n => n.OperationalStatus == OperationalStatus.Up)
                .SelectMany(n => n.GetIPProperties().UnicastAddresses).Select(a => a.Address)
                .Where(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a)).ToList();
            foreach (var other in others)
            {
                using var client = new TcpClient();
                var e = await Assert.ThrowsAnyAsync<SocketException>(async () => await client.ConnectAsync(other, address.Port, Ct));
                Assert.Equal(SocketError.ConnectionRefused, e.SocketErrorCode);
            }
        }
        finally { await app.StopAsync(Ct); }
    }

    [Fact]
    public async Task StudioCommandPrintsItsAddressAndServes()
    {
        using var dir = new TempFolder();
        var cli = Path.Combine(AppContext.BaseDirectory, "Noisette.Cli.dll");
        Assert.True(File.Exists(cli), cli);
        int port = FreePort();
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { cli, "studio", "--workspace", dir["workspace"], "--no-browser", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture) })
            psi.ArgumentList.Add(a);
        using var process = Process.Start(psi) ?? throw new InvalidOperationException("could not start the CLI");
        var errors = process.StandardError.ReadToEndAsync(Ct);
        try
        {
            string? url = null;
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(90));
            while (url is null && await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
                if (line.StartsWith("Noisette Studio is open at ", StringComparison.Ordinal)) url = line["Noisette Studio is open at ".Length..];
            Assert.True(url is not null, "no address printed; stderr: " + (process.HasExited ? await errors : ""));
            Assert.Equal($"http://127.0.0.1:{port}/", url);

            using var http = new HttpClient();
            var page = await http.GetStringAsync(url, Ct);
            Assert.Contains("<title>Noisette Studio</title>", page);
            Assert.Contains("/app.js", page);
            Assert.True(Directory.Exists(Path.Combine(dir["workspace"], "runs")));
        }
        finally
        {
            // Ask it to close as Ctrl+C would (SIGTERM for the host), then make sure this child is gone.
            if (!process.HasExited)
            {
                using (var kill = Process.Start(new ProcessStartInfo("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]) { UseShellExecute = false }))
                    kill?.WaitForExit(5_000);
                if (!process.WaitForExit(20_000)) process.Kill();
            }
        }
        Assert.Equal(0, process.ExitCode);
    }
}
