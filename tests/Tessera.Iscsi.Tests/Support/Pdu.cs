using System.Buffers.Binary;
using Tessera.Iscsi.Protocol;

namespace Tessera.Iscsi.Tests.Support;

/// <summary>A PDU as the test initiator received it.</summary>
internal sealed record Pdu(byte[] Header, byte[] Data)
{
    public Opcode Opcode => (Opcode)(Header[0] & 0x3f);
    public byte Flags => Header[1];
    public byte Byte2 => Header[2];
    public byte Byte3 => Header[3];
    public uint Itt => BinaryPrimitives.ReadUInt32BigEndian(Header.AsSpan(16));
    public uint Ttt => BinaryPrimitives.ReadUInt32BigEndian(Header.AsSpan(20));
    public uint StatSN => BinaryPrimitives.ReadUInt32BigEndian(Header.AsSpan(24));
    public uint ExpCmdSN => BinaryPrimitives.ReadUInt32BigEndian(Header.AsSpan(28));
    public uint MaxCmdSN => BinaryPrimitives.ReadUInt32BigEndian(Header.AsSpan(32));
    public uint Word36 => BinaryPrimitives.ReadUInt32BigEndian(Header.AsSpan(36));
    public uint Word40 => BinaryPrimitives.ReadUInt32BigEndian(Header.AsSpan(40));
    public uint Word44 => BinaryPrimitives.ReadUInt32BigEndian(Header.AsSpan(44));
    public ushort LoginStatus => BinaryPrimitives.ReadUInt16BigEndian(Header.AsSpan(36));
    public ushort Tsih => BinaryPrimitives.ReadUInt16BigEndian(Header.AsSpan(14));

    /// <summary>Text keys of a Login/Text response.</summary>
    public Dictionary<string, string> Keys()
    {
        var result = new Dictionary<string, string>();
        foreach (var pair in System.Text.Encoding.UTF8.GetString(Data).Split('\0', StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = pair.IndexOf('=');
            result[pair[..eq]] = pair[(eq + 1)..];
        }
        return result;
    }

    public List<KeyValuePair<string, string>> KeyList()
    {
        var result = new List<KeyValuePair<string, string>>();
        foreach (var pair in System.Text.Encoding.UTF8.GetString(Data).Split('\0', StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = pair.IndexOf('=');
            result.Add(new(pair[..eq], pair[(eq + 1)..]));
        }
        return result;
    }
}

/// <summary>Outcome of one SCSI command through the test initiator.</summary>
internal sealed record ScsiResult(byte Status, byte[] Sense, byte[] DataIn, byte ResidualFlags, uint Residual)
{
    public byte SenseKey => Sense.Length == 0 ? (byte)0 : Sense[0] >= 0x72 ? (byte)(Sense[1] & 0xf) : (byte)(Sense[2] & 0xf);
    public byte Asc => Sense.Length == 0 ? (byte)0 : Sense[0] >= 0x72 ? Sense[2] : Sense[12];
    public byte Ascq => Sense.Length == 0 ? (byte)0 : Sense[0] >= 0x72 ? Sense[3] : Sense[13];
}
