namespace Tessera.Parity;
