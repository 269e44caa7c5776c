namespace Tessera.Iscsi.Session;

/// <summary>
/// The node's live sessions, keyed as RFC 7143 4.4.3 identifies them: (InitiatorName, ISID) for
/// reinstatement, TSIH for adding connections.
/// </summary>
internal sealed class SessionTable
{
    private readonly object _lock = new();
    private readonly Dictionary<(string, ulong), IscsiSession> _byInitiator = new();
    private readonly Dictionary<ushort, IscsiSession> _byTsih = new();
    private ushort _nextTsih = 1;

    public IscsiSession? Find(ushort tsih)
    {
        lock (_lock) return _byTsih.GetValueOrDefault(tsih);
    }

    /// <summary>
    /// Registers a new session and returns the one it replaces (session reinstatement, RFC 7143
    /// 6.3.5), which the caller must close before the new one becomes usable.
    /// </summary>
    public IscsiSession? Add(IscsiSession session)
    {
        lock (_lock)
        {
            while (_nextTsih == 0 || _byTsih.ContainsKey(_nextTsih)) _nextTsih++;
            session.Tsih = _nextTsih++;
            IscsiSession? old = null;
            if (!session.IsDiscovery && _byInitiator.Remove((session.InitiatorName, session.Isid), out old))
                _byTsih.Remove(old.Tsih);
            if (!session.IsDiscovery) _byInitiator[(session.InitiatorName, session.Isid)] = session;
            _byTsih[session.Tsih] = session;
            return old;
        }
    }

    public void Remove(IscsiSession session)
    {
        lock (_lock)
        {
            if (_byTsih.TryGetValue(session.Tsih, out var s) && ReferenceEquals(s, session)) _byTsih.Remove(session.Tsih);
            if (_byInitiator.TryGetValue((session.InitiatorName, session.Isid), out s) && ReferenceEquals(s, session))
                _byInitiator.Remove((session.InitiatorName, session.Isid));
        }
    }

    public IscsiSession[] Snapshot()
    {
        lock (_lock) return [.. _byTsih.Values];
    }

    public int Count
    {
        get { lock (_lock) return _byTsih.Count; }
    }
}
