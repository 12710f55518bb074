import PortcullisCore

extension InventoryCollector {
    /// Everything the audit judges, gathered in one pass: the listening
    /// sockets with owners, AF_PACKET sockets, tamper signs, kernel services,
    /// and the firewall's verdict for each listener reachable by address.
    public mutating func auditInput(
        firewall: ((InventoryEntry) -> FirewallVerdict)?, policy: (any AuditPolicy)?, now: Int64
    ) throws(CollectionError) -> (AuditInput, Inventory) {
        options.query.listeningOnly = true
        options.includePacketSockets = true
        let inventory = try collect()
        var verdicts: [UInt64: FirewallVerdict] = [:]
        if let firewall {
            verdicts.reserveCapacity(inventory.entries.count)
            // The firewall read is that of the namespace portcullis runs in; another
            // namespace has its own, and is reached through the host's forward path.
            for entry in inventory.entries
            where !entry.exposure.isLoopbackOnly && entry.socket.proto != .raw && !entry.isInOtherNamespace {
                verdicts[entry.socket.inode] = firewall(entry)
            }
        }
        // Each holder once (not an array per socket): a process can hold thousands.
        var holders = Set<Int32>()
        for entry in inventory.entries {
            for owner in entry.owners { holders.insert(owner.pid) }
        }
        let pids = Array(holders)
        let input = AuditInput(
            entries: inventory.entries,
            packetSockets: inventory.packetSockets,
            firewall: verdicts,
            tamper: HostEvidence.tamper(procRoot: options.procRoot, etcRoot: options.etcRoot, pids: isLive ? pids : []),
            kernelHints: isLive ? HostEvidence.kernelHints(procRoot: options.procRoot) : KernelSocketHints(),
            policy: policy,
            userHomes: HostEvidence.userHomes(etcRoot: options.etcRoot),
            ranAsRoot: Sys.userID() == 0,
            now: now)
        return (input, inventory)
    }
}

/// The clocks the CLI and the jobs read, as integers.
public enum Clock {
    /// Seconds since the epoch (CLOCK_REALTIME).
    public static func now() -> Int64 { Sys.realtimeSeconds() }
    /// Milliseconds of a clock that never jumps, for durations.
    public static func monotonicMilliseconds() -> Int64 { Sys.monotonicMilliseconds() }
}

extension Clock {
    /// Milliseconds since the epoch (CLOCK_REALTIME), for event times.
    public static func realtimeMilliseconds() -> Int64 { Sys.realtimeMilliseconds() }
}
