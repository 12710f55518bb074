import ArgumentParser
import PortcullisCore
import PortcullisJobs
import PortcullisLinux

/// `--proc-root` and `--source`: where the socket table and process information come from.
struct SourceFlags: ParsableArguments {
    @Option(
        name: .customLong("proc-root"),
        help: ArgumentHelp(
            "Read a procfs tree at DIR (e.g. a copy of another machine's /proc) instead of the live kernel.",
            valueName: "DIR"))
    var procRoot: String?

    @Option(help: "Socket table source: auto (netlink, /proc/net as fallback), netlink, or procfs.")
    var source: SocketSource = .auto

    @OptionGroup var namespaces: NamespaceFlags

    @OptionGroup var containers: ContainerStateFlags

    var hostSource: HostSource {
        HostSource(procRoot: procRoot, socketSource: source, namespaces: namespaces.selection, containerState: containers.roots)
    }

    func validate() throws {
        if procRoot != nil && !namespaces.netns.isEmpty {
            throw ValidationError("--netns reads the live kernel's namespaces; it cannot be combined with --proc-root")
        }
        if procRoot != nil && source == .netlink {
            throw ValidationError("--proc-root reads the /proc/net tables of a copy; it cannot be combined with --source netlink")
        }
        if let procRoot, procRoot.isEmpty { throw ValidationError("--proc-root needs a directory") }
    }
}

/// `--docker-root`, `--podman-root` and `--pods-log-root`: where container
/// runtimes keep the state that names the containers owners run in.
struct ContainerStateFlags: ParsableArguments {
    @Option(
        name: .customLong("docker-root"),
        help: ArgumentHelp(
            "Docker's data root, read for container names, images and published ports (default \(ContainerStateRoots.defaultDocker)).",
            valueName: "DIR"))
    var dockerRoot: String?

    @Option(
        name: .customLong("podman-root"),
        help: ArgumentHelp(
            "The containers/storage root of rootful Podman and CRI-O, read for container names and images (default \(ContainerStateRoots.defaultPodman)).",
            valueName: "DIR"))
    var podmanRoot: String?

    @Option(
        name: .customLong("pods-log-root"),
        help: ArgumentHelp(
            "The kubelet's pod log directory, read for pod namespaces and names (default \(ContainerStateRoots.defaultPodsLog)).",
            valueName: "DIR"))
    var podsLogRoot: String?

    /// The roots given, the defaults for the others; nil when none was given (the job decides).
    var roots: ContainerStateRoots? {
        guard dockerRoot != nil || podmanRoot != nil || podsLogRoot != nil else { return nil }
        return ContainerStateRoots(
            docker: dockerRoot ?? ContainerStateRoots.defaultDocker, podman: podmanRoot ?? ContainerStateRoots.defaultPodman,
            podsLog: podsLogRoot ?? ContainerStateRoots.defaultPodsLog)
    }

    func validate() throws {
        for (flag, value) in [("--docker-root", dockerRoot), ("--podman-root", podmanRoot), ("--pods-log-root", podsLogRoot)] {
            if let value, value.isEmpty { throw ValidationError("\(flag) needs a directory") }
        }
    }
}

/// `--netns`: which network namespaces to read.
struct NamespaceFlags: ParsableArguments {
    @Option(
        name: .customLong("netns"),
        help: ArgumentHelp(
            "Only this network namespace (repeatable): host, an ip netns name, a Docker sandbox, a container name or id, a pid, or an nsfs inode. As root the default is every namespace; otherwise portcullis's own.",
            valueName: "NS"))
    var netns: [String] = []

    /// Every namespace as root by default, else the ones named.
    var selection: NamespaceSelection {
        // validate() has parsed each one already.
        let selectors = netns.compactMap { try? NamespaceSelector(parsing: $0) }
        return selectors.isEmpty ? .automatic : .only(selectors)
    }

    func validate() throws {
        for text in netns {
            do { _ = try NamespaceSelector(parsing: text) } catch { throw ValidationError(error.description) }
        }
    }
}
