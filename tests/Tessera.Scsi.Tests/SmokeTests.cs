namespace Tessera.Scsi.Tests;

public class SmokeTests
{
    [Fact]
    public void WriteThenReadReturnsTheData()
    {
        var h = new Harness();
        var data = new byte[1024];
        Random.Shared.NextBytes(data);
        var w = h.Run(Cdb.Block(0x2A, 10, 2), dataOut: data);
        Assert.Equal(ScsiStatus.Good, w.Status);
        var r = h.Run(Cdb.Block(0x28, 10, 2), dataIn: 1024);
        Assert.Equal(ScsiStatus.Good, r.Status);
        Assert.Equal(data, Harness.DataIn(r));
    }
}
