import PortcullisCore

/// Where container runtimes keep the state portcullis reads to name
/// containers, without asking any daemon. Options, so tests (and a copy
/// of another host's state) never need the real /var/lib.
public struct ContainerStateRoots: Sendable, Equatable {
    /// Docker's data root (`dockerd --data-root`): `containers/<id>/config.v2.json`
    /// and `hostconfig.json` under it. Rootless Docker's is `~/.local/share/docker` of the container's user.
    public var docker: String
    /// The containers/storage graph root of rootful Podman and CRI-O:
    /// `<driver>-containers/containers.json` under it. Rootless Podman's is
    /// `~/.local/share/containers/storage` of the container's user.
    public var podman: String
    /// The kubelet's pod log directory (`<namespace>_<pod>_<uid>/<container>/`);
    /// its sibling `containers` holds the kubelet's per-container log links.
    public var podsLog: String

    /// Docker's default data root.
    public static let defaultDocker = "/var/lib/docker"
    /// containers/storage's default rootful graph root.
    public static let defaultPodman = "/var/lib/containers/storage"
    /// The kubelet's pod log directory.
    public static let defaultPodsLog = "/var/log/pods"

    /// The defaults: /var/lib/docker, /var/lib/containers/storage and /var/log/pods.
    public init(
        docker: String = ContainerStateRoots.defaultDocker, podman: String = ContainerStateRoots.defaultPodman,
        podsLog: String = ContainerStateRoots.defaultPodsLog
    ) {
        self.docker = Self.trimmed(docker)
        self.podman = Self.trimmed(podman)
        self.podsLog = Self.trimmed(podsLog)
    }

    /// Without trailing slashes ("/var/lib/docker/" and "/var/lib/docker" are one root).
    static func trimmed(_ path: String) -> String {
        var path = path
        while path.count > 1 && path.hasSuffix("/") { path.removeLast() }
        return path
    }

    /// The kubelet's log links: `containers` beside the pod log directory.
    var containerLogs: String {
        guard let slash = podsLog.lastIndex(of: "/") else { return "containers" }
        return String(podsLog[..<slash]) + "/containers"
    }
}

/// Names the containers cgroup paths point at from the runtimes' state on
/// disk (`ContainerStateFiles` parses it): Docker's `config.v2.json` and
/// `hostconfig.json`, containers/storage's `containers.json` (Podman,
/// CRI-O), and the kubelet's `/var/log/pods` and `/var/log/containers`.
///
/// Each state file is read at most once per reader (one reader per
/// collection), and each answer is kept by reference. State that is
/// missing or unreadable is a diagnostic, said once, never an error: the
/// container keeps the id (or name) its cgroup path gave.
///
/// A rootless container (in a `user@UID.service` subtree) is named only
/// from that user's own stores in its home, and only from files that user
/// or root owns: a user can name its cgroups as it likes, so it must not be
/// able to borrow a system container's name. Every file is opened without
/// following a final symlink or blocking, and must be a regular file of
/// bounded size.
public final class ContainerStateReader {
    let roots: ContainerStateRoots
    let etcRoot: String
    /// The largest state file read; a bigger one is reported and skipped.
    static let maxFileBytes: Int64 = 64 << 20
    static let storageDrivers = ["overlay", "vfs", "btrfs", "zfs"]

    private var resolved: [ContainerReference: ContainerReference] = [:]
    private var dockerFiles: [String: ContainerStateFiles.DockerContainer?] = [:]
    private var storages: [String: [String: ContainerStateFiles.StorageContainer]?] = [:]
    /// Pod uid → its log directory; nil until read, then empty when it could not be.
    private var podDirectories: [String: ContainerStateFiles.PodLogDirectory]?
    private var podContainers: [String: [String]] = [:]
    /// Container id → the kubelet's log link for it; nil until read.
    private var logLinks: [String: ContainerStateFiles.ContainerLogLink]?
    private var homes: [UInt32: String]?
    private var diagnostics: [Diagnostic] = []
    private var said: Set<String> = []

    /// A reader of the state under `roots`; `etcRoot` (ending in "/") holds
    /// the etc/passwd that gives rootless users' homes.
    public init(roots: ContainerStateRoots = ContainerStateRoots(), etcRoot: String = "/") {
        self.roots = roots
        self.etcRoot = etcRoot
    }

    /// What could not be read since the last call, each said once per reader.
    public func takeDiagnostics() -> [Diagnostic] {
        defer { diagnostics.removeAll() }
        return diagnostics
    }

    /// `reference` with what the state on disk adds: name, image,
    /// published ports, pod namespace and name. The id, runtime and pod
    /// uid from the cgroup path are kept as they were, except that a
    /// Kubernetes container of unnamed runtime (`.cri`) whose id Docker's
    /// state holds is Docker's (cri-dockerd).
    public func resolve(_ reference: ContainerReference) -> ContainerReference {
        if let known = resolved[reference] { return known }
        var result = reference
        switch reference.runtime {
        case .docker:
            addDocker(&result, required: true)
        case .cri:
            addDocker(&result, required: false)
        case .podman, .crio:
            addStorage(&result)
        case .containerd, .lxc, .nspawn, .unknown:
            break
        }
        if result.pod != nil && result.rootlessUID == nil { addPod(&result) }
        resolved[reference] = result
        return result
    }

    // MARK: Docker

    private func addDocker(_ reference: inout ContainerReference, required: Bool) {
        guard let id = reference.id, let root = storeRoot(reference, system: roots.docker, rootless: ".local/share/docker")
        else { return }
        let directory = root + "/containers/" + id
        if !required && !HostFiles.exists(directory) { return }
        let key = root + "\u{0}" + id
        let state: ContainerStateFiles.DockerContainer?
        if let cached = dockerFiles[key] {
            state = cached
        } else {
            state = readDocker(directory: directory, reference: reference)
            dockerFiles[key] = state
        }
        guard let state else { return }
        reference.runtime = .docker
        reference.name = state.name ?? reference.name
        reference.image = state.image ?? reference.image
        reference.publishedPorts = state.publishedPorts
    }

    private func readDocker(directory: String, reference: ContainerReference) -> ContainerStateFiles.DockerContainer? {
        let configPath = directory + "/config.v2.json"
        let unnamed = "the docker container is shown by id"
        guard let bytes = read(configPath, reference: reference, consequence: unnamed) else { return nil }
        var state: ContainerStateFiles.DockerContainer
        do { state = try ContainerStateFiles.dockerConfig(bytes) } catch {
            sayOnce("\(escaped(configPath)) is not valid JSON (\(error)); \(unnamed)")
            return nil
        }
        if state.publishedPorts.isEmpty {
            // Docker keeps what -p asked for beside it, in hostconfig.json; its absence is not worth a word.
            let hostConfigPath = directory + "/hostconfig.json"
            let unported = "its published ports are not shown"
            if HostFiles.exists(hostConfigPath), let bytes = read(hostConfigPath, reference: reference, consequence: unported) {
                do { state.publishedPorts = try ContainerStateFiles.dockerHostConfig(bytes) } catch {
                    sayOnce("\(escaped(hostConfigPath)) is not valid JSON (\(error)); \(unported)")
                }
            }
        }
        return state
    }

    // MARK: containers/storage (Podman, CRI-O)

    private func addStorage(_ reference: inout ContainerReference) {
        guard let id = reference.id,
            let root = storeRoot(reference, system: roots.podman, rootless: ".local/share/containers/storage")
        else { return }
        let containers: [String: ContainerStateFiles.StorageContainer]?
        if let cached = storages[root] {
            containers = cached
        } else {
            containers = readStorage(root: root, reference: reference)
            storages[root] = containers
        }
        guard let containers else { return }
        guard let found = containers[id] else {
            say(reference, "not in the container lists under \(escaped(root)); shown by id")
            return
        }
        reference.name = found.name ?? reference.name
        reference.image = found.image ?? reference.image
    }

    private func readStorage(root: String, reference: ContainerReference) -> [String: ContainerStateFiles.StorageContainer]? {
        var merged: [String: ContainerStateFiles.StorageContainer] = [:]
        var foundAny = false
        let unnamed = "its containers are shown by id"
        for driver in Self.storageDrivers {
            for file in ["containers.json", "volatile-containers.json"] {
                let path = root + "/" + driver + "-containers/" + file
                guard HostFiles.exists(path) else { continue }
                foundAny = true
                guard let bytes = read(path, reference: reference, consequence: unnamed) else { continue }
                do { merged.merge(try ContainerStateFiles.storageContainers(bytes)) { first, _ in first } } catch {
                    sayOnce("\(escaped(path)) is not valid JSON (\(error)); \(unnamed)")
                }
            }
        }
        if !foundAny {
            sayOnce("no containers.json under \(escaped(root)); \(reference.runtime.rawValue) containers there are shown by id")
            return nil
        }
        return merged
    }

    // MARK: Kubernetes

    private func addPod(_ reference: inout ContainerReference) {
        guard var pod = reference.pod else { return }
        if podDirectories == nil { podDirectories = readPodDirectories() }
        let directory = podDirectories?[pod.uid]
        if let directory {
            pod.namespace = directory.namespace
            pod.name = directory.name
        } else if podDirectories?.isEmpty == false {
            sayOnce("no directory for pod \(pod.uid) under \(escaped(roots.podsLog)); its namespace and name are not shown")
        }
        reference.pod = pod
        guard let id = reference.id else { return }
        // The kubelet's log link names the container exactly; a pod with one container's log directory names it too.
        if logLinks == nil { logLinks = readLogLinks() }
        if let link = logLinks?[id] {
            reference.name = link.container
        } else if reference.name == nil, let directory {
            let key = directory.namespace + "_" + directory.name + "_" + directory.uid
            if podContainers[key] == nil {
                podContainers[key] = names(in: roots.podsLog + "/" + key, quiet: true)?.map { UntrustedText.escape($0) } ?? []
            }
            if let only = podContainers[key], only.count == 1 { reference.name = only[0] }
        }
    }

    private func readPodDirectories() -> [String: ContainerStateFiles.PodLogDirectory] {
        guard let entries = names(in: roots.podsLog) else { return [:] }
        var byUID: [String: ContainerStateFiles.PodLogDirectory] = [:]
        for entry in entries {
            if let directory = ContainerStateFiles.podLogDirectory(entry) { byUID[directory.uid] = directory }
        }
        return byUID
    }

    private func readLogLinks() -> [String: ContainerStateFiles.ContainerLogLink] {
        guard let entries = names(in: roots.containerLogs, quiet: true) else { return [:] }
        var byID: [String: ContainerStateFiles.ContainerLogLink] = [:]
        for entry in entries {
            if let link = ContainerStateFiles.containerLogLink(entry) { byID[link.id] = link }
        }
        return byID
    }

    // MARK: Files

    /// The store root for the container: the system one, or for a rootless
    /// container `relative` under its user's home; nil (said) when that user has no home.
    private func storeRoot(_ reference: ContainerReference, system: String, rootless relative: String) -> String? {
        guard let uid = reference.rootlessUID else { return system }
        if homes == nil {
            homes = (try? HostFiles.readFile(etcRoot + "etc/passwd")).map(ProcessFiles.homeDirectories) ?? [:]
        }
        guard let home = homes?[uid] else {
            say(reference, "uid \(uid) has no home directory in \(escaped(etcRoot))etc/passwd; shown by id")
            return nil
        }
        return ContainerStateRoots.trimmed(home) + "/" + relative
    }

    /// A state file's bytes, or nil (said) when it cannot be read or is not
    /// to be trusted: not a regular file, too big, or owned by someone other
    /// than root, the container's user (rootless) or the user running portcullis.
    private func read(_ path: String, reference: ContainerReference, consequence: String) -> [UInt8]? {
        let shown = escaped(path)
        do throws(Errno) {
            let fd = try Sys.openForReading(path)
            defer { Sys.close(fd) }
            let status = try Sys.descriptorStatus(fd)
            guard status.isRegular else {
                sayOnce("\(shown) is not a regular file, so it was not read; \(consequence)")
                return nil
            }
            guard status.size <= Self.maxFileBytes else {
                sayOnce("\(shown) is larger than \(Self.maxFileBytes >> 20) MiB, so it was not read; \(consequence)")
                return nil
            }
            guard status.uid == 0 || status.uid == Sys.userID() || status.uid == reference.rootlessUID else {
                let owners = reference.rootlessUID.map { "root or uid \($0)" } ?? "root"
                sayOnce("\(shown) is owned by uid \(status.uid), not \(owners), so it is not trusted; \(consequence)")
                return nil
            }
            return try Sys.readAll(fd, sizeHint: Int(max(status.size, 0)) + 1)
        } catch {
            sayOnce("cannot read \(shown): \(error); \(consequence)")
            return nil
        }
    }

    /// The entry names of a directory as raw bytes; nil (said unless `quiet`) when it cannot be listed.
    private func names(in path: String, quiet: Bool = false) -> [[UInt8]]? {
        do throws(Errno) {
            let fd = try Sys.openAt(Sys.currentDirectory, path, directory: true)
            var entries: [[UInt8]] = []
            try Sys.listDirectory(consuming: fd) { _, name in
                entries.append(Array(UnsafeBufferPointer(start: name, count: strlenBounded(name)).map { UInt8(bitPattern: $0) }))
            }
            return entries
        } catch {
            if !quiet && error != .noSuchFile {
                sayOnce("cannot list \(escaped(path)): \(error); Kubernetes pods are shown by uid")
            } else if !quiet {
                sayOnce("\(escaped(path)) does not exist; Kubernetes pods are shown by uid")
            }
            return nil
        }
    }

    private func escaped(_ path: String) -> String { UntrustedText.escape(path) }

    /// One notice about one container, said once per reader.
    private func say(_ reference: ContainerReference, _ message: String) {
        let rootless = reference.rootlessUID.map { "rootless (uid \($0)) " } ?? ""
        let what = reference.id.map { String($0.prefix(12)) } ?? reference.displayName
        sayOnce("\(rootless)\(reference.runtime.rawValue) container \(what): \(message)")
    }

    private func sayOnce(_ message: String) {
        guard said.insert(message).inserted else { return }
        diagnostics.append(Diagnostic(.notice, message))
    }
}

/// The length of a NUL-terminated directory entry name (at most 255 bytes, d_name's size).
private func strlenBounded(_ name: UnsafePointer<CChar>) -> Int {
    var n = 0
    while n < 256 && name[n] != 0 { n += 1 }
    return n
}
