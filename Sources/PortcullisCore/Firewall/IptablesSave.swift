/// The text `iptables-nft-save` (or `ip6tables-nft-save`) prints, parsed
/// rule by rule: what nft's JSON leaves out of iptables-nft rules.
///
/// iptables-nft stores a match or target that nftables has no native
/// expression for (or that this iptables version does not translate) as an
/// xtables extension: `-m conntrack --ctstate RELATED,ESTABLISHED`,
/// `-m addrtype --dst-type LOCAL`, `-m multiport`, `-j DNAT
/// --to-destination 172.17.0.2:80`, `-j MARK --set-xmark 0x2000/0x2000`.
/// `nft -j list ruleset` names the extension (`{"xt": {"type": "target",
/// "name": "DNAT"}}`) but not its options, so on its own it cannot say
/// where Docker, kube-proxy, CNI or netavark's iptables driver send a
/// published port. iptables-save prints the same rules, in the same order,
/// with their options; `NftRuleset.applying(_:family:)` puts the two
/// together.
struct IptablesSave: Sendable {
    /// One `-A CHAIN ...` line.
    struct Rule: Sendable, Hashable {
        var chain: String
        /// `-s`, `-d`, `-i`, `-o`, `-p`, `-f` (iptables-save prints them first).
        var basics: [Option]
        /// `-m NAME options...`, in the order printed.
        var matches: [Match]
        /// `-j NAME options...` or `-g NAME`.
        var target: Target?
        /// The line as printed, for reasons.
        var text: String

        /// `-p`, when given (`tcp`, `udp`, `6`).
        var protocolName: String? { basics.first { $0.name == "-p" && !$0.negated }?.values.first }
    }

    /// `--dport 80`, `! --ctstate NEW`, `-s 10.0.0.0/8`.
    struct Option: Sendable, Hashable {
        var name: String
        var negated: Bool
        var values: [String]

        var value: String? { values.first }
    }

    /// `-m conntrack --ctstate RELATED,ESTABLISHED`.
    struct Match: Sendable, Hashable {
        var module: String
        var options: [Option]

        func option(_ names: String...) -> Option? { options.first { names.contains($0.name) } }
    }

    /// `-j DNAT --to-destination 172.17.0.2:80`, or `-g CHAIN`.
    struct Target: Sendable, Hashable {
        var name: String
        var isGoto: Bool
        var options: [Option]

        func option(_ names: String...) -> Option? { options.first { names.contains($0.name) } }
    }

    /// Rules by table, then chain, in the order printed.
    var tables: [String: [String: [Rule]]] = [:]
    /// Lines that could not be read.
    var diagnostics: [Diagnostic] = []

    /// Parses the text; a line it cannot read becomes a diagnostic (and
    /// that line's chain is then not trusted, see `NftRuleset.applying`).
    init(text: String) {
        var table: String?
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.hasSuffix("\r") ? String(raw.dropLast()) : String(raw)
            let trimmed = line.drop { $0 == " " || $0 == "\t" }
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            if trimmed.hasPrefix("*") {
                table = String(trimmed.dropFirst())
                if let table, tables[table] == nil { tables[table] = [:] }
                continue
            }
            if trimmed == "COMMIT" {
                table = nil
                continue
            }
            if trimmed.hasPrefix(":") {
                // `:CHAIN POLICY [packets:bytes]`: a chain, perhaps empty.
                let name = trimmed.dropFirst().split(separator: " ").first.map(String.init) ?? ""
                if let table, !name.isEmpty, tables[table]?[name] == nil { tables[table]?[name] = [] }
                continue
            }
            guard let table else {
                diagnostics.append(
                    Diagnostic(.notice, "iptables-save line \(number + 1) is outside a table: \(NftText.clean(line, limit: 80))"))
                continue
            }
            guard let words = Self.words(String(trimmed)), words.count >= 2, words[0] == "-A" else {
                diagnostics.append(
                    Diagnostic(
                        .notice, "iptables-save line \(number + 1) is not a rule portcullis can read: \(NftText.clean(line, limit: 80))"))
                continue
            }
            var rule = Self.rule(chain: words[1], words: Array(words.dropFirst(2)))
            rule.text = String(trimmed)
            tables[table, default: [:]][words[1], default: []].append(rule)
        }
    }

    /// Splits a line into words as iptables-save quotes them: a word in
    /// double quotes may hold spaces, `\"` and `\\` inside it. nil when a
    /// quote is not closed.
    static func words(_ line: String) -> [String]? {
        var words: [String] = []
        var current = ""
        var inWord = false
        var quoted = false
        var escaped = false
        for c in line {
            if escaped {
                current.append(c)
                escaped = false
                continue
            }
            if quoted {
                if c == "\\" {
                    escaped = true
                } else if c == "\"" {
                    quoted = false
                } else {
                    current.append(c)
                }
                continue
            }
            switch c {
            case " ", "\t":
                if inWord {
                    words.append(current)
                    current = ""
                    inWord = false
                }
            case "\"":
                quoted = true
                inWord = true
            case "\\":
                escaped = true
                inWord = true
            default:
                current.append(c)
                inWord = true
            }
        }
        if quoted || escaped { return nil }
        if inWord { words.append(current) }
        return words
    }

    static let basicOptions: Set<String> = ["-s", "-d", "-i", "-o", "-p", "-f", "--source", "--destination", "--protocol"]

    /// The words after `-A CHAIN`, grouped into basics, matches and target.
    static func rule(chain: String, words: [String]) -> Rule {
        var rule = Rule(chain: chain, basics: [], matches: [], target: nil, text: "")
        var index = 0
        var negateNext = false
        // Where options go: the basics, the last match, or the target.
        var place = RulePlace.basics
        while index < words.count {
            let word = words[index]
            index += 1
            if word == "!" {
                negateNext = true
                continue
            }
            if word == "-m" || word == "--match", index < words.count {
                rule.matches.append(Match(module: words[index], options: []))
                index += 1
                place = .match
                negateNext = false
                continue
            }
            if word == "-j" || word == "--jump" || word == "-g" || word == "--goto", index < words.count {
                rule.target = Target(name: words[index], isGoto: word == "-g" || word == "--goto", options: [])
                index += 1
                place = .target
                negateNext = false
                continue
            }
            guard word.hasPrefix("-"), word.count > 1 else {
                // A stray value: kept on the last option, so nothing is lost.
                appendValue(word, to: &rule, place: place)
                continue
            }
            var values: [String] = []
            while index < words.count, words[index] != "!", !isOptionWord(words[index]) {
                values.append(words[index])
                index += 1
            }
            let option = Option(name: word, negated: negateNext, values: values)
            negateNext = false
            if basicOptions.contains(word) {
                rule.basics.append(option)
                continue
            }
            switch place {
            case .basics: rule.basics.append(option)
            case .match: rule.matches[rule.matches.count - 1].options.append(option)
            case .target: rule.target?.options.append(option)
            }
        }
        return rule
    }

    /// An option name rather than a value: `-s`, `--dport`; not `-1`.
    static func isOptionWord(_ word: String) -> Bool {
        guard word.hasPrefix("-"), let second = word.dropFirst().first else { return false }
        return second == "-" || second.isLetter
    }

    static func appendValue(_ word: String, to rule: inout Rule, place: RulePlace) {
        switch place {
        case .basics:
            if !rule.basics.isEmpty { rule.basics[rule.basics.count - 1].values.append(word) }
        case .match:
            if let last = rule.matches.indices.last, !rule.matches[last].options.isEmpty {
                rule.matches[last].options[rule.matches[last].options.count - 1].values.append(word)
            }
        case .target:
            if let count = rule.target?.options.count, count > 0 { rule.target?.options[count - 1].values.append(word) }
        }
    }
}

/// Where `IptablesSave.rule` puts an option: the basics, the last `-m`, the `-j`.
enum RulePlace { case basics, match, target }
