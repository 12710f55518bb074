import Testing

@testable import PortcullisCore

/// Every way a policy file can be wrong names the file, line and column of
/// the offending key or value, and says what is accepted.
@Suite struct PolicyErrorTests {
    static let rules =
        "exposed-datastore, exposed-admin-api, cleartext-remote-access, udp-amplification, deleted-executable, "
        + "replaced-executable, unsafe-executable-location, backdoor-port, raw-socket, packet-socket, ephemeral-listener, "
        + "unowned-socket, ld-preload, unneeded-listener, not-in-policy, not-in-baseline, published-port-bypasses-input, "
        + "published-port-without-listener, published-datastore, published-admin-api, exposed-file-sharing"
    static let ports = "use a port (0-65535), a range such as 8000-8100, or a comma-separated list of them"

    /// (file text, "LINE:COLUMN", exact message)
    static let cases: [(String, String, String)] = [
        // Unknown keys, with the accepted ones.
        ("allows:\n  - port: 22\n", "1:1", "unknown key 'allows' at the top level; accepted keys: version, allow, rules, ignore"),
        (
            "allow:\n  - port: 22\n    prot: tcp\n", "3:5",
            "unknown key 'prot' in an allow entry; accepted keys: port, proto, process, exe, user, exposure, comment"
        ),
        ("rules:\n  raw-socket: {enable: false}\n", "2:16", "unknown key 'enable' in a rule override; accepted keys: enabled, severity"),
        (
            "ignore:\n  - rule: backdoor-port\n    reason: lab\n    until: 2027-01-01\n", "4:5",
            "unknown key 'until' in an ignore entry; accepted keys: rule, port, proto, process, id, reason, expires"
        ),
        ("? [a]\n: 1\n", "1:3", "expected a key name, found a list"),
        // Ignores by finding id.
        (
            "ignore:\n  - rule: backdoor-port\n    id: nc-4444\n    reason: lab\n", "3:9",
            "expected a finding id as the audit prints it (RULE@PROGRAM:ENDPOINT), found 'nc-4444'"
        ),
        (
            "ignore:\n  - rule: backdoor-port\n    id: raw-socket@ping:0.0.0.0/raw\n    reason: lab\n", "2:5",
            "the id 'raw-socket@ping:0.0.0.0/raw' is not a finding of rule backdoor-port: ids start with the rule, as in backdoor-port@PROGRAM:ENDPOINT"
        ),
        (
            "ignore:\n  - rule: backdoor-port\n    id: backdoor-port@nc:0.0.0.0:4444/tcp\n    port: 4444\n    reason: lab\n", "2:5",
            "an ignore by id names one finding; drop port, proto and process from it"
        ),
        // Wrong types.
        ("- port: 22\n", "1:1", "expected a policy (a mapping with the keys version, allow, rules, ignore), found a list"),
        ("allow:\n  port: 22\n", "2:3", "expected a list of allow entries, found a mapping"),
        ("allow: 22\n", "1:8", "expected a list of allow entries, found '22'"),
        ("allow:\n  - 22\n", "2:5", "expected an allow entry (a mapping with a port), found '22'"),
        ("allow:\n  - port: 22\n    user: [root]\n", "3:11", "expected a user name or uid, found a list"),
        ("allow:\n  - port: 22\n    process: ~\n", "3:14", "expected a process name, found nothing"),
        ("rules:\n  - raw-socket\n", "2:3", "expected a mapping of rule ids to overrides, found a list"),
        (
            "rules:\n  raw-socket: false\n", "2:15",
            "expected an override for raw-socket, e.g. {enabled: false} or {severity: low}, found 'false'"
        ),
        ("ignore: {}\n", "1:9", "expected a list of ignore entries, found a mapping"),
        ("version: [1]\n", "1:10", "expected the policy version 1, found a list"),
        // Missing required keys: at the entry.
        ("allow:\n  - proto: tcp\n    user: root\n", "2:5", "an allow entry needs a port, e.g. `port: 22` or `port: \"8000-8100\"`"),
        ("ignore:\n  - rule: backdoor-port\n    port: 4444\n", "2:5", "an ignore entry needs a reason: say why this finding is accepted"),
        ("ignore:\n  - reason: lab\n", "2:5", "an ignore entry needs a rule: one of \(rules)"),
        // Ports, with PortSpec's reasons.
        ("allow:\n  - port: 90-80\n", "2:11", "invalid port '90-80': range 90-80 is reversed; write it low-high, e.g. 80-90"),
        ("allow:\n  - port: 70000\n", "2:11", "invalid port '70000': port 70000 is out of range; \(ports)"),
        ("allow:\n  - port: [22, http]\n", "2:16", "invalid port 'http': 'http' is not a number or a range; \(ports)"),
        ("allow:\n  - port: []\n", "2:11", "the list of ports is empty"),
        (
            "ignore:\n  - rule: backdoor-port\n    port: 44444-4444\n    reason: lab\n", "3:11",
            "invalid port '44444-4444': range 44444-4444 is reversed; write it low-high, e.g. 4444-44444"
        ),
        // Protocols, rules, severities, booleans.
        ("allow:\n  - port: 22\n    proto: sctp\n", "3:12", "unknown protocol 'sctp'; use tcp, udp, raw or any"),
        ("rules:\n  no-such-rule: {enabled: false}\n", "2:3", "unknown rule 'no-such-rule'; rules are: \(rules)"),
        ("ignore:\n  - rule: backdoor\n    reason: lab\n", "2:11", "unknown rule 'backdoor'; rules are: \(rules)"),
        ("rules:\n  raw-socket: {severity: urgent}\n", "2:26", "unknown severity 'urgent'; use info, low, medium, high, critical"),
        ("rules:\n  raw-socket: {enabled: no}\n", "2:25", "expected true or false, found 'no'"),
        // Reasons and dates.
        ("ignore:\n  - rule: backdoor-port\n    reason: \"\"\n", "3:13", "the reason is empty; say why this finding is accepted"),
        ("ignore:\n  - rule: backdoor-port\n    reason: \"   \"\n", "3:13", "the reason is empty; say why this finding is accepted"),
        ("ignore:\n  - rule: backdoor-port\n    reason:\n", "3:12", "the reason is empty; say why this finding is accepted"),
        (
            "ignore:\n  - rule: backdoor-port\n    reason: lab\n    expires: 2027-02-29\n", "4:14",
            "expected a date as YYYY-MM-DD, e.g. 2027-03-01, found '2027-02-29'"
        ),
        (
            "ignore:\n  - rule: backdoor-port\n    reason: lab\n    expires: 2027-3-1\n", "4:14",
            "expected a date as YYYY-MM-DD, e.g. 2027-03-01, found '2027-3-1'"
        ),
        // Exposure and addresses.
        (
            "allow:\n  - port: 22\n    exposure: everywhere\n", "3:15",
            "expected loopback, any, or a list of IP addresses, found 'everywhere'"
        ),
        ("allow:\n  - port: 22\n    exposure: [192.0.2.7, 10.0.0.300]\n", "3:27", "invalid IP address '10.0.0.300'"),
        (
            "allow:\n  - port: 22\n    exposure: [10.0.0.0/8]\n", "3:16",
            "invalid IP address '10.0.0.0/8'; networks (CIDR) are not supported, list each address"
        ),
        (
            "allow:\n  - port: 22\n    exposure: []\n", "3:15",
            "the list of addresses is empty; write `exposure: loopback` to allow loopback only"
        ),
        ("allow:\n  - port: 22\n    exe: sshd\n", "3:10", "expected an absolute executable path such as /usr/sbin/sshd, found 'sshd'"),
        // Version.
        ("version: 2\nallow: []\n", "1:10", "unsupported policy version '2'; this portcullis reads version 1"),
        // Duplicate keys: at the second one.
        (
            "allow:\n  - port: 22\n    proto: tcp\n    port: 23\n", "4:5",
            "duplicate key 'port', already given on line 2; each key may appear once"
        ),
        ("allow:\n  - {port: 22, port: 23}\n", "2:16", "duplicate key 'port', already given on line 2; each key may appear once"),
        ("allow: []\nrules: {}\nallow: []\n", "3:1", "duplicate key 'allow', already given on line 1; each key may appear once"),
        (
            "rules:\n  raw-socket: {enabled: false}\n  # again\n\n  raw-socket: {severity: low}\n", "5:3",
            "duplicate key 'raw-socket', already given on line 2; each key may appear once"
        ),
        // YAML syntax, as libyaml words it.
        (
            "allow:\n  - port: 22\n   proto: tcp\n", "3:4",
            "invalid YAML: did not find expected '-' indicator (while parsing a block collection started at line 2, column 3)"
        ),
        ("a: b: c\n", "1:5", "invalid YAML: mapping values are not allowed in this context"),
        (
            "allow:\n\t- port: 22\n", "2:1",
            "invalid YAML: found character that cannot start any token (while scanning for the next token started at line 2, column 1)"
        ),
        ("allow:\n  - port: 22\n    comment: a\u{1}b\n", "3:15", "invalid YAML: control characters are not allowed"),
        ("allow: *x\n", "1:8", "YAML anchors and aliases (&name, *name) are not accepted in a policy; write the values out"),
        (
            "allow: []\n---\nrules: {}\n", "2:1",
            "a policy file holds one YAML document; remove this second one (or the `---` that starts it)"
        ),
    ]

    @Test(arguments: cases)
    func pointsAtTheProblem(text: String, location: String, message: String) {
        #expect {
            try Policy.parse(text, file: "/etc/portcullis/policy.yaml")
        } throws: { error in
            guard let error = error as? PolicyError else { return false }
            #expect("\(error.line):\(error.column)" == location)
            #expect(error.message == message)
            #expect(error.file == "/etc/portcullis/policy.yaml")
            return true
        }
    }

    @Test func describesAsFileLineColumn() {
        let error = PolicyError(file: "policy.yaml", line: 3, column: 12, message: "unknown protocol 'sctp'")
        #expect(error.description == "policy.yaml:3:12: unknown protocol 'sctp'")
        #expect(PolicyError(file: "a\nb.yaml", line: 1, column: 1, message: "m").description == "a\\nb.yaml:1:1: m")
    }

    @Test func untrustedTextIsEscapedInMessages() {
        // "\e" is YAML's escape for ESC: a key that would repaint the terminal.
        #expect {
            try Policy.parse("\"\\e[31mred\\n\": 1\n", file: "p.yaml")
        } throws: { error in
            let text = (error as? PolicyError)?.description ?? ""
            return text == "p.yaml:1:1: unknown key '\\x1b[31mred\\n' at the top level; accepted keys: version, allow, rules, ignore"
                && !text.unicodeScalars.contains("\u{1b}")
        }
    }

    @Test func longValuesAreShortened() {
        let long = String(repeating: "x", count: 500)
        #expect {
            try Policy.parse("allow:\n  - port: 22\n    proto: \(long)\n", file: "p.yaml")
        } throws: { error in
            let message = (error as? PolicyError)?.message ?? ""
            return message == "unknown protocol '\(String(repeating: "x", count: 80))...'; use tcp, udp, raw or any"
        }
    }

    /// Hostile input must be an error, never a crash.
    @Test(arguments: ["{", "[", "\"", "'", "? ", ": ", "&a", "*", "!!binary x", "%YAML 1.1\n", "%FOO\n---\n", "\u{feff}", "\u{85}"])
    func garbageIsAnErrorOrEmpty(text: String) {
        do {
            let policy = try Policy.parse(text, file: "p")
            #expect(policy.allow.isEmpty && policy.rules.isEmpty && policy.ignore.isEmpty)
        } catch {
            #expect(error.line >= 1 && error.column >= 1)
        }
    }
}

@Suite struct PolicyAliasTests {
    @Test func anchorsAndAliasesAreRefusedWithTheirPosition() {
        let bomb = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\nallow: []\n"
        #expect {
            try Policy.parse(bomb, file: "p.yaml")
        } throws: { error in
            guard let error = error as? PolicyError else { return false }
            return error.line == 1 && error.column == 4 && error.message.contains("anchors and aliases")
        }
        let alias = "allow:\n  - port: 22\n    comment: *c\n"
        #expect(throws: PolicyError.self) { try Policy.parse(alias, file: "p.yaml") }
    }

    @Test func starsAndAmpersandsInValuesAreFine() throws {
        let text = "allow:\n  - port: 22\n    comment: \"a *b* & c\" # *not an alias\n    process: 'x&y'\n"
        let policy = try Policy.parse(text, file: "p.yaml")
        #expect(policy.allow.first?.comment == "a *b* & c")
        #expect(policy.allow.first?.process == "x&y")
    }
}
