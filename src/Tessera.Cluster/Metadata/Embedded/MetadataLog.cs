using System.Buffers.Binary;
using System.Text;
using Tessera.Hashing;

namespace Tessera.Cluster.Metadata.Embedded;

/// <summary>
/// Durability for <see cref="EmbeddedMetadataStore"/>: a snapshot file plus an append-only log.
/// Each log record is [u32 length][u32 CRC-32C][payload] and is fsynced before the commit is
/// visible. Recovery loads the snapshot and replays records with a sequence above it, stopping
/// at the first torn, garbage or out-of-sequence record (and cutting the file there): a record
/// counts only if it was completely written, which is the commit point.
/// The snapshot is rewritten atomically (temp file, fsync, rename, directory fsync) and only
/// then the log is emptied, so a crash in between leaves records the snapshot already covers
/// — they are skipped by sequence.
/// </summary>
internal sealed class MetadataLog : IDisposable
{
    public const string SnapshotFileName = "metadata.snap";
    public const string LogFileName = "metadata.log";
    private const uint SnapshotMagic = 0x54534D31; // "TSM1"
    private const int HeaderSize = 8;
    private const int MaxRecordSize = 256 << 20;

    private readonly string _directory;
    private readonly FileStream _log;
    private long _sequence;

    private MetadataLog(string directory, FileStream log, long sequence)
    {
        _directory = directory;
        _log = log;
        _sequence = sequence;
    }

    /// <summary>Bytes in the log since the last snapshot.</summary>
    public long Length => _log.Length;

    /// <summary>Sequence number of the last durable record.</summary>
    public long Sequence => _sequence;

    public static MetadataLog Open(string directory, out SnapshotState? snapshot, out List<LogRecord> tail)
    {
        Directory.CreateDirectory(directory);
        snapshot = ReadSnapshot(Path.Combine(directory, SnapshotFileName));
        // FileShare.None takes an exclusive advisory lock: a second process cannot open the same store.
        var log = new FileStream(Path.Combine(directory, LogFileName), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.None);
        try
        {
            long sequence = snapshot?.Sequence ?? 0;
            tail = ReadTail(log, ref sequence, out long validLength);
            if (validLength != log.Length)
            {
                // Torn or garbage tail: never committed (its fsync did not return), so drop it.
                log.SetLength(validLength);
                log.Flush(flushToDisk: true);
            }

            log.Seek(0, SeekOrigin.End);
            DirectorySync.Fsync(directory);
            return new MetadataLog(directory, log, sequence);
        }
        catch
        {
            log.Dispose();
            throw;
        }
    }

    /// <summary>Appends and fsyncs one record; when this returns the commit is durable.</summary>
    public void Append(LogRecord record)
    {
        long sequence = _sequence + 1;
        byte[] payload = EncodeRecord(sequence, record);
        var frame = new byte[HeaderSize + payload.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(frame, (uint)payload.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(frame.AsSpan(4), Crc32C.Compute(payload));
        payload.CopyTo(frame, HeaderSize);
        _log.Write(frame);
        _log.Flush(flushToDisk: true);
        _sequence = sequence;
    }

    /// <summary>Atomically replaces the snapshot with <paramref name="state"/> (taken at <see cref="Sequence"/>) and empties the log.</summary>
    public void WriteSnapshot(SnapshotState state)
    {
        byte[] payload = EncodeSnapshot(state);
        string path = Path.Combine(_directory, SnapshotFileName);
        string temp = path + ".tmp";
        using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.None))
        {
            Span<byte> header = stackalloc byte[12];
            BinaryPrimitives.WriteUInt32LittleEndian(header, SnapshotMagic);
            BinaryPrimitives.WriteUInt32LittleEndian(header[4..], (uint)payload.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(header[8..], Crc32C.Compute(payload));
            file.Write(header);
            file.Write(payload);
            file.Flush(flushToDisk: true);
        }

        File.Move(temp, path, overwrite: true);
        DirectorySync.Fsync(_directory);
        _log.SetLength(0);
        _log.Flush(flushToDisk: true);
        _log.Seek(0, SeekOrigin.Begin);
    }

    public void Dispose() => _log.Dispose();

    /// <summary>
    /// The durable state of the store under <paramref name="directory"/> as a reader sees it while
    /// a writer may hold it: no lock is taken and nothing is written (<see cref="UnlockedFile"/>).
    /// The log is read up to its first torn or unfinished record (a record being appended reads as
    /// torn), so the result is a prefix of the commits. A snapshot rewritten between reading the
    /// snapshot and the log would pair an old snapshot with a log of later records (they would not
    /// follow in sequence, and a truncation could cut the read short), so the snapshot's sequence is
    /// read again afterwards and the whole read retried when it moved.
    /// </summary>
    public static (SnapshotState? Snapshot, List<LogRecord> Tail) ReadUnlocked(string directory)
    {
        string snapshotPath = Path.Combine(directory, SnapshotFileName);
        string logPath = Path.Combine(directory, LogFileName);
        for (int attempt = 1; ; attempt++)
        {
            byte[]? snapshotBytes = UnlockedFile.ReadAll(snapshotPath);
            var snapshot = snapshotBytes is null ? null : ParseSnapshot(snapshotBytes, snapshotPath);
            byte[] logBytes = UnlockedFile.ReadAll(logPath) ?? [];
            byte[]? again = UnlockedFile.ReadAll(snapshotPath);
            long? sequenceAfter = again is null ? null : ParseSnapshot(again, snapshotPath).Sequence;
            if (sequenceAfter == snapshot?.Sequence)
            {
                long sequence = snapshot?.Sequence ?? 0;
                return (snapshot, ParseTail(logBytes, ref sequence, out _));
            }

            if (attempt == 10)
            {
                throw new MetadataStoreException($"metadata store {directory} kept taking snapshots while being read ({attempt} attempts)");
            }
        }
    }

    private static SnapshotState? ReadSnapshot(string path)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        return ParseSnapshot(File.ReadAllBytes(path), path);
    }

    private static SnapshotState ParseSnapshot(byte[] bytes, string path)
    {
        // The snapshot is only ever replaced by rename, so a bad one is real corruption, not a torn write.
        if (bytes.Length < 12 || BinaryPrimitives.ReadUInt32LittleEndian(bytes) != SnapshotMagic)
        {
            throw new MetadataStoreException($"metadata snapshot {path} is not a Tessera snapshot");
        }

        int length = (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(4));
        if (length != bytes.Length - 12 || Crc32C.Compute(bytes.AsSpan(12)) != BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8)))
        {
            throw new MetadataStoreException($"metadata snapshot {path} is corrupt (length or CRC mismatch)");
        }

        using var reader = new BinaryReader(new MemoryStream(bytes, 12, length), Encoding.UTF8);
        long sequence = reader.ReadInt64();
        long revision = reader.ReadInt64();
        long nextLease = reader.ReadInt64();
        int leaseCount = reader.ReadInt32();
        var leases = new List<(long, long)>(leaseCount);
        for (int i = 0; i < leaseCount; i++)
        {
            leases.Add((reader.ReadInt64(), reader.ReadInt64()));
        }

        int count = reader.ReadInt32();
        var entries = new List<KeyValueEntry>(count);
        for (int i = 0; i < count; i++)
        {
            string key = reader.ReadString();
            byte[] value = reader.ReadBytes(reader.ReadInt32());
            entries.Add(new KeyValueEntry(key, value, reader.ReadInt64(), reader.ReadInt64(), reader.ReadInt64(), reader.ReadInt64()));
        }

        return new SnapshotState(sequence, revision, nextLease, leases, entries);
    }

    private static List<LogRecord> ReadTail(FileStream log, ref long sequence, out long validLength)
    {
        log.Seek(0, SeekOrigin.Begin);
        byte[] bytes = new byte[log.Length];
        log.ReadExactly(bytes);
        return ParseTail(bytes, ref sequence, out validLength);
    }

    private static List<LogRecord> ParseTail(byte[] bytes, ref long sequence, out long validLength)
    {
        var records = new List<LogRecord>();
        int offset = 0;
        validLength = 0;
        while (bytes.Length - offset >= HeaderSize)
        {
            int length = (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(offset));
            uint crc = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(offset + 4));
            if (length <= 0 || length > MaxRecordSize || length > bytes.Length - offset - HeaderSize)
            {
                break;
            }

            var payload = bytes.AsSpan(offset + HeaderSize, length);
            if (Crc32C.Compute(payload) != crc)
            {
                break;
            }

            long recordSequence;
            LogRecord record;
            try
            {
                (recordSequence, record) = DecodeRecord(bytes, offset + HeaderSize, length);
            }
            catch (Exception e) when (e is EndOfStreamException or IOException or ArgumentException or InvalidDataException)
            {
                break;
            }

            offset += HeaderSize + length;
            if (recordSequence <= sequence)
            {
                // Already in the snapshot (crash between snapshot rename and log truncation).
                validLength = offset;
                continue;
            }

            if (recordSequence != sequence + 1)
            {
                break;
            }

            sequence = recordSequence;
            records.Add(record);
            validLength = offset;
        }

        return records;
    }

    private static byte[] EncodeRecord(long sequence, LogRecord record)
    {
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(sequence);
            writer.Write((byte)record.Kind);
            writer.Write(record.Revision);
            writer.Write(record.LeaseId);
            writer.Write(record.LeaseTtlTicks);
            writer.Write(record.Writes.Count);
            foreach (var w in record.Writes)
            {
                writer.Write(w.IsPut);
                writer.Write(w.Key);
                if (w.IsPut)
                {
                    writer.Write(w.Value.Length);
                    writer.Write(w.Value.Span);
                    writer.Write(w.Lease);
                }
            }
        }

        return stream.ToArray();
    }

    private static (long Sequence, LogRecord Record) DecodeRecord(byte[] buffer, int offset, int length)
    {
        using var reader = new BinaryReader(new MemoryStream(buffer, offset, length), Encoding.UTF8);
        long sequence = reader.ReadInt64();
        var kind = (LogRecordKind)reader.ReadByte();
        if (kind is not (LogRecordKind.Writes or LogRecordKind.LeaseGrant or LogRecordKind.LeaseRevoke))
        {
            throw new InvalidDataException($"unknown log record kind {kind}");
        }

        long revision = reader.ReadInt64();
        long leaseId = reader.ReadInt64();
        long ttl = reader.ReadInt64();
        int count = reader.ReadInt32();
        if (count < 0 || count > length)
        {
            throw new InvalidDataException("bad write count");
        }

        var writes = new List<LoggedWrite>(count);
        for (int i = 0; i < count; i++)
        {
            bool isPut = reader.ReadBoolean();
            string key = reader.ReadString();
            if (isPut)
            {
                int valueLength = reader.ReadInt32();
                if (valueLength < 0 || valueLength > length)
                {
                    throw new InvalidDataException("bad value length");
                }

                byte[] value = reader.ReadBytes(valueLength);
                writes.Add(new LoggedWrite(true, key, value, reader.ReadInt64()));
            }
            else
            {
                writes.Add(new LoggedWrite(false, key, default, 0));
            }
        }

        return (sequence, new LogRecord(kind, revision, writes, leaseId, ttl));
    }

    private static byte[] EncodeSnapshot(SnapshotState state)
    {
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(state.Sequence);
            writer.Write(state.Revision);
            writer.Write(state.NextLeaseId);
            writer.Write(state.Leases.Count);
            foreach (var (id, ttl) in state.Leases)
            {
                writer.Write(id);
                writer.Write(ttl);
            }

            writer.Write(state.Entries.Count);
            foreach (var e in state.Entries)
            {
                writer.Write(e.Key);
                writer.Write(e.Value.Length);
                writer.Write(e.Value.Span);
                writer.Write(e.CreateRevision);
                writer.Write(e.ModRevision);
                writer.Write(e.Version);
                writer.Write(e.Lease);
            }
        }

        return stream.ToArray();
    }
}
