/// Parsers for the state container runtimes keep on disk, read without
/// asking any daemon: Docker's per-container `config.v2.json` and
/// `hostconfig.json`, the `containers.json` of containers/storage (Podman,
/// CRI-O), and the kubelet's log directory names. Pure: the Linux layer
/// reads the files and hands the bytes (or directory entry names) here.
///
/// The files are untrusted (a rootless user writes its own store): a
/// malformed file throws `JSONParseError` or yields nil, never traps, and
/// every string returned is escaped with `UntrustedText`.
public enum ContainerStateFiles {
    /// What Docker's `containers/<id>/config.v2.json` says of a container.
    public struct DockerContainer: Sendable, Equatable {
        /// `ID`, escaped.
        public var id: String?
        /// `Name` without its leading `/`, escaped.
        public var name: String?
        /// `Config.Image`: the image as it was asked for (`nginx:1.27`), escaped.
        public var image: String?
        /// `NetworkSettings.Ports` when it binds anything (the running
        /// container's real bindings), else `HostConfig.PortBindings` when the
        /// file has one (Docker keeps that in `hostconfig.json`; see `dockerHostConfig`).
        public var publishedPorts: [PublishedPort]

        /// A container as far as its file described it.
        public init(id: String? = nil, name: String? = nil, image: String? = nil, publishedPorts: [PublishedPort] = []) {
            self.id = id
            self.name = name
            self.image = image
            self.publishedPorts = publishedPorts
        }
    }

    /// Parses `config.v2.json`.
    public static func dockerConfig(_ bytes: [UInt8]) throws(JSONParseError) -> DockerContainer {
        let document = try JSONValue.parse(bytes, maxDepth: 64, nonIntegers: .keepAsString)
        var container = DockerContainer()
        container.id = document.jsonMember("ID")?.jsonString.map(UntrustedText.escape)
        if var name = document.jsonMember("Name")?.jsonString {
            if name.hasPrefix("/") { name.removeFirst() }
            if !name.isEmpty { container.name = UntrustedText.escape(name) }
        }
        if let image = document.jsonMember("Config")?.jsonMember("Image")?.jsonString, !image.isEmpty {
            container.image = UntrustedText.escape(image)
        }
        let running = document.jsonMember("NetworkSettings")?.jsonMember("Ports").map(portMap) ?? []
        let asked = document.jsonMember("HostConfig")?.jsonMember("PortBindings").map(portMap) ?? []
        container.publishedPorts = running.isEmpty ? asked : running
        return container
    }

    /// `PortBindings` from Docker's `containers/<id>/hostconfig.json` (the
    /// serialised `HostConfig`): what `-p` asked for, whether or not the
    /// container runs.
    public static func dockerHostConfig(_ bytes: [UInt8]) throws(JSONParseError) -> [PublishedPort] {
        let document = try JSONValue.parse(bytes, maxDepth: 64, nonIntegers: .keepAsString)
        return document.jsonMember("PortBindings").map(portMap) ?? []
    }

    /// A Docker port map: `{"80/tcp": [{"HostIp": "", "HostPort": "8080"}], "443/tcp": null}`.
    /// A key without a protocol is TCP, as Docker reads it; an empty
    /// `HostIp` is every address and an empty `HostPort` one Docker picks at
    /// start. Entries that are not of this shape are left out. Sorted by
    /// container port, protocol, then host port.
    public static func portMap(_ value: JSONValue) -> [PublishedPort] {
        guard let fields = value.jsonObject else { return [] }
        var ports: [PublishedPort] = []
        for (key, bindings) in fields {
            let parts = key.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
            guard let containerPort = UInt16(parts[0]) else { continue }
            let portProtocol: PublishedPort.PortProtocol
            if parts.count == 1 {
                portProtocol = .tcp
            } else if let known = PublishedPort.PortProtocol(rawValue: String(parts[1]).lowercased()) {
                portProtocol = known
            } else {
                continue
            }
            for binding in bindings.jsonArray ?? [] {
                guard binding.jsonObject != nil else { continue }
                let address = binding.jsonMember("HostIp")?.jsonString ?? ""
                let hostPort = binding.jsonMember("HostPort")?.jsonString ?? ""
                let range: ClosedRange<UInt16>?
                if hostPort.isEmpty {
                    range = nil
                } else if let parsed = portRange(hostPort) {
                    range = parsed
                } else {
                    continue
                }
                let port = PublishedPort(
                    containerPort: containerPort, portProtocol: portProtocol,
                    hostAddress: address.isEmpty ? nil : UntrustedText.escape(address), hostPorts: range)
                if !ports.contains(port) { ports.append(port) }
            }
        }
        return ports.sorted { a, b in
            if a.containerPort != b.containerPort { return a.containerPort < b.containerPort }
            if a.portProtocol != b.portProtocol { return a.portProtocol.rawValue < b.portProtocol.rawValue }
            return (a.hostPorts?.lowerBound ?? 0, a.hostAddress ?? "") < (b.hostPorts?.lowerBound ?? 0, b.hostAddress ?? "")
        }
    }

    /// `8080` or `8000-8010`.
    static func portRange(_ text: String) -> ClosedRange<UInt16>? {
        let bounds = text.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard let low = UInt16(bounds[0]) else { return nil }
        guard bounds.count == 2 else { return low...low }
        guard let high = UInt16(bounds[1]), low <= high else { return nil }
        return low...high
    }

    /// One container in a containers/storage store (Podman, CRI-O).
    public struct StorageContainer: Sendable, Equatable {
        /// `id`: 64 hex digits.
        public var id: String
        /// The name to show: the CRI container name (`metadata-name`, CRI-O)
        /// when there is one, else the first of `names` (Podman's name), else
        /// the metadata's `name`; escaped.
        public var name: String?
        /// The metadata's `image-name` (`docker.io/library/nginx:latest`),
        /// escaped; nil when absent (`image` itself is only the image id).
        public var image: String?

        /// A container as its store described it.
        public init(id: String, name: String? = nil, image: String? = nil) {
            self.id = id
            self.name = name
            self.image = image
        }
    }

    /// Parses `<driver>-containers/containers.json` (or
    /// `volatile-containers.json`): an array of `{"id", "names", "image",
    /// "layer", "metadata", ...}` whose `metadata` is itself JSON text,
    /// `{"image-name", "image-id", "name", "created-at", ...}` as Podman and
    /// CRI-O write it. Keyed by id; entries without a 64-hex id are left out.
    public static func storageContainers(_ bytes: [UInt8]) throws(JSONParseError) -> [String: StorageContainer] {
        let document = try JSONValue.parse(bytes, maxDepth: 64, nonIntegers: .keepAsString)
        var containers: [String: StorageContainer] = [:]
        for item in document.jsonArray ?? [] {
            guard let id = item.jsonMember("id")?.jsonString, CgroupContainers.isContainerID(ArraySlice(id.utf8)) else { continue }
            let metadata = item.jsonMember("metadata")?.jsonString.flatMap {
                try? JSONValue.parse(Array($0.utf8), maxDepth: 16, nonIntegers: .keepAsString)
            }
            func text(_ value: JSONValue?) -> String? {
                guard let s = value?.jsonString, !s.isEmpty else { return nil }
                return UntrustedText.escape(s)
            }
            let first = item.jsonMember("names")?.jsonArray?.first
            let name = text(metadata?.jsonMember("metadata-name")) ?? text(first) ?? text(metadata?.jsonMember("name"))
            containers[id] = StorageContainer(id: id, name: name, image: text(metadata?.jsonMember("image-name")))
        }
        return containers
    }

    /// A pod's log directory under `/var/log/pods`: `<namespace>_<name>_<uid>`.
    public struct PodLogDirectory: Sendable, Equatable {
        /// The pod's namespace, escaped.
        public var namespace: String
        /// The pod's name, escaped.
        public var name: String
        /// The pod's uid, as in the directory name (escaped).
        public var uid: String
    }

    /// Reads a pod log directory's name; nil for anything not of the
    /// kubelet's shape (namespaces and pod names cannot hold `_`).
    public static func podLogDirectory<C: Collection>(_ name: C) -> PodLogDirectory? where C.Element == UInt8 {
        let parts = Array(name).split(separator: 0x5f, omittingEmptySubsequences: false)
        guard parts.count == 3, parts.allSatisfy({ !$0.isEmpty }) else { return nil }
        return PodLogDirectory(
            namespace: UntrustedText.escape(parts[0]), name: UntrustedText.escape(parts[1]), uid: UntrustedText.escape(parts[2]))
    }

    /// A kubelet log link under `/var/log/containers`:
    /// `<pod>_<namespace>_<container>-<id>.log`.
    public struct ContainerLogLink: Sendable, Equatable {
        /// The pod's name, escaped.
        public var pod: String
        /// The pod's namespace, escaped.
        public var namespace: String
        /// The container's name in the pod spec, escaped.
        public var container: String
        /// The container id: 64 hex digits.
        public var id: String
    }

    /// Reads a log link's name; nil for anything not of the kubelet's shape.
    public static func containerLogLink<C: Collection>(_ name: C) -> ContainerLogLink? where C.Element == UInt8 {
        let bytes = Array(name)
        let suffix = Array(".log".utf8)
        guard bytes.count > suffix.count + 65, bytes.suffix(suffix.count).elementsEqual(suffix) else { return nil }
        let stem = bytes.dropLast(suffix.count)
        let id = stem.suffix(64)
        guard CgroupContainers.isContainerID(id), stem[stem.endIndex - 65] == 0x2d else { return nil }
        let parts = stem.dropLast(65).split(separator: 0x5f, omittingEmptySubsequences: false)
        guard parts.count == 3, parts.allSatisfy({ !$0.isEmpty }) else { return nil }
        return ContainerLogLink(
            pod: UntrustedText.escape(parts[0]), namespace: UntrustedText.escape(parts[1]), container: UntrustedText.escape(parts[2]),
            id: String(decoding: id, as: UTF8.self))
    }
}
