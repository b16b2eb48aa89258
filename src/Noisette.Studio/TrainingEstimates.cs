using System.Collections.Concurrent;
using Noisette.Runs;
using Noisette.Training;

namespace Noisette.Studio;

/// <summary>A preset's measured speed on this machine, or why there is none.</summary>
public sealed record EstimateView(string Preset, int Batch, int Threads, double? SecondsPerStep, double? ImagesPerSecond, bool Measured, string? Reason);

/// <summary>
/// Time estimates for New training from a few real training steps of the preset's model (the library's
/// TrainingEstimate.Measure), one measurement at a time, cached per preset, batch and threads for the studio's lifetime.
/// Nothing is measured while a training runs (it would slow it down and measure the contention), nor for models
/// too large to time quickly on this machine.
/// </summary>
public sealed class TrainingEstimates(TrainingQueue queue)
{
    /// <summary>The largest images a measurement is made for; bigger models take too long to time on a CPU.</summary>
    public const int MaxMeasuredSize = 64;
    private readonly ConcurrentDictionary<(string Preset, int Batch, int Threads), EstimateView> cache = new();
    private readonly SemaphoreSlim gate = new(1, 1);

    public async Task<EstimateView> GetAsync(string preset, int batch, int threads, CancellationToken cancel)
    {
        if (cache.TryGetValue((preset, batch, threads), out var known)) return known;
        var config = TrainingConfig.FromPreset(preset) with { Batch = batch, GradAccumulation = 1, Threads = threads };
        if (config.Model.ImageSize > MaxMeasuredSize)
            return new EstimateView(preset, batch, threads, null, null, false, $"{config.Model.ImageSize} px models are not timed here: they need a graphics card");
        if (Busy())
            return new EstimateView(preset, batch, threads, null, null, false, "a training is using the machine; the time is measured when it is free");
        await gate.WaitAsync(cancel);
        try
        {
            if (cache.TryGetValue((preset, batch, threads), out known)) return known;
            if (Busy()) return new EstimateView(preset, batch, threads, null, null, false, "a training is using the machine; the time is measured when it is free");
            // One warm-up step, then three timed ones (one for the 64 px models, which are slower).
            int measured = config.Model.ImageSize > 32 ? 1 : 3;
            var estimate = await Task.Run(() => TrainingEstimate.Measure(config, 1, measured), CancellationToken.None);
            var view = new EstimateView(preset, batch, threads, estimate.SecondsPerStep, estimate.ImagesPerSecond, true, null);
            cache[(preset, batch, threads)] = view;
            return view;
        }
        finally { gate.Release(); }
    }

    private bool Busy() => queue.Snapshot().Current is not null;
}
