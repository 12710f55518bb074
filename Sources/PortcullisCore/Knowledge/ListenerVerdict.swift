/// A one-line verdict per listening socket for the overview: is it
/// reachable, and does what listens there call for a closer look?
///
/// This is the first-glance answer from the socket alone (address, port,
/// owner, knowledge table); the audit adds policy and firewall state.
public struct ListenerVerdict: Sendable, Equatable {
    public enum Level: String, Sendable, Comparable {
        /// Nothing to do: loopback only, or an expected exposed service.
        case ok
        /// Reachable from the network; fine if intended.
        case open
        /// Worth a look: a risky service exposed, an odd owner.
        case review
        /// Looks wrong: deleted executable, backdoor-associated port.
        case alert

        var rank: Int {
            switch self {
            case .ok: return 0
            case .open: return 1
            case .review: return 2
            case .alert: return 3
            }
        }
        public static func < (a: Level, b: Level) -> Bool { a.rank < b.rank }

        /// SGR colour for a terminal.
        public var color: String? {
            switch self {
            case .ok: return "32"
            case .open: return nil
            case .review: return "33"
            case .alert: return "31"
            }
        }
    }

    public var level: Level
    public var reason: String

    public var text: String { "\(level.rawValue): \(reason)" }

    /// Risky categories are judged by what listens, not only the port: a
    /// Redis on port 7777 is still Redis.
    static let riskyCategories: [PortCategory] = [.datastore, .adminAPI, .cleartextRemoteAccess, .amplification, .fileSharing]

    public static func judge(_ entry: InventoryEntry) -> ListenerVerdict {
        let socket = entry.socket
        if let owner = entry.owners.first(where: { $0.exeDeleted || $0.exeReplaced }) {
            let what = owner.exeDeleted ? "deleted" : "replaced"
            return ListenerVerdict(level: .alert, reason: "\(owner.name)'s executable was \(what) on disk")
        }
        if socket.proto == .raw {
            return ListenerVerdict(level: .review, reason: "raw socket (protocol \(socket.rawProtocol ?? 0)): sees packets without a port")
        }
        let byPort = PortKnowledge.facts(port: socket.localPort, proto: socket.proto).filter { $0.confidence == .high }
        let byExecutable = entry.owners.flatMap { PortKnowledge.facts(executable: $0.name) }
        if entry.exposure.isLoopbackOnly {
            return ListenerVerdict(level: .ok, reason: "loopback only")
        }
        if let backdoor = byPort.first(where: { $0.isIn(.backdoor) }), byExecutable.isEmpty {
            return ListenerVerdict(level: .alert, reason: "port commonly abused by backdoors (\(backdoor.title))")
        }
        let facts = byExecutable + byPort
        if let risky = facts.first(where: { fact in
            // Reflection only matters over UDP: DNS over TCP is not an amplifier.
            riskyCategories.contains { fact.isIn($0) } && (fact.category != .amplification || socket.proto == .udp)
        }) {
            return ListenerVerdict(level: .review, reason: "\(risky.title) reachable beyond loopback")
        }
        if entry.owners.isEmpty, let reason = entry.unownedReason, reason != .noProcessState {
            return ListenerVerdict(level: .review, reason: "no owner found (\(reason.rawValue))")
        }
        if entry.inEphemeralRange && socket.proto == .tcp {
            return ListenerVerdict(level: .review, reason: "server listening inside the ephemeral port range")
        }
        let name = facts.first?.title ?? entry.service ?? "unknown service"
        return ListenerVerdict(level: .open, reason: "\(name) reachable from the network")
    }
}
