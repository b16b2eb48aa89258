using System.Globalization;
using System.IO.Compression;
using Noisette.Data;
using Noisette.Pipelines;

namespace Noisette.Studio;

public sealed record GeneratedImage(string Path, string Url, long? Seed, long? Step, string? Sampler, int? Steps, bool Favourite);
public sealed record GalleryBatch(string Folder, string Title, IReadOnlyList<GeneratedImage> Images);
public sealed record GenerateSettings(string Checkpoint, string Sampler, int Steps, double Eta, long Seed, int Count);
public sealed record RegenerateResult(string Favourite, GeneratedImage Image, bool SameBytes, string Message);

/// <summary>
/// Generation for the pages: images go to RUN/generated/studio-TIME/ with their provenance in PNG text chunks;
/// a star copies one to RUN/favourites/ byte for byte; a favourite can be made again from its provenance.
/// One generation at a time; the last loaded checkpoint stays in memory.
/// </summary>
public sealed class GenerationService : IDisposable
{
    public const int MaxCount = 64;
    private readonly SemaphoreSlim gate = new(1, 1);
    private LoadedModel? cached;
    private (string Dir, DateTime Stamp)? cachedKey;

    public async Task<GalleryBatch> GenerateAsync(string runPath, GenerateSettings s, CancellationToken cancel)
    {
        await gate.WaitAsync(cancel);
        try
        {
            return await Task.Run(() =>
            {
                var model = Load(runPath, s.Checkpoint);
                var folder = "studio-" + DateTimeOffset.UtcNow.ToString("yyyyMMdd-HHmmss-fff", CultureInfo.InvariantCulture);
                var outDir = Path.Combine(runPath, "generated", folder);
                SamplePipeline.Run(model, new SampleRequest { Count = s.Count, Seed = s.Seed, Sampler = s.Sampler, Steps = s.Steps, Eta = s.Eta }, outDir);
                return Batch(runPath, outDir);
            }, CancellationToken.None);
        }
        finally { gate.Release(); }
    }

    private LoadedModel Load(string runPath, string which)
    {
        var (dir, _, _) = Noisette.IO.Checkpoint.Resolve(runPath, which);
        var stamp = File.GetLastWriteTimeUtc(Path.Combine(dir, Noisette.IO.Checkpoint.StateFile));
        if (cached is not null && cachedKey == (dir, stamp)) return cached;
        cached?.Dispose();
        cached = null;
        cached = LoadedModel.Load(dir);
        cachedKey = (dir, stamp);
        return cached;
    }

    /// <summary>The newest batches of a run's generated/ folder (studio batches and CLI output alike).</summary>
    public IReadOnlyList<GalleryBatch> Gallery(string runPath, int batches = 12)
    {
        var root = Path.Combine(runPath, "generated");
        if (!Directory.Exists(root)) return [];
        var dirs = Directory.EnumerateDirectories(root).Where(d => !Path.GetFileName(d).StartsWith('.'))
            .OrderByDescending(Directory.GetLastWriteTimeUtc).Take(batches).ToList();
        var list = dirs.Select(d => Batch(runPath, d)).Where(b => b.Images.Count > 0).ToList();
        if (Directory.EnumerateFiles(root, "*.png").Any()) list.Add(Batch(runPath, root));
        return list;
    }

    public GalleryBatch Favourites(string runPath) => Batch(runPath, Path.Combine(runPath, "favourites"));

    private static GalleryBatch Batch(string runPath, string dir)
    {
        var run = Path.GetFileName(runPath);
        var favourites = FavouriteHashes(runPath);
        var images = new List<GeneratedImage>();
        if (Directory.Exists(dir))
            foreach (var f in Directory.EnumerateFiles(dir, "*.png").Order(StringComparer.Ordinal))
                images.Add(Describe(run, runPath, f, favourites));
        var rel = Path.GetRelativePath(runPath, dir).Replace('\\', '/');
        return new GalleryBatch(rel, Title(Path.GetFileName(dir)), images);
    }

    private static string Title(string folder)
    {
        if (folder.StartsWith("studio-", StringComparison.Ordinal) &&
            DateTimeOffset.TryParseExact(folder["studio-".Length..], "yyyyMMdd-HHmmss-fff", CultureInfo.InvariantCulture,
                                         DateTimeStyles.AssumeUniversal, out var when))
            return "made " + when.ToLocalTime().ToString("d MMM, HH:mm:ss", CultureInfo.InvariantCulture);
        return folder;
    }

    private static GeneratedImage Describe(string run, string runPath, string file, HashSet<string> favourites)
    {
        var rel = Path.GetRelativePath(runPath, file).Replace('\\', '/');
        var text = new Dictionary<string, string>(StringComparer.Ordinal);
        try { foreach (var (k, v) in PngText.Read(file)) text[k] = v; }
        catch (NoisetteInputException) { }
        long? L(string k) => text.TryGetValue(k, out var v) && long.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) ? n : null;
        var url = $"/api/runs/{Uri.EscapeDataString(run)}/files/{string.Join('/', rel.Split('/').Select(Uri.EscapeDataString))}";
        bool fav = rel.StartsWith("favourites/", StringComparison.Ordinal) || favourites.Contains(Hash(file));
        return new GeneratedImage(rel, url, L("noisette:seed"), L("noisette:checkpoint_step"),
            text.GetValueOrDefault("noisette:sampler"), (int?)L("noisette:steps"), fav);
    }

    private static HashSet<string> FavouriteHashes(string runPath)
    {
        var dir = Path.Combine(runPath, "favourites");
        return Directory.Exists(dir) ? Directory.EnumerateFiles(dir, "*.png").Select(Hash).ToHashSet(StringComparer.Ordinal) : [];
    }

    private static string Hash(string file)
    {
        try { return Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(file))); }
        catch (IOException) { return ""; }
    }

    /// <summary>Copies a generated image, byte for byte (provenance included), into RUN/favourites/.</summary>
    public GeneratedImage Star(string runPath, string? relative)
    {
        var file = SafePath.Resolve(runPath, relative, "path");
        var rel = Path.GetRelativePath(runPath, file).Replace('\\', '/');
        if (!rel.StartsWith("generated/", StringComparison.Ordinal) || !file.EndsWith(".png", StringComparison.OrdinalIgnoreCase))
            throw StudioError.BadField("path", "must be a PNG in the run's generated/ folder");
        if (!File.Exists(file)) throw StudioError.NotFound($"there is no image {rel}");
        var bytes = File.ReadAllBytes(file);
        var favDir = Path.Combine(runPath, "favourites");
        Directory.CreateDirectory(favDir);
        var name = Path.GetFileName(file);
        var target = Path.Combine(favDir, name);
        for (int i = 2; File.Exists(target); i++)
        {
            if (File.ReadAllBytes(target).AsSpan().SequenceEqual(bytes)) break;   // already a favourite
            target = Path.Combine(favDir, $"{Path.GetFileNameWithoutExtension(name)}-{i}.png");
        }
        if (!File.Exists(target)) Noisette.IO.AtomicFile.WriteAllBytes(target, bytes);
        return Describe(Path.GetFileName(runPath), runPath, target, []);
    }

    /// <summary>Makes a favourite again from its provenance (checkpoint step, weights, sampler, steps, η, seed) and compares the bytes.</summary>
    public async Task<RegenerateResult> RegenerateAsync(string runPath, string? favourite, CancellationToken cancel)
    {
        var file = SafePath.Resolve(Path.Combine(runPath, "favourites"), favourite, "favourite");
        if (!File.Exists(file)) throw StudioError.NotFound($"there is no favourite {favourite}");
        var text = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in PngText.Read(file)) text[k] = v;
        string Need(string key) => text.TryGetValue(key, out var v) ? v : throw StudioError.BadField("favourite", $"carries no {key}; it cannot be made again");
        var step = Need("noisette:checkpoint_step");
        if (!long.TryParse(step, NumberStyles.None, CultureInfo.InvariantCulture, out _)) throw StudioError.BadField("favourite", "has an unreadable checkpoint step");
        if (!Directory.Exists(new Noisette.IO.RunFolder(runPath).CheckpointDir(long.Parse(step, CultureInfo.InvariantCulture))))
            throw StudioError.Conflict($"the checkpoint of step {step} that made this favourite is no longer in the run (older checkpoints are removed as training goes on)");
        if (text.GetValueOrDefault("noisette:weights", "ema") != "ema")
            throw StudioError.Conflict("this favourite was made from the raw weights; the studio makes images from the averaged (EMA) weights");
        var request = new SampleRequest
        {
            Count = 1,
            Seed = long.Parse(Need("noisette:seed"), CultureInfo.InvariantCulture),
            Sampler = Need("noisette:sampler"),
            Steps = int.Parse(Need("noisette:steps"), CultureInfo.InvariantCulture),
            Eta = double.Parse(Need("noisette:eta"), CultureInfo.InvariantCulture),
        };
        await gate.WaitAsync(cancel);
        try
        {
            return await Task.Run(() =>
            {
                var model = Load(runPath, step);
                var folder = "regenerated-" + DateTimeOffset.UtcNow.ToString("yyyyMMdd-HHmmss-fff", CultureInfo.InvariantCulture);
                var outDir = Path.Combine(runPath, "generated", folder);
                var result = SamplePipeline.Run(model, request, outDir);
                bool same = File.ReadAllBytes(result.Files[0]).AsSpan().SequenceEqual(File.ReadAllBytes(file));
                var image = Describe(Path.GetFileName(runPath), runPath, result.Files[0], FavouriteHashes(runPath));
                return new RegenerateResult(Path.GetFileName(file), image, same,
                    same ? "made again: the same bytes as the favourite" : "made again, but the bytes differ from the favourite");
            }, CancellationToken.None);
        }
        finally { gate.Release(); }
    }

    /// <summary>A zip of the PNGs of one folder of the run (a generated batch or favourites/).</summary>
    public static byte[] Zip(string folder)
    {
        using var ms = new MemoryStream();
        using (var zip = new ZipArchive(ms, ZipArchiveMode.Create, leaveOpen: true))
            foreach (var f in Directory.EnumerateFiles(folder, "*.png").Order(StringComparer.Ordinal))
                zip.CreateEntryFromFile(f, Path.GetFileName(f), CompressionLevel.NoCompression);
        return ms.ToArray();
    }

    public void Dispose()
    {
        cached?.Dispose();
        gate.Dispose();
    }
}
