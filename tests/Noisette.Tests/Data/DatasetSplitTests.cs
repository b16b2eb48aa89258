using Noisette.Data;

namespace Noisette.Tests.Data;

public class DatasetSplitTests
{
    private static string[] Names(int n) => Enumerable.Range(0, n).Select(i => $"A/font{i:D4}.png").ToArray();

    [Fact]
    public void SplitIsDeterministicAndAboutTheFraction()
    {
        var names = Names(1000);
        var (train, val) = DatasetSplit.Assign(names, 0.05, 0);
        var (train2, val2) = DatasetSplit.Assign(names, 0.05, 0);
        Assert.Equal(train, train2);
        Assert.Equal(val, val2);
        Assert.Equal(1000, train.Length + val.Length);
        Assert.InRange(val.Length, 30, 70);
        Assert.Empty(train.Intersect(val));
        var (_, valOtherSeed) = DatasetSplit.Assign(names, 0.05, 1);
        Assert.NotEqual(val, valOtherSeed);
    }

    [Fact]
    public void TwentyImagesGetAtLeastOneValidationImage()
    {
        for (int seed = 0; seed < 30; seed++)
        {
            var (train, val) = DatasetSplit.Assign(Names(20), 0.05, seed);
            Assert.NotEmpty(val);
            Assert.Equal(20, train.Length + val.Length);
        }
        var (t, v) = DatasetSplit.Assign(Names(5), 0.0, 0);
        Assert.Empty(v);
        Assert.Equal(5, t.Length);
    }

    [Fact]
    public void AddingAFileKeepsEveryOtherFilesMembership()
    {
        var names = Names(300).ToList();
        var (_, val) = DatasetSplit.Assign(names, 0.1, 3);
        var before = val.Select(i => names[i]).ToHashSet();
        var more = names.Append("A/zzz-new.png").Prepend("A/000-new.png").ToList();
        var (_, val2) = DatasetSplit.Assign(more, 0.1, 3);
        var after = val2.Select(i => more[i]).Where(n => !n.Contains("-new")).ToHashSet();
        Assert.Equal(before, after);
    }
}
