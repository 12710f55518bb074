import Yams

extension Policy {
    /// Reads a policy file's text. `file` names it in errors. Works on
    /// Yams's node tree rather than Decodable so that every error can point at
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
    static func compose(_ yaml: String, file: String, what: String) throws(PolicyError) -> Node? {
        if let (line, column) = firstAnchorOrAlias(yaml) {
            // Aliases can expand a small file without bound, and libyaml's
            // duplicate-key check then takes exponential time: refuse them.
            throw PolicyError(
                file: file, line: line, column: column,
                message: "YAML anchors and aliases (&name, *name) are not accepted in \(what); write the values out")
        }
        do {
            return try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            throw convert(error, yaml: yaml, file: file)
        } catch {
            throw PolicyError(
                file: file, line: 1, column: 1, message: "cannot read the YAML: \(UntrustedText.escape(String(describing: error)))")
        }
    }
}

/// Turns the YAML node tree into a `Policy`, failing at the first problem.
struct PolicyParser {
    let file: String

    /// Line and column (1-based) of the first `&anchor` or `*alias` token
    /// outside quotes and comments, if any.
    static func firstAnchorOrAlias(_ yaml: String) -> (Int, Int)? {
        for (index, line) in yaml.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var quote: Character?
            var previous: Character = " "
            for (column, c) in line.enumerated() {
                defer { previous = c }
                if let open = quote {
                    if c == open { quote = nil }
                    continue
                }
                if c == "\"" || c == "'" {
                    if previous == " " || previous == ":" || previous == "[" || previous == "{" || previous == "," || previous == "-" {
                        quote = c
                    }
                    continue
                }
                if c == "#" && (column == 0 || previous == " " || previous == "\t") { break }
                if (c == "&" || c == "*") && " \t[{,".contains(previous) || ((c == "&" || c == "*") && column == 0) {
                    let next = line.dropFirst(column + 1).first
                    if let next, !next.isWhitespace && next != "," && next != "]" && next != "}" { return (index + 1, column + 1) }
                }
            }
        }
        return nil
    }

    static let topKeys = ["version", "allow", "rules", "ignore"]
    static let allowKeys = ["port", "proto", "process", "exe", "user", "exposure", "comment"]
    static let overrideKeys = ["enabled", "severity"]
    static let ignoreKeys = ["rule", "port", "proto", "process", "id", "reason", "expires"]

    func fail(_ node: Node, _ message: String) -> PolicyError {
        PolicyError(file: file, line: node.mark?.line ?? 1, column: node.mark?.column ?? 1, message: message)
    }

    // MARK: Sections

    func read(_ root: Node, into policy: inout Policy) throws(PolicyError) {
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
                    policy.rules[rule] = try override(overrideNode, rule: rule, line: ruleKey.mark?.line ?? 0)
                }
            default:  // "ignore"
                for item in try list(value, what: "a list of ignore entries") {
                    policy.ignore.append(try ignoreEntry(item))
                }
            }
        }
    }

    func allowEntry(_ node: Node) throws(PolicyError) -> Policy.Allow {
        let pairs = try mapping(node, what: "an allow entry (a mapping with a port)", nullIsEmpty: false)
        var ports: PortSpec?
        var entry = Policy.Allow(ports: PortSpec(ranges: []), line: node.mark?.line ?? 0)
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
    func override(_ node: Node, rule: RuleID, line: Int) throws(PolicyError) -> Policy.RuleOverride {
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

    func ignoreEntry(_ node: Node) throws(PolicyError) -> Policy.Ignore {
        let pairs = try mapping(node, what: "an ignore entry (a mapping with a rule and a reason)", nullIsEmpty: false)
        var rule: RuleID?
        var reason: String?
        var entry = Policy.Ignore(rule: .notInPolicy, reason: "", line: node.mark?.line ?? 0)
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

    func portSpec(_ node: Node) throws(PolicyError) -> PortSpec {
        func one(_ item: Node) throws(PolicyError) -> [ClosedRange<UInt16>] {
            let text = try text(item, what: "a port, a range such as 8000-8100, or a list of them")
            do {
                return try PortSpec(parsing: text, option: "port").ranges
            } catch {
                throw fail(item, "invalid port \(Self.quote(text)): \(error.reason)")
            }
        }
        if case .sequence(let items) = node {
            guard !items.isEmpty else { throw fail(node, "the list of ports is empty") }
            var ranges: [ClosedRange<UInt16>] = []
            for item in items { ranges += try one(item) }
            return PortSpec(ranges: ranges)
        }
        return PortSpec(ranges: try one(node))
    }

    /// nil for `any`.
    func proto(_ node: Node) throws(PolicyError) -> TransportProtocol? {
        let text = try text(node, what: "a protocol (tcp, udp, raw or any)")
        let name = text.lowercased()
        if name == "any" { return nil }
        guard let proto = TransportProtocol(rawValue: name) else {
            throw fail(node, "unknown protocol \(Self.quote(text)); use tcp, udp, raw or any")
        }
        return proto
    }

    func exposure(_ node: Node) throws(PolicyError) -> Policy.AllowedExposure {
        let accepted = "loopback, any, or a list of IP addresses"
        func address(_ item: Node) throws(PolicyError) -> IPAddress {
            let text = try text(item, what: "an IP address")
            guard let address = IPAddress(parsing: text) else {
                let hint = text.contains("/") ? "; networks (CIDR) are not supported, list each address" : ""
                throw fail(item, "invalid IP address \(Self.quote(text))\(hint)")
            }
            return address.normalized
        }
        switch node {
        case .sequence(let items):
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

    func ruleID(_ node: Node) throws(PolicyError) -> RuleID {
        let text = try text(node, what: "a rule id")
        guard let rule = RuleID(rawValue: text) else {
            throw fail(node, "unknown rule \(Self.quote(text)); rules are: \(Self.ruleList)")
        }
        return rule
    }

    func severity(_ node: Node) throws(PolicyError) -> Severity {
        let text = try text(node, what: "a severity")
        guard let severity = Severity(rawValue: text.lowercased()) else {
            throw fail(node, "unknown severity \(Self.quote(text)); use \(Severity.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return severity
    }

    /// YAML 1.2's spellings only: `no`/`off` are errors rather than a
    /// surprise (the "Norway problem").
    func bool(_ node: Node) throws(PolicyError) -> Bool {
        let text = try text(node, what: "true or false")
        switch text {
        case "true", "True", "TRUE": return true
        case "false", "False", "FALSE": return false
        default: throw fail(node, "expected true or false, found \(Self.quote(text))")
        }
    }

    // MARK: Shapes

    /// A scalar's text, quoted or not (so `port: 22` and `port: "22"` agree).
    func text(_ node: Node, what: String, allowEmpty: Bool = false) throws(PolicyError) -> String {
        guard case .scalar(let scalar) = node else { throw fail(node, "expected \(what), found \(Self.describe(node))") }
        if Self.isNull(node) && !(allowEmpty && scalar.string.isEmpty) {
            throw fail(node, "expected \(what), found nothing")
        }
        return scalar.string
    }

    /// `null` (a key with nothing after it) is accepted as an empty section,
    /// so commenting out every entry leaves a valid file.
    func list(_ node: Node, what: String) throws(PolicyError) -> [Node] {
        if Self.isNull(node) { return [] }
        guard case .sequence(let sequence) = node else { throw fail(node, "expected \(what), found \(Self.describe(node))") }
        return Array(sequence)
    }

    func mapping(_ node: Node, what: String, nullIsEmpty: Bool = true) throws(PolicyError) -> [(key: Node, value: Node)] {
        if nullIsEmpty && Self.isNull(node) { return [] }
        guard case .mapping(let mapping) = node else { throw fail(node, "expected \(what), found \(Self.describe(node))") }
        return Array(mapping)
    }

    func keyName(_ key: Node, accepted: [String], in place: String) throws(PolicyError) -> String {
        guard case .scalar(let scalar) = key else { throw fail(key, "expected a key name, found \(Self.describe(key))") }
        guard accepted.contains(scalar.string) else {
            throw fail(key, "unknown key \(Self.quote(scalar.string)) \(place); accepted keys: \(accepted.joined(separator: ", "))")
        }
        return scalar.string
    }

    static var ruleList: String { RuleID.allCases.map(\.rawValue).joined(separator: ", ") }

    /// An unquoted empty, `~` or `null` value.
    static func isNull(_ node: Node) -> Bool {
        guard case .scalar(let scalar) = node, scalar.style == .plain || scalar.style == .any else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    /// What was found, for "expected X, found Y".
    static func describe(_ node: Node) -> String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
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

    /// Yams reports syntax errors with a mark; keep its line and column and
    /// drop the snippet (the message names the place already).
    static func convert(_ error: YamlError, yaml: String, file: String) -> PolicyError {
        func at(_ mark: Mark, _ message: String) -> PolicyError {
            PolicyError(file: file, line: mark.line, column: mark.column, message: message)
        }
        func syntax(_ context: YamlError.Context?, _ problem: String) -> String {
            var message = "invalid YAML: \(problem)"
            if let context {
                message += " (\(context.text) started at line \(context.mark.line), column \(context.mark.column))"
            }
            return message
        }
        switch error {
        case .scanner(let context, let problem, let mark, _),
            .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            if problem == "but found another document" {
                return at(mark, "a policy file holds one YAML document; remove this second one (or the `---` that starts it)")
            }
            return at(mark, syntax(context, problem))
        case .reader(let problem, let offset, _, _):
            let (line, column) = offset.map { position(ofCharacter: $0, in: yaml) } ?? (1, 1)
            return PolicyError(file: file, line: line, column: column, message: "invalid YAML: \(problem)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            let key = duplicates.first ?? ""
            if let second = secondOccurrence(of: key, after: context.mark, in: yaml) {
                return PolicyError(
                    file: file, line: second.line, column: second.column,
                    message: "duplicate key \(quote(key)), already given on line \(context.mark.line); each key may appear once")
            }
            return at(context.mark, "key \(quote(key)) appears more than once in this mapping; each key may appear once")
        default:
            return PolicyError(file: file, line: 1, column: 1, message: "cannot read the YAML: \(UntrustedText.escape(error.description))")
        }
    }

    /// Lines of the text as Unicode scalars (libyaml's column unit), with
    /// CR LF, CR and LF all ending a line.
    static func lines(_ yaml: String) -> [[Unicode.Scalar]] {
        var lines: [[Unicode.Scalar]] = [[]]
        var previousCR = false
        for scalar in yaml.unicodeScalars {
            if scalar == "\n" && previousCR {
                previousCR = false
                continue
            }
            previousCR = scalar == "\r"
            if scalar == "\n" || scalar == "\r" { lines.append([]) } else { lines[lines.count - 1].append(scalar) }
        }
        return lines
    }

    /// Reader errors give an offset in Characters; editors want line:column.
    static func position(ofCharacter offset: Int, in yaml: String) -> (Int, Int) {
        let end = yaml.index(yaml.startIndex, offsetBy: offset, limitedBy: yaml.endIndex) ?? yaml.endIndex
        let before = lines(String(yaml[..<end]))
        return (before.count, (before.last?.count ?? 0) + 1)
    }

    /// Yams reports a duplicate at its first occurrence; the mistake is
    /// usually the second one, so look for it: the same key at the same
    /// column further down the same block mapping, or later on the same line
    /// in a flow mapping (`{a: 1, a: 2}`). nil when it cannot be found.
    static func secondOccurrence(of key: String, after first: Mark, in yaml: String) -> (line: Int, column: Int)? {
        let all = lines(yaml)
        let keyScalars = Array(key.unicodeScalars)
        let spellings = [keyScalars, ["\""] + keyScalars + ["\""], ["'"] + keyScalars + ["'"]]
        /// Whether `line` holds the key at `column` (0-based), followed by a colon.
        func keyAt(_ line: [Unicode.Scalar], _ column: Int) -> Bool {
            for spelling in spellings where column + spelling.count <= line.count {
                guard Array(line[column..<column + spelling.count]) == spelling else { continue }
                var k = column + spelling.count
                while k < line.count && line[k] == " " { k += 1 }
                if k < line.count && line[k] == ":" { return true }
            }
            return false
        }
        let firstLine = first.line - 1
        let firstColumn = first.column - 1
        guard firstLine >= 0 && firstLine < all.count else { return nil }
        // Flow mapping: the first key follows "{" or ",".
        let lead = all[firstLine][..<min(firstColumn, all[firstLine].count)].last { $0 != " " }
        if lead == "{" || lead == "," {
            let line = all[firstLine]
            var column = firstColumn + 1
            while column < line.count {
                let previous = line[..<column].last { $0 != " " }
                if (previous == "{" || previous == ",") && keyAt(line, column) { return (first.line, column + 1) }
                column += 1
            }
            return nil
        }
        // Block mapping: later keys start at the same column; the mapping
        // ends at the first line that starts to the left of it.
        for index in (firstLine + 1)..<all.count {
            let line = all[index]
            guard let start = line.firstIndex(where: { $0 != " " }), line[start] != "#" else { continue }
            if start < firstColumn { return nil }
            if start == firstColumn && keyAt(line, start) { return (index + 1, start + 1) }
        }
        return nil
    }
}
