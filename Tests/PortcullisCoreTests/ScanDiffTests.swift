import PortcullisCore
import Testing

/// A host scanned on `ports` (TCP): `open` and `filtered` as given, the rest closed.
private func host(
    _ address: String, ports: [UInt16] = [22, 80, 443], open: [UInt16: ScanService?] = [:], filtered: Set<UInt16> = [],
    status: HostStatus? = nil
) -> ScanHostResult {
    ScanHostResult(
        address: IPAddress(parsing: address)!, status: status,
        ports: ports.map { port in
            if let service = open[port] {
                return ScanPortResult(proto: .tcp, port: port, state: .open, reason: .synAck, service: service)
            }
            if filtered.contains(port) { return ScanPortResult(proto: .tcp, port: port, state: .filtered, reason: .noResponse) }
            return ScanPortResult(proto: .tcp, port: port, state: .closed, reason: .connRefused)
        })
}

private func record(
    _ hosts: [ScanHostResult], ports: [UInt16] = [22, 80, 443], targets: String = "10.0.0.1-3", id: Int64? = nil
) -> ScanRecord {
    let specs = (try? TargetSpec.parseList([targets])) ?? []
    let scope = ScanScope(given: targets, targets: specs, excludes: [], portsGiven: "22,80,443", tcpPorts: ports, udpPorts: [])
    var record = ScanRecord(
        ScanReport(hosts: hosts, startTime: 1_764_000_000, endTime: 1_764_000_001, durationMilliseconds: 900, arguments: []),
        scope: scope, tcpPorts: ports, udpPorts: [])
    record.info.id = id
    return record
}

private let ssh = ScanService(name: "ssh", product: "OpenSSH", version: "9.2p1", banner: "SSH-2.0-OpenSSH_9.2p1", method: .probed)

@Suite("Scan diff")
struct ScanDiffTests {
    @Test func identicalScansDoNotDiffer() {
        let scan = record([host("10.0.0.1", open: [22: ssh]), host("10.0.0.2", filtered: [22, 80, 443])])
        let diff = ScanDiff(from: scan, to: scan)
        #expect(diff.isEmpty)
        #expect(diff.hosts.isEmpty && diff.notes.isEmpty)
        var out = OutputSink()
        ScanHistoryRenderer.writeDiffText(diff, style: TableStyle(color: false), to: &out)
        #expect(String(decoding: out.bytes, as: UTF8.self).contains("no differences"))
    }

    @Test func aPortThatOpensAndOneThatClosesAreNamed() throws {
        let before = record([host("10.0.0.1", open: [22: ssh])])
        let after = record([host("10.0.0.1", open: [80: ScanService(name: "http", method: .table)])])
        let diff = ScanDiff(from: before, to: after)
        let changed = try #require(diff.hosts.first)
        #expect(diff.hosts.count == 1 && changed.change == .changed)
        #expect(changed.ports.map(\.port) == [22, 80])
        let closed = changed.ports[0]
        #expect(closed.change == .closed && closed.fromState == .open && closed.toState == .closed)
        #expect(closed.fromService?.summary == "ssh OpenSSH 9.2p1" && closed.toService == nil)
        let opened = changed.ports[1]
        #expect(opened.change == .opened && opened.fromState == .closed && opened.toState == .open && opened.toReason == .synAck)
        #expect(diff.count(.opened) == 1 && diff.count(.closed) == 1 && !diff.isEmpty)

        var out = OutputSink()
        ScanHistoryRenderer.writeDiffText(diff, style: TableStyle(color: false), to: &out)
        let text = String(decoding: out.bytes, as: UTF8.self)
        #expect(text.contains("-   22/tcp open -> closed  was ssh OpenSSH 9.2p1"), "\(text)")
        #expect(text.contains("+   80/tcp closed -> open  http"), "\(text)")
        #expect(text.contains("1 port opened, 1 closed"), "\(text)")
    }

    @Test func openToFilteredCountsAsClosedOrFiltered() throws {
        let before = record([host("10.0.0.1", open: [22: ssh])])
        let after = record([host("10.0.0.1", open: [80: nil], filtered: [22])])
        let diff = ScanDiff(from: before, to: after)
        let port = try #require(diff.hosts.first?.ports.first { $0.port == 22 })
        #expect(port.change == .closed && port.toState == .filtered && port.toReason == .noResponse)
        var out = OutputSink()
        ScanHistoryRenderer.writeDiffText(diff, style: TableStyle(color: false), to: &out)
        #expect(String(decoding: out.bytes, as: UTF8.self).contains("22/tcp open -> filtered (closed or filtered: no answer now)"))
    }

    @Test func aStateChangeBetweenClosedAndFilteredIsListed() throws {
        // 22 is the only filtered port before and the only closed one after: both sides list it.
        let ports: [UInt16] = [21, 22, 23, 25]
        let before = record([host("10.0.0.1", ports: ports, open: [25: nil], filtered: [21, 23])], ports: ports)
        let after = record([host("10.0.0.1", ports: ports, open: [25: nil], filtered: [21, 22])], ports: ports)
        let diff = ScanDiff(from: before, to: after)
        let changes = try #require(diff.hosts.first?.ports)
        #expect(changes.map(\.change) == [.stateChanged, .stateChanged], "\(changes)")
        #expect(changes.map(\.port) == [22, 23])
        #expect(changes[0].fromState == .closed && changes[0].toState == .filtered)
        #expect(changes[1].fromState == .filtered && changes[1].toState == .closed)
    }

    @Test func unlistedPortsThatChangeTogetherAreCounted() throws {
        // A firewall now drops what was refused: 998 ports closed -> filtered, counted on one line.
        let ports = (1...1000).map(UInt16.init)
        let before = record([host("10.0.0.1", ports: ports, open: [22: ssh, 80: nil])], ports: ports)
        let after = record(
            [host("10.0.0.1", ports: ports, open: [22: ssh, 80: nil], filtered: Set(ports).subtracting([22, 80]))], ports: ports)
        #expect(before.hosts[0].ports.count == 2, "only the open ports are listed")
        #expect(before.hosts[0].others == [ScanRecord.Others(proto: .tcp, state: .closed, reason: .connRefused, count: 998)])
        let diff = ScanDiff(from: before, to: after)
        let changed = try #require(diff.hosts.first)
        #expect(changed.ports.isEmpty)
        #expect(changed.others.count == 1)
        #expect(changed.others.first?.count == 998 && changed.others.first?.fromState == .closed)
        #expect(changed.others.first?.toState == .filtered)
        #expect(diff.othersChanged == 998 && !diff.isEmpty)
    }

    @Test func aServiceChangeIsNamedButAScanWithoutServiceDetectionIsNot() throws {
        let before = record([host("10.0.0.1", open: [22: ssh])])
        var newer = ssh
        newer.version = "9.6p1"
        let after = record([host("10.0.0.1", open: [22: newer])])
        let diff = ScanDiff(from: before, to: after)
        let port = try #require(diff.hosts.first?.ports.first)
        #expect(port.change == .serviceChanged && port.fromService?.version == "9.2p1" && port.toService?.version == "9.6p1")

        // The same port named only from the services table: not a service change.
        let tableOnly = record([host("10.0.0.1", open: [22: ScanService(name: "ssh", method: .table)])])
        #expect(ScanDiff(from: before, to: tableOnly).isEmpty)
    }

    @Test func hostsThatAppearOrVanishAreNamedWithTheirOpenPorts() throws {
        let down = HostStatus(up: false, reason: .noResponse)
        let before = record([
            host("10.0.0.1", open: [22: ssh]), host("10.0.0.2", filtered: [22, 80, 443], status: down),
        ])
        let after = record([
            host("10.0.0.1", filtered: [22, 80, 443], status: down),
            host("10.0.0.2", open: [443: nil], status: HostStatus(up: true, reason: .arpResponse, macAddress: "52:54:00:12:34:56")),
            host("10.0.0.3", open: [80: nil]),
        ])
        let diff = ScanDiff(from: before, to: after)
        #expect(diff.hosts.map(\.address.description) == ["10.0.0.1", "10.0.0.2", "10.0.0.3"])
        #expect(diff.hosts.map(\.change) == [.vanished, .appeared, .appeared])
        #expect(diff.hosts[0].ports.map(\.change) == [.closed] && diff.hosts[0].ports.first?.toState == .filtered)
        #expect(diff.hosts[1].ports.map(\.port) == [443] && diff.hosts[1].ports.first?.change == .opened)
        #expect(diff.hosts[2].from == nil && diff.hosts[2].ports.first?.fromState == nil, "10.0.0.3 was not scanned before")
        #expect(diff.count(.appeared) == 2 && diff.count(.vanished) == 1)

        var out = OutputSink()
        ScanHistoryRenderer.writeDiffText(diff, style: TableStyle(color: false), to: &out)
        let text = String(decoding: out.bytes, as: UTF8.self)
        #expect(text.contains("- 10.0.0.1: host vanished (now down: no-response)"), "\(text)")
        #expect(text.contains("+ 10.0.0.2: host appeared (was down; up: arp-response, 52:54:00:12:34:56)"), "\(text)")
        #expect(text.contains("+ 10.0.0.3: host appeared (not scanned before)"), "\(text)")
        #expect(text.contains("+   80/tcp not probed -> open"), "\(text)")
    }

    @Test func linkLocalHostsAreMatchedByAddressAndZone() throws {
        func zoned(_ name: String, index: UInt32, open: [UInt16: ScanService?]) -> ScanHostResult {
            var result = host("fe80::1", open: open)
            result.zone = InterfaceZone(name: name, index: index)
            return result
        }
        let before = record([zoned("eth0", index: 2, open: [22: ssh]), zoned("eth1", index: 3, open: [22: ssh])], targets: "fe80::1")
        let after = record([zoned("eth0", index: 2, open: [22: ssh]), zoned("eth1", index: 3, open: [:])], targets: "fe80::1")
        let diff = ScanDiff(from: before, to: after)
        let changed = try #require(diff.hosts.first)
        #expect(diff.hosts.count == 1 && changed.zone == "eth1" && changed.ports.map(\.change) == [.closed])
        var out = OutputSink()
        ScanHistoryRenderer.writeDiffText(diff, style: TableStyle(color: false), to: &out)
        #expect(String(decoding: out.bytes, as: UTF8.self).contains("fe80::1%eth1"))
        let stored = try #require(after.hosts.last)
        #expect(stored.addressText == "fe80::1%eth1")
        let parsed = try #require(ScanRecord.Host.parseAddressText(stored.addressText))
        #expect(parsed.0 == stored.address && parsed.1 == "eth1")
        #expect(ScanRecord.Host.parseAddressText("10.0.0.1")?.1 == nil)
    }

    @Test func hostsDownInBothScansAreNotChanges() {
        let down = HostStatus(up: false, reason: .noResponse)
        let before = record([host("10.0.0.1", filtered: [22, 80, 443], status: down)])
        let after = record([host("10.0.0.1", filtered: [22, 80, 443], status: down), host("10.0.0.2", filtered: [22, 80, 443])])
        #expect(ScanDiff(from: before, to: after).isEmpty)
    }

    @Test func anotherMACAddressAtTheSameAddressIsAChange() throws {
        let before = record([
            host("10.0.0.1", open: [22: ssh], status: HostStatus(up: true, reason: .arpResponse, macAddress: "52:54:00:00:00:01"))
        ])
        let after = record([
            host("10.0.0.1", open: [22: ssh], status: HostStatus(up: true, reason: .arpResponse, macAddress: "52:54:00:00:00:02"))
        ])
        let diff = ScanDiff(from: before, to: after)
        let changed = try #require(diff.hosts.first)
        #expect(changed.macChanged && changed.ports.isEmpty && !diff.isEmpty)
    }

    @Test func scansOfDifferentTargetsAndPortsAreComparedWithANote() throws {
        let before = record([host("10.0.0.1", open: [22: ssh])], id: 1)
        let after = record(
            [host("10.0.0.1", ports: [22, 80, 443, 8080], open: [22: ssh, 8080: nil])], ports: [22, 80, 443, 8080], targets: "10.0.0.1",
            id: 2)
        let diff = ScanDiff(from: before, to: after)
        #expect(diff.notes.count == 2, "\(diff.notes)")
        #expect(diff.notes[0].contains("different targets") && diff.notes[0].contains("scan 1: 10.0.0.1-3"))
        #expect(diff.notes[1].contains("different ports") && diff.notes[1].contains("tcp:22,80,443,8080"))
        // 8080 was not probed by scan 1: not compared, so no difference.
        #expect(diff.isEmpty, "\(diff.hosts)")
    }

    @Test func theJSONCarriesEveryDocumentedField() throws {
        let diff = ScanDiff(from: record([host("10.0.0.1", open: [22: ssh])], id: 3), to: record([host("10.0.0.1")], id: 4))
        let json = ScanHistoryRenderer.json(diff).serialized()
        for field in [
            #""from":{"id":3,"#, #""to":{"id":4,"#, #""differs":true"#, #""notes":[]"#, #""hosts_appeared":0"#, #""ports_closed":1"#,
            #""change":"changed""#, #""from_up":true"#, #""mac_changed":false"#, #""change":"closed""#, #""from_state":"open""#,
            #""to_state":"closed""#, #""from_service":{"name":"ssh","product":"OpenSSH","version":"9.2p1","method":"probed"}"#,
            #""other_ports":[]"#,
        ] {
            #expect(json.contains(field), "\(field) missing from \(json)")
        }
    }
}

@Suite("Scan scope and stored form")
struct ScanScopeTests {
    @Test func theSameTargetsWrittenDifferentlyHaveOneKey() throws {
        func key(_ targets: [String], exclude: [String] = []) throws -> String {
            ScanScope.targetKey(targets: try TargetSpec.parseList(targets), excludes: try TargetSpec.parseList(exclude, origin: .exclude))
        }
        let canonical = try key(["10.0.0.1-3"])
        #expect(canonical == "10.0.0.1-10.0.0.3")
        #expect(try key(["10.0.0.3,10.0.0.1", "10.0.0.2"]) == canonical)
        #expect(try key(["10.0.0.0/30"], exclude: ["10.0.0.0"]) == canonical)
        #expect(try key(["10.0.0.1-4"]) != canonical)
        #expect(try key(["Router.Example.", "10.0.0.1"]) == "10.0.0.1 names:router.example")
        #expect(try key(["router.example"], exclude: ["10.0.0.9"]) == "names:router.example exclude:10.0.0.9")
    }

    @Test func portListsBecomeRangesAndBack() {
        #expect(ScanScope.portRanges([80, 22, 23, 24, 443, 22]) == "22-24,80,443")
        #expect(ScanScope.portKey(tcp: [22, 80], udp: [53]) == "tcp:22,80 udp:53")
        #expect(ScanScope.parsePortRanges("22-24,80,443") == [22, 23, 24, 80, 443])
        #expect(ScanScope.parsePortRanges("") == [])
        #expect(ScanScope.parsePortRanges("24-22") == nil && ScanScope.parsePortRanges("x") == nil)
        let all = (1...65535).map(UInt16.init)
        #expect(ScanScope.portRanges(all) == "1-65535")
    }

    @Test func theStoredFormListsOpenPortsAndExceptionsAndCapsBanners() throws {
        let long = String(repeating: "A", count: 5000)
        let result = ScanHostResult(
            address: IPAddress(parsing: "10.0.0.1")!,
            ports: [
                ScanPortResult(proto: .tcp, port: 21, state: .closed, reason: .connRefused),
                ScanPortResult(
                    proto: .tcp, port: 22, state: .open, reason: .synAck,
                    service: ScanService(name: "ssh", banner: long, method: .probed), verdict: .finding(.high)),
                ScanPortResult(proto: .tcp, port: 23, state: .filtered, reason: .adminProhibited),
                ScanPortResult(proto: .tcp, port: 24, state: .closed, reason: .connRefused),
                ScanPortResult(proto: .udp, port: 53, state: .openFiltered, reason: .noResponse),
            ])
        let host = ScanRecord.Host(result)
        #expect(host.up)
        #expect(host.ports.map(\.port) == [22, 23], "the lone open|filtered UDP port is the UDP others")
        #expect(host.others.map(\.proto) == [.tcp, .udp])
        #expect(host.others.first?.state == .closed && host.others.first?.count == 2)
        #expect(host.ports.first?.verdict == .finding(.high))
        #expect(host.ports.first?.service?.banner?.count == ScanRecord.textLimit)
        #expect(host.state(.tcp, 24, scanned: true)?.state == .closed)
        #expect(host.state(.tcp, 23, scanned: true)?.reason == .adminProhibited)
        #expect(host.state(.tcp, 25, scanned: false) == nil)
    }
}
