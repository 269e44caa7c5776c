namespace Tessera.Cluster.Volume;

/// <summary>One chunk: codec column <see cref="Column"/> of stripe <see cref="Stripe"/> of a volume.</summary>
internal readonly record struct ChunkAddress(Guid Volume, long Stripe, int Column)
{
    public override string ToString() => $"{Volume:N}/s{Stripe}/c{Column}";
}
