using System.CommandLine;
using Noisette.Cli.Commands;
using Noisette.Interop;
using Noisette.Models;
using Noisette.Sampling;
using static TorchSharp.torch;

namespace Noisette.Tests.Interop;

/// <summary>Architecture inference, the analytic parameter layout, respacing, and bad input at the command line.</summary>
public sealed class GuidedDiffusionImportTests : IDisposable
{
    private readonly TempFolder _temp = new("gd");

    public void Dispose()
    {
        _temp.Dispose();
    }

    private static string Fixture(string name) => Fixtures.Path("guided-diffusion", name);

    private static string Json(UNetConfig c) => Noisette.IO.Json.Serialize(c);

    public const string LsunBedroom =
        "--attention_resolutions 32,16,8 --class_cond False --diffusion_steps 1000 --dropout 0.1 --image_size 256 --learn_sigma True " +
        "--noise_schedule linear --num_channels 256 --num_head_channels 64 --num_res_blocks 2 --resblock_updown True --use_fp16 True --use_scale_shift_norm True";

    [Theory]
    [InlineData("adm_tiny", 0)]
    [InlineData("adm_tiny_cond", 1000)]
    public void TheFixturesArchitectureIsInferredFromItsTensors(string name, int classes)
    {
        var a = GuidedDiffusionImport.Infer(TorchCheckpoint.Inspect(Fixture(name + ".pt")), name);
        Assert.Equal(3, a.InChannels);
        Assert.Equal(3, a.OutChannels);
        Assert.Equal(32, a.ModelChannels);
        Assert.Equal([1.0, 2, 2], a.ChannelMultipliers);
        Assert.Equal(1, a.NumResBlocks);
        Assert.Equal([1, 2], a.AttentionLevels);
        Assert.True(a.LearnSigma);
        Assert.True(a.UseScaleShiftNorm);
        Assert.True(a.ResblockUpdown);
        Assert.Equal(classes, a.NumClasses);

        // With the fixture's flags: the image size and heads come from them, and every tensor fits.
        var flags = GuidedDiffusionFlags.Load(Fixture(name + ".flags.json"));
        var r = GuidedDiffusionImport.Resolve(TorchCheckpoint.Inspect(Fixture(name + ".pt")), flags, name);
        Assert.Equal(32, r.Model.ImageSize);
        Assert.Equal([16, 8], r.Model.AttentionResolutions);
        Assert.Equal(16, r.Model.HeadChannels);
        Assert.Equal(classes > 0 ? 1_550_278L : 1_422_278L, UNetLayout.ParameterCount(r.Model));
        Assert.Equal(Json(GuidedDiffusionImport.ConfigFromFlags(flags) with { Dropout = r.Model.Dropout }), Json(r.Model));

        // Without flags the image size of a non-released architecture cannot be known: say which flag to give.
        var e = Assert.Throws<NoisetteInputException>(() => GuidedDiffusionImport.Resolve(TorchCheckpoint.Inspect(Fixture(name + ".pt")), null, name));
        Assert.Contains("--image_size", e.Message);
    }

    [Fact]
    public void TheLsunBedroomFlagsBuildTheReleasedParameterCount()
    {
        var config = GuidedDiffusionImport.ConfigFromFlags(GuidedDiffusionFlags.Parse(LsunBedroom));
        var layout = UNetLayout.Parameters(config);
        Assert.Equal(566, layout.Count);
        Assert.Equal(552_814_086L, UNetLayout.ParameterCount(config));

        // A state dict of that shape, without flags: recognised as the released 256 px architecture.
        var infos = layout.Select(p => new TorchTensorInfo(p.Name, ScalarType.Float16, p.Shape, [], 0, "0")).ToList();
        var r = GuidedDiffusionImport.Resolve(infos, null, "lsun_bedroom.pt");
        Assert.Equal(Json(config), Json(r.Model));
        Assert.NotNull(r.ReleasedAs);
        // The same with the flags as the README writes them.
        Assert.Equal(Json(config), Json(GuidedDiffusionImport.Resolve(infos, GuidedDiffusionFlags.Parse(LsunBedroom), "lsun_bedroom.pt").Model));
    }

    // The MODEL_FLAGS of each released diffusion model as guided-diffusion's README gives them (the LSUN line serves
    // lsun_bedroom, lsun_cat and lsun_horse; lsun_horse_nodropout's line differs only by --dropout 0.0).
    private const string Common = "--diffusion_steps 1000 --learn_sigma True --resblock_updown True --use_scale_shift_norm True --attention_resolutions 32,16,8";
    public static readonly TheoryData<string, string> ReleasedFlags = new()
    {
        { "64x64_diffusion.pt", Common + " --class_cond True --dropout 0.1 --image_size 64 --noise_schedule cosine --num_channels 192 --num_head_channels 64 --num_res_blocks 3 --use_new_attention_order True --use_fp16 True" },
        { "128x128_diffusion.pt", Common + " --class_cond True --image_size 128 --noise_schedule linear --num_channels 256 --num_heads 4 --num_res_blocks 2 --use_fp16 True" },
        { "256x256_diffusion.pt", Common + " --class_cond True --image_size 256 --noise_schedule linear --num_channels 256 --num_head_channels 64 --num_res_blocks 2 --use_fp16 True" },
        { "256x256_diffusion_uncond.pt", Common + " --class_cond False --image_size 256 --noise_schedule linear --num_channels 256 --num_head_channels 64 --num_res_blocks 2 --use_fp16 True" },
        { "512x512_diffusion.pt", Common + " --class_cond True --image_size 512 --noise_schedule linear --num_channels 256 --num_head_channels 64 --num_res_blocks 2 --use_fp16 False" },
        { "lsun_bedroom.pt", LsunBedroom },
        { "lsun_cat.pt", LsunBedroom },
        { "LSUN_horse.pt", LsunBedroom },
        { "lsun_horse_nodropout.pt", LsunBedroom.Replace("--dropout 0.1", "--dropout 0.0", StringComparison.Ordinal) },
    };

    /// <summary>
    /// A released checkpoint imported without --flags resolves to exactly the model its README flags build —
    /// dropout included, which only the LSUN models (except lsun_horse_nodropout) and the 64 px model were trained with.
    /// </summary>
    [Theory]
    [MemberData(nameof(ReleasedFlags))]
    public void AReleasedCheckpointWithoutFlagsTakesItsReadmeFlags(string file, string readmeFlags)
    {
        var flags = GuidedDiffusionFlags.Parse(readmeFlags);
        var config = GuidedDiffusionImport.ConfigFromFlags(flags);
        var infos = UNetLayout.Parameters(config).Select(p => new TorchTensorInfo(p.Name, ScalarType.Float16, p.Shape, [], 0, "0")).ToList();
        var r = GuidedDiffusionImport.Resolve(infos, null, file);
        Assert.NotNull(r.ReleasedAs);
        Assert.Equal(flags.Dropout, r.Model.Dropout);
        Assert.Equal(Json(config), Json(r.Model));
        Assert.Equal(flags.NoiseSchedule == "cosine" ? Noisette.Diffusion.BetaSchedule.Cosine : Noisette.Diffusion.BetaSchedule.Linear, r.Diffusion.Schedule);
        Assert.Equal(flags.DiffusionSteps, r.Diffusion.Timesteps);
        Assert.Equal(Json(config), Json(GuidedDiffusionImport.Resolve(infos, flags, file).Model));
    }

    [Fact]
    public void AnUnconditional256pxCheckpointOfUnknownNameSaysWhichDropoutItAssumed()
    {
        var config = GuidedDiffusionImport.ConfigFromFlags(GuidedDiffusionFlags.Parse(LsunBedroom));
        var infos = UNetLayout.Parameters(config).Select(p => new TorchTensorInfo(p.Name, ScalarType.Float16, p.Shape, [], 0, "0")).ToList();
        var r = GuidedDiffusionImport.Resolve(infos, null, "bedrooms-copy.pt");
        Assert.Equal(0.0, r.Model.Dropout);     // guided-diffusion's default, as 256x256_diffusion_uncond.pt
        Assert.Contains("256x256_diffusion_uncond.pt", r.ReleasedAs);
        Assert.Contains("lsun_bedroom.pt", r.ReleasedAs);
        var note = Assert.Single(r.Notes, n => n.StartsWith("dropout", StringComparison.Ordinal));
        Assert.Contains("lsun_bedroom.pt", note);
        Assert.Contains("--dropout", note);
        // Stating the flag settles it, without a note.
        var stated = GuidedDiffusionImport.Resolve(infos, GuidedDiffusionFlags.Parse("--dropout 0.1"), "bedrooms-copy.pt");
        Assert.Equal(0.1, stated.Model.Dropout);
        Assert.DoesNotContain(stated.Notes, n => n.StartsWith("dropout", StringComparison.Ordinal));
    }

    /// <summary>The analytic layout is the real construction: same names, shapes and order.</summary>
    [Fact]
    public void TheAnalyticLayoutMatchesTheBuiltModel()
    {
        var configs = ModelPresets.All.Where(p => p.Name != "adm256").Select(p => p.Model).ToList();
        configs.Add(GuidedDiffusionImport.ConfigFromFlags(GuidedDiffusionFlags.Load(Fixture("adm_tiny.flags.json"))));
        configs.Add(GuidedDiffusionImport.ConfigFromFlags(GuidedDiffusionFlags.Load(Fixture("adm_tiny_cond.flags.json"))));
        // Legacy up/down-sampling, heads by count, fractional multiplier, no scale-shift.
        configs.Add(new UNetConfig { BaseChannels = 64, ChannelMultipliers = [0.5, 1, 2], ResBlocksPerLevel = 1, AttentionResolutions = [16, 8],
                                     NumHeads = 2, NumHeadsUpsample = 4, NewAttentionOrder = true, LearnSigma = true, NumClasses = 5, ImageSize = 32 });
        // A class-conditional run of Noisette's own: its class embedding has one more row, the null class.
        configs.Add(ModelPresets.Get("tiny").Model with { NumClasses = 3, NullClass = true });
        foreach (var config in configs)
        {
            using var model = new UNet(config);
            var built = model.named_parameters().Select(p => (p.name, string.Join(",", p.parameter.shape))).ToList();
            var analytic = UNetLayout.Parameters(config).Select(p => (p.Name, string.Join(",", p.Shape))).ToList();
            Assert.Equal(built, analytic);
            Assert.Equal(model.ParameterCount(), UNetLayout.ParameterCount(config));
        }
        Assert.Equal(1_623_169L, UNetLayout.ParameterCount(ModelPresets.Get("letters32").Model));
        Assert.Equal(6_472_195L, UNetLayout.ParameterCount(ModelPresets.Get("ddpm32").Model));
    }

    [Fact]
    public void ATensorThatDoesNotFitIsNamed()
    {
        var flags = GuidedDiffusionFlags.Load(Fixture("adm_tiny.flags.json"));
        var infos = TorchCheckpoint.Inspect(Fixture("adm_tiny.pt")).ToList();
        string Fail(List<TorchTensorInfo> list) =>
            Assert.Throws<NoisetteInputException>(() => GuidedDiffusionImport.Resolve(list, flags, "x.pt")).Message;

        Assert.Contains("tensor middle_block.1.qkv.bias is missing", Fail(infos.Where(i => i.Name != "middle_block.1.qkv.bias").ToList()));
        var misShaped = infos.Select(i => i.Name == "output_blocks.2.0.in_layers.2.weight" ? i with { Shape = [64, 128, 3, 1] } : i).ToList();
        Assert.Contains("tensor output_blocks.2.0.in_layers.2.weight has shape [64, 128, 3, 1]", Fail(misShaped));
        Assert.Contains("unexpected tensor ema.step", Fail([.. infos, infos[0] with { Name = "ema.step" }]));
        Assert.Contains("tensor time_embed.0.weight is missing", Fail(infos.Skip(1).ToList()));
        // guided-diffusion's upsamplers take 6 channels (the image and its low-resolution version): refused by kind.
        var upsampler = infos.Select(i => i.Name == "input_blocks.0.0.weight" ? i with { Shape = [32, 6, 3, 3] } : i).ToList();
        Assert.Contains("super-resolution", Fail(upsampler));
    }

    [Theory]
    [InlineData("--num_channels 64", "--num_channels 64 contradicts tensor time_embed.0.weight [128, 32]")]
    [InlineData("--class_cond True", "--class_cond True contradicts")]
    [InlineData("--learn_sigma False", "--learn_sigma False contradicts tensor out.2.weight")]
    [InlineData("--num_res_blocks 2", "--num_res_blocks 2 contradicts")]
    [InlineData("--channel_mult 1,2,4", "--channel_mult 1,2,4 contradicts")]
    [InlineData("--attention_resolutions 16", "has no attention at 8 px, but x.pt has tensor input_blocks.5.1.qkv.weight")]
    [InlineData("--attention_resolutions 32,16,8", "asks for attention at 32 px, but x.pt has no tensor input_blocks.1.1.qkv.weight")]
    [InlineData("--image_size 30", "flag --image_size: 30 cannot be halved 2 times")]
    [InlineData("--use_scale_shift_norm False", "--use_scale_shift_norm False contradicts tensor input_blocks.1.0.emb_layers.1.weight")]
    public void FlagsThatContradictTheTensorsAreNamed(string extra, string expected)
    {
        var flags = "--image_size 32 --channel_mult 1,2,2 --num_head_channels 16 " + extra;
        var infos = TorchCheckpoint.Inspect(Fixture("adm_tiny.pt"));
        var e = Assert.Throws<NoisetteInputException>(() => GuidedDiffusionImport.Resolve(infos, GuidedDiffusionFlags.Parse(flags), "x.pt"));
        Assert.Contains(expected, e.Message);
    }

    [Theory]
    [InlineData(1000, "ddim10", new[] { 0, 100, 200, 300, 400, 500, 600, 700, 800, 900 })]
    [InlineData(10, "3", new[] { 0, 4, 9 })]          // stride 4.5: 4.5 rounds half to even
    [InlineData(10, "2,3", new[] { 0, 4, 5, 7, 9 })]  // two sections of 5
    [InlineData(11, "1,1", new[] { 0, 6 })]           // the first section takes the extra step
    [InlineData(1000, "ddim3", new[] { 0, 334, 668 })]
    public void SpaceTimestepsFollowsGuidedDiffusion(int T, string spec, int[] expected) =>
        Assert.Equal(expected, Timesteps.Space(T, spec));

    [Fact]
    public void RespacingMatchesTheFixtureAndRefusesBadSpecs()
    {
        using var cases = Noisette.IO.SafeTensors.Load(Fixture("cases.safetensors"));
        var fromPython = cases["ddim10.timesteps"].data<long>().Select(v => (int)v).ToArray();
        Assert.Equal(fromPython, Timesteps.Space(1000, "ddim10"));
        Assert.Equal(250, Timesteps.Space(1000, "250").Length);
        Assert.Throws<NoisetteInputException>(() => Timesteps.Space(1000, "ddim7000"));
        Assert.Throws<NoisetteInputException>(() => Timesteps.Space(10, "6,6"));
        Assert.Throws<NoisetteInputException>(() => Timesteps.Space(10, "ddimx"));
        Assert.Throws<NoisetteInputException>(() => new SamplerOptions { Timesteps = [5, 5] }.Path(10, 3));
        Assert.Throws<NoisetteInputException>(() => new SamplerOptions { Timesteps = [10] }.Path(10, 3));
        Assert.Equal([5, 1, -1], new SamplerOptions { Timesteps = [1, 5], Steps = 7 }.Path(10, 3));
        Assert.Throws<NoisetteInputException>(() => new SamplerOptions { Timesteps = [5, 1] }.Path(10, 3));
    }

    // ------------------------------------------------------------------ the command line

    private static (int Code, string Error) RunImport(params string[] args) => RunCli(["import", "guided-diffusion", .. args]);

    private static (int Code, string Error) RunCli(params string[] args)
    {
        var root = new RootCommand { ImportCommand.Create(), SampleCommand.Create(), EditCommand.Create(), InpaintCommand.Create() };
        var (code, _, error) = CliCapture.Run(root, args);
        return (code, error);
    }

    [Fact]
    public void TheCommandsImportAndSampleTheFixture()
    {
        var run = _temp["run"];
        var (code, error) = RunImport(Fixture("adm_tiny.pt"), "--out", run, "--flags", File.ReadAllText(Fixture("adm_tiny.flags.json")));
        Assert.True(code == 0, error);
        // A second import into the same folder needs --force.
        (code, error) = RunImport(Fixture("adm_tiny.pt"), "--out", run, "--flags", Fixture("adm_tiny.flags.json"));
        Assert.Equal(2, code);
        Assert.Contains("--force", error);

        string[] Sample(string dir) => RunCli("sample", run, "--n", "1", "--steps", "3", "--seed", "9", "--out", dir).Code == 0
            ? Directory.GetFiles(dir) : throw new InvalidOperationException("sample failed");
        var a = Sample(_temp["a"]);
        var b = Sample(_temp["b"]);
        Assert.Single(a);
        Assert.Equal(File.ReadAllBytes(a[0]), File.ReadAllBytes(b[0]));
    }

    /// <summary>
    /// A class-conditional import has no class names and no null class: --class takes a class index, a class is
    /// required, and guidance other than 1 is refused — by sample, edit and inpaint alike.
    /// </summary>
    [Fact]
    public void AClassConditionalImportSamplesAClassByIndex()
    {
        var run = _temp["cond"];
        var (code, error) = RunImport(Fixture("adm_tiny_cond.pt"), "--out", run, "--flags", Fixture("adm_tiny_cond.flags.json"));
        Assert.True(code == 0, error);

        (int Code, string Error, string[] Files) Sample(string dir, params string[] extra)
        {
            var (c, e) = RunCli(["sample", run, "--n", "1", "--steps", "3", "--seed", "9", "--sampler", "ddim", "--out", _temp[dir], .. extra]);
            return (c, e, Directory.Exists(_temp[dir]) ? Directory.GetFiles(_temp[dir]) : []);
        }
        var a = Sample("a", "--class", "3");
        Assert.True(a.Code == 0, a.Error);
        var b = Sample("b", "--class", "3");
        var other = Sample("c", "--class", "999");
        Assert.True(other.Code == 0, other.Error);
        var png = Assert.Single(a.Files);
        Assert.Contains("class-3", Path.GetFileName(png));
        Assert.Equal(File.ReadAllBytes(png), File.ReadAllBytes(Assert.Single(b.Files)));
        Assert.NotEqual(File.ReadAllBytes(png), File.ReadAllBytes(Assert.Single(other.Files)));
        var text = Noisette.Data.PngText.Read(png).ToDictionary(kv => kv.Key, kv => kv.Value);
        Assert.Equal("3", text["noisette:class"]);
        Assert.Equal(1.0, double.Parse(text["noisette:guidance"], System.Globalization.CultureInfo.InvariantCulture));
        // The PNG regenerates itself, class and guidance included.
        var again = RunCli("sample", "--from-png", png, "--out", _temp["again"]);
        Assert.True(again.Code == 0, again.Error);
        Assert.Equal(File.ReadAllBytes(png), File.ReadAllBytes(Assert.Single(Directory.GetFiles(_temp["again"]))));

        // Indices outside 0..999, names, no class at all, and classifier-free guidance: exit 2 with the reason.
        foreach (var bad in new[] { "1000", "cat", "all" })
        {
            var r = Sample("bad-" + bad, "--class", bad);
            Assert.Equal(2, r.Code);
            Assert.Contains("0 to 999", r.Error);
        }
        var none = Sample("none");
        Assert.Equal(2, none.Code);
        Assert.Contains("no null class", none.Error);
        Assert.Contains("choose a class by its index", none.Error);
        var guided = Sample("guided", "--class", "3", "--guidance", "2");
        Assert.Equal(2, guided.Code);
        Assert.Contains("a guidance of 2", guided.Error);
        Assert.Contains("a guidance of 1", guided.Error);
        foreach (var refused in new[] { "bad-1000", "none", "guided" })
            Assert.False(Directory.Exists(_temp[refused]) && Directory.GetFiles(_temp[refused]).Length > 0, $"{refused} wrote images");

        // Edit and inpaint take the index too, and refuse the same way.
        var image = _temp["input.png"];
        File.Copy(a.Files[0], image);
        var mask = _temp["mask.png"];
        Noisette.Data.PngWriter.Write(mask, new Noisette.Data.PlanarImage(1, 32, 32, Enumerable.Range(0, 32 * 32).Select(i => (byte)(i % 32 < 16 ? 255 : 0)).ToArray()));
        string[] editArgs = ["edit", run, "--image", image, "--strength", "0.3", "--steps", "4", "--sampler", "ddim"];
        string[] inpaintArgs = ["inpaint", run, "--image", image, "--mask", mask, "--steps", "3", "--jumps", "1"];
        var edited = RunCli([.. editArgs, "--class", "3", "--out", _temp["edit"]]);
        Assert.True(edited.Code == 0, edited.Error);
        Assert.Single(Directory.GetFiles(_temp["edit"]));
        var inpainted = RunCli([.. inpaintArgs, "--class", "3", "--out", _temp["inpaint"]]);
        Assert.True(inpainted.Code == 0, inpainted.Error);
        Assert.Single(Directory.GetFiles(_temp["inpaint"]));
        foreach (var args in new[] { editArgs, inpaintArgs })
        {
            var r = RunCli([.. args, "--out", _temp["refused"]]);
            Assert.Equal(2, r.Code);
            Assert.Contains("no null class", r.Error);
            r = RunCli([.. args, "--class", "1000", "--out", _temp["refused"]]);
            Assert.Equal(2, r.Code);
            Assert.Contains("0 to 999", r.Error);
            r = RunCli([.. args, "--class", "3", "--guidance", "0", "--out", _temp["refused"]]);
            Assert.Equal(2, r.Code);
            Assert.Contains("a guidance of 1", r.Error);
        }
    }

    [Fact]
    public void TheMaliciousFixtureIsRefusedWithExit2NamingTheGlobal()
    {
        var (code, error) = RunImport(Fixture("malicious.pt"), "--out", _temp["run"]);
        Assert.Equal(2, code);
        Assert.Contains("posix.system", error);
        Assert.False(File.Exists(Path.Combine(_temp["run"], "config.json")));
    }

    [Fact]
    public void AForbiddenCallNeverRunsThroughTheCommand()
    {
        var sentinel = _temp["pwned"];
        var p = new PickleBuilder()
            .EmptyDict().Mark()
            .Str("input_blocks.0.0.weight").Tensor("FloatStorage", "0", 1, 0, [1], [1])
            .Str("payload").Global("posix", "system").Str($"touch {sentinel}").Op(0x85).Reduce()
            .SetItems().Stop();
        var path = _temp["evil.pt"];
        PickleBuilder.WriteCheckpoint(path, p.ToArray(), new Dictionary<string, byte[]> { ["0"] = new byte[4] });
        var (code, error) = RunImport(path, "--out", _temp["run"]);
        Assert.Equal(2, code);
        Assert.Contains("forbidden global posix.system", error);
        Assert.False(File.Exists(sentinel));
    }

    [Fact]
    public void DamagedForeignAndInconsistentInputExitsWith2()
    {
        var good = File.ReadAllBytes(Fixture("adm_tiny.pt"));
        var cut = _temp["cut.pt"];
        File.WriteAllBytes(cut, good[..(good.Length / 2)]);
        var (code, error) = RunImport(cut, "--out", _temp["r1"]);
        Assert.Equal(2, code);
        Assert.Contains("truncated", error);

        var text = _temp["notes.pt"];
        File.WriteAllText(text, "not a checkpoint at all");
        (code, error) = RunImport(text, "--out", _temp["r2"]);
        Assert.Equal(2, code);
        Assert.Contains("not a PyTorch checkpoint", error);

        // Another architecture: a state dict with other names.
        var other = new PickleBuilder().BeginStateDict()
            .Str("conv_in.weight").Tensor("FloatStorage", "0", 1, 0, [1, 1, 1, 1], [1, 1, 1, 1])
            .EndStateDict();
        var otherPath = _temp["other.pt"];
        PickleBuilder.WriteCheckpoint(otherPath, other.ToArray(), new Dictionary<string, byte[]> { ["0"] = new byte[4] });
        (code, error) = RunImport(otherPath, "--out", _temp["r3"]);
        Assert.Equal(2, code);
        Assert.Contains("tensor time_embed.0.weight is missing", error);

        // Heads that do not divide the channels, and flags that contradict the tensors.
        (code, error) = RunImport(Fixture("adm_tiny.pt"), "--out", _temp["r4"], "--flags", "--image_size 32 --channel_mult 1,2,2 --num_head_channels 24");
        Assert.Equal(2, code);
        Assert.Contains("--num_head_channels", error);
        (code, error) = RunImport(Fixture("adm_tiny.pt"), "--out", _temp["r5"], "--flags", "--image_size 32 --channel_mult 1,2,2 --num_channels 64");
        Assert.Equal(2, code);
        Assert.Contains("--num_channels 64 contradicts tensor time_embed.0.weight", error);
        Assert.False(Directory.Exists(_temp["r5"]));
    }
}
