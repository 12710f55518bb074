/// IANA port classes (RFC 6335 section 6).
public enum PortClass: String, Sendable, Hashable, CaseIterable, Codable {
    /// 0-1023, 1024-49151 and 49152-65535; the raw values are the spelling of output and `--class`.
    case system, registered, dynamic

    /// The class `port` falls in.
    public init(port: UInt16) {
        switch port {
        case 0...1023: self = .system
        case 1024...49151: self = .registered
        default: self = .dynamic
        }
    }

    /// The ports of the class, inclusive.
    public var range: ClosedRange<UInt16> {
        switch self {
        case .system: return 0...1023
        case .registered: return 1024...49151
        case .dynamic: return 49152...65535
        }
    }
}

/// Who can reach a socket, judged from its local address alone (firewall
/// rules are a separate question).
public enum Exposure: String, Sendable, Hashable, CaseIterable, Codable {
    /// 127.0.0.0/8, ::1, or their IPv4-mapped forms.
    case loopback
    /// 0.0.0.0: every IPv4 address of the host.
    case allInterfacesIPv4 = "all_interfaces_ipv4"
    /// `::` with IPV6_V6ONLY set: every IPv6 address, no IPv4.
    case allInterfacesIPv6 = "all_interfaces_ipv6"
    /// `::` without IPV6_V6ONLY (or unknown, which is judged the wider way):
    /// every IPv4 and IPv6 address.
    case allInterfacesDualStack = "all_interfaces_dual_stack"
    /// fe80::/10 or 169.254/16: reachable from the local link only.
    case linkLocal = "link_local"
    /// One specific non-loopback address.
    case specificAddress = "specific_address"

    /// - Parameter interfaceIndex: SO_BINDTODEVICE's interface, 0 when
    ///   unbound. Index 1 is always the loopback device (LOOPBACK_IFINDEX),
    ///   so a wildcard socket bound to it is loopback only.
    public init(localAddress: IPAddress, v6only: Bool?, interfaceIndex: UInt32 = 0) {
        let address = localAddress.normalized
        if address.isLoopback || interfaceIndex == 1 {
            self = .loopback
        } else if address.isUnspecified {
            switch address.kind {
            case .v4: self = .allInterfacesIPv4
            // Unknown v6only is treated as dual-stack: never claim less exposure than real.
            case .v6: self = v6only == true ? .allInterfacesIPv6 : .allInterfacesDualStack
            }
        } else if address.isLinkLocal {
            self = .linkLocal
        } else {
            self = .specificAddress
        }
    }

    /// Only loopback can reach it.
    public var isLoopbackOnly: Bool { self == .loopback }

    /// Bound to the wildcard address (`0.0.0.0`, `::`): every address of its namespace.
    public var isWildcard: Bool { self == .allInterfacesIPv4 || self == .allInterfacesIPv6 || self == .allInterfacesDualStack }

    /// Short words for the table view.
    public var shortLabel: String {
        switch self {
        case .loopback: return "loopback"
        case .allInterfacesIPv4: return "all-v4"
        case .allInterfacesIPv6: return "all-v6"
        case .allInterfacesDualStack: return "all-v4+v6"
        case .linkLocal: return "link-local"
        case .specificAddress: return "address"
        }
    }
}

/// A process that holds a socket open.
public struct SocketOwner: Hashable, Sendable {
    /// Process id, in the PID namespace portcullis runs in.
    public var pid: Int32
    /// Parent process id, from /proc/PID/stat; 0 when unknown.
    public var ppid: Int32
    /// `comm`, escaped for display (untrusted).
    public var name: String
    /// Full command line, arguments joined by spaces, escaped (untrusted).
    public var cmdline: String
    /// Path of the executable (escaped), nil when it could not be read.
    public var exe: String?
    /// The executable was deleted from disk after the process started.
    public var exeDeleted: Bool
    /// The path now names a different file than the one running.
    public var exeReplaced: Bool
    /// The executable's directory is writable by every user (e.g. /tmp).
    public var exeDirectoryWorldWritable: Bool = false
    /// Effective uid, from /proc/PID/status; nil when it could not be read.
    public var uid: UInt32?
    /// The effective uid's user name; nil when the uid is unknown or has no name.
    public var user: String?
    /// Seconds since the Unix epoch.
    public var startTime: Int64?
    /// The systemd unit from /proc/PID/cgroup: the innermost service or socket unit, else scope (escaped); nil outside systemd.
    public var unit: String?
    /// The container id (64 hex digits) from a Docker, containerd, CRI-O or Podman cgroup path; nil when not in a container
    /// (and for LXC and nspawn containers, which have names only: see `containerReference`).
    public var container: String?
    /// The container the process runs in: runtime, id or name from the cgroup path, and the name, image, Kubernetes pod
    /// and published ports the runtime's state on disk adds; nil when not in a container. Its `id` is `container`.
    public var containerReference: ContainerReference?
    /// Inode of the process's network namespace (/proc/PID/ns/net); nil when it could not be read.
    public var netnsInode: UInt64?
    /// File descriptor numbers of this socket in the process.
    public var fds: [Int32]

    /// Builds an owner; the defaults are what could not be read (empty name and command line, no exe, uid, unit or namespace).
    public init(
        pid: Int32, ppid: Int32 = 0, name: String = "", cmdline: String = "", exe: String? = nil,
        exeDeleted: Bool = false, exeReplaced: Bool = false, uid: UInt32? = nil, user: String? = nil,
        startTime: Int64? = nil, unit: String? = nil, container: String? = nil, containerReference: ContainerReference? = nil,
        netnsInode: UInt64? = nil, fds: [Int32] = []
    ) {
        self.pid = pid
        self.ppid = ppid
        self.name = name
        self.cmdline = cmdline
        self.exe = exe
        self.exeDeleted = exeDeleted
        self.exeReplaced = exeReplaced
        self.uid = uid
        self.user = user
        self.startTime = startTime
        self.unit = unit
        self.container = container
        self.containerReference = containerReference
        self.netnsInode = netnsInode
        self.fds = fds
    }
}

/// Why no owner is shown for a socket. Never left blank: an auditor must be
/// told what could not be attributed, and why.
public enum UnownedReason: String, Sendable, Hashable, CaseIterable, Codable {
    /// Some processes' fd tables could not be read without privileges.
    case notPermitted = "not_permitted"
    /// A full walk as root found no holder: a socket the kernel itself opened
    /// (WireGuard, NFS, ...).
    case kernelSocket = "kernel_socket"
    /// We run in a child PID namespace: the holder may be outside it.
    case otherPIDNamespace = "other_pid_namespace"
    /// The socket closed between the table dump and the process walk.
    case gone
    /// TIME_WAIT, SYN_RECV and orphaned sockets have no file and so no process.
    case noProcessState = "no_process_state"
    /// Owners were not looked for, or the /proc tree (a copy) has no
    /// process directories to look in.
    case notCollected = "not_collected"

    /// One line for reports: what the reason means and, where there is one, what to do about it.
    public var explanation: String {
        switch self {
        case .notPermitted:
            return "not permitted: run as root, or grant CAP_SYS_PTRACE + CAP_DAC_READ_SEARCH"
        case .kernelSocket:
            return "kernel socket: no process holds it (e.g. WireGuard, NFS, or an in-kernel server)"
        case .otherPIDNamespace:
            return "held from another PID namespace, outside this one's view"
        case .gone:
            return "gone: closed while the process table was read"
        case .noProcessState:
            return "no process: TIME_WAIT, SYN_RECV and orphaned sockets are held by the kernel alone"
        case .notCollected:
            return "owners not collected: the /proc tree holds no process directories"
        }
    }
}

/// One socket with everything portcullis knows about it.
public struct InventoryEntry: Hashable, Sendable {
    /// The socket as the kernel reported it.
    public var socket: SocketRecord
    /// The user name of the socket's uid; nil when the uid has no name on this host.
    public var user: String?
    /// The IANA class of the local port (meaningless for a RAW socket, whose port is an IP protocol number).
    public var portClass: PortClass
    /// The local port lies inside net.ipv4.ip_local_port_range.
    public var inEphemeralRange: Bool
    /// The port's conventional name (/etc/services, else nmap-services); nil for none and for every RAW socket.
    public var service: String?
    /// Who can reach the socket, judged from its local address, V6ONLY and bound device (not the firewall).
    public var exposure: Exposure
    /// Processes holding the socket open; empty when none was found (`unownedReason` says why).
    public var owners: [SocketOwner]
    /// Set when `owners` is empty.
    public var unownedReason: UnownedReason?
    /// The network namespace the socket lives in; nil when not known (a copied /proc).
    public var namespace: NetworkNamespace?

    /// The socket lives in a network namespace other than the one portcullis
    /// ran in (a container's): that namespace's firewall was not read, and
    /// the network reaches it only through what is published into it.
    public var isInOtherNamespace: Bool { namespace.map { !$0.isOwn } ?? false }

    /// Builds an entry from its parts; `InventoryBuilder` derives them from a socket record and an owner walk.
    public init(
        socket: SocketRecord, user: String?, portClass: PortClass, inEphemeralRange: Bool,
        service: String?, exposure: Exposure, owners: [SocketOwner], unownedReason: UnownedReason?
    ) {
        self.socket = socket
        self.user = user
        self.portClass = portClass
        self.inEphemeralRange = inEphemeralRange
        self.service = service
        self.exposure = exposure
        self.owners = owners
        self.unownedReason = unownedReason
    }
}

/// Something that could not be read or was odd, reported beside results.
public struct Diagnostic: Hashable, Sendable, CustomStringConvertible {
    /// How much a diagnostic matters: `notice` for a limit or a fallback the user should know of, `warning` for what failed or was skipped.
    public enum Severity: String, Sendable { case notice, warning }
    /// How much it matters; printed before the message.
    public var severity: Severity
    /// What happened, in one line (without the severity, which `description` adds).
    public var message: String

    /// Builds a diagnostic.
    public init(_ severity: Severity, _ message: String) {
        self.severity = severity
        self.message = message
    }

    /// `notice: MESSAGE` or `warning: MESSAGE`.
    public var description: String { "\(severity.rawValue): \(message)" }
}

/// The result of collecting the socket inventory.
public struct Inventory: Sendable {
    /// Every socket the query asked for, with its owners and what the host says of it, in `InventoryBuilder.sort(_:)` order.
    public var entries: [InventoryEntry]
    /// What could not be read or attributed, in the order it was noticed.
    public var diagnostics: [Diagnostic]
    /// Where the socket table came from ("netlink" or "procfs").
    public var source: String
    /// AF_PACKET sockets, when asked for (the audit does).
    public var packetSockets: [PacketSocketEntry]
    /// The network namespaces whose tables were read (empty for a copied /proc).
    public var namespacesRead: [NetworkNamespace] = []

    /// Builds an inventory; `packetSockets` stays empty unless asked for.
    public init(entries: [InventoryEntry], diagnostics: [Diagnostic], source: String, packetSockets: [PacketSocketEntry] = []) {
        self.entries = entries
        self.diagnostics = diagnostics
        self.source = source
        self.packetSockets = packetSockets
    }
}
