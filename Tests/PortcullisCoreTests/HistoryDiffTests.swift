import Testing

@testable import PortcullisCore

private func owner(_ pid: Int32, _ name: String, exe: String? = nil, uid: UInt32 = 0) -> SocketOwner {
    SocketOwner(pid: pid, name: name, exe: exe ?? "/usr/sbin/\(name)", uid: uid, user: uid == 0 ? "root" : "u\(uid)", fds: [3])
}

private func listener(
    _ proto: TransportProtocol = .tcp, _ address: String, _ port: UInt16, inode: UInt64,
    owners: [SocketOwner], v6only: Bool? = nil, unowned: UnownedReason? = nil
) -> InventoryEntry {
    let local = IPAddress(parsing: address)!
    let family: AddressFamily = local.kind == .v4 ? .ipv4 : .ipv6
    let socket = SocketRecord(
        proto: proto, family: family, localAddress: local, localPort: port,
        remoteAddress: family == .ipv4 ? .anyV4 : .anyV6, remotePort: 0,
        stateCode: proto == .tcp ? SocketState.listen.rawValue : SocketState.close.rawValue,
        inode: inode, uid: 0, v6only: v6only)
    return InventoryEntry(
        socket: socket, user: "root", portClass: PortClass(port: port), inEphemeralRange: false, service: nil,
        exposure: Exposure(localAddress: local, v6only: v6only), owners: owners,
        unownedReason: owners.isEmpty ? (unowned ?? .kernelSocket) : nil)
}

private func finding(_ rule: RuleID, _ entry: InventoryEntry, title: String? = nil) -> Finding {
    let s = entry.socket
    return Finding(
        rule: rule, severity: .medium, title: title ?? "\(rule.rawValue) on \(s.localPort)",
        subject: FindingSubject(
            proto: .transport(s.proto), family: s.family, localAddress: s.localAddress.description,
            port: s.localPort, inode: s.inode, exposure: entry.exposure),
        owners: entry.owners, evidence: [], remediation: "")
}

@Suite("History diff and watch events")
struct HistoryDiffTests {
    let ssh = listener(.tcp, "0.0.0.0", 22, inode: 10, owners: [owner(100, "sshd")])
    let web = listener(.tcp, "::", 80, inode: 11, owners: [owner(200, "nginx"), owner(201, "nginx", uid: 33)], v6only: true)
    let redis = listener(.tcp, "127.0.0.1", 6379, inode: 12, owners: [owner(300, "redis-server")])

    @Test("Identical states: no difference, whatever the inodes and pids")
    func noChange() {
        var restarted = ssh
        restarted.socket.inode = 99
        restarted.owners = [owner(4242, "sshd")]
        let diff = HistoryDiff.compute(
            from: SnapshotContent(entries: [ssh, web], findings: []),
            to: SnapshotContent(entries: [web, restarted], findings: []))
        #expect(diff.isEmpty)
    }

    @Test("Added and removed listeners, by protocol, family, address and port")
    func addedRemoved() {
        let udp = listener(.udp, "0.0.0.0", 22, inode: 13, owners: [owner(400, "x")])
        let v6ssh = listener(.tcp, "::", 22, inode: 14, owners: [owner(100, "sshd")], v6only: true)
        let diff = HistoryDiff.compute(
            from: SnapshotContent(entries: [ssh, redis], findings: []),
            to: SnapshotContent(entries: [ssh, udp, v6ssh], findings: []))
        #expect(diff.added.map(\.key.description) == ["tcp6 [::]:22", "udp 0.0.0.0:22"])
        #expect(diff.removed.map(\.key.description) == ["tcp 127.0.0.1:6379"])
        #expect(diff.ownerChanged.isEmpty && diff.exposureChanged.isEmpty)
    }

    @Test("A different executable or user on the same port is an owner change; unknown owners are not compared")
    func ownerChange() {
        var other = ssh
        other.owners = [owner(500, "dropbear")]
        var otherUser = redis
        otherUser.owners = [owner(300, "redis-server", uid: 999)]
        var unknown = web
        unknown.owners = []
        unknown.unownedReason = .notPermitted
        let diff = HistoryDiff.compute(
            from: SnapshotContent(entries: [ssh, redis, web], findings: []),
            to: SnapshotContent(entries: [other, otherUser, unknown], findings: []))
        #expect(diff.ownerChanged.map(\.key.localPort) == [22, 6379])
        #expect(diff.ownerChanged.first?.before.owners.first?.name == "sshd")
        #expect(diff.ownerChanged.first?.after.owners.first?.name == "dropbear")
        #expect(diff.added.isEmpty && diff.removed.isEmpty)
        // A socket no process holds any more after a full walk as root is a change.
        var kernel = ssh
        kernel.owners = []
        kernel.unownedReason = .kernelSocket
        #expect(
            HistoryDiff.compute(
                from: SnapshotContent(entries: [ssh], findings: []),
                to: SnapshotContent(entries: [kernel], findings: [])
            ).ownerChanged.count == 1)
    }

    @Test("IPV6_V6ONLY turned off on [::]:80: an exposure change")
    func exposureChange() {
        var dual = web
        dual.socket.v6only = false
        dual.exposure = Exposure(localAddress: dual.socket.localAddress, v6only: false)
        let diff = HistoryDiff.compute(
            from: SnapshotContent(entries: [web], findings: []), to: SnapshotContent(entries: [dual], findings: []))
        #expect(diff.exposureChanged.count == 1)
        #expect(diff.exposureChanged.first?.before.exposure == .allInterfacesIPv6)
        #expect(diff.exposureChanged.first?.after.exposure == .allInterfacesDualStack)
        #expect(!diff.isEmpty)
    }

    @Test("Findings new and resolved, by rule and subject, not inode or pid")
    func findings() {
        var restarted = redis
        restarted.socket.inode = 77
        let old = [
            finding(.exposedDatastore, redis), finding(.ephemeralListener, ssh),
            Finding(
                rule: .packetSocket, severity: .info, title: "Packet socket capturing all on every interface held by dhclient[812]",
                subject: FindingSubject(proto: .packet, family: nil, localAddress: "every interface", port: nil, inode: 5, exposure: nil),
                owners: [], evidence: [], remediation: ""),
        ]
        let new = [
            finding(.exposedDatastore, restarted), finding(.backdoorPort, ssh),
            Finding(
                rule: .packetSocket, severity: .info, title: "Packet socket capturing all on every interface held by dhclient[9000]",
                subject: FindingSubject(proto: .packet, family: nil, localAddress: "every interface", port: nil, inode: 6, exposure: nil),
                owners: [], evidence: [], remediation: ""),
        ]
        let diff = HistoryDiff.compute(
            from: SnapshotContent(entries: [ssh, redis], findings: old),
            to: SnapshotContent(entries: [ssh, restarted], findings: new))
        #expect(diff.newFindings.map(\.rule) == [.backdoorPort])
        #expect(diff.resolvedFindings.map(\.rule) == [.ephemeralListener])
    }

    @Test("A finding keeps its identity when its program binds one more socket, and loses it when another program holds it")
    func identityFollowsProgramAndFirstSocket() {
        var nmbd = SocketOwner(pid: 40)
        nmbd.name = "nmbd"
        let any = FindingSubject(
            proto: .transport(.udp), family: .ipv4, localAddress: "0.0.0.0", port: 137, inode: 1, exposure: .allInterfacesIPv4)
        let lan = FindingSubject(
            proto: .transport(.udp), family: .ipv4, localAddress: "192.0.2.2", port: 137, inode: 2, exposure: .specificAddress)
        let one = Finding(
            rule: .udpAmplification, severity: .medium, title: "t", subject: any, owners: [nmbd], evidence: [], remediation: "")
        var restarted = nmbd
        restarted.pid = 977
        let two = Finding(
            rule: .udpAmplification, severity: .medium, title: "t2", subject: any, owners: [restarted], evidence: [], remediation: "",
            sockets: [any, lan])
        #expect(one.id == "udp-amplification@nmbd:0.0.0.0:137/udp")
        #expect(FindingIdentity(one) == FindingIdentity(two))
        var other = nmbd
        other.name = "socat"
        let foreign = Finding(
            rule: .udpAmplification, severity: .medium, title: "t", subject: any, owners: [other], evidence: [], remediation: "")
        #expect(FindingIdentity(one) != FindingIdentity(foreign))
    }

    @Test("Watch events: opened, closed, owner changed; a restart by the same program is quiet")
    func watchEvents() {
        let before = ListenerView.group([ssh, web])
        var replaced = web
        replaced.socket.inode = 50
        replaced.owners = [owner(900, "caddy")]
        var restarted = ssh
        restarted.socket.inode = 51
        restarted.owners = [owner(901, "sshd")]
        let after = ListenerView.group([restarted, replaced, redis])
        let events = WatchEvents.events(previous: before, current: after, time: 1_764_000_000_500)
        #expect(events.map(\.kind) == [.ownerChanged, .opened])
        #expect(events[0].listener.key.localPort == 80)
        #expect(events[0].previousOwners?.map(\.pid) == [200, 201])
        #expect(events[0].listener.owners.map(\.pid) == [900])
        let closed = WatchEvents.events(previous: after, current: [:], time: 0)
        #expect(closed.map(\.kind) == [.closed, .closed, .closed])
        #expect(closed.first?.listener.owners.first?.pid == 901)
    }

    @Test("Event JSON and text carry the key, exposure and full owners")
    func eventRendering() {
        let event = WatchEvents.events(before: nil, after: ListenerView.group([redis]).values.first, time: 1_764_000_000_042)[0]
        let json = HistoryRenderer.json(event).serialized()
        #expect(
            json.hasPrefix(
                #"{"event":"opened","time":"2025-11-24T16:00:00.042Z","proto":"tcp","family":"ipv4","local_address":"127.0.0.1","local_port":6379,"namespace":null,"exposure":"loopback""#
            ))
        #expect(json.contains(#""owners":[{"pid":300,"#))
        #expect(json.hasSuffix(#""previous_owners":null}"#))
        let text = HistoryRenderer.text(event)
        #expect(
            text.hasPrefix(
                "2025-11-24T16:00:00.042Z opened tcp 127.0.0.1:6379 (loopback) by redis-server[300] /usr/sbin/redis-server user root"))
    }

    @Test("RFC 3339 times parse back")
    func timestamps() {
        for t: Int64 in [0, 1_764_000_000, 951_782_400, 4_102_444_799] {
            #expect(Timestamp.parseISO8601(Timestamp.iso8601(t)) == t)
        }
        #expect(Timestamp.iso8601Milliseconds(1_764_000_000_007) == "2025-11-24T16:00:00.007Z")
        #expect(Timestamp.parseISO8601("2025-13-01T00:00:00Z") == nil)
    }

    @Test("audit --baseline: a finding for each listener the baseline lacks")
    func notInBaseline() {
        var input = AuditInput(entries: [ssh, redis])
        input.baseline = BaselineListeners(snapshotID: 3, time: 1_764_000_000, keys: [ListenerKey(ssh.socket)])
        let report = Auditor.run(input)
        let found = report.findings.filter { $0.rule == .notInBaseline }
        #expect(found.count == 1)
        #expect(found.first?.subject?.port == 6379)
        #expect(found.first?.evidence.contains("baseline: snapshot 3 taken 2025-11-24T16:00:00Z") == true)
        #expect(Auditor.run(AuditInput(entries: [ssh, redis])).findings.allSatisfy { $0.rule != .notInBaseline })
    }
}
