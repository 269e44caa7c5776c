using System.Buffers;

namespace Tessera.Cluster.Transport.Client;

/// <summary>
/// Serialises a frame payload from <paramref name="state"/>. Pass a static lambda and the state
/// explicitly so a request allocates no closure.
/// </summary>
internal delegate void PayloadWriter<in TState>(IBufferWriter<byte> writer, TState state);
