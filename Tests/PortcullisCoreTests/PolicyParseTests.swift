import Foundation
import Testing

@testable import PortcullisCore

/// A policy using every key, as an administrator would write it.
enum SamplePolicy {
    static let text = """
        # Production web host.
        version: 1
        allow:
          - port: 22            # SSH
            proto: tcp
            process: sshd
            exe: /usr/sbin/sshd
            user: root
            exposure: any
            comment: "SSH for admins"
          - port: "8000-8100"
            proto: any
            user: 33
          - port: 22,80,443
            proto: UDP
            exposure: [192.0.2.7, "2001:db8::7", "::ffff:198.51.100.1"]
          - port: [5432, "6379-6380"]
            exposure: 203.0.113.9
          - port: 1
            proto: raw
            comment:
        rules:
          ephemeral-listener: {enabled: false}
          udp-amplification:
            severity: LOW
          raw-socket: {}
        ignore:
          - rule: backdoor-port
            port: 4444
            proto: tcp
            process: nc
            reason: "pentest lab"
            expires: 2027-03-01
          - rule: ld-preload
            reason: the monitoring agent preloads its library
        """
}

@Suite struct PolicyParseTests {
    @Test func readsEveryKey() throws {
        let policy = try Policy.parse(SamplePolicy.text, file: "/etc/portcullis/policy.yaml")
        #expect(policy.source == "/etc/portcullis/policy.yaml")
        #expect(
            policy.allow == [
                Policy.Allow(
                    ports: PortSpec(ranges: [22...22]), proto: .tcp, process: "sshd", exe: "/usr/sbin/sshd", user: "root",
                    exposure: .any, comment: "SSH for admins", line: 4),
                Policy.Allow(ports: PortSpec(ranges: [8000...8100]), proto: nil, user: "33", exposure: .loopback, line: 11),
                Policy.Allow(
                    ports: PortSpec(ranges: [22...22, 80...80, 443...443]), proto: .udp,
                    exposure: .addresses([
                        IPAddress(v4: 192, 0, 2, 7), try #require(IPAddress(parsing: "2001:db8::7")), IPAddress(v4: 198, 51, 100, 1),
                    ]),
                    line: 14),
                Policy.Allow(
                    ports: PortSpec(ranges: [5432...5432, 6379...6380]), exposure: .addresses([IPAddress(v4: 203, 0, 113, 9)]), line: 17),
                Policy.Allow(ports: PortSpec(ranges: [1...1]), proto: .raw, comment: nil, line: 19),
            ])
        #expect(
            policy.rules == [
                .ephemeralListener: Policy.RuleOverride(enabled: false, severity: nil, line: 23),
                .udpAmplification: Policy.RuleOverride(enabled: true, severity: .low, line: 24),
                .rawSocket: Policy.RuleOverride(enabled: true, severity: nil, line: 26),
            ])
        #expect(
            policy.ignore == [
                Policy.Ignore(
                    rule: .backdoorPort, ports: PortSpec(ranges: [4444...4444]), proto: .tcp, process: "nc", reason: "pentest lab",
                    expires: PolicyDate(year: 2027, month: 3, day: 1), line: 28),
                Policy.Ignore(rule: .ldPreload, reason: "the monitoring agent preloads its library", line: 34),
            ])
    }

    @Test(arguments: ["", "\n", "# nothing allowed yet\n  # indented comment\n", "---\n", "---\n...\n", "~\n"])
    func emptyFilesAreEmptyPolicies(text: String) throws {
        let policy = try Policy.parse(text, file: "p.yaml")
        #expect(policy == Policy(source: "p.yaml"))
    }

    @Test func sectionsLeftEmptyAreEmpty() throws {
        // What remains after commenting out every entry.
        let policy = try Policy.parse("version: 1\nallow:\n#  - port: 22\nrules:\nignore: []\n", file: "p.yaml")
        #expect(policy.allow.isEmpty && policy.rules.isEmpty && policy.ignore.isEmpty)
    }

    @Test func quotedAndPlainScalarsAgree() throws {
        let plain = try Policy.parse("allow:\n  - port: 22\n    user: 0\n    proto: tcp\n", file: "p")
        let quoted = try Policy.parse("allow:\n  - port: '22'\n    user: \"0\"\n    proto: \"tcp\"\n", file: "p")
        #expect(plain.allow == quoted.allow)
        // A process literally named "null" must be quoted, and then works.
        let named = try Policy.parse("allow:\n  - port: 22\n    process: \"null\"\n", file: "p")
        #expect(named.allow.first?.process == "null")
    }

    @Test func crlfLineEndings() throws {
        let policy = try Policy.parse("allow:\r\n  - port: 22\r\n    proto: tcp\r\n", file: "p")
        #expect(policy.allow.first?.ports == PortSpec(ranges: [22...22]) && policy.allow.first?.proto == .tcp)
    }

    /// The format documented at the top of Policy.swift (and copied into the
    /// README) must be a valid policy.
    @Test func documentedExampleParses() throws {
        let source = TestFiles.directory.appendingPathComponent("../../Sources/PortcullisCore/Policy/Policy.swift")
        let lines = try String(contentsOf: source, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        let start = try #require(lines.firstIndex(of: "/// ```yaml"))
        let end = try #require(lines[start...].dropFirst().firstIndex(of: "/// ```"))
        let yaml = lines[(start + 1)..<end].map { $0.dropFirst(4) }.joined(separator: "\n")
        let policy = try Policy.parse(yaml, file: "README")
        #expect(policy.allow.count == 1 && policy.rules.count == 2 && policy.ignore.count == 1)
        #expect(policy.allow.first?.exposure == .any && policy.ignore.first?.expires?.description == "2027-03-01")
    }

    @Test func exposureDescriptions() throws {
        #expect(Policy.AllowedExposure.loopback.description == "loopback")
        #expect(Policy.AllowedExposure.any.description == "any")
        let list = Policy.AllowedExposure.addresses([IPAddress(v4: 192, 0, 2, 7), try #require(IPAddress(parsing: "2001:db8::7"))])
        #expect(list.description == "addresses 192.0.2.7, 2001:db8::7")
        // The file's words, read and written from one spelling.
        #expect(Policy.AllowedExposure.named.map(\.keyword) == ["loopback", "any"])
        #expect(Policy.AllowedExposure.named.allSatisfy { Policy.AllowedExposure(keyword: $0.description) == $0 })
        #expect(list.keyword == nil && Policy.AllowedExposure(keyword: "everywhere") == nil)
    }
}
