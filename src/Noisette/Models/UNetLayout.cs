namespace Noisette.Models;

/// <summary>
/// The parameters a <see cref="UNetConfig"/> builds — names (guided-diffusion's) and shapes, in the order the
/// <see cref="UNet"/> registers them — worked out from the config alone, without allocating a model. Used to
/// check a foreign state dict against an architecture and to count the parameters of models too large to build
/// casually (the 256 px ADM holds 2.2 GB of float32). Tests keep it identical to the real construction.
/// </summary>
public static class UNetLayout
{
    public static IReadOnlyList<(string Name, long[] Shape)> Parameters(UNetConfig config)
    {
        config.Validate();
        var list = new List<(string, long[])>();
        int mc = config.BaseChannels, ted = mc * 4;
        var attnLevels = config.AttentionLevels();

        void Pair(string p, long[] weight, long bias) { list.Add((p + ".weight", weight)); list.Add((p + ".bias", [bias])); }
        void Linear(string p, int cin, int cout) => Pair(p, [cout, cin], cout);
        void Conv(string p, int cin, int cout, int k) => Pair(p, [cout, cin, k, k], cout);
        void Norm(string p, int ch) => Pair(p, [ch], ch);
        void Res(string p, int cin, int cout)
        {
            Norm(p + ".in_layers.0", cin);
            Conv(p + ".in_layers.2", cin, cout, 3);
            Linear(p + ".emb_layers.1", ted, config.UseScaleShiftNorm ? 2 * cout : cout);
            Norm(p + ".out_layers.0", cout);
            Conv(p + ".out_layers.3", cout, cout, 3);
            if (cin != cout) Conv(p + ".skip_connection", cin, cout, 1);
        }
        void Attn(string p, int ch, int heads)
        {
            int h = config.HeadChannels > 0 ? ch / config.HeadChannels : heads;
            if (h < 1 || ch % h != 0)
                throw new NoisetteInputException($"model config: {h} attention heads do not divide {ch} channels");
            Norm(p + ".norm", ch);
            Pair(p + ".qkv", [3 * ch, ch, 1], 3 * ch);
            Pair(p + ".proj_out", [ch, ch, 1], ch);
        }

        Linear("time_embed.0", mc, ted);
        Linear("time_embed.2", ted, ted);
        if (config.NumClasses > 0) list.Add(("label_emb.weight", [config.NumClasses + (config.NullClass ? 1 : 0), ted]));

        int ch = (int)(config.ChannelMultipliers[0] * mc), inputCh = ch, block = 0;
        Conv($"input_blocks.{block++}.0", config.InChannels, ch, 3);
        var skips = new Stack<int>();
        skips.Push(ch);
        int levels = config.ChannelMultipliers.Length;
        for (int level = 0; level < levels; level++)
        {
            int outCh = (int)(config.ChannelMultipliers[level] * mc);
            for (int i = 0; i < config.ResBlocksPerLevel; i++)
            {
                Res($"input_blocks.{block}.0", ch, outCh);
                ch = outCh;
                if (attnLevels.Contains(level)) Attn($"input_blocks.{block}.1", ch, config.NumHeads);
                block++;
                skips.Push(ch);
            }
            if (level != levels - 1)
            {
                if (config.ResBlockUpDown) Res($"input_blocks.{block}.0", ch, ch);
                else Conv($"input_blocks.{block}.0.op", ch, ch, 3);
                block++;
                skips.Push(ch);
            }
        }

        Res("middle_block.0", ch, ch);
        Attn("middle_block.1", ch, config.NumHeads);
        Res("middle_block.2", ch, ch);

        int upHeads = config.NumHeadsUpsample > 0 ? config.NumHeadsUpsample : config.NumHeads;
        block = 0;
        for (int level = levels - 1; level >= 0; level--)
        {
            int outCh = (int)(config.ChannelMultipliers[level] * mc);
            for (int i = 0; i <= config.ResBlocksPerLevel; i++)
            {
                int layer = 0;
                Res($"output_blocks.{block}.{layer++}", ch + skips.Pop(), outCh);
                ch = outCh;
                if (attnLevels.Contains(level)) Attn($"output_blocks.{block}.{layer++}", ch, upHeads);
                if (level > 0 && i == config.ResBlocksPerLevel)
                {
                    if (config.ResBlockUpDown) Res($"output_blocks.{block}.{layer}", ch, ch);
                    else Conv($"output_blocks.{block}.{layer}.conv", ch, ch, 3);
                }
                block++;
            }
        }

        Norm("out.0", ch);
        Conv("out.2", inputCh, config.ResolvedOutChannels, 3);
        return list;
    }

    /// <summary>The number of parameters the config builds, without building it.</summary>
    public static long ParameterCount(UNetConfig config) =>
        Parameters(config).Sum(p => p.Shape.Aggregate(1L, (a, b) => a * b));
}
