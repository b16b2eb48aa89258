using System.Globalization;
using System.IO.Compression;
using Noisette.Data;
using Noisette.Pipelines;
using Noisette.Runs;
using Noisette.Runtime;

namespace Noisette.Studio;

public sealed record GeneratedImage(string Path, string Url, long? Seed, long? Step, string? Sampler, int? Steps, bool Favourite,
                                    string Kind = "sample", string? Class = null, double? Guidance = null, double? Strength = null, string? Input = null);
public sealed record GalleryBatch(string Folder, string Title, IReadOnlyList<GeneratedImage> Images);
/// <summary>A generation from the pages: which checkpoint, and the library's generation settings (checked there).</summary>
public sealed record GenerateSettings(string Checkpoint, GenerationSettings Generation);
public sealed record EditSettings(string Checkpoint, GenerationSettings Generation, double Strength);
public sealed record InpaintSettings(string Checkpoint, GenerationSettings Generation, int Jumps, int JumpLength);
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
    private (string Dir, DateTime Stamp, Noisette.Runtime.Precision Precision)? cachedKey;

    public async Task<GalleryBatch> GenerateAsync(string runPath, GenerateSettings s, CancellationToken cancel)
    {
        await gate.WaitAsync(cancel);
        try
        {
            return await Task.Run(() =>
            {
                var model = Load(runPath, s.Checkpoint, s.Generation.Precision);
                var outDir = NewBatchDir(runPath, "studio");
                SamplePipeline.Run(model, new SampleRequest { Settings = s.Generation }, outDir);
                DropGrids(outDir);
                return Batch(runPath, outDir);
            }, CancellationToken.None);
        }
        finally { gate.Release(); }
    }

    /// <summary>Edits an image (SDEdit) once per seed into RUN/generated/edit-TIME/; each PNG carries its provenance.</summary>
    public Task<GalleryBatch> EditAsync(string runPath, EditSettings s, string input, CancellationToken cancel) =>
        Exclusive(cancel, () =>
        {
            var model = Load(runPath, s.Checkpoint, s.Generation.Precision);
            var outDir = NewBatchDir(runPath, "edit");
            Edit.ToFolder(model, new EditRequest { ImagePath = input, Strength = s.Strength, Settings = s.Generation }, outDir);
            return Batch(runPath, outDir);
        });

    /// <summary>Inpaints an image (RePaint) under a mask once per seed into RUN/generated/inpaint-TIME/.</summary>
    public Task<GalleryBatch> InpaintAsync(string runPath, InpaintSettings s, string input, string mask, CancellationToken cancel) =>
        Exclusive(cancel, () =>
        {
            var model = Load(runPath, s.Checkpoint, s.Generation.Precision);
            var outDir = NewBatchDir(runPath, "inpaint");
            Inpaint.ToFolder(model, new InpaintRequest
            {
                ImagePath = input, MaskPath = mask, Jumps = s.Jumps, JumpLength = s.JumpLength, Settings = s.Generation,
            }, outDir);
            return Batch(runPath, outDir);
        });

    private async Task<T> Exclusive<T>(CancellationToken cancel, Func<T> work)
    {
        await gate.WaitAsync(cancel);
        try { return await Task.Run(work, CancellationToken.None); }
        finally { gate.Release(); }
    }

    private static string NewBatchDir(string runPath, string kind) =>
        Path.Combine(runPath, "generated", kind + "-" + DateTimeOffset.UtcNow.ToString("yyyyMMdd-HHmmss-fff", CultureInfo.InvariantCulture));

    /// <summary>The gallery shows single pictures; a contact sheet of them would only repeat them.</summary>
    private static void DropGrids(string dir)
    {
        foreach (var f in Directory.EnumerateFiles(dir, "grid-*.png")) File.Delete(f);
    }

    /// <summary>The EMA weights of a checkpoint, kept in memory for the next call with the same checkpoint and precision.</summary>
    private LoadedModel Load(string runPath, string which, Noisette.Runtime.Precision precision = Noisette.Runtime.Precision.Fp32)
    {
        new Noisette.Runs.RunFolder(runPath).ReadConfig();   // a damaged config is refused with its reason, not a crash
        var (dir, _, _) = Noisette.Runs.Checkpoint.Resolve(runPath, which);
        var key = (dir, File.GetLastWriteTimeUtc(Path.Combine(dir, Noisette.Runs.Checkpoint.StateFile)), precision);
        if (cached is not null && cachedKey == key) return cached;
        cached?.Dispose();
        cached = null;
        cached = LoadedModel.Load(dir, precision: precision);
        cachedKey = key;
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

    private static readonly (string Prefix, string Words)[] BatchKinds =
        [("studio-", "made"), ("edit-", "edited"), ("inpaint-", "inpainted"), ("variations-", "variations made"), ("regenerated-", "made again")];

    private static string Title(string folder)
    {
        foreach (var (prefix, words) in BatchKinds)
            if (folder.StartsWith(prefix, StringComparison.Ordinal) &&
                DateTimeOffset.TryParseExact(folder[prefix.Length..], "yyyyMMdd-HHmmss-fff", CultureInfo.InvariantCulture,
                                             DateTimeStyles.AssumeUniversal, out var when))
                return words + " " + when.ToLocalTime().ToString("d MMM, HH:mm:ss", CultureInfo.InvariantCulture);
        return folder;
    }

    private static GeneratedImage Describe(string run, string runPath, string file, HashSet<string> favourites)
    {
        var rel = Path.GetRelativePath(runPath, file).Replace('\\', '/');
        var text = new Dictionary<string, string>(StringComparer.Ordinal);
        try { foreach (var (k, v) in PngText.Read(file)) text[k] = v; }
        catch (NoisetteInputException) { }
        long? L(string k) => text.TryGetValue(k, out var v) && long.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) ? n : null;
        double? D(string k) => text.TryGetValue(k, out var v) && double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var n) ? n : null;
        var url = $"/api/runs/{Uri.EscapeDataString(run)}/files/{string.Join('/', rel.Split('/').Select(Uri.EscapeDataString))}";
        bool fav = rel.StartsWith("favourites/", StringComparison.Ordinal) || favourites.Contains(Hash(file));
        var input = text.GetValueOrDefault("noisette:input");
        return new GeneratedImage(rel, url, L("noisette:seed"), L("noisette:checkpoint_step"),
            text.GetValueOrDefault("noisette:sampler"), (int?)L("noisette:steps"), fav,
            text.GetValueOrDefault("noisette:kind", Provenance.Sample), text.GetValueOrDefault("noisette:class"), D("noisette:guidance"),
            D("noisette:strength"), input is null ? null : System.IO.Path.GetFileName(input));
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

    /// <summary>The provenance of a favourite, checked for what the studio needs to make it again or vary it.</summary>
    private static (string File, Provenance Provenance) ReadFavourite(string runPath, string? favourite)
    {
        var file = SafePath.Resolve(Path.Combine(runPath, "favourites"), favourite, "favourite");
        if (!file.EndsWith(".png", StringComparison.OrdinalIgnoreCase)) throw StudioError.BadField("favourite", "must be a PNG in the run's favourites");
        if (!File.Exists(file)) throw StudioError.NotFound($"there is no favourite {favourite}");
        Provenance p;
        try { p = Provenance.FromText(PngText.Read(file), Path.GetFileName(file)); }
        catch (NoisetteInputException e) { throw StudioError.BadField("favourite", e.Message + "; it cannot be made again"); }
        if (!Directory.Exists(new Noisette.Runs.RunFolder(runPath).CheckpointDir(p.CheckpointStep)))
            throw StudioError.Conflict($"the checkpoint of step {p.CheckpointStep} that made this favourite is no longer in the run (older checkpoints are removed as training goes on)");
        if (p.Weights != "ema")
            throw StudioError.Conflict("this favourite was made from the raw weights; the studio makes images from the averaged (EMA) weights");
        return (file, p);
    }

    /// <summary>
    /// Makes a favourite again from its provenance (checkpoint step, sampler, steps, η, seed, and class and guidance,
    /// or the edit's input and strength, or the inpainting's input, mask and jumps) and compares the bytes.
    /// </summary>
    public async Task<RegenerateResult> RegenerateAsync(string runPath, string? favourite, CancellationToken cancel)
    {
        var (file, p) = ReadFavourite(runPath, favourite);
        try { Regenerate.Check(p, Path.GetFileName(file)); }
        catch (NoisetteInputException e) { throw StudioError.Conflict(e.Message); }
        var step = p.CheckpointStep.ToString(CultureInfo.InvariantCulture);
        return await Exclusive(cancel, () =>
        {
            var model = Load(runPath, step, Noisette.Runtime.PrecisionSupport.Parse(p.Precision));
            var result = Regenerate.Run(model, p, NewBatchDir(runPath, "regenerated"), Path.GetFileName(file));
            bool same = File.ReadAllBytes(result.Files[0]).AsSpan().SequenceEqual(File.ReadAllBytes(file));
            var image = Describe(Path.GetFileName(runPath), runPath, result.Files[0], FavouriteHashes(runPath));
            return new RegenerateResult(Path.GetFileName(file), image, same,
                same ? "made again: the same bytes as the favourite" : "made again, but the bytes differ from the favourite");
        });
    }

    /// <summary>
    /// Variations of a favourite picture: the same checkpoint, sampler, steps, η, class and guidance, from the seeds
    /// around its own (seed − spread … seed + spread, without the favourite's seed and never below 0).
    /// </summary>
    public async Task<GalleryBatch> VariationsAsync(string runPath, string? favourite, int spread, CancellationToken cancel)
    {
        var (_, p) = ReadFavourite(runPath, favourite);
        if (p.Kind != Provenance.Sample) throw StudioError.BadField("favourite", $"is a {p.Kind}; variations are made of generated pictures");
        var seeds = Enumerable.Range(-spread, 2 * spread + 1).Select(d => p.Seed + d).Where(s => s >= 0 && s != p.Seed).ToArray();
        var step = p.CheckpointStep.ToString(CultureInfo.InvariantCulture);
        return await Exclusive(cancel, () =>
        {
            var model = Load(runPath, step);
            var outDir = NewBatchDir(runPath, "variations");
            SamplePipeline.Run(model, new SampleRequest
            {
                Settings = new GenerationSettings
                {
                    Seeds = seeds, Sampler = p.Sampler, Steps = p.Steps, Eta = p.Eta, Classes = p.Class is null ? [] : [p.Class], Guidance = p.Guidance,
                },
            }, outDir);
            DropGrids(outDir);
            return Batch(runPath, outDir);
        });
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
