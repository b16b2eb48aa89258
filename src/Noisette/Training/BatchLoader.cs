using System.Collections.Concurrent;
using Noisette.Data;
using static TorchSharp.torch;

namespace Noisette.Training;

/// <summary>
/// Builds training batches (float, scaled to [−1, 1]) in the order of <see cref="DataOrder"/>, on a background
/// thread a few batches ahead of the trainer, so the training step rarely waits for data.
/// </summary>
public sealed class BatchLoader : IDisposable
{
    private readonly IImageSet images;
    private readonly DataOrder order;
    private readonly int batch;
    private readonly bool flip;
    private readonly BlockingCollection<Tensor> queue;
    private readonly CancellationTokenSource cts = new();
    private readonly Thread worker;
    private Exception? failure;

    /// <param name="startPosition">Sample position of the first batch (step × images per step).</param>
    public BatchLoader(IImageSet images, long seed, int batch, bool flip, long startPosition, int prefetch = 3)
    {
        this.images = images;
        order = new DataOrder(images.Count, seed);
        this.batch = batch;
        this.flip = flip;
        queue = new BlockingCollection<Tensor>(Math.Max(1, prefetch));
        worker = new Thread(() => Produce(startPosition)) { IsBackground = true, Name = "noisette-batches" };
        worker.Start();
    }

    /// <summary>Time the consumer spent waiting for batches.</summary>
    public TimeSpan WaitTime { get; private set; }

    /// <summary>The next batch (B, C, H, W) float32 on the CPU; the caller owns and disposes it.</summary>
    public Tensor Next()
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            var t = queue.Take(cts.Token);
            WaitTime += sw.Elapsed;
            return t;
        }
        catch (Exception) when (failure is not null)
        {
            throw new InvalidOperationException("loading a training batch failed: " + failure.Message, failure);
        }
    }

    /// <summary>Builds the batch at a sample position, synchronously (used by the worker and by tests).</summary>
    public Tensor Build(long position)
    {
        int c = images.Channels, s = images.ImageSize, per = c * s * s;
        var bytes = new byte[batch * per];
        var row = new byte[s];
        for (int b = 0; b < batch; b++)
        {
            long p = position + b;
            var dst = bytes.AsSpan(b * per, per);
            images.CopyImage(order.IndexAt(p), dst);
            if (flip && order.FlipAt(p))
                for (int r = 0; r < c * s; r++)
                    dst.Slice(r * s, s).Reverse();
        }
        using var scope = NewDisposeScope();
        var x = tensor(bytes, dtype: ScalarType.Byte).reshape(batch, c, s, s).to(ScalarType.Float32).div_(127.5).sub_(1.0);
        return x.DetachFromDisposeScope();
    }

    private void Produce(long position)
    {
        try
        {
            while (!cts.IsCancellationRequested)
            {
                var t = Build(position);
                position += batch;
                try { queue.Add(t, cts.Token); }
                catch (OperationCanceledException) { t.Dispose(); break; }
            }
        }
        catch (OperationCanceledException) { }
        catch (Exception e)
        {
            failure = e;
            cts.Cancel();
        }
    }

    public void Dispose()
    {
        cts.Cancel();
        worker.Join();
        while (queue.TryTake(out var t)) t.Dispose();
        queue.Dispose();
        cts.Dispose();
    }
}
