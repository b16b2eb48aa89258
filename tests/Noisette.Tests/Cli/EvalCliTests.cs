using System.Text.Json;
using Noisette.Runs;

namespace Noisette.Tests.Evaluation;

[CollectionDefinition(nameof(ConsoleCapture), DisableParallelization = true)]
public sealed class ConsoleCapture;

/// <summary>`noisette eval` and `noisette copycheck` end to end on a tiny run, in process.</summary>
[Collection(nameof(ConsoleCapture))]
public class EvalCliTests
{
    private static string DemoImages => Path.Combine(Fixtures.Path(), "..", "..", "data", "demo", "letters-A");

    /// <summary>Runs the CLI and returns its exit code with what it wrote to stdout and stderr.</summary>
    private static (int Code, string Out, string Err) Run(params string[] args) => CliCapture.Run(args);

    [Fact]
    public void EvalAndCopyCheckRunOnATinyRun()
    {
        using var data = new TempFolder();
        foreach (var f in Directory.GetFiles(DemoImages, "*.png").Order(StringComparer.Ordinal).Take(24))
            File.Copy(f, Path.Combine(data.Path, Path.GetFileName(f)));
        using var outDir = new TempFolder();
        var run = outDir["run"];
        Assert.Equal(0, Run("train", "--data", data.Path, "--out", run, "--steps", "2", "--checkpoint-every", "2",
                            "--preset", "tiny", "--batch", "4", "--threads", "1").Code);

        // Likelihood, as JSON on stdout.
        var (code, stdout, stderr) = Run("eval", run, "--nll", "--timesteps", "4", "--json", "--batch", "8", "--threads", "1");
        Assert.True(code == 0, stderr);
        double bpd;
        using (var doc = JsonDocument.Parse(stdout))
        {
            var l = doc.RootElement.GetProperty("likelihood");
            bpd = l.GetProperty("bits_per_dim").GetDouble();
            Assert.InRange(bpd, 0.01, 100);
            Assert.Equal(4, l.GetProperty("evaluated_timesteps").GetInt32());
            Assert.Equal(2, doc.RootElement.GetProperty("step").GetInt64());
        }

        // FID without the Inception file: refused plainly, no number printed under its name.
        (code, stdout, stderr) = Run("eval", run, "--fid", "--n", "4");
        Assert.Equal(2, code);
        Assert.Contains("--inception", stderr);
        Assert.DoesNotContain("FID ", stdout);
        Assert.Equal(2, Run("eval", run).Code);                                      // nothing asked for
        Assert.Equal(2, Run("eval", run, "--fid", "--inception", outDir["missing.pt"]).Code);

        // FID/KID with a TorchScript feature network of the same interface.
        (code, stdout, stderr) = Run("eval", run, "--fid", "--n", "4", "--steps", "2", "--threads", "1", "--json", "--inception", Fixtures.Path("eval", "tiny_inception.pt"));
        Assert.True(code == 0, stderr);
        double fid, kid;
        using (var doc = JsonDocument.Parse(stdout))
        {
            var q = doc.RootElement.GetProperty("sample_quality");
            fid = q.GetProperty("fid").GetDouble();
            kid = q.GetProperty("kid").GetDouble();
            Assert.True(fid >= 0);
            Assert.Equal(4, q.GetProperty("samples").GetInt32());
            Assert.Equal(24, q.GetProperty("real_images").GetInt32());
            Assert.Equal(19, q.GetProperty("feature_dimensions").GetInt32());
        }

        // The checkpoint keeps both measurements, and status reports them.
        var status = Noisette.Monitoring.RunStatus.Read(new Noisette.Runs.RunFolder(run));
        Assert.True(status.Evaluations.TryGetValue(2, out var recorded));
        Assert.NotNull(recorded.BitsPerDim);
        Assert.NotNull(recorded.Fid);
        Assert.Equal(bpd, recorded.BitsPerDim);
        Assert.Equal(fid, recorded.Fid);
        Assert.Equal(kid, recorded.Kid);
        Noisette.Runs.Checkpoint.Verify(new Noisette.Runs.RunFolder(run).CheckpointDir(2));   // still intact

        // The numbers are TensorBoard scalars too, at the checkpoint's step, beside training's.
        var events = Directory.GetFiles(new Noisette.Runs.RunFolder(run).TensorBoardDir)
            .SelectMany(MonitoringTests.ReadRecords).Select(Tensorboard.Event.Parser.ParseFrom).ToList();
        var scalars = events.Where(e => e.Summary is not null).SelectMany(e => e.Summary.Value.Select(v => (e.Step, v.Tag, v.SimpleValue))).ToList();
        Assert.Contains(scalars, x => x.Tag == "train/loss");
        Assert.Equal((2L, (float)bpd), scalars.Where(x => x.Tag == "eval/bits_per_dim").Select(x => (x.Step, x.SimpleValue)).Single());
        Assert.Equal((2L, (float)fid), scalars.Where(x => x.Tag == "eval/fid").Select(x => (x.Step, x.SimpleValue)).Single());
        Assert.Equal((2L, (float)kid), scalars.Where(x => x.Tag == "eval/kid").Select(x => (x.Step, x.SimpleValue)).Single());

        // `noisette status`: progress, the best checkpoint, the hint and the eval numbers, as text and as JSON.
        (code, stdout, stderr) = Run("status", run);
        Assert.True(code == 0, stderr);
        Assert.Contains("progress:   step 2 of 2 (100%)", stdout);
        // The best checkpoint goes by the sample distance the trainer measured there, with the validation loss beside it.
        Assert.Matches(@"best:       step 2 \(sample distance \d+\.\d\d, the lowest; validation loss \d\.\d{5}\)", stdout);
        Assert.Contains("hint:       too early to tell", stdout);
        Assert.Contains(string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"evaluated:  step 2: {bpd:F4} bits/dim FID {fid:F2} KID {kid:F5}"), stdout);
        (code, stdout, stderr) = Run("status", run, "--json");
        Assert.True(code == 0, stderr);
        using (var doc = JsonDocument.Parse(stdout))
        {
            var r = doc.RootElement;
            Assert.Equal(2, r.GetProperty("step").GetInt64());
            Assert.Equal(2, r.GetProperty("total_steps").GetInt64());
            Assert.Equal(2, r.GetProperty("best_step").GetInt64());
            Assert.True(r.GetProperty("best_validation_loss").GetDouble() > 0);
            Assert.True(r.GetProperty("best_sample_distance").GetDouble() > 0);
            Assert.Equal("too_early", r.GetProperty("hint").GetProperty("kind").GetString());
            var e = r.GetProperty("evaluations").GetProperty("2");
            Assert.Equal(bpd, e.GetProperty("bits_per_dim").GetDouble());
            Assert.Equal(fid, e.GetProperty("fid").GetDouble());
            Assert.Equal(kid, e.GetProperty("kid").GetDouble());
        }

        // The copy check writes a self-contained gallery.
        var html = outDir["copies.html"];
        (code, _, stderr) = Run("copycheck", run, "--n", "3", "--steps", "2", "--threads", "1", "--out", html);
        Assert.True(code == 0, stderr);
        var page = File.ReadAllText(html);
        Assert.Contains("data:image/png;base64,", page);
        Assert.Equal(2, Run("copycheck", run, "--n", "0").Code);
    }
}
