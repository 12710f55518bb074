import Testing

@testable import PortcullisCore

@Suite struct PolicyDecisionTests {
    static func policy(_ text: String) throws -> Policy { try Policy.parse(text, file: "p.yaml") }

    static func entry(_ port: UInt16, _ proto: TransportProtocol = .tcp, family: AddressFamily? = nil) throws -> InventoryEntry {
        try #require(SampleInventory.entry(port: port, proto: proto, family: family))
    }

    /// The decision's kind and the line of the entry that decided it.
    static func judge(_ policy: Policy, _ entry: InventoryEntry, _ exposure: Exposure? = nil) -> String {
        switch policy.decision(for: entry, exposure: exposure ?? entry.exposure) {
        case .allowed(let allow): return "allowed:\(allow.line)"
        case .exposureTooWide(let allow): return "too-wide:\(allow.line)"
        case .notAllowed: return "not-allowed"
        }
    }

    @Test func allowedTooWideAndNotAllowed() throws {
        let policy = try Self.policy(
            """
            allow:
              - port: 22
                proto: tcp
                process: sshd
                exposure: any
              - port: 7777
                process: redis-server
            """)
        #expect(Self.judge(policy, try Self.entry(22, family: .ipv4)) == "allowed:2")
        #expect(Self.judge(policy, try Self.entry(22, family: .ipv6)) == "allowed:2")
        // Redis on 0.0.0.0 where only loopback is allowed...
        #expect(Self.judge(policy, try Self.entry(7777)) == "too-wide:6")
        // ...unless the firewall keeps it loopback in effect: the caller's exposure counts.
        #expect(Self.judge(policy, try Self.entry(7777), .loopback) == "allowed:6")
        #expect(Self.judge(policy, try Self.entry(80)) == "not-allowed")
        #expect(Self.judge(Policy.empty, try Self.entry(22, family: .ipv4)) == "not-allowed")
    }

    @Test func anEntryThatAllowsWinsOverOneTooNarrow() throws {
        let policy = try Self.policy("allow:\n  - port: 7777\n  - port: 7000-8000\n    exposure: any\n")
        #expect(Self.judge(policy, try Self.entry(7777)) == "allowed:3")
        let narrow = try Self.policy("allow:\n  - port: 7777\n  - port: 7000-8000\n")
        #expect(Self.judge(narrow, try Self.entry(7777)) == "too-wide:2")  // the first that matched
    }

    @Test func processMatchesCommOrExecutableBaseName() throws {
        func allowed(_ keys: String, _ port: UInt16, _ proto: TransportProtocol = .tcp) throws -> Bool {
            let policy = try Self.policy("allow:\n  - port: \(port)\n    proto: any\n    exposure: any\n" + keys)
            return Self.judge(policy, try Self.entry(port, proto)).hasPrefix("allowed")
        }
        #expect(try allowed("    process: redis-server\n", 7777))
        #expect(try allowed("    process: nginx\n", 80))  // any of the five workers
        #expect(try !allowed("    process: redis\n", 7777))  // names match whole
        // The backdoor's comm is hostile ("kworker\n..."), its executable's base name is not.
        #expect(try allowed("    process: kworker\n", 31337))
        #expect(try allowed("    process: \"kworker\\\\n\\\\x1b[31m\"\n", 31337))  // the escaped comm, as shown
        // An unowned socket has no process to match.
        #expect(try !allowed("    process: cupsd\n", 631))
        #expect(try allowed("", 631))
    }

    @Test func exeMatchesTheExactPath() throws {
        func allowed(_ keys: String) throws -> Bool {
            let policy = try Self.policy("allow:\n  - port: 22\n    exposure: any\n" + keys)
            return Self.judge(policy, try Self.entry(22, family: .ipv4)).hasPrefix("allowed")
        }
        #expect(try allowed("    exe: /usr/sbin/sshd\n"))
        #expect(try !allowed("    exe: /usr/bin/sshd\n"))
        #expect(try !allowed("    exe: /usr/sbin/\n"))
        #expect(try allowed("    exe: /usr/sbin/sshd\n    process: sshd\n"))
        #expect(try !allowed("    exe: /usr/sbin/sshd\n    process: nginx\n"))
    }

    @Test func processAndExeMustBeTheSameOwner() throws {
        // systemd holds an activated socket beside the daemon it started.
        var entry = try Self.entry(631)
        entry.owners = [
            SocketOwner(pid: 1, name: "systemd", exe: "/usr/lib/systemd/systemd", uid: 0, user: "root"),
            SocketOwner(pid: 700, name: "cupsd", exe: "/usr/sbin/cupsd", uid: 0, user: "root"),
        ]
        func judge(_ keys: String) throws -> String {
            Self.judge(try Self.policy("allow:\n  - port: 631\n" + keys), entry)
        }
        #expect(try judge("    process: cupsd\n    exe: /usr/sbin/cupsd\n") == "allowed:2")
        #expect(try judge("    process: systemd\n") == "allowed:2")
        #expect(try judge("    process: cupsd\n    exe: /usr/lib/systemd/systemd\n") == "not-allowed")
    }

    @Test func userMatchesNameOrUidOfSocketOrOwner() throws {
        func allowed(_ user: String, _ port: UInt16) throws -> Bool {
            let policy = try Self.policy("allow:\n  - port: \(port)\n    exposure: any\n    user: \(user)\n")
            return Self.judge(policy, try Self.entry(port)).hasPrefix("allowed")
        }
        #expect(try allowed("redis", 7777))  // the socket's user
        #expect(try allowed("107", 7777))  // its uid
        #expect(try allowed("www-data", 80))
        #expect(try allowed("33", 80))
        #expect(try !allowed("root", 7777))
        #expect(try !allowed("0", 7777))
        #expect(try !allowed("nobody", 80))
        // Any owner's user will do: a root master with unprivileged workers.
        var entry = try Self.entry(80)
        entry.socket.uid = 0
        entry.user = "root"
        let policy = try Self.policy("allow:\n  - port: 80\n    exposure: any\n    user: www-data\n")
        #expect(Self.judge(policy, entry) == "allowed:2")
    }

    @Test func portsRangesAndLists() throws {
        let policy = try Self.policy(
            """
            allow:
              - port: 7000-8000
                exposure: any
              - port: "20-21,80,443"
                exposure: any
              - port: [631, 9000-9200]
                exposure: any
            """)
        #expect(Self.judge(policy, try Self.entry(7777)) == "allowed:2")
        #expect(Self.judge(policy, try Self.entry(80)) == "allowed:4")
        #expect(Self.judge(policy, try Self.entry(631)) == "allowed:6")
        #expect(Self.judge(policy, try Self.entry(9100)) == "allowed:6")
        #expect(Self.judge(policy, try Self.entry(22, family: .ipv4)) == "not-allowed")
        #expect(Self.judge(policy, try Self.entry(31337)) == "not-allowed")
    }

    @Test func protocols() throws {
        let anyProto = try Self.policy("allow:\n  - port: 1-65535\n    exposure: any\n")
        #expect(Self.judge(anyProto, try Self.entry(22, family: .ipv4)) == "allowed:2")
        #expect(Self.judge(anyProto, try Self.entry(2024, .udp)) == "allowed:2")
        // A RAW socket's "port" is an IP protocol: only `raw` allows it.
        #expect(Self.judge(anyProto, try Self.entry(1, .raw)) == "not-allowed")
        let raw = try Self.policy("allow:\n  - port: 1\n    proto: raw\n    exposure: any\n")
        #expect(Self.judge(raw, try Self.entry(1, .raw)) == "allowed:2")
        let tcp = try Self.policy("allow:\n  - port: 2024\n    proto: tcp\n    exposure: any\n")
        #expect(Self.judge(tcp, try Self.entry(2024, .udp)) == "not-allowed")
        let udp = try Self.policy("allow:\n  - port: 2024\n    proto: udp\n    exposure: any\n")
        #expect(Self.judge(udp, try Self.entry(2024, .udp)) == "allowed:2")
    }

    @Test func addressLists() throws {
        let policy = try Self.policy(
            """
            allow:
              - port: 50000
                exposure: [192.0.2.7, "2001:db8::1"]
              - port: 5432
                exposure: [192.0.2.7]
              - port: 9100
                exposure: ["fe80::2"]
              - port: 22
                exposure: [0.0.0.0]
            """)
        #expect(Self.judge(policy, try Self.entry(50000)) == "allowed:2")  // bound to 192.0.2.7
        #expect(Self.judge(policy, try Self.entry(5432)) == "allowed:4")  // loopback is always within a list
        #expect(Self.judge(policy, try Self.entry(9100)) == "too-wide:6")  // fe80::1 is not in the list
        // The wildcard address is only allowed when written out.
        #expect(Self.judge(policy, try Self.entry(22, family: .ipv4)) == "allowed:8")
        #expect(Self.judge(policy, try Self.entry(22, family: .ipv6)) == "too-wide:8")
        // IPv4-mapped sockets are judged by their IPv4 address, and the list is normalized too.
        var mapped = try Self.entry(50000)
        mapped.socket.localAddress = try #require(IPAddress(parsing: "::ffff:192.0.2.7"))
        mapped.socket.family = .ipv6
        #expect(Self.judge(policy, mapped, .specificAddress) == "allowed:2")
        let written = try Self.policy("allow:\n  - port: 50000\n    exposure: [\"::ffff:192.0.2.7\"]\n")
        #expect(Self.judge(written, try Self.entry(50000)) == "allowed:2")
    }

    @Test func severityOverrides() throws {
        let policy = try Self.policy(
            """
            rules:
              ephemeral-listener: {enabled: false}
              udp-amplification: {severity: low}
              backdoor-port: {enabled: true, severity: critical}
              raw-socket: {}
              unowned-socket: {enabled: false, severity: high}
            """)
        #expect(policy.severity(for: .ephemeralListener, default: .low) == nil)
        #expect(policy.severity(for: .unownedSocket, default: .low) == nil)  // disabled wins
        #expect(policy.severity(for: .udpAmplification, default: .high) == .low)
        #expect(policy.severity(for: .backdoorPort, default: .high) == .critical)
        #expect(policy.severity(for: .rawSocket, default: .medium) == .medium)
        #expect(policy.severity(for: .exposedDatastore, default: .high) == .high)  // no override
        #expect(Policy.empty.severity(for: .ldPreload, default: .critical) == .critical)
    }
}

@Suite struct PolicyIgnoreTests {
    static let text = """
        ignore:
          - rule: backdoor-port
            port: 31337
            proto: tcp
            process: kworker
            reason: "pentest lab"
            expires: 2027-03-01
          - rule: ld-preload
            reason: the monitoring agent preloads its library
          - rule: unowned-socket
            port: 2024
            reason: WireGuard
            expires: 2020-01-31
          - rule: ephemeral-listener
            proto: udp
            reason: test
        """

    /// 2027-03-01T12:00:00Z and the first second of 2027-03-02.
    static let marchFirstNoon: Int64 = 1_803_902_400
    static let marchSecond: Int64 = 1_803_945_600

    @Test func datesEndAtTheEndOfTheirUTCDay() throws {
        let date = try #require(PolicyDate(parsing: "2027-03-01"))
        #expect(date.description == "2027-03-01")
        #expect(date.end == Self.marchSecond)
        #expect(Timestamp.iso8601(date.end) == "2027-03-02T00:00:00Z")  // an independent calendar
        #expect(Timestamp.iso8601(Self.marchFirstNoon) == "2027-03-01T12:00:00Z")
        #expect(PolicyDate(parsing: "1970-01-01")?.end == 86400)
        #expect(PolicyDate(parsing: "2028-02-29").map { Timestamp.iso8601($0.end) } == "2028-03-01T00:00:00Z")
        #expect(PolicyDate(parsing: "2000-02-29") != nil)
        #expect(PolicyDate(parsing: "2100-02-29") == nil)
        #expect(PolicyDate(parsing: "2027-12-31").map { Timestamp.iso8601($0.end) } == "2028-01-01T00:00:00Z")
        for bad in ["2027-13-01", "2027-00-10", "2027-04-31", "27-03-01", "2027/03/01", "2027-03-01T00:00:00Z", "+027-03-01", ""] {
            #expect(PolicyDate(parsing: bad) == nil, "\(bad)")
        }
    }

    @Test func activeUntilTheEndOfTheExpiryDay() throws {
        let policy = try Policy.parse(Self.text, file: "p.yaml")
        let backdoor = try #require(SampleInventory.entry(port: 31337))
        #expect(policy.activeIgnore(rule: .backdoorPort, entry: backdoor, now: Self.marchFirstNoon)?.reason == "pentest lab")
        #expect(policy.activeIgnore(rule: .backdoorPort, entry: backdoor, now: Self.marchSecond - 1)?.line == 2)
        #expect(policy.activeIgnore(rule: .backdoorPort, entry: backdoor, now: Self.marchSecond) == nil)
        #expect(policy.expiredIgnores(now: Self.marchFirstNoon).map(\.line) == [10])
        #expect(policy.expiredIgnores(now: Self.marchSecond).map(\.line) == [2, 10])
        #expect(policy.expiredIgnores(now: Self.marchSecond).first?.expires?.description == "2027-03-01")
    }

    @Test func filtersMustAllMatch() throws {
        let policy = try Policy.parse(Self.text, file: "p.yaml")
        let now = Self.marchFirstNoon
        let backdoor = try #require(SampleInventory.entry(port: 31337))
        var otherPort = backdoor
        otherPort.socket.localPort = 4444
        #expect(policy.activeIgnore(rule: .backdoorPort, entry: otherPort, now: now) == nil)
        var otherProcess = backdoor
        otherProcess.owners = [SampleInventory.sshd]
        #expect(policy.activeIgnore(rule: .backdoorPort, entry: otherProcess, now: now) == nil)
        var udp = backdoor
        udp.socket.proto = .udp
        #expect(policy.activeIgnore(rule: .backdoorPort, entry: udp, now: now) == nil)
        // The rule must match too.
        #expect(policy.activeIgnore(rule: .deletedExecutable, entry: backdoor, now: now) == nil)
        // Filters need a socket: a host-wide finding is only covered by an ignore without them.
        #expect(policy.activeIgnore(rule: .backdoorPort, entry: nil, now: now) == nil)
        #expect(policy.activeIgnore(rule: .ldPreload, entry: nil, now: now)?.line == 8)
        #expect(policy.activeIgnore(rule: .ldPreload, entry: backdoor, now: now)?.line == 8)
        // An ignore without expiry never expires; a proto filter alone works.
        #expect(
            policy.activeIgnore(rule: .ephemeralListener, entry: try #require(SampleInventory.entry(port: 2024, proto: .udp)), now: .max)?
                .line == 14)
        #expect(policy.activeIgnore(rule: .ephemeralListener, entry: try #require(SampleInventory.entry(port: 50000)), now: now) == nil)
        // Expired long ago.
        #expect(
            policy.activeIgnore(rule: .unownedSocket, entry: try #require(SampleInventory.entry(port: 2024, proto: .udp)), now: now) == nil)
    }
}
