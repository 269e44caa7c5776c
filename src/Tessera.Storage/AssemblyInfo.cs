namespace Tessera.Storage;
