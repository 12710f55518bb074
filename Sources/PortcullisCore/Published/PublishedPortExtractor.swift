extension FirewallModel {
    /// Every port the ruleset publishes: each DNAT (or REDIRECT) statement
    /// reachable from a nat chain on the prerouting or output hook,
    /// following jumps, gotos and verdict maps, with the conditions of the
    /// rules on the way (protocol, port, destination address, input
    /// interface, source). A rule only reachable from no hook does not
    /// count. What is not understood (an iptables-nft DNAT without
    /// iptables-save text, a NAT map keyed by something other than the
    /// port, a jump to a missing chain, a loop) is a diagnostic, and a port
    /// whose host side is known but whose target is not is still listed.
    public func publishedPorts() -> PublishedPortScan {
        var extractor = PublishedPortExtractor(ruleset: ruleset)
        extractor.run()
        return PublishedPortScan(ports: extractor.ports, diagnostics: extractor.diagnostics)
    }
}

/// The walk behind `FirewallModel.publishedPorts()`.
struct PublishedPortExtractor {
    let ruleset: NftRuleset
    var ports: [PortPublication] = []
    var diagnostics: [Diagnostic] = []
    /// Published ports already found, by identity, to merge the prerouting
    /// and output paths to one rule.
    var index: [Key: Int] = [:]
    var steps = 0
    var exhausted = false
    /// Diagnostics already given (a rule reached from two hooks is reported once).
    var said = Set<String>()

    static let maximumSteps = 100_000
    static let maximumDepth = 32
    /// More host ports or addresses than this from one rule are cut off (with a diagnostic).
    static let maximumExpansion = 256

    init(ruleset: NftRuleset) { self.ruleset = ruleset }

    struct Key: Hashable {
        var rule: NftChainID
        var handle: Int64?
        var proto: TransportProtocol
        var family: AddressFamily
        var hostAddress: IPAddress?
        var hostPorts: ClosedRange<UInt16>
        var target: PublishedTarget?
    }

    /// A match on the way to the DNAT, and where it was.
    struct Condition {
        var statement: NftStatement
        var chain: NftChainID
    }

    /// What holds on one path from a hook to a rule.
    struct Path {
        var hook: NftHook
        var chains: [NftChainID]
        var conditions: [Condition] = []
        /// Conditions portcullis cannot read, as text.
        var opaque: [String] = []
        var metaMark: UInt64 = 0
        var ctMark: UInt64 = 0
        var loadBalanced = false
    }

    mutating func note(_ severity: Diagnostic.Severity, _ message: String) {
        guard said.insert(message).inserted else { return }
        diagnostics.append(Diagnostic(severity, message))
    }

    mutating func run() {
        for id in ruleset.chainOrder {
            guard let chain = ruleset.chain(id), let base = chain.base, base.type == .nat else { continue }
            switch id.family {
            case .ip, .ip6, .inet: break
            default: continue
            }
            guard base.hook == .prerouting || base.hook == .output else { continue }
            visit(id, Path(hook: base.hook, chains: []))
        }
        if exhausted {
            note(
                .warning,
                "published ports: the nat chains are too large to follow (more than \(Self.maximumSteps) rule visits); "
                    + "ports published further in are missing")
        }
    }

    mutating func visit(_ id: NftChainID, _ path: Path) {
        guard !exhausted else { return }
        guard let chain = ruleset.chain(id) else {
            note(.warning, "published ports: a jump to chain \(NftText.clean(id.description)), which does not exist, was not followed")
            return
        }
        if path.chains.contains(id) {
            note(
                .warning,
                "published ports: chain \(NftText.clean(id.description)) jumps back into itself "
                    + "(\(path.chains.map { NftText.clean($0.name) }.joined(separator: " -> "))); the loop was not followed")
            return
        }
        guard path.chains.count < Self.maximumDepth else {
            note(.warning, "published ports: jumps nest deeper than \(Self.maximumDepth) at chain \(NftText.clean(id.description))")
            return
        }
        var inChain = path
        inChain.chains.append(id)
        // A chain that picks among its rules at random (kube-proxy's
        // `-m statistic` endpoints) balances every target it leads to.
        let random = chain.rules.contains { rule in
            rule.statements.contains {
                if case .opaqueCondition(let text) = $0 { return text.contains("statistic") }
                return false
            }
        }
        if random { inChain.loadBalanced = true }
        for rule in chain.rules {
            steps += 1
            if steps > Self.maximumSteps {
                exhausted = true
                return
            }
            let (unconditional, marks) = follow(rule, in: id, inChain)
            // A rule without conditions that sets a mark (directly or in
            // the chain it jumps to) sets it for every later rule.
            if unconditional {
                inChain.metaMark |= marks.meta
                inChain.ctMark |= marks.ct
            }
        }
    }

    /// Walks one rule; returns whether it has no conditions, and the marks it sets.
    mutating func follow(_ rule: NftRule, in chain: NftChainID, _ path: Path) -> (Bool, (meta: UInt64, ct: UInt64)) {
        var current = path
        var unconditional = true
        var marks: (meta: UInt64, ct: UInt64) = (0, 0)
        for (position, statement) in rule.statements.enumerated() {
            switch statement {
            case .match:
                current.conditions.append(Condition(statement: statement, chain: chain))
                unconditional = false
            case .opaqueCondition(let text):
                current.opaque.append(text)
                if text.contains("statistic") { current.loadBalanced = true }
                unconditional = false
            case .noEffect, .notrack, .updatesSet:
                continue
            case .setsMark(let change):
                let bits = change.setBits | (change.includesMetaMark ? current.metaMark : 0)
                if change.target == "meta mark" {
                    current.metaMark = (change.keepsOwnBits ? current.metaMark : 0) | bits
                    marks.meta |= bits
                } else if change.target == "ct mark" {
                    current.ctMark = (change.keepsOwnBits ? current.ctMark : 0) | bits
                    marks.ct |= bits
                }
            case .nat(let nat):
                if nat.kind.changesDestination { emit(nat, rule: rule, chain: chain, current) }
                return (unconditional, marks)
            case .verdict(.jump(let target)), .verdict(.goto(let target)):
                let id = NftChainID(family: chain.family, table: chain.table, name: target)
                if unconditional {
                    let set = marksSetUnconditionally(in: id, depth: 0)
                    marks.meta |= set.meta
                    marks.ct |= set.ct
                }
                visit(id, current)
                return (unconditional, marks)
            case .verdict:
                return (unconditional, marks)
            case .vmap(let key, let entries):
                followMap(key: key, entries: entries, chain: chain, current)
                return (false, marks)
            case .undecidable(let why):
                if let xt = rule.xtables.first(where: { $0.index == position }), xt.type == "target",
                    xt.name == "DNAT" || xt.name == "REDIRECT"
                {
                    var nat = NftNat(kind: xt.name == "DNAT" ? .dnat : .redirect)
                    nat.unreadable =
                        "an iptables-nft \(xt.name) target: nft's JSON does not show its \(xt.name == "DNAT" ? "--to-destination" : "--to-ports"); "
                        + "portcullis reads it from iptables-save's text when that is given"
                    emit(nat, rule: rule, chain: chain, current)
                    return (unconditional, marks)
                }
                // Something not understood (an unknown expression, an
                // xtables target such as MARK without iptables-save's
                // text): the rule may or may not go on, so what follows is
                // still followed, under that condition.
                current.opaque.append(why)
                unconditional = false
            }
        }
        return (unconditional, marks)
    }

    /// The marks a chain's condition-free rules set (and the chains they jump to).
    func marksSetUnconditionally(in id: NftChainID, depth: Int) -> (meta: UInt64, ct: UInt64) {
        guard depth < 4, let chain = ruleset.chain(id) else { return (0, 0) }
        var marks: (meta: UInt64, ct: UInt64) = (0, 0)
        rules: for rule in chain.rules {
            for statement in rule.statements {
                switch statement {
                case .match, .opaqueCondition, .vmap: continue rules
                case .setsMark(let change):
                    if change.target == "meta mark" { marks.meta |= change.setBits }
                    if change.target == "ct mark" { marks.ct |= change.setBits }
                case .verdict(.jump(let target)):
                    let inner = marksSetUnconditionally(in: NftChainID(family: id.family, table: id.table, name: target), depth: depth + 1)
                    marks.meta |= inner.meta
                    marks.ct |= inner.ct
                    continue rules
                case .verdict: break rules
                default: continue
                }
            }
        }
        return marks
    }

    /// A verdict map: each element is a path on which the key equals the element.
    mutating func followMap(key: NftExpr, entries: NftMapEntries, chain: NftChainID, _ path: Path) {
        let list: [NftMapEntry]
        switch entries {
        case .inline(let items): list = items
        case .named(let name):
            guard let map = ruleset.set(named: name, in: chain), let verdicts = map.verdicts else {
                note(
                    .warning,
                    "published ports: verdict map @\(NftText.clean(name)) in \(NftText.clean(chain.description)) is not a verdict map nft listed; "
                        + "the chains it leads to were not followed")
                return
            }
            list = verdicts
        }
        let keyParts: [NftExpr]
        if case .concat(let parts) = key { keyParts = parts } else { keyParts = [key] }
        for entry in list {
            let target: String
            switch entry.verdict {
            case .jump(let t), .goto(let t): target = t
            default: continue
            }
            var branch = path
            let values: [NftValue]
            if case .concat(let parts) = entry.key { values = parts } else { values = [entry.key] }
            if values.count == keyParts.count {
                for (part, value) in zip(keyParts, values) {
                    if case .other(kind: "numgen", _) = part {
                        branch.loadBalanced = list.count > 1 || branch.loadBalanced
                        continue
                    }
                    branch.conditions.append(Condition(statement: .match(op: .equal, left: part, right: value), chain: chain))
                }
            } else {
                branch.opaque.append(NftText.match(op: .equal, left: key, right: entry.key))
            }
            visit(NftChainID(family: chain.family, table: chain.table, name: target), branch)
        }
    }

    // MARK: - A DNAT found

    /// What the conditions on a path say of the packet.
    struct Shape {
        var protocols: Set<TransportProtocol> = [.tcp, .udp]
        var protocolNamed = false
        var ports = IntervalSet.all(bits: 16)
        var portNamed = false
        var addresses: [IPAddress]?
        /// `ip daddr != PREFIX`.
        var excluded: [(address: IPAddress, length: Int)] = []
        var family: AddressFamily?
        var interfaces = InterfaceLimit.any
        var excludedInterface: String?
        var other: [String] = []
        var preconditions: [NftStatement] = []
        var unreadable: [String] = []
    }

    func shape(of path: Path) -> Shape {
        var shape = Shape()
        for condition in path.conditions {
            guard case .match(let op, let left, let right) = condition.statement else { continue }
            let text = NftText.match(op: op, left: left, right: right)
            switch left {
            case .meta("l4proto"), .payload("ip", "protocol"), .payload("ip6", "nexthdr"):
                guard op.isEquality, let names = protocolNames(right, table: condition.chain) else {
                    shape.other.append(text)
                    continue
                }
                let protos = Set(names.compactMap(TransportProtocol.init(rawValue:)).filter { $0 != .raw })
                shape.protocols = op == .notEqual ? shape.protocols.subtracting(protos) : shape.protocols.intersection(protos)
                shape.protocolNamed = true
                shape.preconditions.append(condition.statement)
            case .payload(let proto, "dport") where ["tcp", "udp", "th"].contains(proto):
                if let p = TransportProtocol(rawValue: proto) {
                    shape.protocols = shape.protocols.intersection([p])
                    shape.protocolNamed = true
                }
                guard op.isEquality, let set = portSet(right, table: condition.chain) else {
                    shape.other.append(text)
                    continue
                }
                shape.ports = op == .notEqual ? shape.ports.subtracting(set) : shape.ports.intersection(set)
                shape.portNamed = true
                shape.preconditions.append(condition.statement)
            case .payload(let proto, let field) where ["tcp", "udp"].contains(proto):
                if let p = TransportProtocol(rawValue: proto) {
                    shape.protocols = shape.protocols.intersection([p])
                    shape.protocolNamed = true
                }
                shape.other.append(text)
                if field == "sport" { shape.preconditions.append(condition.statement) }
            case .payload(let proto, "daddr") where proto == "ip" || proto == "ip6":
                shape.family = proto == "ip" ? .ipv4 : .ipv6
                if op != .notEqual, let addresses = addressList(right, table: condition.chain) {
                    shape.addresses = shape.addresses.map { known in known.filter(addresses.contains) } ?? addresses
                    shape.preconditions.append(condition.statement)
                } else if op == .notEqual, let excluded = prefixOf(right) {
                    // Docker's output hook: `ip daddr != 127.0.0.0/8`.
                    shape.excluded.append(excluded)
                    if !(excluded.address.isLoopback && excluded.length == 8) { shape.other.append(text) }
                } else {
                    shape.other.append(text)
                }
            case .payload(let proto, "saddr") where proto == "ip" || proto == "ip6":
                shape.family = proto == "ip" ? .ipv4 : .ipv6
                shape.other.append(text)
                shape.preconditions.append(condition.statement)
            case .meta("iifname"), .meta("iif"):
                guard op.isEquality, let names = interfaceNames(right, table: condition.chain) else {
                    shape.other.append(text)
                    continue
                }
                switch (shape.interfaces, op) {
                case (.any, .notEqual): shape.interfaces = .except(names)
                case (.except(let known), .notEqual): shape.interfaces = .except(known + names.filter { !known.contains($0) })
                case (.only(let known), .notEqual): shape.interfaces = .only(known.filter { !names.contains($0) })
                case (.any, _): shape.interfaces = .only(names)
                case (.only(let known), _): shape.interfaces = .only(known.filter(names.contains))
                case (.except(let known), _): shape.interfaces = .only(names.filter { !known.contains($0) })
                }
                if op == .notEqual, names.count == 1 { shape.excludedInterface = names[0] }
                shape.preconditions.append(condition.statement)
            case .fib(let result, let flags) where result == "type" && flags == ["daddr"]:
                // `fib daddr type local` (or `-m addrtype --dst-type LOCAL`):
                // addressed to this host, which a host port is anyway.
                if op == .equal, case .string("local") = right { continue }
                shape.other.append(text)
            case .meta("nfproto"):
                if case .string(let name) = right { shape.family = name == "ipv4" ? .ipv4 : name == "ipv6" ? .ipv6 : shape.family }
                shape.other.append(text)
            default:
                shape.other.append(text)
            }
        }
        shape.other += path.opaque
        if let addresses = shape.addresses {
            shape.addresses = addresses.filter { address in
                !shape.excluded.contains {
                    address.kind == $0.address.kind && address.masked(toPrefix: $0.length) == $0.address.masked(toPrefix: $0.length)
                }
            }
        }
        return shape
    }

    /// `127.0.0.0/8` or a single address, as an address and prefix length.
    func prefixOf(_ value: NftValue) -> (address: IPAddress, length: Int)? {
        switch value {
        case .prefix(let a, let length): return IPAddress(parsing: a).map { ($0, Int(length)) }
        case .string(let a): return IPAddress(parsing: a).map { ($0, $0.bitWidth) }
        default: return nil
        }
    }

    mutating func emit(_ nat: NftNat, rule: NftRule, chain: NftChainID, _ path: Path) {
        var shape = shape(of: path)
        // `dnat to tcp dport map { ... }` carries nft's implicit `meta l4proto tcp`.
        for map in [nat.addressMap, nat.portMap].compactMap({ $0 }) {
            if case .payload(let proto, "dport") = map.key, let p = TransportProtocol(rawValue: proto) {
                shape.protocols = shape.protocols.intersection([p])
                shape.protocolNamed = true
            }
        }
        // Conditions of the DNAT rule's own statements before the NAT are on `path` already.
        let ruleRef = PublicationRule(
            family: chain.family.jsonName, table: chain.table, chain: chain.name, handle: rule.handle, text: NftText.rule(rule),
            path: path.chains.map(\.name))
        let location = "\(ruleRef)"
        // A path whose conditions contradict each other (the jump for
        // port 8080 leading to the DNAT for port 5432) publishes nothing.
        if shape.protocols.isEmpty || shape.ports.isEmpty || shape.addresses?.isEmpty == true { return }
        if !shape.protocolNamed {
            shape.other.append("no protocol named: TCP and UDP alike")
        }
        // Family: the table's, else the NAT's, else the addresses'.
        var families: [AddressFamily]
        switch chain.family {
        case .ip: families = [.ipv4]
        case .ip6: families = [.ipv6]
        default:
            if let f = nat.family {
                families = [f == "ip6" ? .ipv6 : .ipv4]
            } else if let f = shape.family {
                families = [f]
            } else {
                families = [.ipv4, .ipv6]
            }
        }
        // Targets per host port range: from a map, or one for all.
        var pieces: [(ports: IntervalSet, target: PublishedTarget?, unreadable: String?)] = []
        if let map = nat.addressMap {
            pieces = mapPieces(map, nat: nat, chain: chain, shape: shape)
            if pieces.isEmpty {
                pieces = [(shape.ports, nil, nat.unreadable ?? "a NAT map portcullis cannot read: \(NftText.natStatement(nat))")]
            }
        } else if let unreadable = nat.unreadable ?? (nat.portMap != nil ? "a NAT port map: \(NftText.natStatement(nat))" : nil) {
            pieces = [(shape.ports, nil, unreadable)]
        } else {
            for range in shape.ports.ranges.prefix(Self.maximumExpansion) {
                let hostPorts = Self.portRange(range)
                let (target, problem) = target(nat, hostPorts: hostPorts)
                pieces.append((IntervalSet([range]), target, problem))
            }
        }
        if shape.ports.ranges.count > Self.maximumExpansion {
            note(.notice, "published ports: \(location) names more than \(Self.maximumExpansion) port ranges; only the first are listed")
        }
        for piece in pieces where piece.unreadable != nil {
            note(.warning, "published ports: cannot read where \(location) sends connections: \(piece.unreadable ?? "")")
        }
        let tool = Self.tool(chain: chain, path: path.chains)
        let addresses: [IPAddress?] = shape.addresses.map { list in list.map { Optional($0) } } ?? [nil]
        for family in families {
            for address in addresses.prefix(Self.maximumExpansion) {
                if let address, (address.kind == .v4) != (family == .ipv4) { continue }
                for piece in pieces {
                    if let targetAddress = piece.target?.address, (targetAddress.kind == .v4) != (family == .ipv4) { continue }
                    for range in piece.ports.ranges.prefix(Self.maximumExpansion) {
                        for proto in [TransportProtocol.tcp, .udp] where shape.protocols.contains(proto) {
                            var port = PortPublication(
                                tool: tool, proto: proto, family: family, hostAddress: address, hostPorts: Self.portRange(range),
                                target: piece.target, targetUnreadable: piece.unreadable, rule: ruleRef,
                                inputInterfaces: shape.interfaces, conditions: shape.other, fromOtherHosts: path.hook == .prerouting,
                                fromThisHost: path.hook == .output, loadBalanced: path.loadBalanced)
                            port.preconditions = shape.preconditions
                            port.metaMarkBits = path.metaMark
                            port.ctMarkBits = path.ctMark
                            port.inferredOutputInterface = shape.excludedInterface
                            add(port, chain: chain, handle: rule.handle)
                        }
                    }
                }
            }
        }
    }

    /// Adds a port, or merges it into the same rule's port found from the other hook.
    mutating func add(_ port: PortPublication, chain: NftChainID, handle: Int64?) {
        let key = Key(
            rule: chain, handle: handle, proto: port.proto, family: port.family, hostAddress: port.hostAddress, hostPorts: port.hostPorts,
            target: port.target)
        if let known = index[key] {
            let old = ports[known]
            ports[known].fromOtherHosts = old.fromOtherHosts || port.fromOtherHosts
            ports[known].fromThisHost = old.fromThisHost || port.fromThisHost
            ports[known].loadBalanced = old.loadBalanced || port.loadBalanced
            // The prerouting path's conditions are the ones other hosts
            // meet; of two paths from one hook, the one with fewer
            // conditions (kube-proxy's session-affinity shortcut is the other).
            let better =
                (port.fromOtherHosts && !old.fromOtherHosts)
                || (port.fromOtherHosts == old.fromOtherHosts && port.conditions.count < old.conditions.count)
            if better {
                ports[known].conditions = port.conditions
                ports[known].preconditions = port.preconditions
                ports[known].inputInterfaces = port.inputInterfaces
                ports[known].metaMarkBits = port.metaMarkBits
                ports[known].ctMarkBits = port.ctMarkBits
            }
            return
        }
        index[key] = ports.count
        ports.append(port)
    }

    /// The target of a plain NAT statement for one host port range.
    func target(_ nat: NftNat, hostPorts: ClosedRange<UInt16>) -> (PublishedTarget?, String?) {
        var address: IPAddress?
        if let value = nat.address {
            switch value {
            case .string(let text):
                guard let a = IPAddress(parsing: text) else { return (nil, "address \(NftText.clean(text))") }
                address = a
            case .range(.string(let low), _):
                // A range of addresses: the kernel picks one per connection.
                guard let a = IPAddress(parsing: low) else { return (nil, "address range \(NftText.value(value))") }
                address = a
            default:
                return (nil, "address \(NftText.value(value))")
            }
        } else if nat.kind == .dnat {
            return (nil, "a DNAT without an address")
        }
        var ports = hostPorts
        if let value = nat.port {
            switch value {
            case .int(let p) where (0...65535).contains(p):
                ports = UInt16(p)...UInt16(p)
            case .range(.int(let low), .int(let high)) where 0 <= low && low <= high && high <= 65535:
                let range = UInt16(low)...UInt16(high)
                if let base = nat.portBase {
                    // iptables: LOW + (port - BASE).
                    let start = Int(low) + Int(hostPorts.lowerBound) - Int(base)
                    let end = Int(low) + Int(hostPorts.upperBound) - Int(base)
                    guard start >= 0, end <= 65535, start <= end else { return (nil, "port base \(base) out of range") }
                    ports = UInt16(start)...UInt16(end)
                } else if range.contains(hostPorts.lowerBound) && range.contains(hostPorts.upperBound) {
                    // A host port inside the target range keeps its number.
                    ports = hostPorts
                } else {
                    ports = range
                }
            default:
                return (nil, "port \(NftText.value(value))")
            }
        }
        return (PublishedTarget(address: address, ports: ports, isThisHost: nat.kind == .redirect), nil)
    }

    /// The pieces of a `dnat to KEY map { ... }` keyed by the destination port.
    func mapPieces(_ map: NftNatMap, nat: NftNat, chain: NftChainID, shape: Shape) -> [(
        ports: IntervalSet, target: PublishedTarget?, unreadable: String?
    )] {
        guard case .payload(let proto, "dport") = map.key, ["tcp", "udp", "th"].contains(proto) else {
            return [(shape.ports, nil, "a NAT map keyed by \(NftText.expr(map.key)), not by the port")]
        }
        let pairs: [NftMapPair]
        switch map.entries {
        case .inline(let items): pairs = items
        case .named(let name):
            guard let set = ruleset.set(named: name, in: chain), let data = set.data, data.count == set.elements.count else {
                return [(shape.ports, nil, "NAT map @\(NftText.clean(name)), which nft did not list with its data")]
            }
            pairs = zip(set.elements, data).map { NftMapPair(key: $0, value: $1) }
        }
        var out: [(ports: IntervalSet, target: PublishedTarget?, unreadable: String?)] = []
        for pair in pairs {
            guard let keys = portSet(pair.key, table: chain) else {
                out.append((shape.ports, nil, "NAT map key \(NftText.value(pair.key))"))
                continue
            }
            let ports = keys.intersection(shape.ports)
            if ports.isEmpty { continue }
            var element = nat
            element.addressMap = nil
            switch pair.value {
            case .concat(let parts) where parts.count == 2:
                element.address = parts[0]
                element.port = parts[1]
            default:
                element.address = pair.value
            }
            for range in ports.ranges {
                let (target, problem) = target(element, hostPorts: Self.portRange(range))
                out.append((IntervalSet([range]), target, problem))
            }
        }
        return out
    }

    // MARK: - Reading values

    static func portRange(_ range: ClosedRange<U128>) -> ClosedRange<UInt16> {
        UInt16(truncatingIfNeeded: range.lowerBound.lo)...UInt16(truncatingIfNeeded: min(range.upperBound.lo, 65535))
    }

    func portSet(_ value: NftValue, table: NftChainID) -> IntervalSet? {
        let spec = FieldSpec(key: "", bits: 16, category: .fixed, kind: .integer, initial: .all(bits: 16))
        return ValueReader(ruleset: ruleset, cache: [:]).intervals(value, spec, table: table)
    }

    func protocolNames(_ value: NftValue, table: NftChainID) -> [String]? {
        switch value {
        case .string(let s): return [s]
        case .int(6): return ["tcp"]
        case .int(17): return ["udp"]
        case .int: return ["other"]
        case .set(let items), .list(let items):
            var out: [String] = []
            for item in items {
                guard let names = protocolNames(item, table: table) else { return nil }
                out += names
            }
            return out
        default: return nil
        }
    }

    func addressList(_ value: NftValue, table: NftChainID) -> [IPAddress]? {
        switch value {
        case .string(let s): return IPAddress(parsing: s).map { [$0] }
        case .prefix(let a, let length):
            guard let address = IPAddress(parsing: a), length == address.bitWidth else { return nil }
            return [address]
        case .set(let items):
            var out: [IPAddress] = []
            for item in items {
                guard let list = addressList(item, table: table) else { return nil }
                out += list
            }
            return out
        case .setReference(let name):
            guard let set = ruleset.set(named: name, in: table), !set.isDynamic else { return nil }
            return addressList(.set(set.elements), table: table)
        default: return nil
        }
    }

    func interfaceNames(_ value: NftValue, table: NftChainID) -> [String]? {
        switch value {
        case .string(let s): return [s]
        case .int(1): return ["lo"]
        case .set(let items):
            var out: [String] = []
            for item in items {
                guard let names = interfaceNames(item, table: table) else { return nil }
                out += names
            }
            return out
        case .setReference(let name):
            guard let set = ruleset.set(named: name, in: table) else { return nil }
            return interfaceNames(.set(set.elements), table: table)
        default: return nil
        }
    }

    /// The tool whose chain names the DNAT's chain or the chains leading to it carry.
    static func tool(chain: NftChainID, path: [NftChainID]) -> PublishingTool {
        for id in [chain] + path.reversed() {
            let name = id.name
            let table = id.table
            if table == "docker-bridges" || name == "DOCKER" || name.hasPrefix("DOCKER-") { return .docker }
            if table == "netavark" || name.hasPrefix("NETAVARK") || name.hasPrefix("nv_") { return .netavark }
            if table == "cni_hostport" || name.hasPrefix("CNI-") { return .cni }
            if table == "kube-proxy" || name.hasPrefix("KUBE-") { return .kubeProxy }
            if table == "firewalld" || name.hasPrefix("nat_PRE_") || name.hasPrefix("nat_PREROUTING") { return .firewalld }
        }
        return .nft
    }
}
