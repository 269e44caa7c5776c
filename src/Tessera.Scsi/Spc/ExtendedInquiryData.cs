using System.Buffers.Binary;

namespace Tessera.Scsi;

/// <summary>
/// SPC-5 7.7.7 Extended INQUIRY Data VPD page (86h): what the device server supports beyond standard
/// INQUIRY data. Tessera has no protection information (SPT 000b, no GRD/APP/REF checks), executes
/// every task as SIMPLE (HEADSUP = ORDSUP = 0: ordering is the transport's CmdSN order), has a volatile
/// write cache controlled by the caching page (V_SUP = 1, SYNCHRONIZE CACHE / FUA flush it) and no
/// non-volatile cache, no microcode download, no self-test, no REQUEST SENSE in power conditions.
/// </summary>
internal static class ExtendedInquiryData
{
    public const byte PageCode = 0x86;

    /// <summary>MAXIMUM SUPPORTED SENSE DATA LENGTH: what <see cref="ScsiTask.SenseBuffer"/> holds.</summary>
    public const byte MaximumSenseDataLength = 252;

    public static byte[] Build(LogicalUnit lu, ItNexus nexus)
    {
        var d = new byte[4 + 0x3C];
        d[1] = PageCode;
        BinaryPrimitives.WriteUInt16BigEndian(d.AsSpan(2), 0x3C);
        d[4] = 0x00; // ACTIVATE MICROCODE 00b, SPT 000b, GRD_CHK = APP_CHK = REF_CHK = 0
        d[5] = 0x01; // SIMPSUP (UASK_SUP, GROUP_SUP, PRIOR_SUP, HEADSUP, ORDSUP = 0)
        d[6] = 0x01; // V_SUP (WU_SUP, CRD_SUP, NV_SUP = 0)
        d[7] = 0x00; // P_I_I_SUP = 0, LUICLR = 0: unit attentions are kept per I_T nexus
        d[13] = MaximumSenseDataLength;
        return d;
    }
}
