import PortcullisCore
import PortcullisLinux

/// The default command: the listeners with a verdict each, then the
/// findings — the audit, narrowed to the sockets the caller asked about.
public enum OverviewJob {
    /// The audit's options and which listeners are shown.
    public struct Options: Sendable {
        /// How the whole host is audited before narrowing.
        public var audit: AuditJob.Options
        /// Protocols and families shown (listening sockets only).
        public var query: SocketQuery
        /// Which listeners are shown (port, pid, user, process, class, exposure).
        public var filter: SocketFilter

        /// Every listener, audited with the CLI's defaults.
        public init(audit: AuditJob.Options = AuditJob.Options(), query: SocketQuery = SocketQuery(), filter: SocketFilter = SocketFilter())
        {
            self.audit = audit
            self.query = query
            self.filter = filter
        }
    }

    /// The narrowed audit and everything collected.
    public struct Report: Sendable {
        /// The audit narrowed: `listeners` are the shown ones; `findings`
        /// those about a shown socket or an AF_PACKET socket, plus host-wide
        /// ones (no socket).
        public var audit: AuditReport
        /// Everything collected; its `diagnostics` are the report's.
        public var inventory: Inventory
        /// Collection, firewall and policy diagnostics, then the unattributed-socket notice over the shown listeners.
        public var diagnostics: [Diagnostic] { inventory.diagnostics }
        /// The shown listeners' entries, in inventory order.
        public var entries: [InventoryEntry] { audit.listeners.map(\.entry) }

        /// The verdict of a shown socket, by inode.
        public func listener(inode: UInt64) -> AuditedListener? { positions[inode].map { audit.listeners[$0] } }
        let positions: [UInt64: Int]
    }

    /// Audits the host, then keeps the listeners the query and filter select, and the findings about them.
    public static func run(_ options: Options) throws(JobError) -> Report {
        var judged = try AuditJob.judge(options.audit)
        let query = options.query
        let filter = options.filter
        // Nothing narrows the selection: every listener is shown, no filtered copy of them all.
        let everything = filter.isEmpty && query == SocketQuery()
        if !everything {
            judged.audit.listeners.removeAll {
                !(query.protocols.contains($0.entry.socket.proto) && query.families.contains($0.entry.socket.family)
                    && filter.matches($0.entry))
            }
            let kept = Set(judged.audit.listeners.map(\.entry.socket.inode)).union(judged.inventory.packetSockets.map(\.socket.inode))
            // The findings about the listeners shown, merged again from
            // their own (a finding may cover sockets that are not shown);
            // host-wide findings and those about shown packet sockets stay.
            let others = judged.audit.findings.filter { finding in
                finding.sockets.allSatisfy { $0.proto == .packet && kept.contains($0.inode) }
            }
            judged.audit.findings = Auditor.sortWorstFirst(
                FindingGroups.merge(judged.audit.listeners.flatMap(\.findings)) + others)
        }
        let shown = judged.audit.listeners
        judged.inventory.diagnostics = withUnattributedNotice(judged.diagnostics, shown: shown.map(\.entry))
        // Positions in the shown listeners by inode, rather than copies of every listener.
        let positions = Dictionary(shown.indices.map { (shown[$0].entry.socket.inode, $0) }, uniquingKeysWith: { first, _ in first })
        return Report(audit: judged.audit, inventory: judged.inventory, positions: positions)
    }
}
