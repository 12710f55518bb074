/// A listening socket, as the published-port code needs it: a userland
/// proxy's own sockets (rootlessport), or what listens in a target's
/// namespace (the `published-port-without-listener` rule).
public struct ListeningEndpoint: Sendable, Hashable {
    /// TCP or UDP.
    public var proto: TransportProtocol
    /// The bound address; unspecified (`0.0.0.0`, `::`) for every address.
    public var address: IPAddress
    /// The bound port.
    public var port: UInt16

    /// An endpoint.
    public init(proto: TransportProtocol, address: IPAddress, port: UInt16) {
        self.proto = proto
        self.address = address
        self.port = port
    }

    /// Whether a connection to `address`:`port` over `proto` reaches this
    /// socket: same port and protocol, and the same address or a wildcard
    /// (an IPv6 wildcard also takes IPv4, as a dual-stack socket does).
    public func accepts(proto: TransportProtocol, address: IPAddress, port: UInt16) -> Bool {
        guard proto == self.proto, port == self.port else { return false }
        let mine = self.address.normalized
        let theirs = address.normalized
        if mine.isUnspecified { return mine.kind == theirs.kind || mine.kind == .v6 }
        return mine == theirs
    }
}

/// Ports published by a process rather than a DNAT rule, read from what
/// the process shows: its argv, and the sockets it holds. Pure functions
/// of those; nil when the argv is not the proxy's.
public enum UserlandProxy {
    /// The last path component of argv[0] (`/usr/bin/docker-proxy` -> `docker-proxy`).
    static func command(_ argv: [String]) -> String? {
        guard let first = argv.first else { return nil }
        return first.split(separator: "/").last.map(String.init)
    }

    /// Whichever proxy `argv` belongs to: docker-proxy, pasta, rootlessport.
    /// - Parameters:
    ///   - listeners: the sockets the process holds in its own network
    ///     namespace (rootlessport's published ports are its sockets).
    public static func publishedPorts(argv: [String], pid: Int32? = nil, listeners: [ListeningEndpoint] = []) -> PublishedPortScan? {
        dockerProxy(argv: argv, pid: pid) ?? pasta(argv: argv, pid: pid) ?? rootlessport(argv: argv, pid: pid, listeners: listeners)
    }

    // MARK: docker-proxy

    /// docker-proxy's argv, as dockerd starts it (moby
    /// daemon/libnetwork/portmapper/proxy_linux.go): `docker-proxy -proto
    /// tcp -host-ip 0.0.0.0 -host-port 8080 -container-ip 172.17.0.2
    /// -container-port 80 [-use-listen-fd]`. The flags are Go's `flag`
    /// package's, so `--host-port 8080`, `-host-port=8080` and
    /// `--host-port=8080` mean the same. Rootless dockerd runs it as
    /// `nsenter -n<netns> -F -- docker-proxy ...`; that wrapper is read too.
    public static func dockerProxy(argv: [String], pid: Int32? = nil) -> PublishedPortScan? {
        var args = argv
        if command(args) == "nsenter", let dashes = args.firstIndex(of: "--") {
            args = Array(args[(dashes + 1)...])
        }
        guard command(args) == "docker-proxy" else { return nil }
        var values: [String: String] = ["proto": "tcp", "host-ip": "0.0.0.0", "container-ip": "0.0.0.0"]
        var diagnostics: [Diagnostic] = []
        let known: Set<String> = ["proto", "host-ip", "host-port", "container-ip", "container-port"]
        let booleans: Set<String> = ["use-listen-fd", "v", "version"]
        var index = 1
        while index < args.count {
            let word = args[index]
            index += 1
            guard word.hasPrefix("-"), word != "-", word != "--" else {
                if word == "--" { break }
                diagnostics.append(
                    Diagnostic(.notice, "docker-proxy\(pidText(pid)): unexpected argument \(NftText.clean(word, limit: 60))"))
                continue
            }
            let flag = String(word.drop { $0 == "-" })
            let parts = flag.split(separator: "=", maxSplits: 1).map(String.init)
            let name = parts[0]
            if booleans.contains(name) { continue }
            guard known.contains(name) else {
                diagnostics.append(Diagnostic(.notice, "docker-proxy\(pidText(pid)): unknown flag -\(NftText.clean(name, limit: 40))"))
                // Skip its value, when it has one.
                if parts.count == 1, index < args.count, !args[index].hasPrefix("-") { index += 1 }
                continue
            }
            if parts.count == 2 {
                values[name] = parts[1]
            } else if index < args.count {
                values[name] = args[index]
                index += 1
            } else {
                diagnostics.append(Diagnostic(.notice, "docker-proxy\(pidText(pid)): -\(name) without a value"))
            }
        }
        func bad(_ what: String) -> PublishedPortScan {
            PublishedPortScan(
                ports: [], diagnostics: diagnostics + [Diagnostic(.warning, "docker-proxy\(pidText(pid)): \(what); its port is not listed")]
            )
        }
        guard let proto = values["proto"].flatMap(TransportProtocol.init(rawValue:)), proto != .raw else {
            return bad("protocol \(NftText.clean(values["proto"] ?? "", limit: 20)) is not TCP or UDP")
        }
        guard let hostIP = values["host-ip"].flatMap(IPAddress.init(parsing:)) else {
            return bad("-host-ip \(NftText.clean(values["host-ip"] ?? "", limit: 60)) is not an address")
        }
        guard let hostPort = values["host-port"].flatMap(UInt16.init), hostPort > 0 else {
            return bad("no -host-port")
        }
        guard let containerIP = values["container-ip"].flatMap(IPAddress.init(parsing:)) else {
            return bad("-container-ip \(NftText.clean(values["container-ip"] ?? "", limit: 60)) is not an address")
        }
        guard let containerPort = values["container-port"].flatMap(UInt16.init), containerPort > 0 else {
            return bad("no -container-port")
        }
        let host = hostIP.normalized
        let port = PortPublication(
            tool: .dockerProxy, proto: proto, family: AddressFamily(host.kind), hostAddress: host.isUnspecified ? nil : host,
            hostPorts: hostPort...hostPort, target: PublishedTarget(address: containerIP.normalized, ports: containerPort...containerPort),
            fromOtherHosts: true, fromThisHost: true, pid: pid)
        return PublishedPortScan(ports: [port], diagnostics: diagnostics)
    }

    static func pidText(_ pid: Int32?) -> String { pid.map { "[\($0)]" } ?? "" }

    // MARK: pasta

    /// pasta's argv, as Podman starts it for a rootless container
    /// (containers/common libnetwork/pasta: `pasta --config-net -t
    /// 8080-8080:80-80 -t 127.0.0.1/5432-5432:5432-5432 -u none ... --netns
    /// PATH`). Each `-t`/`--tcp-ports` and `-u`/`--udp-ports` spec is
    /// `[ADDRESS[%INTERFACE]/]PORTS[:TARGETS][,...]`; pasta listens on the
    /// host ports itself and connects inside the container's namespace.
    /// `none` publishes nothing; `auto`, `all` and exclusions (`~25`)
    /// follow what listens at run time and are reported, not guessed.
    public static func pasta(argv: [String], pid: Int32? = nil) -> PublishedPortScan? {
        guard let name = command(argv), name == "pasta" || name == "pasta.avx2" else { return nil }
        var ports: [PortPublication] = []
        var diagnostics: [Diagnostic] = []
        var index = 1
        while index < argv.count {
            let word = argv[index]
            index += 1
            var proto: TransportProtocol?
            var spec: String?
            for (short, long, p) in [("-t", "--tcp-ports", TransportProtocol.tcp), ("-u", "--udp-ports", .udp)] {
                if word == short || word == long {
                    proto = p
                    if index < argv.count {
                        spec = argv[index]
                        index += 1
                    }
                } else if word.hasPrefix(long + "=") {
                    proto = p
                    spec = String(word.dropFirst(long.count + 1))
                } else if word.hasPrefix(short), word.count > 2, !word.hasPrefix("--") {
                    proto = p
                    spec = String(word.dropFirst(2))
                }
            }
            guard let proto else { continue }
            guard let spec else {
                diagnostics.append(Diagnostic(.notice, "pasta\(pidText(pid)): \(word) without a value"))
                continue
            }
            let (found, problems) = pastaSpec(spec, proto: proto, pid: pid)
            ports += found
            diagnostics += problems
        }
        return PublishedPortScan(ports: ports, diagnostics: diagnostics)
    }

    static func pastaSpec(_ spec: String, proto: TransportProtocol, pid: Int32?) -> ([PortPublication], [Diagnostic]) {
        if spec == "none" { return ([], []) }
        let label = "pasta\(pidText(pid)) -\(proto == .tcp ? "t" : "u") \(NftText.clean(spec, limit: 60))"
        if spec == "auto" || spec == "all" {
            return (
                [],
                [
                    Diagnostic(
                        .notice,
                        "\(label): forwards whatever listens in the namespace at run time; those ports are not listed from its argv")
                ]
            )
        }
        var address: IPAddress?
        var interface: String?
        var list = Substring(spec)
        if let slash = spec.lastIndex(of: "/") {
            var prefix = spec[..<slash]
            list = spec[spec.index(after: slash)...]
            if let percent = prefix.firstIndex(of: "%") {
                interface = String(prefix[prefix.index(after: percent)...])
                prefix = prefix[..<percent]
            }
            if !prefix.isEmpty {
                guard let parsed = IPAddress(parsing: String(prefix)) else {
                    return ([], [Diagnostic(.warning, "\(label): \(NftText.clean(String(prefix), limit: 60)) is not an address")])
                }
                address = parsed.normalized
            }
        }
        var ports: [PortPublication] = []
        var diagnostics: [Diagnostic] = []
        for item in list.split(separator: ",") {
            if item.hasPrefix("~") {
                diagnostics.append(Diagnostic(.notice, "\(label): exclusions (\(NftText.clean(String(item), limit: 20))) are not read"))
                continue
            }
            let sides = item.split(separator: ":", maxSplits: 1).map(String.init)
            guard let host = portRange(sides[0]), let target = sides.count == 2 ? portRange(sides[1]) : host else {
                diagnostics.append(Diagnostic(.warning, "\(label): \(NftText.clean(String(item), limit: 30)) is not a port or range"))
                continue
            }
            let families: [AddressFamily] = address.map { [AddressFamily($0.kind)] } ?? [.ipv4, .ipv6]
            for family in families {
                ports.append(
                    PortPublication(
                        tool: .pasta, proto: proto, family: family, hostAddress: address?.isUnspecified == true ? nil : address,
                        hostPorts: host, target: PublishedTarget(address: nil, ports: target),
                        inputInterfaces: interface.map { .only([$0]) } ?? .any, fromOtherHosts: true, fromThisHost: true, pid: pid))
            }
        }
        return (ports, diagnostics)
    }

    /// `8080` or `8080-8090`.
    static func portRange(_ text: String) -> ClosedRange<UInt16>? {
        let ends = text.split(separator: "-", omittingEmptySubsequences: false).map(String.init)
        guard let low = UInt16(ends[0]) else { return nil }
        if ends.count == 1 { return low...low }
        guard ends.count == 2, let high = UInt16(ends[1]), low <= high else { return nil }
        return low...high
    }

    // MARK: rootlessport

    /// The ways rootless Podman's port forwarder names itself in argv[0]:
    /// Podman 4 and 5 run `/usr/libexec/podman/rootlessport` (the parent,
    /// in the rootless user's namespace, listening on the host ports) and
    /// re-execute it as `rootlessport-child` inside the container's
    /// namespace; Podman 3 re-executed itself as `containers-rootlessport`
    /// and `containers-rootlessport-child`.
    static let rootlessportParents: Set<String> = ["rootlessport", "containers-rootlessport"]
    static let rootlessportChildren: Set<String> = ["rootlessport-child", "containers-rootlessport-child"]

    /// rootlessport carries no ports in its argv: Podman writes the port
    /// mappings (with the container's address, ChildIP) as JSON to its
    /// stdin, which it reads once at start. What the host shows is the
    /// sockets the parent holds: each one it listens on is a published
    /// host port. The container side is in Podman's own records (`podman
    /// inspect`, the container's config in the libpod database), not here;
    /// the target is left unread and says so.
    /// - Parameter listeners: the parent's listening sockets, in its namespace.
    public static func rootlessport(argv: [String], pid: Int32? = nil, listeners: [ListeningEndpoint]) -> PublishedPortScan? {
        guard let name = command(argv) else { return nil }
        if rootlessportChildren.contains(name) { return PublishedPortScan(ports: [], diagnostics: []) }
        guard rootlessportParents.contains(name) else { return nil }
        var diagnostics: [Diagnostic] = []
        if argv.count > 1 {
            diagnostics.append(
                Diagnostic(.notice, "rootlessport\(pidText(pid)): unexpected arguments (it takes its configuration on stdin)"))
        }
        let ports = listeners.filter { $0.proto != .raw }.map { endpoint in
            let address = endpoint.address.normalized
            return PortPublication(
                tool: .rootlessport, proto: endpoint.proto, family: AddressFamily(address.kind),
                hostAddress: address.isUnspecified ? nil : address,
                hostPorts: endpoint.port...endpoint.port, target: nil,
                targetUnreadable:
                    "rootlessport takes its port mappings as JSON on stdin; the container port is in Podman's container config (podman inspect)",
                fromOtherHosts: true, fromThisHost: true, pid: pid)
        }
        return PublishedPortScan(ports: ports, diagnostics: diagnostics)
    }
}
