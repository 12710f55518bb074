/// `portcullis close`: the facts about a port's holders, and the plan to
/// shut it. Both are plain values: the Linux layer gathers the facts and
/// acts on the plan; the planner in between is pure, so every rule (the
/// socket unit that outlives its service, the restart policy that brings a
/// process back, the SSH session that must not be cut) is tested without a
/// kernel.

/// How a port is closed, least invasive first.
public enum CloseMethod: String, Sendable, Hashable, CaseIterable {
    /// `systemctl stop` the service unit and the `.socket` units that start it.
    case unit
    /// Stop the container (its restart policy set to `no` first).
    case container
    /// SIGTERM to the group leader through a pidfd; SIGKILL after the grace.
    case process
    /// A drop rule in portcullis's own nftables table, before DNAT.
    case firewall
    /// SOCK_DESTROY of the port's established TCP connections; the listener stays.
    case destroy
}

/// One socket of the closing namespace whose local port is the port.
public struct CloseSocket: Sendable, Hashable {
    /// The socket as sock_diag reported it.
    public var record: SocketRecord
    /// Pids holding it.
    public var holders: [Int32]

    /// A socket and the pids holding it.
    public init(record: SocketRecord, holders: [Int32]) {
        self.record = record
        self.holders = holders
    }

    /// `tcp 0.0.0.0:8080 listen`, `tcp 10.0.0.1:22 → 10.0.0.9:50122 established`.
    public var summary: String {
        let r = record
        let local = "\(r.localAddress.endpointText(port: r.localPort))"
        if r.isListening { return "\(r.proto.rawValue) \(local) \(r.stateName)" }
        // Bound with no peer: a UDP socket, or a TCP listener `ss -K` destroyed (it keeps its port).
        if r.remotePort == 0 { return "\(r.proto.rawValue) \(local) \(r.proto == .tcp ? "bound, not listening" : r.stateName)" }
        return "\(r.proto.rawValue) \(local) → \(r.remoteAddress.endpointText(port: r.remotePort)) \(r.stateName)"
    }
}

extension IPAddress {
    /// `1.2.3.4:80`, `[::1]:80`.
    public func endpointText(port: UInt16) -> String { kind == .v6 ? "[\(self)]:\(port)" : "\(self):\(port)" }
}

/// A process that holds the port, or the parent of one.
public struct CloseProcess: Sendable, Hashable {
    /// Its pid.
    public var pid: Int32
    /// Its parent's pid.
    public var ppid: Int32
    /// `comm`.
    public var name: String
    /// The command line, escaped for display.
    public var cmdline: String
    /// The effective user's name, or nil.
    public var user: String?
    /// Field 22 of /proc/PID/stat (clock ticks after boot): with the pid, the
    /// process's identity. Re-checked before any signal, so a pid the kernel
    /// gave to another process meanwhile is never signalled.
    public var startTicks: UInt64
    /// Its systemd unit (service or socket), from its cgroup.
    public var unit: String?
    /// Its container id, from its cgroup.
    public var container: String?
    /// The port's socket inodes it holds (empty for a parent that holds none).
    public var inodes: [UInt64]

    /// A process as read from /proc.
    public init(
        pid: Int32, ppid: Int32, name: String, cmdline: String = "", user: String? = nil, startTicks: UInt64,
        unit: String? = nil, container: String? = nil, inodes: [UInt64] = []
    ) {
        self.pid = pid
        self.ppid = ppid
        self.name = name
        self.cmdline = cmdline
        self.user = user
        self.startTicks = startTicks
        self.unit = unit
        self.container = container
        self.inodes = inodes
    }

    /// `nginx (pid 812)`.
    public var label: String { "\(name.isEmpty ? "?" : name) (pid \(pid))" }
}

/// What `systemctl show` says about a unit.
public struct UnitState: Sendable, Hashable {
    /// The unit's name: `nginx.service`, `cups.socket`.
    public var name: String
    /// `LoadState`: loaded, not-found, masked.
    public var loadState: String
    /// `ActiveState`: active, inactive, failed, activating…
    public var activeState: String
    /// `UnitFileState`: enabled, disabled, static, masked, indirect… (empty when none).
    public var unitFileState: String
    /// `Restart=` of a service: no, always, on-failure, on-abnormal, on-abort, on-watchdog, on-success.
    public var restart: String
    /// `TriggeredBy`: the `.socket` (and other) units that start this one.
    public var triggeredBy: [String]

    /// A unit's state as systemctl reported it.
    public init(
        name: String, loadState: String = "loaded", activeState: String = "active", unitFileState: String = "",
        restart: String = "no", triggeredBy: [String] = []
    ) {
        self.name = name
        self.loadState = loadState
        self.activeState = activeState
        self.unitFileState = unitFileState
        self.restart = restart
        self.triggeredBy = triggeredBy
    }

    /// Enabled at boot (so `--disable` has something to undo).
    public var isEnabled: Bool { unitFileState.hasPrefix("enabled") }
    /// Running, or on its way.
    public var isActive: Bool { activeState == "active" || activeState == "activating" || activeState == "reloading" }
    /// systemd starts it again after SIGKILL (an unclean death): every
    /// Restart= but `no` and `on-success`.
    public var restartsAfterKill: Bool { !["no", "on-success", ""].contains(restart) }
    /// systemd starts it again after SIGTERM (a clean exit): only `always` and `on-success`.
    public var restartsAfterTerm: Bool { restart == "always" || restart == "on-success" }
}

/// A `.socket` unit and the addresses it listens on (`systemctl list-sockets`).
public struct SocketUnit: Sendable, Hashable {
    /// `cups.socket`.
    public var name: String
    /// What it listens on, as systemctl prints it: `[::]:631`, `0.0.0.0:22`, `/run/cups/cups.sock`.
    public var listen: String
    /// The units it activates.
    public var activates: [String]

    /// A socket unit's listing.
    public init(name: String, listen: String, activates: [String]) {
        self.name = name
        self.listen = listen
        self.activates = activates
    }

    /// The port of `listen`, for an inet socket.
    public var port: UInt16? {
        guard let colon = listen.lastIndex(of: ":"), !listen.hasPrefix("/"), !listen.hasPrefix("@") else {
            return UInt16(listen)
        }
        return UInt16(listen[listen.index(after: colon)...])
    }
}

/// A container holding the port.
public struct CloseContainer: Sendable, Hashable {
    /// Its id (64 hex digits) or name.
    public var id: String
    /// Its name, when the runtime's state says.
    public var name: String?
    /// `docker` or `podman`.
    public var runtime: String
    /// Its restart policy (`no`, `always`, `unless-stopped`, `on-failure`), when known.
    public var restartPolicy: String?

    /// A container as its cgroup and the runtime's state name it.
    public init(id: String, name: String? = nil, runtime: String, restartPolicy: String? = nil) {
        self.id = id
        self.name = name
        self.runtime = runtime
        self.restartPolicy = restartPolicy
    }

    /// The name, else the first 12 digits of the id (as `docker ps` shows it).
    public var label: String { name ?? String(id.prefix(12)) }
    /// A policy that restarts it after its process dies.
    public var restartsByItself: Bool { restartPolicy.map { $0 != "no" && !$0.isEmpty } ?? false }
}

/// Everything the planner needs, gathered from one namespace of the live
/// host (or written by a test).
public struct CloseFacts: Sendable {
    /// The port.
    public var port: UInt16
    /// The protocol asked for; nil means both.
    public var proto: TransportProtocol?
    /// The namespace acted in, as shown (`host`, an `ip netns` name, `netns:[INODE]`).
    public var namespace: String
    /// The sockets there whose local port is the port.
    public var sockets: [CloseSocket] = []
    /// Every process holding one of them.
    public var holders: [CloseProcess] = []
    /// The holders' ancestors that hold none of them, by pid (for the common parent).
    public var parents: [Int32: CloseProcess] = [:]
    /// `systemctl show` of the holders' units and the socket units that trigger them.
    public var units: [String: UnitState] = [:]
    /// `.socket` units listening on the port.
    public var socketUnits: [SocketUnit] = []
    /// Containers holding it.
    public var containers: [CloseContainer] = []
    /// DNAT rules of this namespace's firewall that publish the port.
    public var publications: [PortPublication] = []
    /// Local ports this session reaches the host through (SSH_CONNECTION's
    /// server port; the local ports of established sockets held by this
    /// process's ancestors).
    public var sessionPorts: Set<UInt16> = []
    /// Why the session's ports came to be known: `SSH_CONNECTION`, `sshd (pid 700)`.
    public var sessionEvidence: [String] = []
    /// Methods that cannot run here, and why (no systemd, no docker CLI, no nft).
    public var unavailable: [CloseMethod: String] = [:]

    /// Facts about `port` in `namespace`, with nothing found yet.
    public init(port: UInt16, proto: TransportProtocol?, namespace: String) {
        self.port = port
        self.proto = proto
        self.namespace = namespace
    }

    /// `8080/tcp`, or `8080` for both protocols.
    public var target: String { proto.map { "\(port)/\($0.rawValue)" } ?? "\(port)" }
}

/// What the user asked `close` to do.
public struct CloseRequest: Sendable, Hashable {
    /// `--method`; nil chooses.
    public var method: CloseMethod?
    /// `--grace` in milliseconds: how long after SIGTERM before SIGKILL.
    public var graceMilliseconds: Int
    /// `--disable`: also `systemctl disable` the units.
    public var disable: Bool
    /// `--mask`: also `systemctl mask` the units.
    public var mask: Bool
    /// `--force`: act despite the safety refusals.
    public var force: Bool

    /// The default grace: 5 s, systemd's stop timeout for many daemons is longer,
    /// but a port closing tool should not hang on a stuck process.
    public static let defaultGraceMilliseconds = 5000

    /// A request; the defaults choose the method, wait 5 s, and neither disable, mask nor force.
    public init(
        method: CloseMethod? = nil, graceMilliseconds: Int = defaultGraceMilliseconds, disable: Bool = false, mask: Bool = false,
        force: Bool = false
    ) {
        self.method = method
        self.graceMilliseconds = graceMilliseconds
        self.disable = disable
        self.mask = mask
        self.force = force
    }
}

/// One thing the plan does, in order.
public enum CloseStep: Sendable, Hashable {
    /// `systemctl stop` these units (socket units first, so nothing re-activates the service).
    case stopUnits([String])
    /// `systemctl disable` them.
    case disableUnits([String])
    /// `systemctl mask` them.
    case maskUnits([String])
    /// `RUNTIME update --restart=no` so stopping sticks.
    case disableContainerRestart(CloseContainer)
    /// `RUNTIME stop`.
    case stopContainer(CloseContainer)
    /// SIGTERM to `leaders` through pidfds, then SIGKILL to every holder left after `graceMilliseconds`.
    case signal(leaders: [CloseProcess], holders: [CloseProcess], graceMilliseconds: Int)
    /// A drop rule for the port in table `inet portcullis` (prerouting and output, priority -150).
    case firewallDrop(proto: [TransportProtocol], port: UInt16)
    /// SOCK_DESTROY of these established sockets.
    case destroySockets([CloseSocket])

    /// The step's kind, as JSON spells it.
    public var kind: String {
        switch self {
        case .stopUnits: return "stop_units"
        case .disableUnits: return "disable_units"
        case .maskUnits: return "mask_units"
        case .disableContainerRestart: return "disable_container_restart"
        case .stopContainer: return "stop_container"
        case .signal: return "signal"
        case .firewallDrop: return "firewall_drop"
        case .destroySockets: return "destroy_sockets"
        }
    }

    /// The step in words, as the plan prints it.
    public var summary: String {
        switch self {
        case .stopUnits(let units): return "systemctl stop \(units.joined(separator: " "))"
        case .disableUnits(let units): return "systemctl disable \(units.joined(separator: " "))"
        case .maskUnits(let units): return "systemctl mask \(units.joined(separator: " "))"
        case .disableContainerRestart(let c): return "\(c.runtime) update --restart=no \(c.label)"
        case .stopContainer(let c): return "\(c.runtime) stop \(c.label)"
        case .signal(let leaders, let holders, let grace):
            let rest = holders.filter { h in !leaders.contains { $0.pid == h.pid } }
            var text = "SIGTERM to \(leaders.map(\.label).joined(separator: ", ")) through a pidfd"
            text += "; after \(CloseRequest.formatMilliseconds(grace)), SIGKILL to any of "
            text += (leaders + rest).map { "pid \($0.pid)" }.joined(separator: ", ") + " still holding the port"
            return text
        case .firewallDrop(let protos, let port):
            return "nftables: drop \(protos.map(\.rawValue).joined(separator: "+")) to local port \(port) "
                + "(table inet portcullis, prerouting and output, priority -150: before DNAT)"
        case .destroySockets(let sockets):
            return "SOCK_DESTROY \(sockets.count) established connection\(sockets.count == 1 ? "" : "s")"
        }
    }
}

extension CloseRequest {
    /// `5 s`, `300 ms`, `1.5 s`.
    public static func formatMilliseconds(_ ms: Int) -> String {
        if ms % 1000 == 0 { return "\(ms / 1000) s" }
        if ms < 1000 { return "\(ms) ms" }
        return "\(ms / 1000).\(String(ms % 1000 + 1000).dropFirst().replacing(/0+$/, with: "")) s"
    }
}

/// Why the plan will not be carried out without `--force` (or at all).
public struct CloseRefusal: Sendable, Hashable {
    /// What kind of refusal.
    public enum Kind: String, Sendable, Hashable {
        /// The port carries the session that runs this command (SSH).
        case sessionPort = "session_port"
        /// A holder is pid 1, whose death panics the kernel or the container.
        case pidOne = "pid_one"
        /// The method asked for, or every method, cannot run here.
        case methodUnavailable = "method_unavailable"
        /// The method asked for does not apply to what holds the port.
        case methodNotApplicable = "method_not_applicable"
    }
    /// What kind.
    public var kind: Kind
    /// The reason, in words.
    public var reason: String
    /// `--force` overrides it (a method that cannot run is not overridden).
    public var overridable: Bool

    /// A refusal.
    public init(kind: Kind, reason: String, overridable: Bool) {
        self.kind = kind
        self.reason = reason
        self.overridable = overridable
    }
}

/// The plan: what holds the port, how it will be closed and why, the steps,
/// and what will come back by itself.
public struct ClosePlan: Sendable {
    /// The facts it was made from.
    public var facts: CloseFacts
    /// The request.
    public var request: CloseRequest
    /// The method chosen (nil when nothing holds the port, or no method fits).
    public var method: CloseMethod?
    /// Why that method.
    public var reason: String
    /// The holders that receive SIGTERM: holders whose parent holds none of the sockets.
    public var leaders: [CloseProcess]
    /// The nearest process every holder descends from (the pre-forking
    /// server's master), when one does and it is not pid 1.
    public var commonParent: CloseProcess?
    /// The units involved: the holders' services, and the socket units that start them.
    public var units: [String]
    /// The steps, in order.
    public var steps: [CloseStep]
    /// What will bring the port back by itself, and what holds it afterwards.
    public var comesBack: [String]
    /// Other notes for the reader (the listener that `destroy` leaves, a published port).
    public var notes: [String]
    /// Why it will not act, if it will not.
    public var refusals: [CloseRefusal]

    /// A plan from its parts (the planner makes them).
    public init(
        facts: CloseFacts, request: CloseRequest, method: CloseMethod?, reason: String, leaders: [CloseProcess] = [],
        commonParent: CloseProcess? = nil, units: [String] = [], steps: [CloseStep] = [], comesBack: [String] = [],
        notes: [String] = [], refusals: [CloseRefusal] = []
    ) {
        self.facts = facts
        self.request = request
        self.method = method
        self.reason = reason
        self.leaders = leaders
        self.commonParent = commonParent
        self.units = units
        self.steps = steps
        self.comesBack = comesBack
        self.notes = notes
        self.refusals = refusals
    }

    /// Nothing holds or publishes the port: there is nothing to do.
    public var nothingToClose: Bool { facts.sockets.isEmpty && facts.publications.isEmpty }
    /// The refusals that stop it: every one without `--force`, else those `--force` cannot override.
    public var blockingRefusals: [CloseRefusal] { refusals.filter { !request.force || !$0.overridable } }
    /// The protocols to act on: the one asked for, else those the sockets and publications use.
    public var protocols: [TransportProtocol] {
        if let proto = facts.proto { return [proto] }
        let used = Set(facts.sockets.map(\.record.proto)).union(facts.publications.map(\.proto))
        return TransportProtocol.allCases.filter { used.isEmpty ? $0 != .raw : used.contains($0) }
    }
}
