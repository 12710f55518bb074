extension Policy {
    /// Reads a policy file's text. `file` names it in errors. Works on
    /// the YAML node tree rather than Decodable so that every error can point at
    /// the line and column of the key or value at fault.
    public static func parse(_ yaml: String, file: String) throws(PolicyError) -> Policy {
        let root = try PolicyParser.compose(yaml, file: file, what: "a policy")
        var policy = Policy(source: file)
        // An empty file, or only comments, is an empty policy.
        guard let root, !PolicyParser.isNull(root) else { return policy }
        try PolicyParser(file: file).read(root, into: &policy)
        return policy
    }
}

extension PolicyParser {
    /// The node tree of a YAML file (a policy, a web configuration), or an
    /// error pointing at the line and column at fault. `what` names the file's kind in messages.
    static func compose(_ yaml: String, file: String, what: String) throws(PolicyError) -> YAMLNode? {
        // Anchors and aliases are refused (the README promises it): these
        // files never need them, and every value stays where it is written.
        var limits = YAMLComposer.Limits()
        limits.anchors = false
        do throws(YAMLError) {
            return try YAMLComposer.compose(yaml, limits: limits)
        } catch {
            throw convert(error, file: file, what: what)
        }
    }
}

/// Turns the YAML node tree into a `Policy`, failing at the first problem.
struct PolicyParser {
    let file: String

    static let topKeys = ["version", "allow", "rules", "ignore"]
    static let allowKeys = ["port", "proto", "process", "exe", "user", "exposure", "comment"]
    static let overrideKeys = ["enabled", "severity"]
    static let ignoreKeys = ["rule", "port", "proto", "process", "id", "reason", "expires"]

    func fail(_ node: YAMLNode, _ message: String) -> PolicyError {
        PolicyError(file: file, line: node.mark.line, column: node.mark.column, message: message)
    }

    // MARK: Sections

    func read(_ root: YAMLNode, into policy: inout Policy) throws(PolicyError) {
        for (key, value) in try mapping(root, what: "a policy (a mapping with the keys \(Self.topKeys.joined(separator: ", ")))") {
            switch try keyName(key, accepted: Self.topKeys, in: "at the top level") {
            case "version":
                guard let text = value.scalar?.string, !Self.isNull(value) else {
                    throw fail(value, "expected the policy version 1, found \(Self.describe(value))")
                }
                guard text == "1" else {
                    throw fail(value, "unsupported policy version \(Self.quote(text)); this portcullis reads version 1")
                }
            case "allow":
                for item in try list(value, what: "a list of allow entries") {
                    policy.allow.append(try allowEntry(item))
                }
            case "rules":
                for (ruleKey, overrideNode) in try mapping(value, what: "a mapping of rule ids to overrides", nullIsEmpty: true) {
                    let rule = try ruleID(ruleKey)
                    policy.rules[rule] = try override(overrideNode, rule: rule, line: ruleKey.mark.line)
                }
            default:  // "ignore"
                for item in try list(value, what: "a list of ignore entries") {
                    policy.ignore.append(try ignoreEntry(item))
                }
            }
        }
    }

    func allowEntry(_ node: YAMLNode) throws(PolicyError) -> Policy.Allow {
        let pairs = try mapping(node, what: "an allow entry (a mapping with a port)", nullIsEmpty: false)
        var ports: PortSpec?
        var entry = Policy.Allow(ports: PortSpec(ranges: []), line: node.mark.line)
        for (key, value) in pairs {
            switch try keyName(key, accepted: Self.allowKeys, in: "in an allow entry") {
            case "port": ports = try portSpec(value)
            case "proto": entry.proto = try proto(value)
            case "process": entry.process = try text(value, what: "a process name")
            case "exe":
                let path = try text(value, what: "an executable path")
                guard path.hasPrefix("/") else {
                    throw fail(value, "expected an absolute executable path such as /usr/sbin/sshd, found \(Self.quote(path))")
                }
                entry.exe = path
            case "user": entry.user = try text(value, what: "a user name or uid")
            case "exposure": entry.exposure = try exposure(value)
            default:  // "comment"
                entry.comment = Self.isNull(value) ? nil : try text(value, what: "a comment")
            }
        }
        guard let ports else { throw fail(node, "an allow entry needs a port, e.g. `port: 22` or `port: \"8000-8100\"`") }
        entry.ports = ports
        return entry
    }

    /// `line` is the rule id's: where an administrator looks for the override.
    func override(_ node: YAMLNode, rule: RuleID, line: Int) throws(PolicyError) -> Policy.RuleOverride {
        var result = Policy.RuleOverride(line: line)
        let what = "an override for \(rule.rawValue), e.g. {enabled: false} or {severity: low}"
        for (key, value) in try mapping(node, what: what, nullIsEmpty: false) {
            switch try keyName(key, accepted: Self.overrideKeys, in: "in a rule override") {
            case "enabled": result.enabled = try bool(value)
            default: result.severity = try severity(value)  // "severity"
            }
        }
        return result
    }

    func ignoreEntry(_ node: YAMLNode) throws(PolicyError) -> Policy.Ignore {
        let pairs = try mapping(node, what: "an ignore entry (a mapping with a rule and a reason)", nullIsEmpty: false)
        var rule: RuleID?
        var reason: String?
        var entry = Policy.Ignore(rule: .notInPolicy, reason: "", line: node.mark.line)
        for (key, value) in pairs {
            switch try keyName(key, accepted: Self.ignoreKeys, in: "in an ignore entry") {
            case "rule": rule = try ruleID(value)
            case "port": entry.ports = try portSpec(value)
            case "proto": entry.proto = try proto(value)
            case "process": entry.process = try text(value, what: "a process name")
            case "id":
                let id = try text(value, what: "a finding id (RULE@PROGRAM:ENDPOINT, as the audit prints it)")
                guard id.contains("@") else {
                    throw fail(value, "expected a finding id as the audit prints it (RULE@PROGRAM:ENDPOINT), found \(Self.quote(id))")
                }
                entry.id = id
            case "reason":
                let text = try text(value, what: "a reason", allowEmpty: true)
                // The reason is what a later reader relies on: it must say something.
                guard !text.allSatisfy(\.isWhitespace) else {
                    throw fail(value, "the reason is empty; say why this finding is accepted")
                }
                reason = text
            default:  // "expires"
                let text = try text(value, what: "a date (YYYY-MM-DD)")
                guard let date = PolicyDate(parsing: text) else {
                    throw fail(value, "expected a date as YYYY-MM-DD, e.g. 2027-03-01, found \(Self.quote(text))")
                }
                entry.expires = date
            }
        }
        guard let rule else { throw fail(node, "an ignore entry needs a rule: one of \(Self.ruleList)") }
        guard let reason else { throw fail(node, "an ignore entry needs a reason: say why this finding is accepted") }
        if let id = entry.id {
            guard id.hasPrefix(rule.rawValue + "@") else {
                throw fail(
                    node,
                    "the id \(Self.quote(id)) is not a finding of rule \(rule.rawValue): ids start with the rule, as in \(rule.rawValue)@PROGRAM:ENDPOINT"
                )
            }
            guard entry.ports == nil && entry.proto == nil && entry.process == nil else {
                throw fail(node, "an ignore by id names one finding; drop port, proto and process from it")
            }
        }
        entry.rule = rule
        entry.reason = reason
        return entry
    }

    // MARK: Values

    func portSpec(_ node: YAMLNode) throws(PolicyError) -> PortSpec {
        func one(_ item: YAMLNode) throws(PolicyError) -> [ClosedRange<UInt16>] {
            let text = try text(item, what: "a port, a range such as 8000-8100, or a list of them")
            do {
                return try PortSpec(parsing: text, option: "port").ranges
            } catch {
                throw fail(item, "invalid port \(Self.quote(text)): \(error.reason)")
            }
        }
        if case .sequence(let sequence) = node {
            let items = sequence.items
            guard !items.isEmpty else { throw fail(node, "the list of ports is empty") }
            var ranges: [ClosedRange<UInt16>] = []
            for item in items { ranges += try one(item) }
            return PortSpec(ranges: ranges)
        }
        return PortSpec(ranges: try one(node))
    }

    /// nil for `any`.
    func proto(_ node: YAMLNode) throws(PolicyError) -> TransportProtocol? {
        let text = try text(node, what: "a protocol (tcp, udp, raw or any)")
        let name = text.lowercased()
        if name == "any" { return nil }
        guard let proto = TransportProtocol(rawValue: name) else {
            throw fail(node, "unknown protocol \(Self.quote(text)); use tcp, udp, raw or any")
        }
        return proto
    }

    func exposure(_ node: YAMLNode) throws(PolicyError) -> Policy.AllowedExposure {
        let accepted = "loopback, any, or a list of IP addresses"
        func address(_ item: YAMLNode) throws(PolicyError) -> IPAddress {
            let text = try text(item, what: "an IP address")
            guard let address = IPAddress(parsing: text) else {
                let hint = text.contains("/") ? "; networks (CIDR) are not supported, list each address" : ""
                throw fail(item, "invalid IP address \(Self.quote(text))\(hint)")
            }
            return address.normalized
        }
        switch node {
        case .sequence(let sequence):
            let items = sequence.items
            guard !items.isEmpty else {
                throw fail(node, "the list of addresses is empty; write `exposure: loopback` to allow loopback only")
            }
            var list: [IPAddress] = []
            for item in items { list.append(try address(item)) }
            return .addresses(list)
        case .scalar(let scalar) where !Self.isNull(node):
            if let named = Policy.AllowedExposure(keyword: scalar.string.lowercased()) { return named }
            // A single address written without brackets.
            guard IPAddress(parsing: scalar.string) != nil else {
                throw fail(node, "expected \(accepted), found \(Self.describe(node))")
            }
            return .addresses([try address(node)])
        default:
            throw fail(node, "expected \(accepted), found \(Self.describe(node))")
        }
    }

    func ruleID(_ node: YAMLNode) throws(PolicyError) -> RuleID {
        let text = try text(node, what: "a rule id")
        guard let rule = RuleID(rawValue: text) else {
            throw fail(node, "unknown rule \(Self.quote(text)); rules are: \(Self.ruleList)")
        }
        return rule
    }

    func severity(_ node: YAMLNode) throws(PolicyError) -> Severity {
        let text = try text(node, what: "a severity")
        guard let severity = Severity(rawValue: text.lowercased()) else {
            throw fail(node, "unknown severity \(Self.quote(text)); use \(Severity.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return severity
    }

    /// YAML 1.2's spellings only: `no`/`off` are errors rather than a
    /// surprise (the "Norway problem").
    func bool(_ node: YAMLNode) throws(PolicyError) -> Bool {
        let text = try text(node, what: "true or false")
        switch text {
        case "true", "True", "TRUE": return true
        case "false", "False", "FALSE": return false
        default: throw fail(node, "expected true or false, found \(Self.quote(text))")
        }
    }

    // MARK: Shapes

    /// A scalar's text, quoted or not (so `port: 22` and `port: "22"` agree).
    func text(_ node: YAMLNode, what: String, allowEmpty: Bool = false) throws(PolicyError) -> String {
        guard case .scalar(let scalar) = node else { throw fail(node, "expected \(what), found \(Self.describe(node))") }
        if Self.isNull(node) && !(allowEmpty && scalar.string.isEmpty) {
            throw fail(node, "expected \(what), found nothing")
        }
        return scalar.string
    }

    /// `null` (a key with nothing after it) is accepted as an empty section,
    /// so commenting out every entry leaves a valid file.
    func list(_ node: YAMLNode, what: String) throws(PolicyError) -> [YAMLNode] {
        if Self.isNull(node) { return [] }
        guard case .sequence(let sequence) = node else { throw fail(node, "expected \(what), found \(Self.describe(node))") }
        return sequence.items
    }

    func mapping(_ node: YAMLNode, what: String, nullIsEmpty: Bool = true) throws(PolicyError) -> [(key: YAMLNode, value: YAMLNode)] {
        if nullIsEmpty && Self.isNull(node) { return [] }
        guard case .mapping(let mapping) = node else { throw fail(node, "expected \(what), found \(Self.describe(node))") }
        return mapping.pairs.map { (key: $0.key, value: $0.value) }
    }

    func keyName(_ key: YAMLNode, accepted: [String], in place: String) throws(PolicyError) -> String {
        guard case .scalar(let scalar) = key else { throw fail(key, "expected a key name, found \(Self.describe(key))") }
        guard accepted.contains(scalar.string) else {
            throw fail(key, "unknown key \(Self.quote(scalar.string)) \(place); accepted keys: \(accepted.joined(separator: ", "))")
        }
        return scalar.string
    }

    static var ruleList: String { RuleID.allCases.map(\.rawValue).joined(separator: ", ") }

    /// An unquoted empty, `~` or `null` value.
    static func isNull(_ node: YAMLNode) -> Bool {
        guard case .scalar(let scalar) = node, scalar.style == .plain else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    /// What was found, for "expected X, found Y".
    static func describe(_ node: YAMLNode) -> String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .scalar(let scalar): return isNull(node) ? "nothing" : quote(scalar.string)
        }
    }

    /// Text from the file, escaped and shortened for a one-line message.
    static func quote(_ text: String) -> String {
        let limit = 80
        let shown = text.unicodeScalars.count > limit ? String(String.UnicodeScalarView(text.unicodeScalars.prefix(limit))) + "..." : text
        return "'" + UntrustedText.escape(shown) + "'"
    }

    // MARK: YAML errors

    /// The composer's error as a `PolicyError` at the same place. libyaml's
    /// own words are kept for syntax; the rest is said for these files.
    static func convert(_ error: YAMLError, file: String, what: String) -> PolicyError {
        let message: String
        switch error.kind {
        case .secondDocument:
            message = "\(what) file holds one YAML document; remove this second one (or the `---` that starts it)"
        case .duplicateKey(let key, let first):
            message = "duplicate key \(quote(key)), already given on line \(first.line); each key may appear once"
        case .anchorRefused:
            message = "YAML anchors and aliases (&name, *name) are not accepted in \(what); write the values out"
        case .syntax, .reader, .undefinedAlias, .tooManyNodes, .tooDeep, .outOfMemory:
            message = "invalid YAML: \(UntrustedText.escape(error.message))"
        }
        return PolicyError(file: file, line: error.mark.line, column: error.mark.column, message: message)
    }
}
