using System.Buffers;
using Tessera.Scsi;

namespace Tessera.Iscsi.Connection;

/// <summary>
/// Transport state of one SCSI command on a connection (RFC 7143 3.2.4): its buffer, the
/// unsolicited data sequence, the outstanding R2Ts and the Data-Out accounting. Pooled per
/// connection so the I/O path allocates nothing.
/// </summary>
internal sealed class CommandState
{
    public readonly ScsiTask Task = new();
    public byte[]? Buffer;
    public int Length;
    public int Received;

    // Unsolicited Data-Out sequence (immediate data excluded), RFC 7143 3.2.4.2.
    public bool UnsolicitedOpen;
    public int UnsolicitedEnd;
    public int UnsolicitedNextOffset;
    public uint UnsolicitedNextDataSN;

    // Solicited data: R2Ts issued in offset order.
    public int NextR2TOffset;
    public uint NextR2TSN;
    public R2TEntry[] R2Ts = new R2TEntry[4];
    public int R2TCount;

    /// <summary>Handed to the SCSI target; from now on only its completion releases the state.</summary>
    public bool Executing;
    /// <summary>Returned to the pool (or dropped): a second release is ignored.</summary>
    public bool Released;

    public void Rent(int length)
    {
        Length = length;
        Buffer = length > 0 ? ArrayPool<byte>.Shared.Rent(length) : null;
    }

    public void Clear()
    {
        if (Buffer is not null) ArrayPool<byte>.Shared.Return(Buffer);
        Buffer = null;
        Length = Received = 0;
        UnsolicitedOpen = false;
        UnsolicitedEnd = UnsolicitedNextOffset = 0;
        UnsolicitedNextDataSN = 0;
        NextR2TOffset = 0;
        NextR2TSN = 0;
        R2TCount = 0;
        Executing = false;
        Task.Reset();
    }

    public void AddR2T(in R2TEntry entry)
    {
        if (R2TCount == R2Ts.Length) Array.Resize(ref R2Ts, R2Ts.Length * 2);
        R2Ts[R2TCount++] = entry;
    }

    public int FindR2T(uint ttt)
    {
        for (int i = 0; i < R2TCount; i++)
            if (R2Ts[i].TargetTransferTag == ttt) return i;
        return -1;
    }

    public void RemoveR2T(int index)
    {
        R2Ts[index] = R2Ts[--R2TCount];
    }
}

/// <summary>One outstanding R2T: the burst it asked for and how far Data-Out has filled it.</summary>
internal struct R2TEntry
{
    public uint TargetTransferTag;
    public int Offset;
    public int Length;
    public int NextOffset;
    public uint NextDataSN;
}
