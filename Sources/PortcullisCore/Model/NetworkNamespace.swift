/// A network namespace: its own interfaces, routes, firewall and socket
/// tables. Containers each have one; the host has the initial one.
public struct NetworkNamespace: Hashable, Sendable, Comparable {
    /// How the namespace was found, which also says what its name means.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// The host's: pid 1's namespace (or portcullis's own when pid 1's cannot be read). Named "host".
        case host
        /// Bind-mounted in /run/netns by `ip netns add`; named as `ip netns` lists it.
        case named
        /// Bind-mounted in /run/docker/netns by Docker; named by its sandbox key.
        case docker
        /// Held only by processes; nameless until a container owns it.
        case process
        /// An nsfs bind mount elsewhere (in /proc/self/mountinfo) with no process; named by its mount point.
        case mount
    }

    /// The nsfs inode: what `readlink /proc/PID/ns/net` shows as `net:[INODE]`, unique while it exists.
    public var inode: UInt64
    /// "host", the `ip netns` name, Docker's sandbox key, a mount point, or the container that owns it; nil when none is known.
    public var name: String?
    /// How it was found.
    public var kind: Kind
    /// portcullis ran in it: the firewall it read is this namespace's, so
    /// its sockets are judged against it. Usually the host's; under
    /// `ip netns exec NS`, NS.
    public var isOwn: Bool

    /// A namespace found as `kind`.
    public init(inode: UInt64, name: String?, kind: Kind, isOwn: Bool = false) {
        self.inode = inode
        self.name = name
        self.kind = kind
        self.isOwn = isOwn
    }

    /// Whether this is the host's namespace.
    public var isHost: Bool { kind == .host }

    /// The name, else `netns:[INODE]`: what the table shows.
    public var label: String { name ?? "netns:[\(inode)]" }

    /// The host first, then by name, then by inode.
    public static func < (a: NetworkNamespace, b: NetworkNamespace) -> Bool {
        if a.isHost != b.isHost { return a.isHost }
        if a.name != b.name { return (a.name ?? "\u{10FFFF}") < (b.name ?? "\u{10FFFF}") }
        return a.inode < b.inode
    }
}

/// Which network namespaces a command reads (`--netns`).
public enum NamespaceSelector: Hashable, Sendable, CustomStringConvertible {
    /// The host's namespace.
    case host
    /// A namespace by name: `ip netns` name, Docker sandbox key, or container name or id.
    case name(String)
    /// The namespace of a process.
    case pid(Int32)
    /// A namespace by its nsfs inode.
    case inode(UInt64)

    /// The largest pid Linux allows (PID_MAX_LIMIT, 2^22); nsfs inodes are far above it.
    static let pidLimit: UInt64 = 4_194_304

    /// Parses `host`, a pid (at most 4194304), an inode (a larger number, or
    /// `net:[INODE]` as readlink shows it), or a name.
    public init(parsing text: String) throws(FilterError) {
        var body = Substring(text)
        if body.hasPrefix("net:[") && body.hasSuffix("]") { body = body.dropFirst(5).dropLast() }
        let accepted = "use host, a namespace name (ip netns, Docker or container), a pid, or an nsfs inode"
        guard !body.isEmpty, !body.contains("/"), !body.utf8.contains(where: { $0 < 0x20 || $0 == 0x7f }) else {
            throw FilterError(option: "--netns", value: UntrustedText.escape(text), reason: accepted)
        }
        if body == "host" {
            self = .host
        } else if let number = UInt64(body) {
            guard number > 0 else { throw FilterError(option: "--netns", value: text, reason: "no process or namespace is 0; \(accepted)") }
            self = number <= Self.pidLimit ? .pid(Int32(number)) : .inode(number)
        } else {
            self = .name(String(body))
        }
    }

    /// Whether `namespace`, known to hold `pids` and to be owned by `containers` (names or ids), is the one meant.
    public func matches(_ namespace: NetworkNamespace, pids: some Collection<Int32>, containers: [String]) -> Bool {
        switch self {
        case .host: return namespace.isHost
        case .inode(let inode): return namespace.inode == inode
        case .pid(let pid): return pids.contains(pid)
        case .name(let name):
            // A container id may be given by its 12-digit short form, as `docker ps` shows it.
            return namespace.name == name
                || containers.contains { $0 == name || (name.count >= 12 && $0.hasPrefix(name)) }
        }
    }

    /// As it would be typed.
    public var description: String {
        switch self {
        case .host: return "host"
        case .name(let name): return name
        case .pid(let pid): return String(pid)
        case .inode(let inode): return String(inode)
        }
    }
}

/// Which network namespaces to read.
public enum NamespaceSelection: Hashable, Sendable {
    /// Every namespace when running as root on the live kernel, else portcullis's own.
    case automatic
    /// Only portcullis's own namespace (what ss shows).
    case own
    /// Every namespace found.
    case all
    /// The namespaces matching any of these (`--netns`, repeatable).
    case only([NamespaceSelector])
}
