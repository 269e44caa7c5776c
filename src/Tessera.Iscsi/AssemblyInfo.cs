namespace Tessera.Iscsi;
