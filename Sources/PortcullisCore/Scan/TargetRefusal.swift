/// The addresses a port scan does not send to, and why: a port scan
/// connects to single hosts, one at a time.
///
/// - the unspecified address (0.0.0.0, `::`): a connect to it reaches this
///   host itself, so its ports would be reported as someone else's;
/// - IPv4 multicast (224.0.0.0/4) and IPv6 multicast (ff00::/8);
/// - the limited broadcast address 255.255.255.255;
/// - the broadcast address of each directly connected IPv4 subnet
///   (`NetworkInterface.broadcastAddresses`: 10.0.0.255 of 10.0.0.1/24 on eth0);
/// - an IPv6 link-local address (fe80::/10) without a zone: which link it
///   is on cannot be guessed.
///
/// Named alone (or as what a hostname resolves to), such an address is an
/// error (`TargetError.refused`). Inside a CIDR block or range it is left
/// out, with a notice; a block of nothing else is an error. nmap scans the
/// network and broadcast addresses of a block as hosts; portcullis does too,
/// except a broadcast address the kernel would actually broadcast to.
public struct TargetRefusal: Sendable {
    /// Why an address is refused.
    public enum Kind: Sendable, Hashable {
        /// 0.0.0.0 or `::`.
        case unspecified
        /// In `block` (224.0.0.0/4 or ff00::/8).
        case multicast(block: String)
        /// 255.255.255.255.
        case limitedBroadcast
        /// The broadcast address of `network` ("10.0.0.0/24"), directly connected on `interface`.
        case subnetBroadcast(network: String, interface: String)
        /// fe80::/10 without a zone.
        case linkLocal
    }

    /// A refused block of addresses.
    public struct Rule: Sendable, Hashable {
        /// The addresses refused.
        public var range: AddressRange
        /// Why.
        public var kind: Kind
    }

    /// Every rule, the fixed ones first, then each connected subnet's broadcast address.
    public let rules: [Rule]
    /// An interface name for examples in messages (`fe80::1%eth0`): the first with a link-local address, else the first that is not loopback.
    let exampleInterface: String
    /// "lo, eth0", for messages.
    let interfaceNames: String

    static let singleHosts = "a port scan sends only to single hosts"

    /// The rules for a host with `interfaces` (its connected subnets' broadcast addresses).
    public init(interfaces: [NetworkInterface]) {
        func range(_ text: String, _ prefix: Int) -> AddressRange {
            AddressRange(network: IPAddress(parsing: text) ?? .anyV6, prefixLength: prefix)
        }
        var rules: [Rule] = [
            Rule(range: AddressRange(.anyV4), kind: .unspecified),
            Rule(range: AddressRange(IPAddress(v4: 255, 255, 255, 255)), kind: .limitedBroadcast),
            Rule(range: range("224.0.0.0", 4), kind: .multicast(block: "224.0.0.0/4")),
            Rule(range: AddressRange(.anyV6), kind: .unspecified),
            Rule(range: range("fe80::", 10), kind: .linkLocal),
            Rule(range: range("ff00::", 8), kind: .multicast(block: "ff00::/8")),
        ]
        var seen = Set<IPAddress>()
        for interface in interfaces.sorted(by: { $0.index < $1.index }) {
            for broadcast in interface.broadcastAddresses where !rules.contains(where: { $0.range.contains(broadcast.address) }) {
                guard seen.insert(broadcast.address).inserted else { continue }
                rules.append(
                    Rule(
                        range: AddressRange(broadcast.address),
                        kind: .subnetBroadcast(
                            network: "\(broadcast.network.first)/\(broadcast.prefixLength)", interface: UntrustedText.escape(interface.name)
                        )))
            }
        }
        self.rules = rules
        let sorted = interfaces.sorted { $0.index < $1.index }
        // The first interface link-local hosts could be on (one with a link-local address of its own).
        let linked = sorted.first { !$0.isLoopback && $0.addresses.contains { $0.address.acceptsZone } }
        exampleInterface = UntrustedText.escape((linked ?? sorted.first { !$0.isLoopback })?.name ?? "eth0")
        interfaceNames = sorted.namesForMessages
    }

    /// Why `address` is not a port-scan target, or nil when it is one.
    /// `scoped`: the address came with a zone, so link-local is fine.
    public func reason(for address: IPAddress, scoped: Bool = false) -> String? {
        let plain = address.normalized
        guard let rule = rules.first(where: { $0.range.contains(plain) }) else { return nil }
        if scoped && rule.kind == .linkLocal { return nil }
        return Self.reason(address, rule.kind, example: exampleInterface, interfaces: interfaceNames)
    }

    static func reason(_ address: IPAddress, _ kind: Kind, example: String, interfaces: String) -> String {
        switch kind {
        case .unspecified:
            return "\(address) is the unspecified address: a connect to it reaches this host itself "
                + "(to scan this host, name \(address.kind == .v4 ? "127.0.0.1" : "::1"))"
        case .multicast(let block): return "\(address) is a multicast address (\(block)): \(singleHosts)"
        case .limitedBroadcast: return "\(address) is the limited broadcast address: \(singleHosts)"
        case .subnetBroadcast(let network, let interface):
            return "\(address) is the broadcast address of \(network) on \(interface): \(singleHosts)"
        case .linkLocal:
            return "\(address) is link-local: name the interface, as \(address)%\(example) (interfaces: \(interfaces))"
        }
    }

    /// What a notice says after "leaving out ADDRESSES: ".
    func why(_ kind: Kind) -> String {
        switch kind {
        case .unspecified: return "the unspecified address (a connect to it reaches this host itself)"
        case .multicast(let block): return "multicast (\(block)); \(Self.singleHosts)"
        case .limitedBroadcast: return "the limited broadcast address; \(Self.singleHosts)"
        case .subnetBroadcast(let network, let interface):
            return "the broadcast address of \(network) on \(interface); \(Self.singleHosts)"
        case .linkLocal:
            return "link-local without an interface (name link-local hosts one at a time with their zone, as fe80::1%\(exampleInterface))"
        }
    }

    /// Throws `TargetError.refused` for a target that is refused: a single
    /// address, the address a hostname resolved to, or a block or range
    /// with no address left once the refused ones are taken out.
    public func check(_ specs: [TargetSpec], resolved: [String: [IPAddress]]) throws(TargetError) {
        for spec in specs {
            switch spec {
            case .address(let address):
                if let reason = reason(for: address) { throw .refused(target: spec.description, reason: reason) }
            case .scoped(let address, _):
                if let reason = reason(for: address, scoped: true) { throw .refused(target: spec.description, reason: reason) }
            case .hostname(let name):
                for address in resolved[name] ?? [] {
                    if let reason = reason(for: address) {
                        throw .refused(target: name, reason: "it resolves to \(address); \(reason)")
                    }
                }
            case .network, .range:
                guard let range = spec.addresses else { continue }
                if range.count == AddressCount(1), let reason = reason(for: range.first) {
                    throw .refused(target: spec.description, reason: reason)
                }
                let all = TargetSet.merged(rules.map(\.range))
                guard TargetSet.subtracting(all, from: [range]).isEmpty,
                    let rule = rules.first(where: { $0.range.contains(range.first) })
                else { continue }
                let reason: String
                switch rule.kind {
                case .linkLocal:
                    reason =
                        "it is link-local: name link-local hosts one at a time with their interface, as fe80::1%\(exampleInterface) "
                        + "(interfaces: \(interfaceNames))"
                case .multicast(let block): reason = "every address of it is multicast (\(block)): \(Self.singleHosts)"
                default: reason = "no address of it can be port-scanned (\(why(rule.kind)))"
                }
                throw .refused(target: spec.description, reason: reason)
            }
        }
    }

    /// `ranges` (sorted, merged) without the refused addresses, and a
    /// notice for each rule that took something out.
    public func leavingOut(from ranges: [AddressRange]) -> (kept: [AddressRange], notices: [Diagnostic]) {
        var notices: [Diagnostic] = []
        var cut: [AddressRange] = []
        for rule in rules {
            var pieces: [AddressRange] = []
            for range in ranges where range.kind == rule.range.kind {
                let first = max(range.first, rule.range.first)
                let last = min(range.last, rule.range.last)
                if let piece = AddressRange(first: first, last: last) { pieces.append(piece) }
            }
            guard !pieces.isEmpty else { continue }
            cut += pieces
            let total = pieces.reduce(AddressCount.zero) { $0 + $1.count }
            let what: String
            if total == AddressCount(1) {
                what = pieces[0].first.description
            } else if pieces.count == 1 {
                what = "\(pieces[0].first)-\(pieces[0].last) (\(total) addresses)"
            } else {
                what = "\(total) addresses of \(rule.range.first)-\(rule.range.last)"
            }
            notices.append(Diagnostic(.notice, "leaving out \(what): \(why(rule.kind))"))
        }
        guard !cut.isEmpty else { return (ranges, []) }
        return (TargetSet.subtracting(TargetSet.merged(cut), from: ranges), notices)
    }
}
