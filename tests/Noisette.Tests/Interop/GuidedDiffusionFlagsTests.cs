using Noisette.Interop;

namespace Noisette.Tests.Interop;

public class GuidedDiffusionFlagsTests
{
    // Verbatim from guided-diffusion's README (and the fixtures' README for LSUN bedroom).
    private const string LsunBedroom = "--attention_resolutions 32,16,8 --class_cond False --diffusion_steps 1000 --dropout 0.1 --image_size 256 --learn_sigma True --noise_schedule linear --num_channels 256 --num_head_channels 64 --num_res_blocks 2 --resblock_updown True --use_fp16 True --use_scale_shift_norm True";
    private const string ImageNet64 = "--attention_resolutions 32,16,8 --class_cond True --diffusion_steps 1000 --dropout 0.1 --image_size 64 --learn_sigma True --noise_schedule cosine --num_channels 192 --num_head_channels 64 --num_res_blocks 3 --resblock_updown True --use_new_attention_order True --use_fp16 True --use_scale_shift_norm True";
    private const string ImageNet128 = "--attention_resolutions 32,16,8 --class_cond True --diffusion_steps 1000 --image_size 128 --learn_sigma True --noise_schedule linear --num_channels 256 --num_heads 4 --num_res_blocks 2 --resblock_updown True --use_fp16 True --use_scale_shift_norm True";
    private const string ImageNet512 = "--attention_resolutions 32,16,8 --class_cond True --diffusion_steps 1000 --image_size 512 --learn_sigma True --noise_schedule linear --num_channels 256 --num_head_channels 64 --num_res_blocks 2 --resblock_updown True --use_fp16 False --use_scale_shift_norm True";

    [Fact]
    public void DefaultsAreThoseOfModelAndDiffusionDefaults()
    {
        var d = GuidedDiffusionFlags.Parse("");
        Assert.Equal(64, d.ImageSize);
        Assert.Equal(128, d.NumChannels);
        Assert.Equal(2, d.NumResBlocks);
        Assert.Equal(4, d.NumHeads);
        Assert.Equal(-1, d.NumHeadsUpsample);
        Assert.Equal(-1, d.NumHeadChannels);
        Assert.Equal("16,8", d.AttentionResolutions);
        Assert.Equal("", d.ChannelMult);
        Assert.Equal([1.0, 2, 3, 4], d.ChannelMultipliers);
        Assert.Equal(0.0, d.Dropout);
        Assert.False(d.ClassCond);
        Assert.False(d.UseCheckpoint);
        Assert.True(d.UseScaleShiftNorm);
        Assert.False(d.ResblockUpdown);
        Assert.False(d.UseFp16);
        Assert.False(d.UseNewAttentionOrder);
        Assert.False(d.LearnSigma);
        Assert.Equal(1000, d.DiffusionSteps);
        Assert.Equal("linear", d.NoiseSchedule);
        Assert.Equal("", d.TimestepRespacing);
        Assert.False(d.UseKl);
        Assert.False(d.PredictXstart);
        Assert.False(d.RescaleTimesteps);
        Assert.False(d.RescaleLearnedSigmas);
        Assert.Empty(d.Given);
        Assert.Equal(3, d.OutChannels);
        Assert.Null(d.NumClasses);
        Assert.Equal(GuidedDiffusionFlags.Defaults.ToModelFlags(), d.ToModelFlags());
        // guided-diffusion floors image_size / resolution: 64 // 24 = 2, so 24 px puts attention at level 1.
        Assert.Equal([1], GuidedDiffusionFlags.Parse("--attention_resolutions 24").AttentionLevels);
    }

    [Fact]
    public void TheLsunBedroomFlagsParseVerbatim()
    {
        var f = GuidedDiffusionFlags.Parse(LsunBedroom);
        Assert.Equal(256, f.ImageSize);
        Assert.Equal(256, f.NumChannels);
        Assert.Equal(64, f.NumHeadChannels);
        Assert.Equal(2, f.NumResBlocks);
        Assert.Equal(0.1, f.Dropout);
        Assert.True(f.LearnSigma);
        Assert.True(f.ResblockUpdown);
        Assert.True(f.UseFp16);
        Assert.False(f.ClassCond);
        Assert.Equal([32, 16, 8], f.AttentionResolutionList);
        Assert.Equal([8, 16, 32], f.AttentionDownsampleRates);
        Assert.Equal([3, 4, 5], f.AttentionLevels);
        Assert.Equal([1.0, 1, 2, 2, 4, 4], f.ChannelMultipliers);
        Assert.Equal(6, f.OutChannels);
        Assert.Equal(4, f.NumHeads); // default, not given
        Assert.Contains("num_head_channels", f.Given);
        Assert.DoesNotContain("num_heads", f.Given);
        Assert.Equal(13, f.Given.Count);
    }

    [Fact]
    public void TheReadmesOtherModelFlagsParse()
    {
        var f64 = GuidedDiffusionFlags.Parse(ImageNet64);
        Assert.Equal("cosine", f64.NoiseSchedule);
        Assert.True(f64.UseNewAttentionOrder);
        Assert.Equal(3, f64.NumResBlocks);
        Assert.Equal(1000, f64.NumClasses);
        Assert.Equal([2, 4, 8], f64.AttentionDownsampleRates);

        var f128 = GuidedDiffusionFlags.Parse(ImageNet128);
        Assert.Equal([1.0, 1, 2, 3, 4], f128.ChannelMultipliers);
        Assert.Equal(4, f128.EffectiveNumHeadsUpsample);

        var f512 = GuidedDiffusionFlags.Parse(ImageNet512);
        Assert.Equal([0.5, 1, 1, 2, 2, 4, 4], f512.ChannelMultipliers);
        Assert.False(f512.UseFp16);

        // As pasted from the README's shell line, and with --flag=value and quotes.
        Assert.Equal(256, GuidedDiffusionFlags.Parse($"MODEL_FLAGS=\"{LsunBedroom}\"").ImageSize);
        var eq = GuidedDiffusionFlags.Parse("--image_size=128 --channel_mult '1,2,2,4' --timestep_respacing ddim25 --learn_sigma yes");
        Assert.Equal([1.0, 2, 2, 4], eq.ChannelMultipliers);
        // Default attention at 16 and 8 px: 128/16 = 8 = 2^3 is level 3; 128/8 = 16 is beyond the 4 levels, and
        // like guided-diffusion we leave it unused rather than refuse it.
        Assert.Equal([3], eq.AttentionLevels);
        Assert.Equal("ddim25", eq.TimestepRespacing);
        Assert.True(eq.LearnSigma);
    }

    [Theory]
    [InlineData("adm_tiny.flags.json", false)]
    [InlineData("adm_tiny_cond.flags.json", true)]
    public void TheFixturesFlagFilesParse(string file, bool classCond)
    {
        var f = GuidedDiffusionFlags.Load(Fixtures.Path("guided-diffusion", file));
        Assert.Equal(32, f.ImageSize);
        Assert.Equal(32, f.NumChannels);
        Assert.Equal(1, f.NumResBlocks);
        Assert.Equal(16, f.NumHeadChannels);
        Assert.Equal([1.0, 2, 2], f.ChannelMultipliers);
        Assert.Equal([16, 8], f.AttentionResolutionList);
        Assert.Equal([2, 4], f.AttentionDownsampleRates);
        Assert.Equal([1, 2], f.AttentionLevels);
        Assert.True(f.LearnSigma);
        Assert.True(f.UseScaleShiftNorm);
        Assert.True(f.ResblockUpdown);
        Assert.Equal(classCond, f.ClassCond);
        Assert.Equal(0.0, f.Dropout);
        Assert.Equal(23, f.Given.Count);
    }

    [Fact]
    public void ModelFlagsRoundTrip()
    {
        foreach (var s in new[] { LsunBedroom, ImageNet64, ImageNet128, ImageNet512, "" })
        {
            var f = GuidedDiffusionFlags.Parse(s);
            Assert.Equal(f.ToModelFlags(), GuidedDiffusionFlags.Parse(f.ToModelFlags()).ToModelFlags());
        }
    }

    [Theory]
    [InlineData("--batch_size 4", "--batch_size")]
    [InlineData("--large_size 256", "--large_size")]
    [InlineData("--image_size=64 --bogus=1", "--bogus")]
    [InlineData("--image_size abc", "--image_size")]
    [InlineData("--image_size 0", "--image_size")]
    [InlineData("--learn_sigma maybe", "--learn_sigma")]
    [InlineData("--dropout x", "--dropout")]
    [InlineData("--dropout 1.5", "--dropout")]
    [InlineData("--num_channels", "--num_channels")]
    [InlineData("--num_channels --image_size 64", "--num_channels")]
    [InlineData("--noise_schedule quadratic", "--noise_schedule")]
    [InlineData("--image_size 100", "--image_size")]
    [InlineData("--image_size 32", "--image_size")]
    [InlineData("--channel_mult 1,x", "--channel_mult")]
    [InlineData("--channel_mult 0.5,1", "--channel_mult")]
    [InlineData("--attention_resolutions 16,0", "--attention_resolutions")]
    [InlineData("--attention_resolutions -8", "--attention_resolutions")]
    [InlineData("--num_heads 5", "--num_heads")]
    [InlineData("--num_heads_upsample 7", "--num_heads_upsample")]
    [InlineData("--num_head_channels 48", "--num_head_channels")]
    [InlineData("--num_head_channels 0", "--num_head_channels")]
    [InlineData("--num_channels 100", "--num_channels")]
    [InlineData("--attention_resolutions 64 --num_channels 64 --channel_mult 2,3 --num_head_channels 128", "middle block")]
    [InlineData("--image_size 80 --channel_mult 1,2,2,4,4,4", "--image_size")]
    [InlineData("--timestep_respacing ddimx", "--timestep_respacing")]
    [InlineData("--timestep_respacing 2000", "--timestep_respacing")]
    [InlineData("image_size 64", "image_size")]
    public void BadFlagsAreRefusedByName(string flags, string named)
    {
        var e = Assert.Throws<NoisetteInputException>(() => GuidedDiffusionFlags.Parse(flags));
        Assert.Contains(named, e.Message);
    }

    [Fact]
    public void BadJsonIsRefusedByName()
    {
        Assert.Contains("--bogus", Assert.Throws<NoisetteInputException>(() => GuidedDiffusionFlags.ParseJson("{\"bogus\": 1}")).Message);
        Assert.Contains("--image_size", Assert.Throws<NoisetteInputException>(() => GuidedDiffusionFlags.ParseJson("{\"image_size\": 3.5}")).Message);
        Assert.Contains("class_cond", Assert.Throws<NoisetteInputException>(() => GuidedDiffusionFlags.ParseJson("{\"class_cond\": null}")).Message);
        Assert.Contains("malformed", Assert.Throws<NoisetteInputException>(() => GuidedDiffusionFlags.ParseJson("{")).Message);
    }
}
