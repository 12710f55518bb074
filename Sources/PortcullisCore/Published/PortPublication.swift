/// Ports that are open on a host without a socket of the host behind them:
/// a DNAT rule (Docker, Podman's netavark, CNI portmap, kube-proxy, an
/// administrator's nft rule) sends new connections to a host port on to a
/// container, VM or pod, or a userland proxy (docker-proxy, rootlessport,
/// pasta) forwards them. Such a port is reached along prerouting and the
/// forward hook, so an input-chain firewall does not see it.

/// Who set up a published port: the tool whose rules or process publish it.
public enum PublishingTool: String, Sendable, Hashable, CaseIterable, Codable, CustomStringConvertible {
    /// Docker's DNAT rules: the DOCKER chain (iptables) or table docker-bridges (nftables backend).
    case docker
    /// Podman's netavark: table inet netavark, or NETAVARK-HOSTPORT-DNAT (iptables driver).
    case netavark
    /// The CNI portmap plugin: CNI-HOSTPORT-DNAT and CNI-DN-* (iptables), table cni_hostport (nftables).
    case cni
    /// kube-proxy: KUBE-SERVICES and KUBE-NODEPORTS (iptables mode), table kube-proxy (nftables mode).
    case kubeProxy = "kube-proxy"
    /// firewalld's forward ports (table inet firewalld).
    case firewalld
    /// A DNAT rule no known tool's chain names: written by hand, or by a tool portcullis does not recognise.
    case nft
    /// Docker's userland proxy, from its argv (`-host-ip ... -container-port ...`).
    case dockerProxy = "docker-proxy"
    /// Rootless Podman's port forwarder (bridge networks), from the sockets it holds.
    case rootlessport
    /// pasta (rootless Podman 5's default network), from its argv (`-t 8080:80`).
    case pasta

    /// The JSON spelling, so interpolating it writes it the same way.
    public var description: String { rawValue }
}

/// Which input interfaces a publishing rule accepts connections on.
public enum InterfaceLimit: Sendable, Hashable, CustomStringConvertible {
    /// Any interface.
    case any
    /// Only these (nft name patterns, `eth*` for a prefix).
    case only([String])
    /// Every interface but these (Docker's `! -i docker0`).
    case except([String])

    /// True unless connections on any interface are published (`.except` still limits).
    public var isLimited: Bool { self != .any }

    /// `any`, `only eth0`, `except docker0`.
    public var description: String {
        switch self {
        case .any: return "any"
        case .only(let names): return "only " + names.joined(separator: ", ")
        case .except(let names): return "except " + names.joined(separator: ", ")
        }
    }
}

/// Where a published port sends connections.
public struct PublishedTarget: Sendable, Hashable, CustomStringConvertible {
    /// The address connections are sent to (a container's, a VM's, a pod's);
    /// nil for a REDIRECT (a socket of this host) and for a proxy that
    /// forwards into a namespace without naming an address (pasta).
    public var address: IPAddress?
    /// The ports there, in step with the host ports: host port
    /// `hostPorts.lowerBound + i` goes to `ports.lowerBound + i` when the two
    /// ranges are as long; a one-port target takes every host port. A DNAT
    /// to a port range the host port lies outside of lets the kernel choose
    /// one port of the range.
    public var ports: ClosedRange<UInt16>

    /// True for a REDIRECT: the connection lands on a socket of this host.
    public var isThisHost: Bool

    /// A target: an address and its ports, this host's own ports
    /// (`isThisHost`, a REDIRECT), or ports of a namespace whose address
    /// the publisher does not name (`address` nil).
    public init(address: IPAddress?, ports: ClosedRange<UInt16>, isThisHost: Bool = false) {
        self.address = isThisHost ? nil : address
        self.ports = ports
        self.isThisHost = isThisHost
    }

    /// `172.17.0.2:80`, `[fd00::2]:80`, `this host:8080`, `10.0.0.4:9000-9002`,
    /// `container namespace:80`.
    public var description: String {
        let ports =
            self.ports.lowerBound == self.ports.upperBound
            ? "\(self.ports.lowerBound)" : "\(self.ports.lowerBound)-\(self.ports.upperBound)"
        if isThisHost { return "this host:\(ports)" }
        guard let address else { return "container namespace:\(ports)" }
        return address.kind == .v6 ? "[\(address)]:\(ports)" : "\(address):\(ports)"
    }
}

/// The nft rule that publishes a port, and the chains that lead to it.
public struct PublicationRule: Sendable, Hashable, CustomStringConvertible {
    /// The table's family: `ip`, `ip6`, `inet`.
    public var family: String
    /// The table: `nat`, `docker-bridges`, `netavark`, `kube-proxy`, ...
    public var table: String
    /// The chain holding the DNAT (or REDIRECT) statement.
    public var chain: String
    /// The rule's handle, for `nft delete rule ... handle N`.
    public var handle: Int64?
    /// The rule as nft-like text (escaped): `iifname != "docker0" tcp dport 8080 dnat to 172.17.0.2:80`.
    public var text: String
    /// The chains from the base chain to `chain`: `["PREROUTING", "DOCKER"]`.
    public var path: [String]

    /// `rule "TEXT" (ip nat DOCKER, handle 14)`, as the firewall's reasons name rules.
    public var description: String {
        "rule \"\(text)\" (\(NftText.clean("\(family) \(table) \(chain)"))\(handle.map { ", handle \($0)" } ?? ""))"
    }
}

/// One published port: host address and port(s), protocol, where the
/// connections go, what publishes it and under which conditions.
public struct PortPublication: Sendable, Hashable {
    /// Who set it up.
    public var tool: PublishingTool
    /// TCP or UDP.
    public var proto: TransportProtocol
    /// The family of the host address (and of the target).
    public var family: AddressFamily
    /// The host address connections must be sent to; nil for every address
    /// of the host (`0.0.0.0`/`::`, or a rule that names no destination).
    public var hostAddress: IPAddress?
    /// The host port, or range of ports (`9000-9002`; `1-65535` when the rule names no port).
    public var hostPorts: ClosedRange<UInt16>
    /// Where the connections go; nil when it could not be read (`targetUnreadable` says why).
    public var target: PublishedTarget?
    /// Why `target` is nil: an iptables-nft DNAT without iptables-save text,
    /// a NAT map keyed by something other than the port, ...
    public var targetUnreadable: String?
    /// The nft rule, for a port published by a DNAT; nil for a userland proxy.
    public var rule: PublicationRule?
    /// The input interfaces the rule takes connections on.
    public var inputInterfaces: InterfaceLimit
    /// Other conditions on the way to the DNAT, as nft-like text: a source
    /// restriction (`ip saddr 203.0.113.0/25`), an iptables extension
    /// portcullis cannot read. Empty for a plain `-p 8080:80`.
    public var conditions: [String]
    /// Reached by connections from other hosts (through the nat prerouting hook).
    public var fromOtherHosts: Bool
    /// Reached by connections this host opens itself (through the nat output hook).
    public var fromThisHost: Bool
    /// One of several targets the tool balances the port's connections
    /// between (kube-proxy's `numgen random` or `-m statistic`).
    public var loadBalanced: Bool
    /// For a userland proxy: the process that publishes the port.
    public var pid: Int32?

    /// The preconditions of the DNAT path that the forward judgement
    /// replays (source, destination, interface, protocol and port matches).
    var preconditions: [NftStatement] = []
    /// Bits the DNAT path sets in the packet's mark and in the connection's
    /// mark: forward-chain rules that test them see them set.
    var metaMarkBits: UInt64 = 0
    var ctMarkBits: UInt64 = 0
    /// The interface the DNAT rule excludes (`iifname != "docker0"`): the
    /// bridge the target lives behind, unless the caller names the route.
    var inferredOutputInterface: String?

    /// A published port; the forward-path details (preconditions, marks) stay empty.
    public init(
        tool: PublishingTool, proto: TransportProtocol, family: AddressFamily, hostAddress: IPAddress?,
        hostPorts: ClosedRange<UInt16>, target: PublishedTarget?, targetUnreadable: String? = nil,
        rule: PublicationRule? = nil, inputInterfaces: InterfaceLimit = .any, conditions: [String] = [],
        fromOtherHosts: Bool = true, fromThisHost: Bool = true, loadBalanced: Bool = false, pid: Int32? = nil
    ) {
        self.tool = tool
        self.proto = proto
        self.family = family
        self.hostAddress = hostAddress
        self.hostPorts = hostPorts
        self.target = target
        self.targetUnreadable = targetUnreadable
        self.rule = rule
        self.inputInterfaces = inputInterfaces
        self.conditions = conditions
        self.fromOtherHosts = fromOtherHosts
        self.fromThisHost = fromThisHost
        self.loadBalanced = loadBalanced
        self.pid = pid
    }

    /// How widely the host side is exposed: every address of the family,
    /// loopback, link-local or one address (as a listener's exposure).
    public var exposure: Exposure {
        guard let hostAddress else { return family == .ipv4 ? .allInterfacesIPv4 : .allInterfacesIPv6 }
        return Exposure(localAddress: hostAddress, v6only: true)
    }

    /// Published on every address of the host (not one address, not loopback).
    public var isOnEveryAddress: Bool { hostAddress == nil || hostAddress?.isUnspecified == true }

    /// The target port one host port goes to; nil when the kernel chooses
    /// it (a target range the host port does not map onto) or the target is unknown.
    public func targetPort(forHostPort port: UInt16) -> UInt16? {
        guard let target, hostPorts.contains(port) else { return nil }
        if target.ports.lowerBound == target.ports.upperBound { return target.ports.lowerBound }
        let offset = Int(port) - Int(hostPorts.lowerBound)
        guard target.ports.count == hostPorts.count else { return nil }
        return UInt16(Int(target.ports.lowerBound) + offset)
    }

    /// `0.0.0.0:8080/tcp`, `127.0.0.1:6379/tcp`, `[::]:9000-9002/udp`.
    public var hostEndpoint: String {
        let address = hostAddress ?? (family == .ipv4 ? .anyV4 : .anyV6)
        let ports =
            hostPorts.lowerBound == hostPorts.upperBound ? "\(hostPorts.lowerBound)" : "\(hostPorts.lowerBound)-\(hostPorts.upperBound)"
        let host = address.kind == .v6 ? "[\(address)]" : "\(address)"
        return "\(host):\(ports)/\(proto.rawValue)"
    }

    /// `0.0.0.0:8080/tcp -> 172.17.0.2:80 (docker)`.
    public var summary: String {
        "\(hostEndpoint) -> \(target?.description ?? "?") (\(tool))"
    }
}

/// The published ports of a ruleset, and what could not be read.
public struct PublishedPortScan: Sendable {
    /// Every published port found, in ruleset order.
    public var ports: [PortPublication]
    /// What was not understood (never silently dropped): an unreadable
    /// DNAT target, a jump to a missing chain, a loop, a budget exhausted.
    public var diagnostics: [Diagnostic]

    /// A scan result.
    public init(ports: [PortPublication], diagnostics: [Diagnostic]) {
        self.ports = ports
        self.diagnostics = diagnostics
    }
}
