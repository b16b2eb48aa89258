using System.Globalization;
using Noisette.Bench;
using Noisette.Runtime;
using Noisette.Training;

// Noisette benchmarks; each prints one JSON line.
//
//   train  — measures what ../shared/reference/bench_reference.py measures, the same way: two warm-up training
//            steps, then `steps` timed steps at `batch`; then 5 timed network calls at batch 16 in eval mode without
//            gradients, after one warm-up call. Adds the precision, a per-phase split, the data-wait fraction and
//            the peak resident memory.
//   sample — seconds per image of DDIM-50, DPM++-20 and DDPM-1000 (extrapolated from a few calls).
//   autoencoder — seconds per picture of encoding and decoding with SD's autoencoder shape and `autoencoder train`'s
//            default, at --size (256) and --batch (4); --only sd-kl-f8|default-f8 measures one (its own peak memory),
//            --tile N in blended tiles of N latents.
//   latent-cache — seconds to encode --images (1000) random --size (256) px RGB pictures into a latent run's cache
//            with `autoencoder train`'s default autoencoder (kl-f8, base 64), as `train --autoencoder` does once per run.
//   check  — the dataset check on --images N generated 64×64 glyph images: wall seconds and peak RSS (VmHWM).
//   studio — each studio page's load time in headless chromium (first load, then median and worst of --repeats).
//   quality-train — trains the quality benchmark's letter classifier (Quality/ClassifierTraining.cs, quality/README.md).
//   quality — scores a folder of letter samples, or a run's checkpoints, with that classifier (docs/quality.md).
//   quality-plot — draws accuracy and distance against training minutes from `quality --run --json` files.
//
//   dotnet run -c Release --project bench/Noisette.Bench -- train --preset letters32 --batch 32 --steps 10 --threads 2 --precision bf16
//   dotnet run -c Release --project bench/Noisette.Bench -- train --preset latent256 --batch 32 --steps 10   (latent training at 256 px)
//   dotnet run -c Release --project bench/Noisette.Bench -- train --preset latent256 --image-size 256 --channels 3 --no-attention --batch 4 --steps 3   (its pixel peer)
//   dotnet run -c Release --project bench/Noisette.Bench -- sample --preset letters32 --threads 2 --precision bf16
//   dotnet run -c Release --project bench/Noisette.Bench -- check --images 10000
//   dotnet run -c Release --project bench/Noisette.Bench -- studio --repeats 5
//   dotnet run -c Release --project bench/Noisette.Bench -- quality-train
//   dotnet run -c Release --project bench/Noisette.Bench -- quality --samples DIR --letter A

Noisette.Runtime.TorchRuntime.PrepareProcess(Noisette.Runtime.Workload.Single);   // before the first tensor, as the CLI does
var argv = args.ToList();
string command = argv.Count > 0 && !argv[0].StartsWith("--", StringComparison.Ordinal) ? argv[0] : "train";
string Opt(string name, string def)
{
    int i = argv.IndexOf("--" + name);
    return i >= 0 && i + 1 < argv.Count ? argv[i + 1] : def;
}
int Int(string name, string def) => int.Parse(Opt(name, def), CultureInfo.InvariantCulture);

try
{
    string preset = Opt("preset", "letters32");
    int threads = Int("threads", "2");
    var precision = PrecisionSupport.Parse(Opt("precision", "fp32"));
    switch (command)
    {
        case "train":
            Console.WriteLine(TrainBench.Run(preset, Int("batch", "32"), Int("steps", "10"), threads, precision,
                                             Opt("image-size", "") is { Length: > 0 } size ? int.Parse(size, CultureInfo.InvariantCulture) : null,
                                             Opt("channels", "") is { Length: > 0 } ch ? int.Parse(ch, CultureInfo.InvariantCulture) : null,
                                             argv.Contains("--no-attention")));
            return 0;
        case "sample":
            Console.WriteLine(SamplerBench.Run(preset, threads, precision, Int("batch", SamplerBench.Batch.ToString(CultureInfo.InvariantCulture))));
            return 0;
        case "autoencoder":
            Console.WriteLine(AutoencoderBench.Run(Int("size", "256"), Int("batch", "4"), Int("repeats", "3"), threads, Opt("only", "") is { Length: > 0 } only ? only : null,
                                                   Opt("tile", "") is { Length: > 0 } tile ? int.Parse(tile, CultureInfo.InvariantCulture) : null));
            return 0;
        case "latent-cache":
            Console.WriteLine(AutoencoderBench.CacheBuild(Int("images", "1000"), Int("size", "256"), threads, Opt("flips", "false") == "true", Int("batch", "16")));
            return 0;
        case "check":
            Console.WriteLine(CheckBench.Run(Int("images", "10000")));
            return 0;
        case "studio":
            Console.WriteLine(StudioBench.Run(Int("repeats", "5"), threads));
            return 0;
        case "quality-plot":
            return Noisette.Bench.Quality.QualityCurves.Run(argv);
        case "quality-train":
        case "quality":
            return Noisette.Bench.Quality.QualityCommand.Run(command, argv);
        default:
            Console.Error.WriteLine($"unknown benchmark '{command}'; available: train, sample, autoencoder, latent-cache, check, studio, quality-train, quality, quality-plot");
            return 2;
    }
}
catch (Noisette.NoisetteInputException e)
{
    Console.Error.WriteLine("error: " + e.Message);
    return 2;
}
