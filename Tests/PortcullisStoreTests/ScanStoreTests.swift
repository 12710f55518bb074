import Foundation
import PortcullisCore
import Testing

@testable import PortcullisStore

/// A scan of 10.0.0.1-3 covering every stored field: discovery status with
/// MAC and vendor, a host without discovery, a down host, open ports with
/// probed and table services and a verdict, exceptions to the host's
/// commonest state, UDP, a hostname, a long banner.
enum ScanSamples {
    static let tcpPorts: [UInt16] = Array(20...30) + [80, 443, 6379]
    static let udpPorts: [UInt16] = [53, 161]

    static func report(redisOpen: Bool = true) -> ScanReport {
        func ports(open: [UInt16: ScanService?], filtered: Set<UInt16> = []) -> [ScanPortResult] {
            tcpPorts.map { port in
                if let service = open[port] {
                    return ScanPortResult(
                        proto: .tcp, port: port, state: .open, reason: .synAck, rttMicroseconds: 120, service: service,
                        verdict: port == 6379 ? .finding(.critical) : .open)
                }
                if filtered.contains(port) {
                    return ScanPortResult(proto: .tcp, port: port, state: .filtered, reason: .adminProhibited, detail: "EPERM")
                }
                return ScanPortResult(proto: .tcp, port: port, state: .closed, reason: .connRefused, rttMicroseconds: 80)
            }
        }
        let redis = ScanService(
            name: "redis", product: "Redis", version: "7.0.15", banner: "+PONG " + String(repeating: "x", count: 4000), method: .probed,
            unauthenticated: UnauthenticatedAccess(request: "PING", answer: "+PONG"))
        var open: [UInt16: ScanService?] = [22: ScanService(name: "ssh", method: .table)]
        if redisOpen { open[6379] = redis }
        let first = ScanHostResult(
            address: IPAddress(parsing: "10.0.0.1")!, hostname: "db.example",
            status: HostStatus(up: true, reason: .arpResponse, macAddress: "52:54:00:12:34:56", vendor: "QEMU", rttMicroseconds: 310),
            ports: ports(open: open, filtered: [25])
                + [
                    ScanPortResult(
                        proto: .udp, port: 53, state: .open, reason: .udpResponse, service: ScanService(name: "domain", method: .table)),
                    ScanPortResult(proto: .udp, port: 161, state: .openFiltered, reason: .noResponse),
                ])
        let second = ScanHostResult(address: IPAddress(parsing: "10.0.0.2")!, ports: ports(open: [80: nil]))
        let third = ScanHostResult(
            address: IPAddress(parsing: "10.0.0.3")!, status: HostStatus(up: false, reason: .noResponse), ports: [])
        return ScanReport(
            hosts: [first, second, third], startTime: 1_764_000_000, endTime: 1_764_000_004, durationMilliseconds: 3_512,
            arguments: ["portcullis", "scan"])
    }

    static func record(redisOpen: Bool = true, targets: String = "10.0.0.1-3") -> ScanRecord {
        let scope = ScanScope(
            given: targets, targets: (try? TargetSpec.parseList([targets])) ?? [], excludes: [], portsGiven: "20-30,80,443,6379,U:53,161",
            tcpPorts: tcpPorts, udpPorts: udpPorts)
        return ScanRecord(report(redisOpen: redisOpen), scope: scope, tcpPorts: tcpPorts, udpPorts: udpPorts)
    }
}

@Suite("History store: scans (schema v3)")
struct ScanStoreTests {
    @Test("A recorded scan reads back equal to what was recorded, header counts included")
    func roundTrip() throws {
        let scratch = try Scratch()
        let store = try HistoryStore(path: scratch.db)
        let record = ScanSamples.record()
        let info = try store.recordScan(record)
        #expect(info.id == 1)
        #expect(info.hostCount == 3 && info.hostsUp == 2 && info.openPorts == 4)
        #expect(info.scope.targets == "10.0.0.1-3" && info.scope.protocols == [.tcp, .udp])
        #expect(info.scope.portKey == "tcp:20-30,80,443,6379 udp:53,161")
        var expected = record
        expected.info.id = 1
        let back = try store.scan(1)
        #expect(back == expected)
        // What matters, spelled out: discovery, MAC, vendor, the services, the verdict, every port's state.
        let first = try #require(back.hosts.first)
        #expect(first.status?.macAddress == "52:54:00:12:34:56" && first.status?.vendor == "QEMU" && first.hostname == "db.example")
        #expect(first.port(.tcp, 6379)?.service?.product == "Redis" && first.port(.tcp, 6379)?.verdict == .finding(.critical))
        #expect(first.port(.tcp, 6379)?.service?.banner?.count == ScanRecord.textLimit, "banners are capped")
        #expect(first.state(.tcp, 25, scanned: true)?.reason == .adminProhibited)
        #expect(first.state(.tcp, 23, scanned: true)?.state == .closed)
        #expect(first.state(.udp, 161, scanned: true)?.state == .openFiltered)
        #expect(back.hosts[1].status == nil, "discovery did not run for 10.0.0.2")
        #expect(back.hosts[2].up == false && back.hosts[2].status?.reason == .noResponse && back.hosts[2].ports.isEmpty)
        // Only what differs from each host's commonest state is a row.
        let rows = try store.queue.read { try $0.value("SELECT count(*) FROM scan_port") as Int? }
        #expect(rows == 5)
        #expect(try store.scans() == [info])
        #expect(try store.integrityCheck() == ["ok"] && store.consistencyProblems().isEmpty)
        try store.queue.write { try $0.execute("DELETE FROM scan_host WHERE position = 2") }
        #expect(try store.consistencyProblems() == ["scan 1: header says 3 hosts, rows hold 2"])
    }

    @Test("The last scan of the same targets and ports is found; another scope is not")
    func lastMatching() throws {
        let scratch = try Scratch()
        let store = try HistoryStore(path: scratch.db)
        #expect(try store.lastScan(matching: ScanSamples.record().info.scope) == nil)
        try store.recordScan(ScanSamples.record())
        try store.recordScan(ScanSamples.record(targets: "10.0.0.1"))
        try store.recordScan(ScanSamples.record(redisOpen: false))
        try store.recordScan(ScanSamples.record(targets: "10.0.0.1"))
        // The same addresses written another way.
        let same = try store.lastScan(matching: ScanSamples.record(targets: "10.0.0.1,10.0.0.2,10.0.0.3").info.scope)
        #expect(same?.info.id == 3)
        #expect(same?.hosts.first?.port(.tcp, 6379) == nil)
        #expect(try store.lastScan(matching: ScanSamples.record(targets: "10.0.0.9").info.scope) == nil)
        #expect(try store.scans(limit: 2).map(\.id) == [3, 4])
    }

    @Test("An unknown scan id is a usage error naming the file")
    func unknownScan() throws {
        let scratch = try Scratch()
        let store = try HistoryStore(path: scratch.db)
        do {
            _ = try store.scan(7)
            Issue.record("read a scan that does not exist")
        } catch {
            #expect(error.code == .unknownScan && error.isUsageError)
            #expect(error.description == "no recorded scan 7 in \(scratch.db) (portcullis history --scans lists them)")
        }
    }

    @Test("A version 2 database made by this code is migrated to the current schema; its snapshots stay as they were")
    func migratesVersionTwo() throws {
        let scratch = try Scratch()
        let content = Samples.content()
        do {
            // The schema up to version 2 and a snapshot written by the code that writes snapshots now.
            let queue = try SQLiteQueue(path: scratch.db)
            try HistoryStore.migrator.migrate(queue, upTo: "v2 namespaces and containers")
            try queue.write { db in try HistoryStore.insertIntoOlderSchema(content, time: 1_764_000_000, label: "old", db) }
            #expect(try queue.read { try $0.value("PRAGMA user_version") as Int? } == 2)
            #expect(try queue.read { try $0.tableExists("scan") } == false)
        }
        let before = bytes(scratch.db)

        // Read-only: the version 2 file is read as it is (no scans), and not changed.
        var readOnly = HistoryStore.Options()
        readOnly.mode = .readOnly
        do {
            let reader = try HistoryStore(path: scratch.db, options: readOnly)
            #expect(try reader.snapshots().map(\.label) == ["old"])
            #expect(try reader.content(of: 1).entries == content.entries)
            #expect(try reader.scans().isEmpty)
            do {
                _ = try reader.scan(1)
                Issue.record("found a scan in a version 2 file")
            } catch { #expect(error.code == .unknownScan) }
        }
        #expect(bytes(scratch.db) == before)

        // Read-write: migrated, the snapshot intact, scans recorded beside it.
        let store = try HistoryStore(path: scratch.db)
        #expect(try store.queue.read { try $0.value("PRAGMA user_version") as Int? } == HistoryStore.schemaVersion)
        let old = try store.content(of: 1)
        #expect(old.entries == content.entries && old.findings == content.findings)
        #expect(try store.snapshot(1).label == "old")
        let info = try store.recordScan(ScanSamples.record())
        #expect(info.id == 1)
        #expect(try store.snapshots().count == 1 && store.scans().count == 1)
        #expect(try store.integrityCheck() == ["ok"] && store.consistencyProblems().isEmpty)
    }

    @Test("A stored value this binary does not know is an error naming the scan and column, not a guess")
    func unknownStoredValue() throws {
        let scratch = try Scratch()
        let store = try HistoryStore(path: scratch.db)
        try store.recordScan(ScanSamples.record())
        try store.queue.write { try $0.execute("UPDATE scan_port SET state = 'half-open' WHERE port = 22") }
        do {
            _ = try store.scan(1)
            Issue.record("read an unknown state")
        } catch {
            #expect(error.code == .failed)
            #expect(error.description.contains("recorded scan 1: column state holds \"half-open\""), "\(error)")
        }
    }
}
