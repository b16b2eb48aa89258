using System.Collections.Concurrent;
using System.Text.Json;
using System.Threading.Channels;

namespace Noisette.Studio;

/// <summary>Fans server events out to every open page, as Server-Sent Events. A slow page loses old events, never blocks training.</summary>
public sealed class EventHub
{
    private readonly ConcurrentDictionary<Guid, Channel<string>> subscribers = new();
    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web);

    /// <summary>Sends a payload to every open page, under the event name its type carries (<see cref="StudioEvents"/>).</summary>
    public void Publish<T>(T payload) where T : IStudioEvent
    {
        var frame = $"event: {T.EventName}\ndata: {JsonSerializer.Serialize(payload, JsonOptions)}\n\n";
        foreach (var ch in subscribers.Values) ch.Writer.TryWrite(frame);
    }

    /// <summary>Streams events to one response until the page goes away or the studio stops.</summary>
    public async Task StreamAsync(HttpContext context, CancellationToken stopping)
    {
        var response = context.Response;
        response.Headers.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        var channel = Channel.CreateBounded<string>(new BoundedChannelOptions(256) { FullMode = BoundedChannelFullMode.DropOldest });
        var id = Guid.NewGuid();
        subscribers[id] = channel;
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, stopping);
        try
        {
            await response.WriteAsync($"retry: 2000\nevent: {StudioEvents.Hello}\ndata: {{}}\n\n", cts.Token);
            await response.Body.FlushAsync(cts.Token);
            while (!cts.IsCancellationRequested)
            {
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(cts.Token);
                wait.CancelAfter(TimeSpan.FromSeconds(15));
                string? frame = null;
                try
                {
                    if (await channel.Reader.WaitToReadAsync(wait.Token)) channel.Reader.TryRead(out frame);
                }
                catch (OperationCanceledException) when (!cts.IsCancellationRequested) { }
                await response.WriteAsync(frame ?? ": keep-alive\n\n", cts.Token);
                while (channel.Reader.TryRead(out var more)) await response.WriteAsync(more, cts.Token);
                await response.Body.FlushAsync(cts.Token);
            }
        }
        catch (OperationCanceledException) { }
        catch (IOException) { }
        finally
        {
            subscribers.TryRemove(id, out _);
        }
    }
}
