import Testing

@testable import PortcullisCore

@Suite struct PolicyStarterTests {
    static let generatedAt: Int64 = 1_795_000_000

    static func starter(_ entries: [InventoryEntry], exposures: [Exposure]? = nil, host: String? = "web1") -> String {
        Policy.starter(from: entries, exposures: exposures ?? entries.map(\.exposure), generatedAt: generatedAt, host: host)
    }

    @Test func snapshot() throws {
        let text = Self.starter(SampleInventory.inventory().entries)
        try TestFiles.assertSnapshot(text, named: "policy-starter.yaml")
    }

    /// The point of `policy init`: accepting its output accepts today's state.
    @Test func roundTripAllowsEveryListener() throws {
        let entries = SampleInventory.inventory().entries
        let policy = try Policy.parse(Self.starter(entries), file: "policy.yaml")
        for entry in entries where entry.socket.isListening {
            let decision = policy.decision(for: entry, exposure: entry.exposure)
            guard case .allowed = decision else {
                Issue.record("\(entry.socket.proto)/\(entry.socket.localPort) \(entry.socket.localAddress): \(decision)")
                continue
            }
        }
        // TIME_WAIT is not a listener: no entry for it.
        #expect(!policy.allow.contains { $0.ports.contains(46598) })
        // One entry per (proto, port, process, user): sshd's IPv4 and IPv6 sockets share one.
        #expect(policy.allow.filter { $0.ports.contains(22) }.count == 1)
        #expect(policy.allow.count == 10)
    }

    @Test func entriesAreTightAndTellChanges() throws {
        let entries = SampleInventory.inventory().entries
        let policy = try Policy.parse(Self.starter(entries), file: "policy.yaml")
        let redis = try #require(SampleInventory.entry(port: 7777))
        // A different program on the same port, or a different user, is not allowed.
        var impostor = redis
        impostor.owners = [SampleInventory.worker(77)]
        #expect(policy.decision(for: impostor, exposure: impostor.exposure) == .notAllowed)
        var otherUser = redis
        otherUser.socket.uid = 0
        otherUser.user = "root"
        otherUser.owners[0].uid = 0
        otherUser.owners[0].user = "root"
        #expect(policy.decision(for: otherUser, exposure: otherUser.exposure) == .notAllowed)
        // A loopback-only listener that opens up is reported as too exposed.
        var cups = try #require(SampleInventory.entry(port: 631))
        cups.socket.localAddress = .anyV4
        guard case .exposureTooWide = policy.decision(for: cups, exposure: .allInterfacesIPv4) else {
            Issue.record("631 on 0.0.0.0 should be too exposed")
            return
        }
        // So is a listener bound to one address that moves to another.
        var moved = try #require(SampleInventory.entry(port: 50000))
        moved.socket.localAddress = IPAddress(v4: 192, 0, 2, 8)
        guard case .exposureTooWide = policy.decision(for: moved, exposure: .specificAddress) else {
            Issue.record("50000 on another address should be too exposed")
            return
        }
    }

    @Test func usesTheExposureAfterTheFirewall() throws {
        let entries = SampleInventory.inventory().entries
        // The firewall drops 7777: as judged, it is loopback only.
        let exposures = entries.map { $0.socket.localPort == 7777 ? .loopback : $0.exposure }
        let text = Self.starter(entries, exposures: exposures)
        let policy = try Policy.parse(text, file: "policy.yaml")
        let redis = try #require(SampleInventory.entry(port: 7777))
        #expect(policy.decision(for: redis, exposure: .loopback) == .allowed(try #require(policy.allow.first { $0.ports.contains(7777) })))
        // When the firewall opens, the audit hears about it.
        guard case .exposureTooWide = policy.decision(for: redis, exposure: redis.exposure) else {
            Issue.record("7777 reachable should be too exposed")
            return
        }
        // Missing exposures fall back to the entries' own.
        let short = try Policy.parse(Self.starter(entries, exposures: []), file: "p")
        #expect(short.allow == (try Policy.parse(Self.starter(entries), file: "p")).allow)
    }

    @Test func hostileNamesStayData() throws {
        // A process name with quotes, a colon and a comment sign, and a host
        // name with a line separator: none may change the YAML's structure.
        var entry = try #require(SampleInventory.entry(port: 7777))
        entry.owners[0].name = "x\": y # \\\"z"
        entry.owners[0].exe = "/opt/a b/x\u{2028}allow: []"
        entry.user = "null"
        let text = Self.starter([entry], host: "evil\u{2028}allow: [\nname")
        let policy = try Policy.parse(text, file: "p")
        #expect(policy.allow.count == 1)
        #expect(policy.allow.first?.process == "x\": y # \\\"z")
        #expect(policy.allow.first?.user == "null")
        #expect(policy.allow.first?.comment == "/opt/a b/x\u{2028}allow: [], redis-server.service")
        #expect(policy.decision(for: entry, exposure: entry.exposure) == .allowed(try #require(policy.allow.first)))
        #expect(text.contains("# portcullis policy: what may listen on evil\\u{2028}allow: [\\nname."))
    }

    @Test func emptyInventory() throws {
        let text = Self.starter([], host: nil)
        #expect(text.contains("allow: []\n") && text.contains("on this host") && text.contains("from the\n# 0 sockets listening"))
        #expect(try Policy.parse(text, file: "p") == Policy(source: "p"))
    }

    @Test func warnsWhenOwnersWereNotVisible() throws {
        let entries = SampleInventory.inventory(euid: 1000).entries
        let text = Self.starter(entries)
        #expect(text.contains("# 3 of these sockets could not be attributed to a process"))
        let policy = try Policy.parse(text, file: "p")
        for entry in entries where entry.socket.isListening {
            guard case .allowed = policy.decision(for: entry, exposure: entry.exposure) else {
                Issue.record("\(entry.socket.localPort) not allowed")
                continue
            }
        }
    }

    @Test func picksTheDaemonOverSystemd() {
        var entry = SampleInventory.entry(port: 631)
        entry?.owners = [
            SocketOwner(pid: 1, name: "systemd", exe: "/usr/lib/systemd/systemd"),
            SocketOwner(pid: 900, name: "cupsd", exe: "/usr/sbin/cupsd"),
            SocketOwner(pid: 700, name: "", exe: "/usr/sbin/cups-helper"),
        ]
        #expect(entry.flatMap(Policy.starterProcessName) == "cups-helper")  // lowest pid; exe name when comm is unknown
        entry?.owners = [SocketOwner(pid: 1, name: "systemd")]
        #expect(entry.flatMap(Policy.starterProcessName) == "systemd")
    }
}
