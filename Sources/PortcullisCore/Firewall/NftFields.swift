/// Who decides a packet property the ruleset tests, which says what a path
/// that depends on it means.
enum FieldCategory: Hashable, Sendable {
    /// The sender or its network: source address and port, input interface.
    /// A port reachable only on such a path is reachable from some hosts.
    case source
    /// Which of this host's addresses the packet is sent to (a wildcard
    /// listener has them all).
    case destination
    /// How the sender builds the packet (TTL, TCP flags besides SYN, IPv6
    /// extension headers, length): anyone can choose it.
    case shape
    /// Fixed by the listener or by the hook (destination port, protocol,
    /// connection-tracking state). A path split on it depends on state this
    /// model does not see, and is treated as opaque.
    case fixed
}

/// How the values of a field are written in the ruleset.
enum ValueKind: Hashable, Sendable {
    case integer, ipv4, ipv6, l4proto, nfproto, ethertype, ctState, ctStatus, ctDirection
    case tcpFlags, pkttype, iiftype, fibType

    /// Flag sets, for which nft's implicit match (`ct state established`,
    /// JSON op "in") means "any of these bits".
    var isBitmask: Bool { self == .ctState || self == .ctStatus || self == .tcpFlags }

    /// Symbolic names nft prints for this kind (from nft's own tables and,
    /// for protocols, /etc/protocols). A name not listed makes the value
    /// unreadable, and the match opaque.
    var names: [String: UInt64] {
        switch self {
        case .l4proto: return Self.protocolNumbers
        case .nfproto: return ["ipv4": 2, "ipv6": 10, "inet": 1, "arp": 3, "bridge": 7, "netdev": 5]
        case .ethertype: return ["ip": 0x0800, "arp": 0x0806, "ip6": 0x86dd, "vlan": 0x8100, "8021q": 0x8100, "8021ad": 0x88a8]
        case .ctState: return ["invalid": 1, "established": 2, "related": 4, "new": 8, "untracked": 64]
        case .ctStatus:
            return ["expected": 1, "seen-reply": 2, "assured": 4, "confirmed": 8, "snat": 16, "dnat": 32, "dying": 512]
        case .ctDirection: return ["original": 0, "reply": 1]
        case .tcpFlags: return ["fin": 1, "syn": 2, "rst": 4, "psh": 8, "ack": 16, "urg": 32, "ecn": 64, "cwr": 128]
        case .pkttype: return ["host": 0, "unicast": 0, "broadcast": 1, "multicast": 2, "other": 3]
        case .iiftype:
            return [
                "ether": 1, "infiniband": 32, "ppp": 512, "ipip": 768, "ip6tnl": 769, "loopback": 772, "sit": 776,
                "ipgre": 778, "ip6gre": 823, "none": 65534,
            ]
        case .fibType:
            return [
                "unspec": 0, "unicast": 1, "local": 2, "broadcast": 3, "anycast": 4, "multicast": 5, "blackhole": 6,
                "unreachable": 7, "prohibit": 8,
            ]
        case .integer, .ipv4, .ipv6: return [:]
        }
    }

    static let protocolNumbers: [String: UInt64] = [
        "hopopt": 0, "icmp": 1, "igmp": 2, "ggp": 3, "ipencap": 4, "ipip": 4, "st": 5, "tcp": 6, "egp": 8, "igp": 9,
        "pup": 12, "udp": 17, "hmp": 20, "xns-idp": 22, "rdp": 27, "iso-tp4": 29, "dccp": 33, "xtp": 36, "ddp": 37,
        "idpr-cmtp": 38, "ipv6": 41, "ipv6-route": 43, "ipv6-frag": 44, "idrp": 45, "rsvp": 46, "gre": 47, "esp": 50,
        "ah": 51, "skip": 57, "icmpv6": 58, "ipv6-icmp": 58, "ipv6-nonxt": 59, "ipv6-opts": 60, "rspf": 73, "vmtp": 81,
        "eigrp": 88, "ospf": 89, "ax.25": 93, "ipip-old": 94, "etherip": 97, "encap": 98, "pim": 103, "ipcomp": 108,
        "comp": 108, "vrrp": 112, "l2tp": 115, "isis": 124, "sctp": 132, "fc": 133, "mobility-header": 135, "mh": 135,
        "udplite": 136, "mpls-in-ip": 137, "manet": 138, "hip": 139, "shim6": 140, "wesp": 141, "rohc": 142,
        "ethernet": 143,
    ]
}

/// A header field whose possible values the evaluator tracks per path.
struct FieldSpec: Hashable, Sendable {
    /// Identity in a path's domains; fields that are the same value
    /// (`ip protocol`, `meta l4proto`) share a key.
    var key: String
    var bits: Int
    var category: FieldCategory
    var kind: ValueKind
    /// Every value a packet of the modelled class can have here.
    var initial: IntervalSet
}

/// What an expression reads, for the packet being modelled.
enum ResolvedField: Sendable {
    case tracked(FieldSpec)
    /// `FIELD & MASK`, evaluated value by value over a small domain.
    case masked(FieldSpec, mask: NftValue)
    /// The input interface, by name (`iifname`) or by index (`iif`).
    case inputInterface(byName: Bool)
    /// `oif`/`oifname` before routing has chosen an output device.
    case outputInterface
    /// A header this packet does not have (`icmp type` for TCP): nft's
    /// implicit protocol dependency makes every such match fail.
    case absent
    /// Decided by the packet but not modelled: the path splits on an atom.
    case untracked(FieldCategory)
    /// Host state portcullis cannot see (marks, rate limits, sockets).
    case opaque
}

/// Where in the packet's journey a chain runs; connection tracking state
/// depends on it.
struct HookPoint: Hashable, Sendable {
    /// ingress, prerouting or input.
    var hook: NftHook
    /// A bridge-family chain: the frame is crossing a bridge port.
    var bridged = false
    var priority: Int64

    /// "ingress", "prerouting", "input", "bridge-prerouting", "bridge-input".
    var name: String { (bridged ? "bridge-" : "") + hook.jsonName }

    /// conntrack's own prerouting hook runs at priority -200 (NF_IP_PRI_CONNTRACK).
    static let conntrackPriority: Int64 = -200

    enum Tracking { case before, ambiguous, after, bridged }

    var tracking: Tracking {
        if bridged { return .bridged }
        switch hook {
        case .ingress: return .before
        case .prerouting:
            if priority < Self.conntrackPriority { return .before }
            return priority == Self.conntrackPriority ? .ambiguous : .after
        default: return .after
        }
    }
}

/// Where a published port's packet goes after its DNAT.
struct ForwardPath: Sendable {
    /// The new destination; nil for a REDIRECT (a socket of this host).
    var targetAddress: IPAddress?
    /// The new destination port.
    var targetPort: UInt16
    /// The interface the route to the target leaves by, when known.
    var outputInterface: String?
    /// Bits the DNAT path set in the packet's mark, and in the connection's.
    var metaMarkBits: UInt64 = 0
    var ctMarkBits: UInt64 = 0

    /// A REDIRECT: delivered to this host through the input hook.
    var isLocal: Bool { targetAddress == nil }
}

/// The class of packets whose fate is judged: NEW inbound connections (TCP
/// SYN) or datagrams from another host, to one listener.
struct ListenerPacket: Sendable {
    var family: AddressFamily
    /// 6 (TCP) or 17 (UDP).
    var l4proto: UInt64
    var port: UInt16
    /// The listener's address, or every address (minus loopback) for a
    /// wildcard listener: "some address of this host".
    var destinations: IntervalSet
    /// A `dnat` or `redirect` can send packets to this port: `ct status
    /// dnat` can be set, by a sender who addresses the original port.
    var dnatPossible: Bool
    /// A nat chain on input: `ct status snat` can be set.
    var snatPossible: Bool
    /// Set for the packet of a published port: it was sent to the host
    /// port, a DNAT rule rewrote it, and it goes on to the forward hook
    /// (or, for a REDIRECT, to the input hook) with the new address and port.
    var forward: ForwardPath? = nil
    /// Skip every nat-type base chain: for the question "what would the
    /// input hook do with this packet were it not translated".
    var ignoresNAT = false

    var addressBits: Int { family == .ipv4 ? 32 : 128 }

    /// nat prerouting's own priority (NF_IP_PRI_NAT_DST): chains after it see the translated packet.
    static let dnatPriority: Int64 = -100

    /// Whether a chain at `point` sees the translated destination.
    func isTranslated(_ point: HookPoint) -> Bool {
        guard forward != nil, !point.bridged else { return false }
        switch point.hook {
        case .forward, .input: return true
        case .prerouting: return point.priority > Self.dnatPriority
        default: return false
        }
    }

    /// A connection-opening SYN: SYN set, ACK, RST and FIN clear (Linux drops
    /// SYN+FIN and answers SYN+ACK or RST at a listener without a
    /// connection), any of PSH, URG, ECE, CWR. Listing every such value keeps
    /// "filtered" honest: a rule that drops only the plain SYN does not stop
    /// an ECN SYN.
    static let synFlagValues: IntervalSet = {
        var values: [UInt64] = []
        for v: UInt64 in 0...255 where v & 2 != 0 && v & (1 | 4 | 16) == 0 { values.append(v) }
        return .values(values)
    }()

    func resolve(_ e: NftExpr, point: HookPoint, untracked: Bool) -> ResolvedField {
        switch e {
        case .payload(let proto, let field):
            if let forward, isTranslated(point) {
                if field == "dport", ["tcp", "udp", "th"].contains(proto) {
                    if proto == "tcp" && l4proto != 6 || proto == "udp" && l4proto != 17 { return .absent }
                    return tracked("dport@dnat", 16, .fixed, .integer, .single(UInt64(forward.targetPort)))
                }
                if field == "daddr", let address = forward.targetAddress, proto == "ip" || proto == "ip6" {
                    guard (proto == "ip") == (family == .ipv4) else { return .absent }
                    return tracked("\(proto) daddr@dnat", addressBits, .fixed, family == .ipv4 ? .ipv4 : .ipv6, .single(U128(address)))
                }
            }
            return payload(proto, field)
        case .rawPayload: return .opaque
        case .meta(let key): return meta(key)
        case .ct(let key, let direction): return ct(key, direction: direction, point: point, untracked: untracked)
        case .fib(let result, let flags):
            if flags.contains("saddr") { return .untracked(.source) }
            if flags == ["daddr"] && result == "type" {
                // Unicast to one of our addresses is "local"; UDP may also
                // come as broadcast or multicast. After a DNAT to another
                // address it is that address's type: unicast.
                let translatedAway = isTranslated(point) && forward?.targetAddress != nil
                let values: IntervalSet = translatedAway ? .single(1) : l4proto == 6 ? .single(2) : .values([2, 3, 5])
                return .tracked(FieldSpec(key: "fib daddr type", bits: 8, category: .shape, kind: .fibType, initial: values))
            }
            if flags.contains("daddr") { return .untracked(.destination) }
            return .opaque
        case .binary(let op, let inner, let mask):
            switch resolve(inner, point: point, untracked: untracked) {
            case .tracked(let spec) where op == .and: return .masked(spec, mask: mask)
            case .tracked(let spec), .masked(let spec, _): return spec.category == .fixed ? .opaque : .untracked(spec.category)
            case .inputInterface: return .untracked(.source)
            case .absent: return .absent
            case .untracked(let c): return .untracked(c)
            case .outputInterface, .opaque: return .opaque
            }
        case .concat: return .opaque  // handled by the set lookup
        case .other(let kind, _):
            // Options and extension headers are the sender's choice.
            let senderChosen = ["exthdr", "tcp option", "ip option", "sctp chunk", "dccp option", "osf"]
            return senderChosen.contains(kind) ? .untracked(.shape) : .opaque
        }
    }

    func tracked(
        _ key: String, _ bits: Int, _ category: FieldCategory, _ kind: ValueKind = .integer,
        _ initial: IntervalSet? = nil
    ) -> ResolvedField {
        .tracked(FieldSpec(key: key, bits: bits, category: category, kind: kind, initial: initial ?? .all(bits: bits)))
    }

    /// The sender picks its source port freely (`udp sport 53 accept` is
    /// the classic firewall bypass): packet shape, not who the sender is.
    var sourcePort: ResolvedField { tracked("sport", 16, .shape) }
    var destinationPort: ResolvedField { tracked(Self.portKey, 16, .fixed, .integer, .single(UInt64(port))) }
    /// The key of the destination-port field: the only field holding `port`.
    static let portKey = "dport"
    var protocolField: ResolvedField { tracked("l4proto", 8, .fixed, .l4proto, .single(l4proto)) }

    func payload(_ proto: String, _ field: String) -> ResolvedField {
        switch proto {
        case "ip":
            guard family == .ipv4 else { return .absent }
            switch field {
            case "saddr": return tracked("ip saddr", 32, .source, .ipv4)
            case "daddr": return tracked("ip daddr", 32, .destination, .ipv4, destinations)
            case "protocol": return protocolField
            case "version": return tracked("ip version", 4, .fixed, .integer, .single(4))
            case "hdrlength": return tracked("ip hdrlength", 4, .shape, .integer, IntervalSet([U128(5)...U128(15)]))
            case "ttl": return tracked("ip ttl", 8, .shape)
            case "length", "id", "frag-off", "checksum": return tracked("ip \(field)", 16, .shape)
            case "dscp": return tracked("ip dscp", 6, .shape)
            case "ecn": return tracked("ip ecn", 2, .shape)
            default: return .untracked(.shape)
            }
        case "ip6":
            guard family == .ipv6 else { return .absent }
            switch field {
            case "saddr": return tracked("ip6 saddr", 128, .source, .ipv6)
            case "daddr": return tracked("ip6 daddr", 128, .destination, .ipv6, destinations)
            case "nexthdr":
                // The first next-header: the transport protocol, or an
                // extension header the sender put in front of it.
                return tracked("ip6 nexthdr", 8, .shape, .l4proto, .values([l4proto, 0, 43, 44, 60]))
            case "version": return tracked("ip6 version", 4, .fixed, .integer, .single(6))
            case "hoplimit": return tracked("ip6 hoplimit", 8, .shape)
            case "flowlabel": return tracked("ip6 flowlabel", 20, .shape)
            case "length": return tracked("ip6 length", 16, .shape)
            case "dscp": return tracked("ip6 dscp", 6, .shape)
            case "ecn": return tracked("ip6 ecn", 2, .shape)
            default: return .untracked(.shape)
            }
        case "tcp", "udp", "th":
            if proto == "tcp" && l4proto != 6 { return .absent }
            if proto == "udp" && l4proto != 17 { return .absent }
            switch field {
            case "sport": return sourcePort
            case "dport": return destinationPort
            case "flags" where proto == "tcp":
                return tracked("tcp flags", 8, .shape, .tcpFlags, Self.synFlagValues)
            case "doff" where proto == "tcp": return tracked("tcp doff", 4, .shape, .integer, IntervalSet([U128(5)...U128(15)]))
            case "window", "urgptr", "checksum", "length": return tracked("\(proto) \(field)", 16, .shape)
            case "sequence", "ackseq": return tracked("\(proto) \(field)", 32, .shape)
            default: return .untracked(.shape)
            }
        case "ether", "vlan":
            return field == "saddr" ? .untracked(.source) : .untracked(.shape)
        case "icmp", "icmpv6", "igmp", "sctp", "dccp", "udplite", "esp", "ah", "comp", "gre", "arp", "rt", "mh", "hbh",
            "frag", "dst":
            return .absent
        default:
            return .opaque
        }
    }

    func meta(_ key: String) -> ResolvedField {
        switch key {
        case "l4proto": return protocolField
        case "nfproto": return tracked("nfproto", 8, .fixed, .nfproto, .single(family == .ipv4 ? 2 : 10))
        case "protocol": return tracked("ethertype", 16, .fixed, .ethertype, .single(family == .ipv4 ? 0x0800 : 0x86dd))
        case "iifname": return .inputInterface(byName: true)
        case "iif": return .inputInterface(byName: false)
        case "oifname", "oif": return .outputInterface
        case "iiftype":
            // Anything but the loopback device type.
            return tracked("meta iiftype", 16, .source, .iiftype, IntervalSet.all(bits: 16).subtracting(.single(772)))
        case "pkttype":
            let values: IntervalSet = l4proto == 6 ? .single(0) : .values([0, 1, 2])
            return tracked("meta pkttype", 8, .shape, .pkttype, values)
        case "length": return tracked("meta length", 32, .shape)
        default:
            // mark, skuid, skgid, cgroup, priority, time, day, hour, cpu,
            // random, iifgroup, secpath, ...: host state.
            return .opaque
        }
    }

    func ct(_ key: String, direction: String?, point: HookPoint, untracked: Bool) -> ResolvedField {
        if forward != nil, direction == "original", point.tracking == .after, !untracked {
            // The connection's original direction: what the sender addressed.
            switch key {
            case "proto-dst": return destinationPort
            case "proto-src": return sourcePort
            case "daddr": return family == .ipv4 ? payload("ip", "daddr") : payload("ip6", "daddr")
            case "saddr": return family == .ipv4 ? payload("ip", "saddr") : payload("ip6", "saddr")
            default: return .opaque
            }
        }
        guard direction == nil else { return .opaque }
        let tracking = point.tracking
        switch key {
        case "state":
            // Before conntrack has seen the packet its state reads as
            // invalid; after `notrack`, untracked; afterwards, new.
            let values: IntervalSet
            switch tracking {
            case _ where untracked: values = .single(64)
            case .before: values = .single(1)
            case .ambiguous: values = .values([1, 8])
            case .bridged: values = .values([1, 8, 64])
            case .after: values = .single(8)
            }
            return tracked("ct state@\(point.name)/\(point.priority)", 8, .fixed, .ctState, values)
        case "direction":
            guard tracking == .after, !untracked else { return .opaque }
            return tracked("ct direction", 8, .fixed, .ctDirection, .single(0))
        case "status":
            guard tracking == .after, !untracked else { return .opaque }
            if forward != nil {
                // The published port's connection was DNATed (a REDIRECT too).
                return tracked("ct status", 16, .destination, .ctStatus, .single(32))
            }
            var values: [UInt64] = [0]
            if dnatPossible { values.append(32) }
            if snatPossible { values.append(16) }
            if dnatPossible && snatPossible { values.append(48) }
            // Whether the packet was DNATed here depends on where the sender
            // sent it: a destination choice, not hidden state.
            return tracked("ct status", 16, .destination, .ctStatus, .values(values))
        case "l3proto":
            guard tracking == .after, !untracked else { return .opaque }
            return tracked("nfproto", 8, .fixed, .nfproto, .single(family == .ipv4 ? 2 : 10))
        case "protocol":
            guard tracking == .after, !untracked else { return .opaque }
            return protocolField
        default:
            return .opaque
        }
    }
}

// MARK: - Values

extension U128 {
    init(_ address: IPAddress) {
        self.init(hi: address.high, lo: address.low)
    }
}

/// Turns ruleset values into sets of field values.
struct ValueReader: Sendable {
    let ruleset: NftRuleset
    /// Named sets already turned into interval sets, by kind.
    let cache: [NftChainID: [ValueKind: IntervalSet]]

    /// nil when the value cannot be read for this field (an unknown name,
    /// an expression, a concatenation): the match is then not modelled.
    func intervals(_ v: NftValue, _ spec: FieldSpec, table: NftChainID) -> IntervalSet? {
        switch v {
        case .int(let i):
            guard i >= 0, spec.bits >= 64 || UInt64(i) <= U128.maxValue(bits: spec.bits).lo else { return nil }
            return .single(UInt64(i))
        case .string(let s): return scalar(s, spec).map { .single($0) }
        case .bool: return nil
        case .prefix(let address, let length):
            guard let base = scalar(address, spec), spec.kind == .ipv4 || spec.kind == .ipv6,
                length >= 0, length <= Int64(spec.bits)
            else { return nil }
            let mask = U128.prefixMask(length: Int(length), bits: spec.bits)
            let low = base & mask
            return IntervalSet([low...(low | (U128.maxValue(bits: spec.bits) & ~mask))])
        case .range(let a, let b):
            guard let low = intervals(a, spec, table: table)?.onlyValue, let high = intervals(b, spec, table: table)?.onlyValue,
                low <= high
            else { return nil }
            return IntervalSet([low...high])
        case .set(let items):
            var all: [ClosedRange<U128>] = []
            for item in items {
                guard let part = intervals(item, spec, table: table) else { return nil }
                all += part.ranges
            }
            return IntervalSet(all)
        case .list(let items):
            // A flag list: the bits OR-ed into one value.
            guard spec.kind.isBitmask else { return nil }
            var bits = U128.zero
            for item in items {
                guard let part = intervals(item, spec, table: table)?.onlyValue else { return nil }
                bits = bits | part
            }
            return .single(bits)
        case .setReference(let name):
            guard let set = ruleset.set(named: name, in: table) else { return nil }
            if let cached = cache[set.id]?[spec.kind] { return cached }
            return intervals(.set(set.elements), spec, table: table)
        case .concat, .other: return nil
        }
    }

    func scalar(_ s: String, _ spec: FieldSpec) -> U128? {
        switch spec.kind {
        case .ipv4, .ipv6:
            guard let address = IPAddress(parsing: s), (address.kind == .v4) == (spec.kind == .ipv4) else { return nil }
            return U128(address)
        case .integer:
            return UInt64(s).map(U128.init)
        default:
            if let named = spec.kind.names[s] { return U128(named) }
            return UInt64(s).map(U128.init)
        }
    }

    /// Interface name patterns; nil when the value is not a name.
    func interfacePatterns(_ v: NftValue, byName: Bool, table: NftChainID) -> [NamePattern]? {
        switch v {
        case .string(let s): return [NamePattern(nft: s)]
        case .int(let i) where !byName:
            // Index 1 is always the loopback device (LOOPBACK_IFINDEX).
            return [NamePattern(nft: i == 1 ? "lo" : "#\(i)")]
        case .set(let items):
            var out: [NamePattern] = []
            for item in items {
                guard let p = interfacePatterns(item, byName: byName, table: table) else { return nil }
                out += p
            }
            return out
        case .setReference(let name):
            guard let set = ruleset.set(named: name, in: table) else { return nil }
            return interfacePatterns(.set(set.elements), byName: byName, table: table)
        default: return nil
        }
    }

    /// Caches the named sets whose declared type says how to read them.
    static func buildCache(_ ruleset: NftRuleset) -> [NftChainID: [ValueKind: IntervalSet]] {
        let reader = ValueReader(ruleset: ruleset, cache: [:])
        var cache: [NftChainID: [ValueKind: IntervalSet]] = [:]
        for (id, set) in ruleset.sets where set.types.count == 1 {
            let spec: FieldSpec
            switch set.types[0] {
            case "ipv4_addr": spec = FieldSpec(key: "", bits: 32, category: .source, kind: .ipv4, initial: .empty)
            case "ipv6_addr": spec = FieldSpec(key: "", bits: 128, category: .source, kind: .ipv6, initial: .empty)
            case "inet_service": spec = FieldSpec(key: "", bits: 16, category: .fixed, kind: .integer, initial: .empty)
            default: continue
            }
            if let value = reader.intervals(.set(set.elements), spec, table: id) {
                cache[id, default: [:]][spec.kind] = value
            }
        }
        return cache
    }
}
