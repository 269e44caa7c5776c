namespace Tessera.Parity.Layout;

/// <summary>One block of a stripe: column in codec numbering (k = row parity, k+1 = diagonal parity) and row.</summary>
internal readonly record struct BlockAddress(int Column, int Row);
