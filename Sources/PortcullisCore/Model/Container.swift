/// The container runtime (or engine) that a process's cgroup path names.
/// The raw values are the output spelling.
public enum ContainerRuntime: String, Sendable, Hashable, CaseIterable, Codable {
    /// Docker (moby): `docker-<id>.scope`, `/docker/<id>`.
    case docker
    /// Podman: `libpod-<id>.scope`, `/libpod-<id>`.
    case podman
    /// containerd, under Kubernetes (`cri-containerd-<id>.scope`) or nerdctl (`nerdctl-<id>.scope`).
    case containerd
    /// CRI-O: `crio-<id>.scope`, `/crio-<id>`.
    case crio = "cri-o"
    /// A Kubernetes container whose runtime the cgroup path does not name:
    /// a bare id under `/kubepods/...` (containerd or cri-dockerd with the
    /// cgroupfs driver).
    case cri
    /// LXC, LXD or Incus: `lxc.payload.<name>`, `/lxc/<name>`.
    case lxc
    /// systemd-nspawn (a machine registered with systemd-machined): `machine-<name>.scope`.
    case nspawn = "systemd-nspawn"
    /// A 64-hex-digit container id on the path in a layout no table entry knows.
    case unknown
}

/// The Kubernetes pod a container belongs to.
public struct PodReference: Hashable, Sendable {
    /// The pod's uid (dashed form, as the API shows it), from the cgroup path; escaped.
    public var uid: String
    /// The pod's namespace, from its log directory; nil when not found.
    public var namespace: String?
    /// The pod's name, from its log directory; nil when not found.
    public var name: String?

    /// A pod known by its uid, and by namespace and name when they were found.
    public init(uid: String, namespace: String? = nil, name: String? = nil) {
        self.uid = uid
        self.namespace = namespace
        self.name = name
    }
}

/// A container port published on the host, as the runtime recorded it
/// (Docker's `HostConfig.PortBindings` and `NetworkSettings.Ports`).
public struct PublishedPort: Hashable, Sendable {
    /// The protocols a published port can carry; the raw values are the output spelling.
    public enum PortProtocol: String, Sendable, Hashable, CaseIterable, Codable {
        /// `80/tcp`, `53/udp`, `132/sctp`.
        case tcp, udp, sctp
    }

    /// The port inside the container.
    public var containerPort: UInt16
    /// The protocol of both ends.
    public var portProtocol: PortProtocol
    /// The host address it is published on (escaped); nil for every address (`""`, `0.0.0.0` is kept as written).
    public var hostAddress: String?
    /// The host port, or a range of them (`8000-8010`); nil when the runtime picks one at start and has not yet.
    public var hostPorts: ClosedRange<UInt16>?

    /// A published port.
    public init(containerPort: UInt16, portProtocol: PortProtocol, hostAddress: String?, hostPorts: ClosedRange<UInt16>?) {
        self.containerPort = containerPort
        self.portProtocol = portProtocol
        self.hostAddress = hostAddress
        self.hostPorts = hostPorts
    }
}

/// The container a process runs in: what its cgroup path says (runtime,
/// id or name, pod uid) and what the runtime's state on disk adds (name,
/// image, pod namespace and name, published ports). Every string is
/// escaped: cgroup paths and state files are untrusted.
public struct ContainerReference: Hashable, Sendable {
    /// The runtime the cgroup path names.
    public var runtime: ContainerRuntime
    /// The 64-hex-digit container id (Docker, Podman, containerd, CRI-O); nil for LXC and nspawn, which have names only.
    public var id: String?
    /// The container's name: Docker's and Podman's (`web`), the Kubernetes
    /// container name, or the LXC or nspawn machine name; nil when unknown.
    public var name: String?
    /// The image it was started from (`nginx:1.27`); nil when unknown.
    public var image: String?
    /// The Kubernetes pod, when the path lies inside one.
    public var pod: PodReference?
    /// The user whose delegated cgroup subtree (`user@UID.service`) holds
    /// the container: a rootless container, named only from that user's
    /// own stores. Nil for a system container.
    public var rootlessUID: UInt32?
    /// Host ports published to the container, as the runtime recorded them.
    public var publishedPorts: [PublishedPort]

    /// A reference with what the cgroup path gave; state files fill in the rest.
    public init(
        runtime: ContainerRuntime, id: String? = nil, name: String? = nil, image: String? = nil, pod: PodReference? = nil,
        rootlessUID: UInt32? = nil, publishedPorts: [PublishedPort] = []
    ) {
        self.runtime = runtime
        self.id = id
        self.name = name
        self.image = image
        self.pod = pod
        self.rootlessUID = rootlessUID
        self.publishedPorts = publishedPorts
    }

    /// The name when known, else the first 12 digits of the id (as `docker ps` shows it).
    public var displayName: String {
        if let name { return name }
        if let id { return String(id.prefix(12)) }
        return runtime.rawValue
    }
}
