namespace Tessera.Cluster;
