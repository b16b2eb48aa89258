using Noisette.Models;
using Noisette.Training;
using static TorchSharp.torch;

namespace Noisette.Tests.Training;

/// <summary>The weights' moving average and its decay warm-up, min(decay, (1+n)/(10+n)) after n updates.</summary>
public class EmaTests
{
    private static (UNet Live, FlatParameters Flat, Ema Ema) Make(double decay, bool warmup)
    {
        var config = ModelPresets.Get("tiny").Model;
        var live = new UNet(config);
        var flat = new FlatParameters(live, withGrad: false);
        return (live, flat, new Ema(flat, new UNet(config), decay, warmup));
    }

    [Theory]
    [InlineData(0, 0.1)]
    [InlineData(1, 2.0 / 11)]
    [InlineData(8, 0.5)]
    [InlineData(90, 0.91)]
    [InlineData(8000, 8001.0 / 8010)]
    [InlineData(8990, 0.999)]          // (1+n)/(10+n) reaches the decay here
    [InlineData(100000, 0.999)]
    public void DecayWarmsUp(long updates, double expected)
    {
        var (live, flat, ema) = Make(0.999, warmup: true);
        using (live) using (flat) using (ema)
        {
            ema.Updates = updates;
            Assert.Equal(expected, ema.CurrentDecay, 12);
        }
    }

    [Fact]
    public void WithoutWarmupTheDecayIsConstant()
    {
        var (live, flat, ema) = Make(0.995, warmup: false);
        using (live) using (flat) using (ema)
            foreach (var n in new long[] { 0, 1, 50, 100000 })
            {
                ema.Updates = n;
                Assert.Equal(0.995, ema.CurrentDecay);
            }
    }

    [Fact]
    public void UpdateAveragesWithTheDecayOfTheUpdateCount()
    {
        var (live, flat, ema) = Make(0.999, warmup: true);
        using (live) using (flat) using (ema)
        {
            using (no_grad())
            {
                flat.Data.fill_(1.0);
                foreach (var p in ema.Model.parameters()) p.zero_();   // views of the average's flat buffer
            }
            ema.Update();                                  // decay 0.1: 0.1·0 + 0.9·1
            ema.Update();                                  // decay 2/11: (2/11)·0.9 + (9/11)·1
            Assert.Equal(2, ema.Updates);
            double expected = 2.0 / 11 * 0.9 + 9.0 / 11;
            foreach (var p in ema.Model.parameters())
                Assert.All(p.data<float>().ToArray(), v => Assert.Equal(expected, v, 6));
        }
    }
}
