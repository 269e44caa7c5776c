namespace Tessera.Scsi.Tests;

public class LunAddressingTests
{
    [Theory]
    [InlineData(0, 0x0000_0000_0000_0000UL)]
    [InlineData(1, 0x0001_0000_0000_0000UL)]
    [InlineData(255, 0x00FF_0000_0000_0000UL)]
    [InlineData(256, 0x4100_0000_0000_0000UL)]   // flat space, SAM-5 4.7.7
    [InlineData(16383, 0x7FFF_0000_0000_0000UL)]
    public void EncodesPeripheralBelow256AndFlatAbove(int lun, ulong field)
    {
        Assert.Equal(field, LunAddressing.Encode(lun));
        Assert.True(LunAddressing.TryDecode(field, out int back));
        Assert.Equal(lun, back);
    }

    [Fact]
    public void FlatAddressingOfSmallLunsDecodesToo()
    {
        Assert.True(LunAddressing.TryDecode(0x4005_0000_0000_0000UL, out int lun));
        Assert.Equal(5, lun);
    }

    [Theory]
    [InlineData(0x0101_0000_0000_0000UL)] // peripheral with bus identifier 1
    [InlineData(0x8001_0000_0000_0000UL)] // logical unit addressing
    [InlineData(0xC001_0000_0000_0000UL)] // extended addressing
    [InlineData(0x0001_0001_0000_0000UL)] // second level
    public void RejectsOtherAddressingMethods(ulong field) => Assert.False(LunAddressing.TryDecode(field, out _));

    [Fact]
    public void EncodeRejectsLunsBeyondFlatSpace() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => LunAddressing.Encode(16384));
}
