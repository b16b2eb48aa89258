using System.Security.Cryptography;
using System.Text;
using Noisette.Data;

namespace Noisette.Bench.Quality;

/// <summary>Which part of the font-level split a font belongs to.</summary>
public enum FontRole
{
    /// <summary>The classifier learns from these fonts.</summary>
    Train,
    /// <summary>Held out: the reference set that samples are compared with (Fréchet distance, precision/recall).</summary>
    Reference,
    /// <summary>Held out: a second set of real letters, compared with the reference set the way samples are (the ceiling).</summary>
    Ceiling,
}

/// <summary>
/// The shared letters (<c>letters32/&lt;A..Z&gt;/&lt;font-id&gt;.png</c>, one font per file name, all 26 letters per font,
/// listed in <c>manifest.tsv</c>) and the benchmark's font-level split: every font id is ranked by the SHA-256 of
/// <see cref="SplitSalt"/> + id; the first <see cref="ReferenceFraction"/> of the ranking are reference fonts, the
/// next <see cref="CeilingFraction"/> ceiling fonts, the rest training fonts. A font's letters never cross the split.
/// Images are read with the library's decoder and preprocessing (gray, as training reads them), so a 64 px image
/// comes out as its exact 2×2 mean, which is how letters32 was made from letters64.
/// </summary>
public sealed class LetterData
{
    public const string SplitSalt = "noisette-quality-split-1:";
    public const double ReferenceFraction = 0.2;
    public const double CeilingFraction = 0.2;
    public const string Letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    private const int Pixels = LetterClassifier.ImageSize * LetterClassifier.ImageSize;

    public string Root { get; }
    /// <summary>Font ids in manifest order.</summary>
    public IReadOnlyList<string> Fonts { get; }
    public IReadOnlyList<FontRole> Roles { get; }
    /// <summary>SHA-256 (hex) of manifest.tsv.</summary>
    public string ManifestSha256 { get; }
    /// <summary>Image of font f, letter l at [(f * 26 + l) * 1024], 32×32 gray.</summary>
    private readonly byte[] pixels;

    private LetterData(string root, IReadOnlyList<string> fonts, IReadOnlyList<FontRole> roles, string manifestSha, byte[] pixels)
    {
        Root = root; Fonts = fonts; Roles = roles; ManifestSha256 = manifestSha; this.pixels = pixels;
    }

    public byte[] Image(int font, int letter) => pixels.AsSpan((font * Letters.Length + letter) * Pixels, Pixels).ToArray();

    public IEnumerable<int> FontsIn(FontRole role) => Enumerable.Range(0, Fonts.Count).Where(f => Roles[f] == role);

    /// <summary>The images of one letter from the fonts of one role, in manifest order.</summary>
    public List<byte[]> LetterImages(int letter, FontRole role) => FontsIn(role).Select(f => Image(f, letter)).ToList();

    /// <summary>The split of these font ids: see the class summary.</summary>
    public static FontRole[] Split(IReadOnlyList<string> fonts)
    {
        var ranked = Enumerable.Range(0, fonts.Count)
            .OrderBy(i => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(SplitSalt + fonts[i]))), StringComparer.Ordinal)
            .ToList();
        int reference = (int)Math.Round(fonts.Count * ReferenceFraction), ceiling = (int)Math.Round(fonts.Count * CeilingFraction);
        var roles = new FontRole[fonts.Count];
        for (int r = 0; r < ranked.Count; r++)
            roles[ranked[r]] = r < reference ? FontRole.Reference : r < reference + ceiling ? FontRole.Ceiling : FontRole.Train;
        return roles;
    }

    /// <summary>Reads the manifest and all 26 letters of every font in it.</summary>
    public static LetterData Load(string root)
    {
        var manifest = Path.Combine(root, "manifest.tsv");
        if (!File.Exists(manifest)) throw new NoisetteInputException($"{root} has no manifest.tsv: it is not the shared letters32 folder");
        var bytes = File.ReadAllBytes(manifest);
        var lines = Encoding.UTF8.GetString(bytes).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var columns = lines[0].Split('\t');
        int idColumn = Array.IndexOf(columns, "font_id");
        if (idColumn < 0) throw new NoisetteInputException($"{manifest} has no font_id column");
        var fonts = lines.Skip(1).Select(l => l.Split('\t')[idColumn]).ToList();
        var pixels = new byte[fonts.Count * Letters.Length * Pixels];
        Parallel.For(0, fonts.Count * Letters.Length, new ParallelOptions { MaxDegreeOfParallelism = 2 }, i =>
        {
            int f = i / Letters.Length, l = i % Letters.Length;
            ReadLetter(Path.Combine(root, Letters[l].ToString(), fonts[f] + ".png")).CopyTo(pixels, i * Pixels);
        });
        return new LetterData(Path.GetFullPath(root), fonts, Split(fonts), Convert.ToHexString(SHA256.HashData(bytes)).ToLowerInvariant(), pixels);
    }

    /// <summary>
    /// One image as the classifier reads it: decoded by the library (gray as training converts it, alpha onto white),
    /// square 32 or 64 px only, 64 px brought to 32 by the exact 2×2 mean. Anything else is bad input.
    /// </summary>
    public static byte[] ReadLetter(string path)
    {
        var image = ImageDecoder.Decode(path);
        if (image.Width != image.Height || image.Width is not (32 or 64))
            throw new NoisetteInputException($"{path} is {image.Width}×{image.Height}; the quality benchmark reads square 32 or 64 px letters");
        return ImagePreprocessor.Process(image, new DataConfig { ImageSize = LetterClassifier.ImageSize, Channels = ChannelMode.Gray }, ChannelMode.Gray);
    }

    /// <summary>Every image file under <paramref name="folder"/> (recursively, in the library's order), read by <see cref="ReadLetter"/>.</summary>
    public static List<byte[]> ReadFolder(string folder, bool recursive)
    {
        var files = recursive
            ? ImageFolder.Scan(folder).Images.Select(e => e.FullPath).ToList()
            : ImageFolder.Scan(folder).Images.Where(e => !e.RelativePath.Contains('/')).Select(e => e.FullPath).ToList();
        var images = new byte[files.Count][];
        Parallel.For(0, files.Count, new ParallelOptions { MaxDegreeOfParallelism = 2 }, i => images[i] = ReadLetter(files[i]));
        return images.ToList();
    }

    /// <summary>
    /// The letters32 folder: the given one, else shared/data/letters32 in the nearest ancestor of the working
    /// directory that has it, else in the nearest ancestor of the program's own folder.
    /// </summary>
    public static string Locate(string? given)
    {
        if (given is not null) return given;
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "shared", "data", "letters32");
                if (File.Exists(Path.Combine(candidate, "manifest.tsv"))) return candidate;
            }
        throw new NoisetteInputException("cannot find shared/data/letters32 above the working directory or the program; pass --letters DIR");
    }
}
