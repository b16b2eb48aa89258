using Noisette.Data;

namespace Noisette.Tests.Data;

public class ImageGridTests
{
    [Fact]
    public void ComposesInRowsWithAGap()
    {
        var images = Enumerable.Range(0, 5).Select(i => new PlanarImage(1, 2, 2, Enumerable.Repeat((byte)(i * 10), 4).ToArray())).ToList();
        var grid = ImageGrid.Compose(images, gap: 1, background: "#FFFFFF");
        // ceil(sqrt(5)) = 3 columns, 2 rows: 3*2 + 4 = 10 wide, 2*2 + 3 = 7 high.
        Assert.Equal(10, grid.Width);
        Assert.Equal(7, grid.Height);
        Assert.Equal(255, grid[0, 0, 0]);
        Assert.Equal(0, grid[0, 1, 1]);
        Assert.Equal(10, grid[0, 1, 4]);
        Assert.Equal(30, grid[0, 4, 1]);
        Assert.Equal(255, grid[0, 4, 7]); // empty sixth cell
        var rgb = ImageGrid.Compose(new byte[2 * 3 * 4], 2, 3, 2, 2, columns: 1, gap: 0, background: "#FF0000");
        Assert.Equal(2, rgb.Width);
        Assert.Equal(4, rgb.Height);
        Assert.Equal(3, rgb.Channels);
    }
}
