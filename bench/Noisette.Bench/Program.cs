using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Noisette.Diffusion;
using Noisette.Models;
using Noisette.Runtime;
using static TorchSharp.torch;

// Noisette benchmarks. Measures exactly what ../shared/reference/bench_reference.py measures, the same way:
// two warm-up training steps, then `steps` timed AdamW steps on random data at `batch`; then 5 timed network
// calls at batch 16 in eval mode without gradients, after one warm-up call. Prints one JSON line.
//
//   dotnet run -c Release --project bench/Noisette.Bench -- train --preset letters32 --batch 32 --steps 10 --threads 2

var argv = args.ToList();
string command = argv.Count > 0 && !argv[0].StartsWith("--") ? argv[0] : "train";
string Opt(string name, string def)
{
    int i = argv.IndexOf("--" + name);
    return i >= 0 && i + 1 < argv.Count ? argv[i + 1] : def;
}
if (command != "train")
{
    Console.Error.WriteLine($"unknown benchmark '{command}'; available: train");
    return 2;
}

string preset = Opt("preset", "letters32");
int batch = int.Parse(Opt("batch", "32"), CultureInfo.InvariantCulture);
int steps = int.Parse(Opt("steps", "10"), CultureInfo.InvariantCulture);
int threads = int.Parse(Opt("threads", "2"), CultureInfo.InvariantCulture);
TorchRuntime.ConfigureThreads(threads);
random.manual_seed(0);

var cfg = ModelPresets.Get(preset).Model;
using var net = new UNet(cfg);
long parameters = net.ParameterCount();
var named = ModelWeights.Named(net);
using var opt = new Noisette.Training.AdamW(named, 0.9, 0.999, 1e-8, 0.01);
var diffusion = new GaussianDiffusion(new DiffusionConfig());
using var x0 = (rand(batch, cfg.InChannels, cfg.ImageSize, cfg.ImageSize) * 2 - 1).DetachFromDisposeScope();

void Step()
{
    using var scope = NewDisposeScope();
    var t = randint(0, diffusion.T, [batch], dtype: int64);
    var eps = randn_like(x0);
    var xt = diffusion.QSample(x0, t, eps);
    var loss = nn.functional.mse_loss(net.call(xt, t), eps);
    foreach (var (_, p) in named) p.grad?.zero_();
    loss.backward();
    opt.Step(2e-4);
}

net.train();
for (int i = 0; i < 2; i++) Step();
var sw = Stopwatch.StartNew();
for (int i = 0; i < steps; i++) Step();
double trainIps = batch * steps / sw.Elapsed.TotalSeconds;

net.eval();
double callS;
using (inference_mode())
using (var scope = NewDisposeScope())
{
    var x = randn(16, cfg.InChannels, cfg.ImageSize, cfg.ImageSize);
    var tt = full(16, 500L, dtype: int64);
    net.call(x, tt);
    sw.Restart();
    for (int i = 0; i < 5; i++) net.call(x, tt).Dispose();
    callS = sw.Elapsed.TotalSeconds / 5;
}

Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
{
    ["impl"] = "noisette-torchsharp-0.107.0",
    ["preset"] = preset,
    ["params"] = parameters,
    ["batch"] = batch,
    ["threads"] = threads,
    ["train_images_per_s"] = Math.Round(trainIps, 2),
    ["sample_batch16_s_per_call"] = Math.Round(callS, 4),
}));
return 0;
