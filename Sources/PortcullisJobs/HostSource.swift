import PortcullisCore
import PortcullisLinux

/// Where a job reads the host's sockets and processes: the live kernel, or
/// a procfs tree copied off another machine (`--proc-root`).
public struct HostSource: Sendable, Equatable {
    /// A copied procfs tree; nil reads the live kernel's /proc.
    public var procRoot: String?
    /// netlink, /proc/net, or netlink with /proc/net as fallback.
    public var socketSource: SocketSource
    /// Which network namespaces: by default every one as root on the live kernel, else portcullis's own.
    public var namespaces: NamespaceSelection
    /// Where container runtimes keep the state that names owners' containers. Nil means the
    /// default roots for the live kernel, and none for a copied tree (whose containers are this
    /// host's state's strangers): their owners then show what the cgroup paths say.
    public var containerState: ContainerStateRoots?

    /// A source; by default the live kernel, netlink with /proc/net as fallback, every namespace
    /// as root, containers named from the default state roots.
    public init(
        procRoot: String? = nil, socketSource: SocketSource = .auto, namespaces: NamespaceSelection = .automatic,
        containerState: ContainerStateRoots? = nil
    ) {
        self.procRoot = procRoot
        self.socketSource = socketSource
        self.namespaces = namespaces
        self.containerState = containerState
    }

    /// The container state roots a collection reads: `containerState`, else the defaults when live.
    public var effectiveContainerState: ContainerStateRoots? { containerState ?? (isLive ? ContainerStateRoots() : nil) }

    /// The live kernel: no copied tree. Only then are the firewall, tamper
    /// signs and the running processes' environments consulted.
    public var isLive: Bool { procRoot == nil }

    /// The procfs root as a path without trailing slashes ("/copy/proc/"
    /// and "/copy/proc" are the same tree).
    public var procRootPath: String {
        var root = procRoot ?? "/proc"
        while root.count > 1 && root.hasSuffix("/") { root.removeLast() }
        return root
    }

    /// Collector settings for `query`. A copied tree has no netlink to ask,
    /// so `auto` reads its /proc/net tables.
    public func collectorOptions(query: SocketQuery) -> InventoryCollector.Options {
        var options = InventoryCollector.Options()
        options.query = query
        options.source = procRoot == nil ? socketSource : (socketSource == .auto ? .procfs : socketSource)
        options.procRoot = procRootPath
        options.namespaces = namespaces
        options.containerState = effectiveContainerState
        return options
    }

    /// The host's name, from its kernel (no NSS).
    public var hostname: String? { HostFiles.hostname(procRoot: procRootPath) }
}

/// The notice about sockets shown without an owner, counted over what is
/// shown (not the whole host). Every job that shows sockets adds it last.
func withUnattributedNotice(_ diagnostics: [Diagnostic], shown entries: [InventoryEntry]) -> [Diagnostic] {
    guard let notice = InventoryBuilder.unattributedNotice(entries, asRoot: Console.effectiveUID == 0) else { return diagnostics }
    return diagnostics + [notice]
}
