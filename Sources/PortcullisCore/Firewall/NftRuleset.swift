/// The nftables ruleset as `nft -j list ruleset` describes it (the
/// libnftables JSON schema, `man libnftables-json`), decoded into the few
/// shapes the evaluator reasons about. Nothing is dropped silently: an
/// expression this decoder does not know becomes a statement that makes
/// every path through it undecidable, so an unfamiliar construct can never
/// be mistaken for one that does not matter.
struct NftRuleset: Sendable {
    var chains: [NftChainID: NftChain] = [:]
    /// Chains in listing order (for a stable evaluation order among equals).
    var chainOrder: [NftChainID] = []
    var sets: [NftChainID: NftSet] = [:]
    /// nft's version, from the metainfo object, for reasons.
    var nftVersion: String?

    func chain(_ id: NftChainID) -> NftChain? { chains[id] }

    /// A named set or map of the table `id` belongs to.
    func set(named name: String, in id: NftChainID) -> NftSet? {
        sets[NftChainID(family: id.family, table: id.table, name: name)]
    }
}

/// A chain (or set) is named by its table's family and name and its own name.
struct NftChainID: Hashable, Sendable, CustomStringConvertible {
    var family: NftFamily
    var table: String
    var name: String

    var description: String { "\(family.jsonName) \(table) \(name)" }
}

struct NftChain: Sendable {
    struct Base: Sendable {
        var type: NftChainType
        var hook: NftHook
        var priority: Int64
        var policy: NftChainPolicy
        /// The devices of a netdev (or inet) ingress chain, when nft names
        /// them (older versions leave the device out of the JSON).
        var devices: [String]?
    }

    var id: NftChainID
    var base: Base?
    var rules: [NftRule] = []
}

struct NftRule: Sendable {
    var handle: Int64?
    var comment: String?
    var statements: [NftStatement]
    /// The iptables-nft (xtables) statements among `statements`, by index:
    /// nft's JSON names their extension but not its options, which
    /// `iptables-save` text can supply (`NftRuleset.applying(_:family:)`).
    var xtables: [NftXtablesStatement] = []

    /// A rule with no verdict, vmap, state change or unknown statement
    /// cannot change where a packet goes (e.g. `ip saddr 10.0.0.0/8 counter`),
    /// so the evaluator steps over it without splitting paths.
    var canAffectVerdict: Bool {
        statements.contains {
            switch $0 {
            case .match, .noEffect, .opaqueCondition: return false
            default: return true
            }
        }
    }
}

/// An `{"xt": {"type": ..., "name": ...}}` statement of an iptables-nft rule.
struct NftXtablesStatement: Hashable, Sendable {
    /// Its position in the rule's statements.
    var index: Int
    /// `match` or `target` (nft also writes `watcher` for ebtables).
    var type: String
    /// The extension: `conntrack`, `addrtype`, `DNAT`, `MARK`, ...
    var name: String
}

/// A value on the right of a match, in a set, or as a map key.
indirect enum NftValue: Hashable, Sendable {
    case int(Int64)
    case string(String)
    case bool(Bool)
    case prefix(address: String, length: Int64)
    case range(NftValue, NftValue)
    /// An anonymous set `{ a, b }`.
    case set([NftValue])
    /// A JSON array: a list of flags such as `established,related`, OR-ed.
    case list([NftValue])
    /// `@name`: a named set.
    case setReference(String)
    case concat([NftValue])
    /// Anything else, described.
    case other(String)
}

/// An expression that reads something from the packet or its context.
indirect enum NftExpr: Hashable, Sendable {
    case payload(protocol: String, field: String)
    case rawPayload(base: String, offset: Int64, length: Int64)
    case meta(String)
    case ct(key: String, direction: String?)
    case fib(result: String, flags: [String])
    /// `&`, `|`, `^`, `<<`, `>>` with a constant.
    case binary(op: NftBinaryOperator, NftExpr, NftValue)
    case concat([NftExpr])
    /// A known kind this evaluator does not model (exthdr, tcp option,
    /// socket, osf, rt, numgen, hash, ...), with its JSON key.
    case other(kind: String, detail: String)
}

enum NftVerdict: Hashable, Sendable {
    case accept, drop, `continue`, `return`
    case reject(String?)
    case jump(String)
    case goto(String)
    case queue
    /// A verdict object this decoder does not know.
    case unknown(String)
}

enum NftStatement: Hashable, Sendable {
    case match(op: NftMatchOperator, left: NftExpr, right: NftValue)
    case verdict(NftVerdict)
    /// `KEY vmap { value : verdict, ... }` or `KEY vmap @map`.
    case vmap(key: NftExpr, entries: NftMapEntries)
    /// counter, log, ...: no influence on the packet's path.
    case noEffect(String)
    /// A condition on state portcullis cannot see (limit, quota, ct count,
    /// an iptables-nft xt match, ...): the rule may or may not go on.
    case opaqueCondition(String)
    /// `meta mark set`, `ct mark set`: later mark matches see new values.
    case setsMark(NftMarkChange)
    /// `notrack`: the packet skips connection tracking.
    case notrack
    /// `add/update @set { ... }`: the set's contents change at run time; a
    /// nested statement such as `limit` makes it a condition too.
    case updatesSet(name: String, condition: String?)
    /// `dnat`, `redirect`, `snat`, `masquerade`, with the new address and
    /// port where they are given: the listener evaluation does not follow
    /// the packet there; the published-port extraction reads them.
    case nat(NftNat)
    /// Something whose effect on the verdict cannot be judged: queue,
    /// an xt target, payload mangling, or an unknown JSON key.
    case undecidable(String)
}

enum NftMapEntries: Hashable, Sendable {
    case inline([NftMapEntry])
    case named(String)
}

struct NftMapEntry: Hashable, Sendable {
    var key: NftValue
    var verdict: NftVerdict
}

/// A NAT statement as nft writes it: `dnat ip to 10.0.0.2:80`, `dnat to
/// 10.0.0.4:9000-9010`, `dnat to tcp dport map { 8080 : 10.0.0.2 }`,
/// `redirect to :8080`, `masquerade`.
struct NftNat: Hashable, Sendable {
    var kind: NftNatKind
    /// `ip` or `ip6`: which family's address an inet-table rule sets.
    var family: String?
    /// The new address (an address, a range, a prefix), when not chosen by a map.
    var address: NftValue?
    /// The new port or port range; nil keeps the original port.
    var port: NftValue?
    /// `dnat to KEY map { ... }`: the new address (or `address . port`)
    /// looked up by a key of the packet.
    var addressMap: NftNatMap?
    /// `dnat to ADDRESS:KEY map { ... }`: the new port looked up.
    var portMap: NftNatMap?
    /// `persistent`, `random`, `fully-random`, `netmap`, ...
    var flags: [String] = []
    /// Part of the statement this decoder could not read (a map with an
    /// expression it does not know, an unexpected JSON shape), described.
    var unreadable: String?
    /// Set when the statement comes from iptables-save text (an xtables
    /// DNAT/REDIRECT target nft's JSON does not show): the target's text.
    var iptablesTarget: String?
    /// iptables' DNAT `--to-destination IP:LOW-HIGH/BASE`: the new port is
    /// LOW + (original port - BASE), so a range maps onto a range.
    var portBase: UInt16?

    init(kind: NftNatKind) { self.kind = kind }
}

/// The lookup of a NAT statement: `tcp dport map { 8080 : 10.0.0.2 }` or `tcp dport map @forwards`.
struct NftNatMap: Hashable, Sendable {
    var key: NftExpr
    var entries: NftNatMapEntries
}

/// A NAT map's elements, written in the rule or kept in a named map.
enum NftNatMapEntries: Hashable, Sendable {
    case inline([NftMapPair])
    case named(String)
}

/// One element of a data map: `8080 : 10.0.0.2 . 80`.
struct NftMapPair: Hashable, Sendable {
    var key: NftValue
    var value: NftValue
}

/// A mark statement (`meta mark set meta mark | 0x2000`, `ct mark set meta
/// mark | 0x1000`, `meta mark set 0x10`): what is certainly true of the
/// new value, for the forward path of a published port, which meets rules
/// that test the mark its DNAT path set.
struct NftMarkChange: Hashable, Sendable {
    /// `meta mark`, `ct mark`, `meta priority`, ...
    var target: String
    /// Bits the new value certainly has set.
    var setBits: UInt64 = 0
    /// The new value ORs in the packet's meta mark (`ct mark set meta mark | 0x1000`).
    var includesMetaMark = false
    /// The new value keeps the target's own bits (`meta mark set meta mark | 0x2000`).
    var keepsOwnBits = false

    init(target: String, setBits: UInt64 = 0, includesMetaMark: Bool = false, keepsOwnBits: Bool = false) {
        self.target = target
        self.setBits = setBits
        self.includesMetaMark = includesMetaMark
        self.keepsOwnBits = keepsOwnBits
    }
}

/// A named set or map.
struct NftSet: Sendable {
    var id: NftChainID
    /// The declared type: one name, or several for a concatenation.
    var types: [String]
    var flags: [String]
    var elements: [NftValue]
    /// For a verdict map: each element's verdict.
    var verdicts: [NftMapEntry]?
    /// For a data map (`type inet_service : ipv4_addr . inet_service`):
    /// each element's data, in the order of `elements`.
    var data: [NftValue]?
    /// Set by a rule that adds or updates elements at run time.
    var updatedByRules = false

    /// Contents that change while the ruleset stands still: elements that
    /// time out, or that rules add (fail2ban-style blocklists, port knocking).
    var isDynamic: Bool { updatedByRules || flags.contains("dynamic") || flags.contains("timeout") }
}

/// Why `FirewallModel` could not be built.
public enum FirewallError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Not JSON at all.
    case malformedJSON(JSONParseError)
    /// JSON, but not in the shape `nft -j list ruleset` writes.
    case unexpectedStructure(String)

    /// The message for the user: "nft printed malformed JSON: ..." or "unexpected nft JSON: ...".
    public var description: String {
        switch self {
        case .malformedJSON(let e): return "nft printed malformed JSON: \(e)"
        case .unexpectedStructure(let what): return "unexpected nft JSON: \(what)"
        }
    }
}

// MARK: - Decoding

extension NftRuleset {
    init(json document: JSONValue) throws(FirewallError) {
        guard let items = document.jsonMember("nftables")?.jsonArray else {
            throw .unexpectedStructure("no top-level \"nftables\" array")
        }
        var pendingRules: [(NftChainID, NftRule)] = []
        var updatedSets: [NftChainID] = []
        for (position, item) in items.enumerated() {
            guard let fields = item.jsonObject, fields.count == 1, let (kind, body) = fields.first else {
                throw .unexpectedStructure("item \(position) of \"nftables\" is not an object with one key")
            }
            switch kind {
            case "metainfo":
                nftVersion = body.jsonMember("version")?.jsonString
            case "chain":
                let chain = try Self.decodeChain(body, position: position)
                if chains[chain.id] == nil { chainOrder.append(chain.id) }
                chains[chain.id] = chain
            case "rule":
                guard let id = Self.objectID(body, nameKey: "chain") else {
                    throw .unexpectedStructure("rule at item \(position) has no family/table/chain")
                }
                let rule = Self.decodeRule(body)
                for case .updatesSet(let name, _) in rule.statements {
                    updatedSets.append(NftChainID(family: id.family, table: id.table, name: name))
                }
                pendingRules.append((id, rule))
            case "set", "map":
                guard let id = Self.objectID(body, nameKey: "name") else {
                    throw .unexpectedStructure("\(kind) at item \(position) has no family/table/name")
                }
                sets[id] = Self.decodeSet(body, id: id, isMap: kind == "map")
            default:
                // table, flowtable, counter, quota, ct helper, limit, secmark,
                // synproxy objects: they hold no rules of their own.
                break
            }
        }
        for (id, rule) in pendingRules {
            if chains[id] == nil {
                // nft lists every chain before its rules; a rule without one
                // still gets a (regular) chain, so a jump to it is followed.
                chains[id] = NftChain(id: id, base: nil)
                chainOrder.append(id)
            }
            chains[id]?.rules.append(rule)
        }
        for id in updatedSets { sets[id]?.updatedByRules = true }
    }

    static func objectID(_ body: JSONValue, nameKey: String) -> NftChainID? {
        guard let family = body.jsonMember("family")?.jsonString, let table = body.jsonMember("table")?.jsonString,
            let name = body.jsonMember(nameKey)?.jsonString
        else { return nil }
        return NftChainID(family: NftFamily(json: family), table: table, name: name)
    }

    static func decodeChain(_ body: JSONValue, position: Int) throws(FirewallError) -> NftChain {
        guard let id = objectID(body, nameKey: "name") else {
            throw .unexpectedStructure("chain at item \(position) has no family/table/name")
        }
        guard let hook = body.jsonMember("hook")?.jsonString.map(NftHook.init(json:)) else { return NftChain(id: id, base: nil) }
        // A base chain whose priority or policy cannot be read must not be
        // guessed at: its policy could be drop.
        guard let priority = body.jsonMember("prio")?.jsonInt else {
            throw .unexpectedStructure("base chain \(id) has no integer priority")
        }
        // nft leaves the policy out when it is the default, accept.
        let policy = body.jsonMember("policy")?.jsonString.map(NftChainPolicy.init(json:)) ?? .accept
        var devices: [String]?
        if let dev = body.jsonMember("dev") {
            devices = dev.jsonString.map { [$0] } ?? dev.jsonArray?.compactMap(\.jsonString)
        }
        let base = NftChain.Base(
            type: body.jsonMember("type")?.jsonString.map(NftChainType.init(json:)) ?? .filter, hook: hook, priority: priority,
            policy: policy, devices: devices)
        return NftChain(id: id, base: base)
    }

    static func decodeRule(_ body: JSONValue) -> NftRule {
        let handle = body.jsonMember("handle")?.jsonInt
        let comment = body.jsonMember("comment")?.jsonString
        guard let exprs = body.jsonMember("expr")?.jsonArray else {
            return NftRule(handle: handle, comment: comment, statements: [.undecidable("rule without an expr list")])
        }
        var rule = NftRule(handle: handle, comment: comment, statements: exprs.map(decodeStatement))
        for (index, expr) in exprs.enumerated() {
            guard let xt = expr.jsonMember("xt") else { continue }
            rule.xtables.append(
                NftXtablesStatement(
                    index: index, type: xt.jsonMember("type")?.jsonString ?? "?", name: xt.jsonMember("name")?.jsonString ?? "?"))
        }
        return rule
    }

    static func decodeSet(_ body: JSONValue, id: NftChainID, isMap: Bool) -> NftSet {
        var types: [String] = []
        if let t = body.jsonMember("type") {
            types = t.jsonString.map { [$0] } ?? t.jsonArray?.compactMap(\.jsonString) ?? []
        }
        var flags: [String] = []
        if let f = body.jsonMember("flags") {
            flags = f.jsonString.map { [$0] } ?? f.jsonArray?.compactMap(\.jsonString) ?? []
        }
        let rawElements = body.jsonMember("elem")?.jsonArray ?? []
        var elements: [NftValue] = []
        var verdicts: [NftMapEntry]?
        var data: [NftValue]?
        let isVerdictMap = isMap && body.jsonMember("map")?.jsonString == "verdict"
        if isVerdictMap { verdicts = [] } else if isMap { data = [] }
        for raw in rawElements {
            if isMap {
                // A map element is [key, data].
                guard let pair = raw.jsonArray, pair.count == 2 else { continue }
                let key = decodeValue(pair[0])
                elements.append(key)
                if isVerdictMap {
                    verdicts?.append(NftMapEntry(key: key, verdict: decodeVerdict(pair[1])))
                } else {
                    data?.append(decodeValue(pair[1]))
                }
            } else {
                elements.append(decodeValue(raw))
            }
        }
        return NftSet(id: id, types: types, flags: flags, elements: elements, verdicts: verdicts, data: data)
    }

    // MARK: values and expressions

    static func decodeValue(_ json: JSONValue) -> NftValue {
        switch json {
        case .int(let i): return .int(i)
        case .bool(let b): return .bool(b)
        case .string(let s): return s.hasPrefix("@") ? .setReference(String(s.dropFirst())) : .string(s)
        case .array(let items): return .list(items.map(decodeValue))
        case .null: return .other("null")
        case .object(let fields):
            guard fields.count == 1, let (key, body) = fields.first else { return .other("object") }
            switch key {
            case "prefix":
                guard let addr = body.jsonMember("addr")?.jsonString, let len = body.jsonMember("len")?.jsonInt else {
                    return .other("prefix")
                }
                return .prefix(address: addr, length: len)
            case "range":
                guard let pair = body.jsonArray, pair.count == 2 else { return .other("range") }
                return .range(decodeValue(pair[0]), decodeValue(pair[1]))
            case "set":
                // An anonymous set; a one-element set may be written bare.
                return .set(body.jsonArray?.map(decodeValue) ?? [decodeValue(body)])
            case "concat":
                return .concat(body.jsonArray?.map(decodeValue) ?? [])
            case "elem":
                // A set element with attributes (timeout, counter, comment).
                return body.jsonMember("val").map(decodeValue) ?? .other("elem")
            default:
                return .other(key)
            }
        }
    }

    static func decodeExpr(_ json: JSONValue) -> NftExpr {
        guard let fields = json.jsonObject, fields.count == 1, let (key, body) = fields.first else {
            return .other(kind: "value", detail: NftText.json(json))
        }
        if let op = NftBinaryOperator(rawValue: key) {
            guard let pair = body.jsonArray, pair.count == 2 else { return .other(kind: key, detail: NftText.json(body)) }
            return .binary(op: op, decodeExpr(pair[0]), decodeValue(pair[1]))
        }
        switch key {
        case "payload":
            if let proto = body.jsonMember("protocol")?.jsonString, let field = body.jsonMember("field")?.jsonString {
                return .payload(protocol: proto, field: field)
            }
            if let base = body.jsonMember("base")?.jsonString, let offset = body.jsonMember("offset")?.jsonInt,
                let length = body.jsonMember("len")?.jsonInt
            {
                return .rawPayload(base: base, offset: offset, length: length)
            }
            return .other(kind: "payload", detail: NftText.json(body))
        case "meta":
            guard let k = body.jsonMember("key")?.jsonString else { return .other(kind: "meta", detail: NftText.json(body)) }
            return .meta(k)
        case "ct":
            guard let k = body.jsonMember("key")?.jsonString else { return .other(kind: "ct", detail: NftText.json(body)) }
            return .ct(key: k, direction: body.jsonMember("dir")?.jsonString)
        case "fib":
            let flagsJSON = body.jsonMember("flags")
            let flags = flagsJSON?.jsonString.map { [$0] } ?? flagsJSON?.jsonArray?.compactMap(\.jsonString) ?? []
            return .fib(result: body.jsonMember("result")?.jsonString ?? "?", flags: flags)
        case "concat":
            return .concat(body.jsonArray?.map(decodeExpr) ?? [])
        default:
            // exthdr, tcp option, socket, osf, rt, numgen, ...: described by
            // their name/field/key where they have them (`tcp option maxseg size`).
            let words = ["name", "field", "key", "mode"].compactMap { body.jsonMember($0)?.jsonString }
            return .other(kind: key, detail: words.isEmpty ? NftText.json(body) : words.map { NftText.clean($0) }.joined(separator: " "))
        }
    }

    static func decodeVerdict(_ json: JSONValue) -> NftVerdict {
        guard let fields = json.jsonObject, fields.count == 1, let (key, body) = fields.first else {
            return .unknown(NftText.json(json))
        }
        switch key {
        case "accept": return .accept
        case "drop": return .drop
        case "continue": return .continue
        case "return": return .return
        case "reject":
            guard let type = body.jsonMember("type")?.jsonString else { return .reject(nil) }
            if let detail = body.jsonMember("expr")?.jsonString { return .reject("\(type) \(detail)") }
            return .reject(type)
        case "jump", "goto":
            guard let target = body.jsonMember("target")?.jsonString else { return .unknown(key) }
            return key == "jump" ? .jump(target) : .goto(target)
        case "queue": return .queue
        default: return .unknown(key)
        }
    }

    /// A NAT statement's body (null for `masquerade` and a bare `redirect`).
    static func decodeNat(_ kind: NftNatKind, _ body: JSONValue) -> NftNat {
        var nat = NftNat(kind: kind)
        nat.family = body.jsonMember("family")?.jsonString
        if let flags = body.jsonMember("flags") {
            nat.flags = flags.jsonString.map { [$0] } ?? flags.jsonArray?.compactMap(\.jsonString) ?? []
        }
        func lookup(_ json: JSONValue, _ what: String) -> NftNatMap? {
            guard let map = json.jsonMember("map") else { return nil }
            guard let keyJSON = map.jsonMember("key"), let data = map.jsonMember("data") else {
                nat.unreadable = "\(what) map without key/data"
                return nil
            }
            let key = decodeExpr(keyJSON)
            if case .setReference(let name) = decodeValue(data) { return NftNatMap(key: key, entries: .named(name)) }
            guard let pairs = data.jsonMember("set")?.jsonArray else {
                nat.unreadable = "\(what) map data \(NftText.json(data))"
                return nil
            }
            var entries: [NftMapPair] = []
            for pair in pairs {
                guard let kv = pair.jsonArray, kv.count == 2 else {
                    nat.unreadable = "\(what) map element \(NftText.json(pair))"
                    return nil
                }
                entries.append(NftMapPair(key: decodeValue(kv[0]), value: decodeValue(kv[1])))
            }
            return NftNatMap(key: key, entries: .inline(entries))
        }
        if let addr = body.jsonMember("addr") {
            if addr.jsonMember("map") != nil {
                nat.addressMap = lookup(addr, "address")
            } else {
                nat.address = decodeValue(addr)
                if case .other(let what) = nat.address { nat.unreadable = "address \(what) \(NftText.json(addr))" }
            }
        }
        if let port = body.jsonMember("port") {
            if port.jsonMember("map") != nil {
                nat.portMap = lookup(port, "port")
            } else {
                nat.port = decodeValue(port)
                if case .other(let what) = nat.port { nat.unreadable = "port \(what) \(NftText.json(port))" }
            }
        }
        return nat
    }

    /// What a mark statement's value says of the new mark.
    static func decodeMarkChange(_ target: String, _ value: JSONValue?) -> NftMarkChange {
        var change = NftMarkChange(target: target)
        guard let value else { return change }
        if let bits = value.jsonInt, bits >= 0 {
            change.setBits = UInt64(bits)
            return change
        }
        // `meta mark | 0x2000`: nft writes the OR as {"|": [expr, value]}.
        if let pair = value.jsonMember("|")?.jsonArray, pair.count == 2 {
            let source = decodeExpr(pair[0])
            if let bits = pair[1].jsonInt, bits >= 0 { change.setBits = UInt64(bits) }
            if case .meta("mark") = source { change.includesMetaMark = true }
            change.keepsOwnBits = NftText.expr(source) == target || (target == "meta mark" && change.includesMetaMark)
        }
        return change
    }

    static func decodeStatement(_ json: JSONValue) -> NftStatement {
        guard let fields = json.jsonObject, fields.count == 1, let (key, body) = fields.first else {
            return .undecidable("unrecognised expression \(NftText.json(json))")
        }
        if let kind = NftNatKind(rawValue: key) {
            return .nat(decodeNat(kind, body))
        }
        switch key {
        case "match":
            guard let op = body.jsonMember("op")?.jsonString, let left = body.jsonMember("left"),
                let right = body.jsonMember("right")
            else {
                return .undecidable("match without op/left/right")
            }
            return .match(op: NftMatchOperator(json: op), left: decodeExpr(left), right: decodeValue(right))
        case "accept", "drop", "continue", "return", "reject", "jump", "goto":
            return .verdict(decodeVerdict(json))
        case "queue":
            return .undecidable("queue (userspace decides the verdict)")
        case "vmap":
            guard let keyJSON = body.jsonMember("key"), let data = body.jsonMember("data") else {
                return .undecidable("vmap without key/data")
            }
            let keyExpr = decodeExpr(keyJSON)
            if case .setReference(let name) = decodeValue(data) { return .vmap(key: keyExpr, entries: .named(name)) }
            guard let pairs = data.jsonMember("set")?.jsonArray else { return .undecidable("vmap data \(NftText.json(data))") }
            var entries: [NftMapEntry] = []
            for pair in pairs {
                guard let kv = pair.jsonArray, kv.count == 2 else { return .undecidable("vmap element \(NftText.json(pair))") }
                entries.append(NftMapEntry(key: decodeValue(kv[0]), verdict: decodeVerdict(kv[1])))
            }
            return .vmap(key: keyExpr, entries: .inline(entries))
        case "counter", "log", "dup", "last", "ct helper", "ct timeout", "ct expectation", "secmark", "flow":
            return .noEffect(key)
        case "limit", "quota", "ct count", "meter":
            return .opaqueCondition(NftText.statement(key: key, body: body))
        case "mangle":
            // Setting a mark or priority changes no header and no verdict;
            // rewriting a header field (e.g. `tcp dport set 80`) changes
            // what later rules and the socket lookup see.
            if let target = body.jsonMember("key") {
                let expr = decodeExpr(target)
                switch expr {
                case .meta(let k) where ["mark", "priority", "nftrace", "secmark"].contains(k):
                    return .setsMark(decodeMarkChange("meta \(k)", body.jsonMember("value")))
                case .ct(let k, _) where ["mark", "label", "zone", "event"].contains(k):
                    return .setsMark(decodeMarkChange("ct \(k)", body.jsonMember("value")))
                default:
                    return .undecidable("\(NftText.expr(expr)) set (rewrites the packet)")
                }
            }
            return .undecidable("mangle")
        case "notrack":
            return .notrack
        case "set", "map":
            let name = body.jsonMember("set")?.jsonString.map { $0.hasPrefix("@") ? String($0.dropFirst()) : $0 } ?? "?"
            let nested = body.jsonMember("stmt")?.jsonArray ?? []
            let conditional = nested.compactMap { item -> String? in
                guard let (k, b) = item.jsonObject?.first else { return nil }
                return ["limit", "quota", "ct count"].contains(k) ? NftText.statement(key: k, body: b) : nil
            }
            return .updatesSet(name: name, condition: conditional.isEmpty ? nil : conditional.joined(separator: " "))
        case "xt":
            // iptables-nft rules that use an xtables extension nft cannot
            // translate. A comment changes nothing; any other match is a
            // condition we cannot read, and a target an unknown verdict.
            // nft's JSON names the extension but not its options, so only
            // what holds whatever the options are is taken: a comment or a
            // log changes nothing, REJECT always rejects.
            let type = body.jsonMember("type")?.jsonString ?? "?"
            let name = body.jsonMember("name")?.jsonString ?? "?"
            if type == "match" && name == "comment" { return .noEffect("xt comment") }
            if type == "target" && (name == "LOG" || name == "NFLOG") { return .noEffect("xt \(name)") }
            if type == "target" && name == "REJECT" { return .verdict(.reject("xt REJECT")) }
            if type == "match" { return .opaqueCondition("xt match \"\(NftText.clean(name))\"") }
            return .undecidable("xt \(NftText.clean(type)) \"\(NftText.clean(name))\"")
        case "tproxy":
            return .undecidable("tproxy (the packet is diverted to another socket)")
        case "synproxy":
            return .undecidable("synproxy (answers the SYN itself)")
        case "fwd":
            return .undecidable("fwd (the packet is forwarded out of another device)")
        default:
            return .undecidable("unsupported expression \"\(NftText.clean(key))\"")
        }
    }
}
