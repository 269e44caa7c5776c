namespace Tessera.Parity;

/// <summary>Health of a stripe and the columns found bad (−1 when none); <see cref="BadColumnCount"/> may exceed two.</summary>
public readonly record struct StripeRepairResult(StripeHealth Health, int BadColumnCount, int FirstBadColumn, int SecondBadColumn);
