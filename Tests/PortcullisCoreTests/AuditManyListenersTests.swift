import Testing

@testable import PortcullisCore

/// The audit with hundreds of listeners, many on one port: each listener's
/// findings must be exactly the reported findings about its socket, after
/// the policy's overrides, allows and ignores.
@Suite struct AuditManyListenersTests {
    typealias F = AuditFixtures

    /// Redis workers on 6379 (some from a deleted executable) on four
    /// addresses, then listeners on ports of their own, half loopback.
    static let entries: [InventoryEntry] = {
        var entries: [InventoryEntry] = []
        for i in 0..<400 {
            let owner = F.owner(Int32(1000 + i), "redis-server", exe: "/usr/bin/redis-server", deleted: i % 3 == 0)
            entries.append(F.entry(.tcp, ["0.0.0.0", "::", "127.0.0.1", "192.0.2.7"][i % 4], 6379, owners: [owner], inode: UInt64(1 + i)))
        }
        for i in 0..<400 {
            entries.append(F.entry(.tcp, i % 2 == 0 ? "0.0.0.0" : "127.0.0.1", UInt16(20000 + i), owners: [], inode: UInt64(1000 + i)))
        }
        return entries
    }()

    static let loopbackOnly = Set((UInt16(20000)..<20400).filter { $0 % 10 == 0 })

    /// Each listener has the findings the report has about its inode, and
    /// no others.
    /// Each listener's own findings are the report's findings covering its
    /// socket: the same rules, each at most as severe as the merged finding.
    static func expectInStep(_ report: AuditReport, sourceLocation: SourceLocation = #_sourceLocation) {
        var reported: [UInt64: [RuleID: Severity]] = [:]
        for f in report.findings {
            for socket in f.sockets { reported[socket.inode, default: [:]][f.rule] = f.severity }
        }
        for listener in report.listeners {
            let expected = reported[listener.entry.socket.inode] ?? [:]
            #expect(
                Set(listener.findings.map(\.rule)) == Set(expected.keys)
                    && listener.findings.allSatisfy { $0.severity <= expected[$0.rule] ?? .info },
                "listener \(listener.entry.socket.localAddress):\(listener.entry.socket.localPort)", sourceLocation: sourceLocation)
        }
    }

    @Test func withoutPolicy() {
        let report = F.audit(Self.entries)
        #expect(report.listeners.count == 800)
        Self.expectInStep(report)
        // 300 reachable redis listeners, 134 deleted executables.
        #expect(report.findings.filter { $0.rule == .exposedDatastore }.count == 300)
        #expect(report.findings.filter { $0.rule == .deletedExecutable }.count == 134)
    }

    @Test func allowsOverridesAndExposure() {
        let report = F.audit(Self.entries) {
            $0.policy = StubPolicy(allowedPorts: [6379], loopbackOnlyPorts: Self.loopbackOnly, severities: [.deletedExecutable: .critical])
        }
        Self.expectInStep(report)
        // Allowing 6379 accepts its exposure, never its integrity findings.
        #expect(!report.findings.contains { $0.rule == .exposedDatastore })
        #expect(report.suppressed.filter { $0.finding.rule == .exposedDatastore }.count == 300)
        #expect(report.findings.filter { $0.rule == .deletedExecutable }.allSatisfy { $0.severity == .critical })
        for listener in report.listeners where listener.entry.socket.localPort == 6379 {
            let deleted = listener.entry.owners.contains { $0.exeDeleted }
            #expect(listener.verdict.jsonName == (deleted ? "critical" : listener.reachable ? "open" : "ok"))
        }
        // Loopback-only ports on a wildcard address are too exposed; other
        // ports are not in the policy (backdoor ports aside: 20034 is one).
        for listener in report.listeners where listener.entry.socket.localPort != 6379 {
            let port = listener.entry.socket.localPort
            if PortKnowledge.facts(port: port, proto: .tcp).contains(where: { $0.isIn(.backdoor) }) { continue }
            let expected: String
            if !listener.reachable {
                expected = Self.loopbackOnly.contains(port) ? "ok" : "medium"
            } else {
                expected = Self.loopbackOnly.contains(port) ? "high" : "medium"
            }
            #expect(listener.verdict.jsonName == expected, "port \(port)")
        }
    }

    @Test func ignoresAndDisabledRules() {
        let report = F.audit(Self.entries) {
            $0.policy = StubPolicy(allowedPorts: [], disabled: [.deletedExecutable], ignored: [.notInPolicy: "staging host"])
        }
        Self.expectInStep(report)
        #expect(!report.findings.contains { $0.rule == .deletedExecutable || $0.rule == .notInPolicy })
        #expect(report.findings.filter { $0.rule == .exposedDatastore }.count == 300)
        #expect(report.suppressed.filter { $0.reason == "staging host" }.count == 800)
        #expect(report.listeners.allSatisfy { !$0.findings.contains { $0.rule == .notInPolicy } })
    }

    /// The allow entry is judged with the exposure the firewall leaves: a
    /// filtered listener counts as loopback.
    @Test func allowJudgesTheListenerAsTheFirewallLeavesIt() {
        var entries: [InventoryEntry] = []
        for i in 0..<50 {
            entries.append(F.entry(.tcp, "0.0.0.0", 31337, owners: [], inode: UInt64(1 + i)))
        }
        let report = F.audit(entries) {
            $0.policy = StubPolicy(loopbackOnlyPorts: [31337])
            $0.firewall = Dictionary(uniqueKeysWithValues: (1...25).map { (UInt64($0), FirewallVerdict.filtered("drop 31337")) })
        }
        Self.expectInStep(report)
        for listener in report.listeners {
            if listener.entry.socket.inode <= 25 {
                #expect(listener.findings.isEmpty)
            } else {
                #expect(Set(listener.findings.map(\.rule)) == [.backdoorPort, .notInPolicy])
            }
        }
        // Only the filtered ones: the others are more exposed than allowed.
        // No process holds them, so the 25 sockets on one port are one
        // suppressed finding listing all 25.
        #expect(report.suppressed.map(\.reason) == ["allowed by /etc/portcullis/policy.yaml line 6"])
        #expect(report.suppressed.first?.finding.sockets.map(\.inode) == (1...25).map { UInt64($0) })
    }

    /// A listener's findings keep the order its rules raised them in, which
    /// names the rule its verdict shows among findings of one severity.
    @Test func findingsKeepTheRulesOrder() throws {
        let owner = F.owner(7, "redis-server", exe: "/tmp/redis-server", deleted: true)
        let report = F.audit([
            F.entry(.tcp, "0.0.0.0", 6380, owners: [owner], inode: 1), F.entry(.tcp, "0.0.0.0", 6381, owners: [owner], inode: 2),
        ]) {
            $0.policy = StubPolicy(allowedPorts: [6381], severities: [.exposedDatastore: .high])
        }
        let first = try #require(report.listeners.first)
        #expect(first.findings.map(\.rule) == [.exposedDatastore, .deletedExecutable, .unsafeExecutableLocation, .notInPolicy])
        #expect(first.verdictReason == "exposed-datastore (+3 more)")
        #expect(report.listeners[1].findings.map(\.rule) == [.deletedExecutable, .unsafeExecutableLocation])
    }
}
