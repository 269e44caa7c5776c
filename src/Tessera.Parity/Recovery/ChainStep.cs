namespace Tessera.Parity.Recovery;

/// <summary>
/// One step of the RDP recovery chain: rebuild block (Column, Row) from diagonal
/// <see cref="Diagonal"/>, or from its row when <see cref="Diagonal"/> is −1.
/// </summary>
internal readonly record struct ChainStep(int Diagonal, int Row, int Column)
{
    public bool UsesRow => Diagonal < 0;
}
