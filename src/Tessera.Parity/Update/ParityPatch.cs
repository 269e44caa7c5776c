namespace Tessera.Parity;

/// <summary>
/// One parity change from a small write: XOR delta bytes [DeltaOffset, DeltaOffset + Length) into
/// parity column <see cref="Column"/> (k = row parity, k+1 = diagonal parity) at
/// <see cref="ParityOffset"/>. Patches are pure XORs, so patches of different writes commute.
/// </summary>
public readonly record struct ParityPatch(int Column, int ParityOffset, int DeltaOffset, int Length);
