using System.Collections.Concurrent;
using TorchSharp;
using Noisette.Data;
using static TorchSharp.torch;

namespace Noisette.Training;

/// <summary>
/// A training batch: images in [−1, 1] (B, C, H, W) and, for a labelled set, int64 class labels (B). A latent run's
/// batch holds the pictures' cached posteriors instead: <see cref="Images"/> their means and <see cref="LogVariance"/>
/// their log-variances (B, c, h, w), from which the trainer draws the step's latents.
/// </summary>
public sealed record Batch(Tensor Images, Tensor? Labels, Tensor? LogVariance = null) : IDisposable
{
    public void Dispose()
    {
        Images.Dispose();
        Labels?.Dispose();
        LogVariance?.Dispose();
    }
}

/// <summary>
/// Builds training batches in the order of <see cref="DataOrder"/>, on a background thread a few batches ahead of
/// the trainer, so the training step rarely waits for data. With a <see cref="LatentCache"/> the batches are the
/// pictures' cached posteriors (the mirror image's where the order flips), in the same order.
/// </summary>
public sealed class BatchLoader : IDisposable
{
    private readonly IImageSet images;
    private readonly DataOrder order;
    private readonly int batch;
    private readonly bool flip, labelled;
    private readonly BlockingCollection<Batch> queue;
    private readonly CancellationTokenSource cts = new();
    private readonly Thread worker;
    private Exception? failure;
    private ThreadDisposeScopeStatistics? workerStatistics;
    private readonly LatentCache? latents;

    /// <param name="startPosition">Sample position of the first batch (step × images per step).</param>
    /// <param name="latents">The pictures' encoded posteriors (a latent run), indexed like <paramref name="images"/>.</param>
    public BatchLoader(IImageSet images, long seed, int batch, bool flip, long startPosition, bool classBalanced = false, int prefetch = 3,
                       LatentCache? latents = null)
    {
        if (latents is not null && (latents.Count != images.Count || (flip && latents.FlippedMean is null)))
            throw new ArgumentException("the latent cache does not hold these pictures (or their mirror images)", nameof(latents));
        this.images = images;
        this.latents = latents;
        var labels = Enumerable.Range(0, images.Count).Select(images.LabelOf).ToArray();
        labelled = labels.Any(l => l >= 0);
        order = new DataOrder(images.Count, seed, labelled ? labels : null, classBalanced);
        this.batch = batch;
        this.flip = flip;
        queue = new BlockingCollection<Batch>(Math.Max(1, prefetch));
        worker = new Thread(() => Produce(startPosition)) { IsBackground = true, Name = "noisette-batches" };
        worker.Start();
    }

    /// <summary>
    /// TorchSharp's live-tensor count of the loader's thread: the tensors it made (every batch, and any temporaries
    /// of one being built) less those disposed on it. TorchSharp counts per thread, so a batch that the consumer
    /// disposes lowers the consumer's count and not this one; the sum of the two is what stays flat.
    /// </summary>
    public long WorkerLiveTensors => Volatile.Read(ref workerStatistics)?.ThreadTotalLiveCount ?? 0;

    /// <summary>Time the consumer spent waiting for batches.</summary>
    public TimeSpan WaitTime { get; private set; }

    /// <summary>The next batch on the CPU; the caller owns and disposes it.</summary>
    public Batch Next()
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            var b = queue.Take(cts.Token);
            WaitTime += sw.Elapsed;
            return b;
        }
        catch (Exception) when (failure is not null)
        {
            throw new InvalidOperationException("loading a training batch failed: " + failure.Message, failure);
        }
    }

    /// <summary>Builds the batch at a sample position, synchronously (used by the worker and by tests).</summary>
    public Batch Build(long position)
    {
        if (latents is not null) return BuildLatent(position);
        int c = images.Channels, s = images.ImageSize, per = c * s * s;
        var bytes = new byte[batch * per];
        var labels = new long[batch];
        for (int b = 0; b < batch; b++)
        {
            long p = position + b;
            int index = order.IndexAt(p);
            var dst = bytes.AsSpan(b * per, per);
            images.CopyImage(index, dst);
            labels[b] = images.LabelOf(index);
            if (flip && order.FlipAt(p))
                for (int r = 0; r < c * s; r++)
                    dst.Slice(r * s, s).Reverse();
        }
        using var scope = NewDisposeScope();
        var x = tensor(bytes, dtype: ScalarType.Byte).reshape(batch, c, s, s).to(ScalarType.Float32).div_(127.5).sub_(1.0);
        var y = labelled ? tensor(labels, dtype: int64) : null;
        return new Batch(x.DetachFromDisposeScope(), y?.DetachFromDisposeScope());
    }

    private Batch BuildLatent(long position)
    {
        var indices = new long[batch];
        var flips = new bool[batch];
        var labels = new long[batch];
        for (int b = 0; b < batch; b++)
        {
            long p = position + b;
            int index = order.IndexAt(p);
            indices[b] = index;
            labels[b] = images.LabelOf(index);
            flips[b] = flip && order.FlipAt(p);
        }
        using var scope = NewDisposeScope();
        var at = tensor(indices, dtype: int64);
        var mean = latents!.Mean.index_select(0, at);
        var logVar = latents.LogVariance.index_select(0, at);
        if (flips.Any(f => f))
        {
            var mirrored = tensor(flips).reshape(batch, 1, 1, 1);
            mean = where(mirrored, latents.FlippedMean!.index_select(0, at), mean);
            logVar = where(mirrored, latents.FlippedLogVariance!.index_select(0, at), logVar);
        }
        var y = labelled ? tensor(labels, dtype: int64) : null;
        return new Batch(mean.DetachFromDisposeScope(), y?.DetachFromDisposeScope(), logVar.DetachFromDisposeScope());
    }

    private void Produce(long position)
    {
        Volatile.Write(ref workerStatistics, DisposeScopeManager.Statistics);
        try
        {
            while (!cts.IsCancellationRequested)
            {
                var b = Build(position);
                position += batch;
                try { queue.Add(b, cts.Token); }
                catch (OperationCanceledException) { b.Dispose(); break; }
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
        while (queue.TryTake(out var b)) b.Dispose();
        queue.Dispose();
        cts.Dispose();
    }
}
