/// Short nft-like text for rules and expressions, for verdict reasons:
/// `tcp dport { 22, 80 } accept`, `ip saddr 10.0.0.0/8`. Every name and
/// string from the ruleset is escaped (UntrustedText) and long texts are
/// shortened, so a reason stays one readable line.
enum NftText {
    static let maximumLength = 160
    static let maximumSetItems = 6

    /// Escaped, and cut to `limit` characters.
    static func clean(_ s: String, limit: Int = maximumLength) -> String {
        let escaped = UntrustedText.escape(s)
        guard escaped.count > limit else { return escaped }
        return String(escaped.prefix(limit - 1)) + "…"
    }

    /// Shortens text that is already escaped.
    static func cut(_ s: String, limit: Int = maximumLength) -> String {
        s.count > limit ? String(s.prefix(limit - 1)) + "…" : s
    }

    static func json(_ v: JSONValue) -> String { clean(v.serialized(), limit: 80) }

    /// Fields whose values are names, written in quotes as nft does.
    static func quotesValues(_ e: NftExpr) -> Bool {
        if case .meta(let k) = e { return ["iifname", "oifname", "ibrname", "obrname", "iifkind", "oifkind", "sdifname"].contains(k) }
        return false
    }

    static func expr(_ e: NftExpr) -> String {
        switch e {
        case .payload(let p, let f): return "\(clean(p)) \(clean(f))"
        case .rawPayload(let base, let offset, let length): return "@\(clean(base)),\(offset),\(length)"
        case .meta(let k):
            let bare = ["iifname", "oifname", "iif", "oif"]
            return bare.contains(k) ? clean(k) : "meta \(clean(k))"
        case .ct(let k, let dir): return dir.map { "ct \(clean($0)) \(clean(k))" } ?? "ct \(clean(k))"
        case .fib(let result, let flags): return "fib \(flags.map { clean($0) }.joined(separator: " . ")) \(clean(result))"
        case .binary(let op, let inner, let v): return "\(expr(inner)) \(op.rawValue) \(value(v, inBinary: true))"
        case .concat(let parts): return parts.map(expr).joined(separator: " . ")
        case .other(let kind, let detail): return "\(clean(kind)) \(detail)"
        }
    }

    static func value(_ v: NftValue, quoted: Bool = false, inBinary: Bool = false) -> String {
        switch v {
        case .int(let i): return String(i)
        case .string(let s): return quoted ? "\"\(clean(s))\"" : clean(s)
        case .bool(let b): return b ? "exists" : "missing"
        case .prefix(let a, let l): return "\(clean(a))/\(l)"
        case .range(let a, let b): return "\(value(a, quoted: quoted))-\(value(b, quoted: quoted))"
        case .set(let items):
            var shown = items.prefix(maximumSetItems).map { value($0, quoted: quoted) }
            if items.count > maximumSetItems { shown.append("… (\(items.count) elements)") }
            return "{ " + shown.joined(separator: ", ") + " }"
        case .list(let items):
            let parts = items.map { value($0, quoted: quoted) }
            return inBinary ? "(" + parts.joined(separator: " | ") + ")" : parts.joined(separator: ",")
        case .setReference(let name): return "@\(clean(name))"
        case .concat(let parts): return parts.map { value($0, quoted: quoted) }.joined(separator: " . ")
        case .other(let what): return "<\(clean(what))>"
        }
    }

    static func match(op: NftMatchOperator, left: NftExpr, right: NftValue) -> String {
        let r = value(right, quoted: quotesValues(left))
        // For flag fields `==` (exact value) differs from the implicit
        // match (any of the flags), so it is spelt out as nft does.
        switch op {
        case .in: return "\(expr(left)) \(r)"
        case .equal where !isFlagField(left) && !isMasked(left): return "\(expr(left)) \(r)"
        default: return "\(expr(left)) \(clean(op.jsonName)) \(r)"
        }
    }

    /// `meta mark & 0x4000 == 0x4000`: nft spells the `==` after a mask.
    static func isMasked(_ e: NftExpr) -> Bool {
        if case .binary = e { return true }
        return false
    }

    static func isFlagField(_ e: NftExpr) -> Bool {
        switch e {
        case .payload("tcp", "flags"), .ct("state", _), .ct("status", _): return true
        case .binary(_, let inner, _): return isFlagField(inner)
        default: return false
        }
    }

    static func verdict(_ v: NftVerdict) -> String {
        switch v {
        case .accept: return "accept"
        case .drop: return "drop"
        case .continue: return "continue"
        case .return: return "return"
        case .reject(let with): return with.map { "reject with \(clean($0))" } ?? "reject"
        case .jump(let t): return "jump \(clean(t))"
        case .goto(let t): return "goto \(clean(t))"
        case .queue: return "queue"
        case .unknown(let what): return "<verdict \(clean(what))>"
        }
    }

    static func statement(_ s: NftStatement) -> String {
        switch s {
        case .match(let op, let left, let right): return match(op: op, left: left, right: right)
        case .verdict(let v): return verdict(v)
        case .vmap(let key, let entries):
            switch entries {
            case .named(let name): return "\(expr(key)) vmap @\(clean(name))"
            case .inline(let items):
                var shown = items.prefix(maximumSetItems).map {
                    "\(value($0.key, quoted: quotesValues(key))) : \(verdict($0.verdict))"
                }
                if items.count > maximumSetItems { shown.append("… (\(items.count) elements)") }
                return "\(expr(key)) vmap { \(shown.joined(separator: ", ")) }"
            }
        case .noEffect(let what): return clean(what)
        case .opaqueCondition(let what): return what
        case .setsMark(let change): return "\(change.target) set …"
        case .notrack: return "notrack"
        case .updatesSet(let name, let condition): return "update @\(clean(name))" + (condition.map { " { … \($0) }" } ?? "")
        case .undecidable(let why): return why
        case .nat(let nat): return natStatement(nat)
        }
    }

    /// `dnat ip to 10.0.0.2:80`, `dnat to tcp dport map { 8080 : 10.0.0.2 }`, `redirect to :8080`.
    static func natStatement(_ nat: NftNat) -> String {
        if let target = nat.iptablesTarget { return target }
        var text = nat.kind.rawValue + (nat.family.map { " \(clean($0))" } ?? "")
        func map(_ m: NftNatMap) -> String {
            switch m.entries {
            case .named(let name): return "\(expr(m.key)) map @\(clean(name))"
            case .inline(let pairs):
                var shown = pairs.prefix(maximumSetItems).map { "\(value($0.key)) : \(value($0.value))" }
                if pairs.count > maximumSetItems { shown.append("… (\(pairs.count) elements)") }
                return "\(expr(m.key)) map { \(shown.joined(separator: ", ")) }"
            }
        }
        var to = ""
        if let m = nat.addressMap {
            to = map(m)
        } else if let address = nat.address {
            let a = value(address)
            to = a.contains(":") && nat.port != nil ? "[\(a)]" : a
        }
        if let m = nat.portMap {
            to += ":" + map(m)
        } else if let port = nat.port {
            to += ":" + value(port)
        }
        if !to.isEmpty { text += " to " + to }
        if !nat.flags.isEmpty { text += " " + nat.flags.map { clean($0) }.joined(separator: ",") }
        return text
    }

    /// Why a construct cannot be judged, where its name does not say.
    static func explanation(_ construct: String) -> String {
        if construct.hasPrefix("xt ") {
            return " (an iptables-nft rule: nft's JSON names the xtables extension but not its options)"
        }
        return ""
    }

    /// `limit rate over 10/second`, `quota 100 mbytes`, `ct count over 10`.
    static func statement(key: String, body: JSONValue) -> String {
        let over = body.jsonMember("inv").map { $0 == .bool(true) } ?? false
        switch key {
        case "limit":
            let rate = body.jsonMember("rate")?.jsonInt.map(String.init) ?? "?"
            let per = body.jsonMember("per")?.jsonString.map { clean($0) } ?? "?"
            let unit = body.jsonMember("rate_unit")?.jsonString.map { " \(clean($0))" } ?? ""
            return "limit rate \(over ? "over " : "")\(rate)\(unit)/\(per)"
        case "quota":
            let val = body.jsonMember("val")?.jsonInt.map(String.init) ?? "?"
            let unit = body.jsonMember("val_unit")?.jsonString.map { clean($0) } ?? "bytes"
            return "quota \(over ? "over " : "")\(val) \(unit)"
        case "ct count":
            let val = body.jsonMember("val")?.jsonInt.map(String.init) ?? "?"
            return "ct count \(over ? "over " : "")\(val)"
        default:
            return clean(key)
        }
    }

    /// The rule as one line, e.g. `tcp dport 22 counter accept`.
    static func rule(_ r: NftRule) -> String {
        var text = r.statements.map(statement).joined(separator: " ")
        if let comment = r.comment { text += " comment \"\(clean(comment, limit: 40))\"" }
        return cut(text)
    }
}
