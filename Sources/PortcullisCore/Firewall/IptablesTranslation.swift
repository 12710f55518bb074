/// Puts iptables-save text and nft's JSON of the same iptables-nft tables
/// together: each xtables statement nft's JSON names without options is
/// replaced by what the iptables-save line says it is, where that has a
/// native meaning portcullis models (`ct state`, `fib daddr type`, a port
/// set, a mark, a DNAT with its address and port).
///
/// The two listings are joined rule by rule: same family, table and chain,
/// same position. A chain is only joined when both list the same number of
/// rules and every rule's jump or goto agrees; otherwise its xtables
/// statements stay unreadable (and a diagnostic says so). An extension
/// whose options portcullis cannot translate stays a condition it cannot
/// judge, now described by its options (`-m statistic --mode random`).
extension NftRuleset {
    /// This ruleset with the xtables statements of `family`'s iptables-nft
    /// tables translated from `save`; the diagnostics say what could not be.
    func applying(_ save: IptablesSave, family: NftFamily) -> (NftRuleset, [Diagnostic]) {
        var copy = self
        var diagnostics = save.diagnostics
        let label = family == .ip6 ? "ip6tables-save" : "iptables-save"
        for (table, chains) in save.tables.sorted(by: { $0.key < $1.key }) {
            for (chain, rules) in chains.sorted(by: { $0.key < $1.key }) {
                let id = NftChainID(family: family, table: table, name: chain)
                guard let nftChain = copy.chains[id] else {
                    if !rules.isEmpty {
                        diagnostics.append(
                            Diagnostic(
                                .notice,
                                "\(label) lists chain \(NftText.clean(id.description)), which nft does not: its rules are not joined"))
                    }
                    continue
                }
                guard nftChain.rules.count == rules.count else {
                    diagnostics.append(
                        Diagnostic(
                            .warning,
                            "\(label) and nft disagree on chain \(NftText.clean(id.description)) (\(rules.count) and "
                                + "\(nftChain.rules.count) rules; changed between the two reads?): its iptables-nft extensions stay unreadable"
                        ))
                    continue
                }
                guard zip(nftChain.rules, rules).allSatisfy(Self.verdictsAgree) else {
                    diagnostics.append(
                        Diagnostic(
                            .warning,
                            "\(label) and nft list chain \(NftText.clean(id.description)) with different jumps: "
                                + "its iptables-nft extensions stay unreadable"))
                    continue
                }
                for (index, saveRule) in rules.enumerated() where !nftChain.rules[index].xtables.isEmpty {
                    copy.chains[id]?.rules[index] = Self.translate(nftChain.rules[index], saveRule)
                }
            }
        }
        return (copy, diagnostics)
    }

    /// The nft rule's jump or goto (if any) is the save rule's target.
    static func verdictsAgree(_ pair: (NftRule, IptablesSave.Rule)) -> Bool {
        let (rule, save) = pair
        for statement in rule.statements {
            switch statement {
            case .verdict(.jump(let target)): return save.target?.name == target && save.target?.isGoto == false
            case .verdict(.goto(let target)): return save.target?.name == target && save.target?.isGoto == true
            default: continue
            }
        }
        return true
    }

    /// `rule` with each xtables statement replaced by its translation from
    /// `save`, matched by extension name in order.
    static func translate(_ rule: NftRule, _ save: IptablesSave.Rule) -> NftRule {
        var replacements: [Int: [NftStatement]] = [:]
        var used = Set<Int>()
        for xt in rule.xtables {
            switch xt.type {
            case "match":
                guard let position = save.matches.indices.first(where: { !used.contains($0) && save.matches[$0].module == xt.name }) else {
                    continue
                }
                used.insert(position)
                let match = save.matches[position]
                replacements[xt.index] = IptablesTranslation.match(match, rule: save) ?? [IptablesTranslation.opaque(match)]
            case "target":
                guard let target = save.target, target.name == xt.name else { continue }
                if let translated = IptablesTranslation.target(target) { replacements[xt.index] = translated }
            default:
                continue
            }
        }
        guard !replacements.isEmpty else { return rule }
        var copy = rule
        copy.statements = []
        copy.xtables = []
        for (index, statement) in rule.statements.enumerated() {
            if let translated = replacements[index] {
                copy.statements += translated
            } else {
                if let xt = rule.xtables.first(where: { $0.index == index }) {
                    copy.xtables.append(NftXtablesStatement(index: copy.statements.count, type: xt.type, name: xt.name))
                }
                copy.statements.append(statement)
            }
        }
        return copy
    }
}

/// Native meanings of the iptables extensions the container tools use.
enum IptablesTranslation {
    /// A condition portcullis cannot judge, described by its options.
    static func opaque(_ match: IptablesSave.Match) -> NftStatement {
        let options = match.options.map { option in
            (option.negated ? "! " : "") + ([option.name] + option.values).joined(separator: " ")
        }
        return .opaqueCondition(NftText.clean((["-m", match.module] + options).joined(separator: " ")))
    }

    static let trackingStates: Set<String> = ["INVALID", "ESTABLISHED", "RELATED", "NEW", "UNTRACKED"]
    static let trackingStatuses: [String: String] = [
        "NONE": "none", "EXPECTED": "expected", "SEEN_REPLY": "seen-reply", "ASSURED": "assured", "CONFIRMED": "confirmed",
        "SNAT": "snat", "DNAT": "dnat",
    ]

    /// The statements an extension match stands for; nil when one of its
    /// options has no translation (the whole match then stays opaque).
    static func match(_ match: IptablesSave.Match, rule: IptablesSave.Rule) -> [NftStatement]? {
        switch match.module {
        case "comment":
            return [.noEffect("comment \"\(match.option("--comment")?.value ?? "")\"")]
        case "conntrack", "state":
            var out: [NftStatement] = []
            for option in match.options {
                guard let value = option.value else { return nil }
                let items = value.split(separator: ",").map(String.init)
                switch option.name {
                case "--ctstate", "--state":
                    guard items.allSatisfy(trackingStates.contains) else { return nil }
                    out.append(
                        .match(
                            op: option.negated ? .notEqual : .in, left: .ct(key: "state", direction: nil),
                            right: .list(items.map { .string($0.lowercased()) })))
                case "--ctstatus":
                    let names = items.compactMap { trackingStatuses[$0] }
                    guard names.count == items.count else { return nil }
                    out.append(
                        .match(
                            op: option.negated ? .notEqual : .in, left: .ct(key: "status", direction: nil),
                            right: .list(names.map { .string($0) })))
                case "--ctorigdstport", "--ctorigsrcport":
                    guard let port = portValue(value) else { return nil }
                    let key = option.name == "--ctorigdstport" ? "proto-dst" : "proto-src"
                    out.append(.match(op: option.negated ? .notEqual : .equal, left: .ct(key: key, direction: "original"), right: port))
                case "--ctorigdst", "--ctorigsrc":
                    let key = option.name == "--ctorigdst" ? "daddr" : "saddr"
                    out.append(
                        .match(
                            op: option.negated ? .notEqual : .equal, left: .ct(key: key, direction: "original"), right: addressValue(value))
                    )
                case "--ctdir":
                    out.append(.match(op: .equal, left: .ct(key: "direction", direction: nil), right: .string(value.lowercased())))
                default:
                    return nil
                }
            }
            return out
        case "addrtype":
            var out: [NftStatement] = []
            var limitIn = false
            var limitOut = false
            for option in match.options where option.name == "--limit-iface-in" || option.name == "--limit-iface-out" {
                if option.name == "--limit-iface-in" { limitIn = true } else { limitOut = true }
            }
            for option in match.options {
                switch option.name {
                case "--dst-type", "--src-type":
                    guard let value = option.value else { return nil }
                    let types = value.split(separator: ",").map { NftValue.string($0.lowercased()) }
                    var flags = [option.name == "--dst-type" ? "daddr" : "saddr"]
                    if limitIn { flags.append("iif") }
                    if limitOut { flags.append("oif") }
                    out.append(
                        .match(
                            op: option.negated ? .notEqual : .equal, left: .fib(result: "type", flags: flags),
                            right: types.count == 1 ? types[0] : .set(types)))
                case "--limit-iface-in", "--limit-iface-out":
                    continue
                default:
                    return nil
                }
            }
            return out
        case "multiport":
            guard let proto = rule.protocolName, ["tcp", "udp", "sctp", "udplite", "dccp"].contains(proto) else { return nil }
            var out: [NftStatement] = []
            for option in match.options {
                let field: String
                switch option.name {
                case "--dports", "--destination-ports": field = "dport"
                case "--sports", "--source-ports": field = "sport"
                default: return nil
                }
                guard let value = option.value else { return nil }
                var items: [NftValue] = []
                for item in value.split(separator: ",") {
                    guard let port = portValue(String(item)) else { return nil }
                    items.append(port)
                }
                out.append(
                    .match(op: option.negated ? .notEqual : .equal, left: .payload(protocol: proto, field: field), right: .set(items)))
            }
            return out
        case "tcp", "udp":
            var out: [NftStatement] = []
            for option in match.options {
                let field: String
                switch option.name {
                case "--dport", "--destination-port": field = "dport"
                case "--sport", "--source-port": field = "sport"
                default: return nil
                }
                guard let value = option.value, let port = portValue(value) else { return nil }
                out.append(
                    .match(op: option.negated ? .notEqual : .equal, left: .payload(protocol: match.module, field: field), right: port))
            }
            return out
        case "mark":
            guard match.options.count == 1, let option = match.option("--mark"), let value = option.value else { return nil }
            let parts = value.split(separator: "/").map(String.init)
            guard let mark = integer(parts[0]) else { return nil }
            let op: NftMatchOperator = option.negated ? .notEqual : .equal
            if parts.count == 2, let mask = integer(parts[1]) {
                return [.match(op: op, left: .binary(op: .and, .meta("mark"), .int(Int64(mask))), right: .int(Int64(mark)))]
            }
            return [.match(op: op, left: .meta("mark"), right: .int(Int64(mark)))]
        default:
            return nil
        }
    }

    /// The statements an extension target stands for; nil to leave it.
    static func target(_ target: IptablesSave.Target) -> [NftStatement]? {
        let text = NftText.clean(
            (["-j", target.name] + target.options.map { ([$0.name] + $0.values).joined(separator: " ") }).joined(separator: " "))
        switch target.name {
        case "DNAT", "SNAT":
            var nat = NftNat(kind: target.name == "DNAT" ? .dnat : .snat)
            nat.iptablesTarget = text
            let destinations = target.options.filter { $0.name == "--to-destination" || $0.name == "--to-source" || $0.name == "--to" }
            guard let spec = destinations.first?.value else {
                nat.unreadable = "\(target.name) without --to-destination"
                return [.nat(nat)]
            }
            if destinations.count > 1 {
                nat.unreadable = "\(target.name) with \(destinations.count) --to-destination ranges (only the first is read)"
            }
            if let problem = natSpec(spec, into: &nat) { nat.unreadable = problem }
            nat.flags = target.options.filter { $0.values.isEmpty }.map { String($0.name.drop { $0 == "-" }) }
            return [.nat(nat)]
        case "REDIRECT":
            var nat = NftNat(kind: .redirect)
            nat.iptablesTarget = text
            if let ports = target.option("--to-ports")?.value {
                if let port = portValue(String(ports.map { $0 == "-" ? ":" : $0 })) {
                    nat.port = port
                } else {
                    nat.unreadable = "REDIRECT --to-ports \(NftText.clean(ports))"
                }
            }
            return [.nat(nat)]
        case "MASQUERADE":
            var nat = NftNat(kind: .masquerade)
            nat.iptablesTarget = text
            return [.nat(nat)]
        case "MARK", "CONNMARK":
            let targetName = target.name == "MARK" ? "meta mark" : "ct mark"
            var change = NftMarkChange(target: targetName)
            for option in target.options {
                guard let value = option.value else { continue }
                let parts = value.split(separator: "/").map(String.init)
                guard let bits = integer(parts[0]) else { continue }
                let mask = parts.count == 2 ? integer(parts[1]) : nil
                switch option.name {
                case "--set-xmark", "--set-mark":
                    // (mark & ~mask) ^ value: bits of `value` inside the mask are set.
                    let m = mask ?? 0xffff_ffff
                    change.setBits = bits & m
                    change.keepsOwnBits = m != 0xffff_ffff
                case "--or-mark":
                    change.setBits = bits
                    change.keepsOwnBits = true
                default:
                    // --and-mark, --xor-mark, CONNMARK --save-mark/--restore-mark: bits unknown.
                    change.setBits = 0
                    change.keepsOwnBits = false
                }
            }
            return [.setsMark(change)]
        case "comment", "LOG", "NFLOG":
            return [.noEffect(target.name)]
        default:
            return nil
        }
    }

    /// `[ipaddr[-ipaddr]][:port[-port[/base]]]`, IPv6 as `[addr]:port`.
    /// Returns what could not be read, or nil.
    static func natSpec(_ spec: String, into nat: inout NftNat) -> String? {
        var addressPart = Substring(spec)
        var portPart: Substring?
        if spec.hasPrefix("[") {
            guard let close = spec.firstIndex(of: "]") else { return "--to-destination \(NftText.clean(spec))" }
            addressPart = spec[spec.index(after: spec.startIndex)..<close]
            let rest = spec[spec.index(after: close)...]
            if rest.hasPrefix(":") {
                portPart = rest.dropFirst()
            } else if !rest.isEmpty {
                return "--to-destination \(NftText.clean(spec))"
            }
        } else if spec.filter({ $0 == ":" }).count == 1, let colon = spec.firstIndex(of: ":") {
            addressPart = spec[..<colon]
            portPart = spec[spec.index(after: colon)...]
        }
        if !addressPart.isEmpty {
            let ends = addressPart.split(separator: "-", maxSplits: 1).map(String.init)
            guard ends.allSatisfy({ IPAddress(parsing: $0) != nil }) else {
                return "--to-destination address \(NftText.clean(String(addressPart)))"
            }
            nat.address = ends.count == 2 ? .range(.string(ends[0]), .string(ends[1])) : .string(ends[0])
        }
        if var ports = portPart {
            if let slash = ports.firstIndex(of: "/") {
                guard let base = UInt16(ports[ports.index(after: slash)...]) else {
                    return "--to-destination ports \(NftText.clean(String(ports)))"
                }
                nat.portBase = base
                ports = ports[..<slash]
            }
            guard let value = portValue(String(ports.map { $0 == "-" ? ":" : $0 })) else {
                return "--to-destination ports \(NftText.clean(String(ports)))"
            }
            nat.port = value
        }
        return nil
    }

    /// `80` or `8000:8010` (iptables' range separator) as an nft value.
    static func portValue(_ text: String) -> NftValue? {
        let ends = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        if ends.count == 1, let port = UInt16(ends[0]) { return .int(Int64(port)) }
        if ends.count == 2 {
            let low = ends[0].isEmpty ? 0 : UInt16(ends[0])
            let high = ends[1].isEmpty ? 65535 : UInt16(ends[1])
            if let low, let high, low <= high { return low == high ? .int(Int64(low)) : .range(.int(Int64(low)), .int(Int64(high))) }
        }
        return nil
    }

    /// `10.0.0.1` or `10.0.0.0/8` as an nft value.
    static func addressValue(_ text: String) -> NftValue {
        let parts = text.split(separator: "/", maxSplits: 1).map(String.init)
        if parts.count == 2, let length = Int64(parts[1]) { return .prefix(address: parts[0], length: length) }
        return .string(text)
    }

    /// `0x4000` or `16384`.
    static func integer(_ text: String) -> UInt64? {
        if text.hasPrefix("0x") || text.hasPrefix("0X") { return UInt64(text.dropFirst(2), radix: 16) }
        return UInt64(text)
    }
}
