import Foundation
import PortcullisCore
import Testing

@testable import PortcullisStore

/// A fresh directory, removed at the end of each test.
final class Scratch {
    let path: String
    init() throws {
        path = NSTemporaryDirectory() + "portcullis-store-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    var db: String { path + "/history.db" }
}

func bytes(_ path: String) -> Data { (try? Data(contentsOf: URL(fileURLWithPath: path))) ?? Data() }

@Suite("History store")
struct StoreTests {
    @Test("A new file gets the schema, WAL, synchronous=FULL, mode 0600 and the application id")
    func createsSchema() throws {
        let scratch = try Scratch()
        let store = try HistoryStore(path: scratch.db)
        #expect(try store.snapshots().isEmpty)
        #expect(try store.baseline() == nil)
        let attributes = try FileManager.default.attributesOfItem(atPath: scratch.db)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let (journal, sync, version, application) = try store.queue.read { db in
            (
                try db.value("PRAGMA journal_mode") as String?, try db.value("PRAGMA synchronous") as Int?,
                try db.value("PRAGMA user_version") as Int?, try db.value("PRAGMA application_id") as Int32?
            )
        }
        #expect(journal == "wal")
        #expect(sync == 2)  // FULL
        #expect(version == HistoryStore.schemaVersion)
        #expect(application == HistoryStore.applicationID)
    }

    @Test("Migrations run on an existing empty file, and again is a no-op")
    func migratesEmptyFile() throws {
        let scratch = try Scratch()
        FileManager.default.createFile(atPath: scratch.db, contents: Data())
        do {
            let store = try HistoryStore(path: scratch.db)
            try store.saveSnapshot(Samples.content(), time: 1_764_000_000, label: "one", hostname: "h", source: "netlink")
        }
        let again = try HistoryStore(path: scratch.db)
        #expect(try again.snapshots().count == 1)
        #expect(try again.integrityCheck() == ["ok"])
    }

    @Test("Missing directories of the default location are created 0700")
    func createsDirectories() throws {
        let scratch = try Scratch()
        var options = HistoryStore.Options()
        options.createDirectories = true
        let path = scratch.path + "/state/portcullis/portcullis.db"
        _ = try HistoryStore(path: path, options: options)
        let attributes = try FileManager.default.attributesOfItem(atPath: scratch.path + "/state/portcullis")
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o700)
    }

    @Test("Default paths: root, XDG_STATE_HOME, HOME")
    func defaultPaths() {
        #expect(HistoryStore.defaultPath(effectiveUID: 0, environment: { _ in nil }) == "/var/lib/portcullis/portcullis.db")
        let xdg = ["XDG_STATE_HOME": "/x/state", "HOME": "/home/a"]
        #expect(HistoryStore.defaultPath(effectiveUID: 1000, environment: { xdg[$0] }) == "/x/state/portcullis/portcullis.db")
        let home = ["XDG_STATE_HOME": "relative", "HOME": "/home/a"]
        #expect(HistoryStore.defaultPath(effectiveUID: 1000, environment: { home[$0] }) == "/home/a/.local/state/portcullis/portcullis.db")
        #expect(HistoryStore.defaultPath(effectiveUID: 1000, environment: { _ in nil }) == nil)
    }

    @Test("A snapshot reads back equal to what was collected")
    func roundTrip() throws {
        let scratch = try Scratch()
        let store = try HistoryStore(path: scratch.db)
        let content = Samples.content()
        let diagnostics = [Diagnostic(.notice, "1 socket could not be attributed")]
        let info = try store.saveSnapshot(
            content, time: 1_764_000_123, label: "before \"upgrade\"", hostname: "web1", source: "netlink", diagnostics: diagnostics)
        #expect(info.id == 1)
        #expect(info.listenerCount == content.entries.count)
        #expect(info.findingCount == 3)
        #expect(info.severities == [.high: 2, .low: 1])
        #expect(info.label == "before \"upgrade\"")
        let back = try store.content(of: info.id)
        #expect(back.entries == content.entries)
        #expect(back.findings == content.findings)
        // The same JSON as `list` and `audit` print.
        #expect(back.entries.map { InventoryRenderer.json($0) } == content.entries.map { InventoryRenderer.json($0) })
        #expect(try store.snapshot(1) == info)
        #expect(try store.snapshots() == [info])
    }

    @Test("A finding covering several sockets reads back with its id and every socket")
    func mergedFindingRoundTrip() throws {
        let scratch = try Scratch()
        let store = try HistoryStore(path: scratch.db)
        var nmbd = SocketOwner(pid: 611)
        nmbd.name = "nmbd"
        nmbd.unit = "nmbd.service"
        let sockets = ["0.0.0.0", "192.0.2.2", "192.0.2.255"].enumerated().map { i, address in
            FindingSubject(
                proto: .transport(.udp), family: .ipv4, localAddress: address, port: 137, inode: UInt64(10 + i),
                exposure: i == 0 ? .allInterfacesIPv4 : .specificAddress)
        }
        let finding = Finding(
            rule: .udpAmplification, severity: .medium, title: "NetBIOS-NS on three sockets", subject: sockets[0], owners: [nmbd],
            evidence: ["listens on 0.0.0.0:137/udp"], remediation: "disable netbios = yes", sockets: sockets)
        #expect(finding.id == "udp-amplification@nmbd.service:0.0.0.0:137/udp")
        let info = try store.saveSnapshot(
            SnapshotContent(entries: [], findings: [finding]), time: 1, label: nil, hostname: "h", source: "netlink", diagnostics: [])
        let back = try store.content(of: info.id).findings
        #expect(back.count == 1)
        #expect(back.first?.id == finding.id && back.first?.sockets == sockets && back.first?.subject == sockets[0])
    }

    @Test("A finding's subject protocol reads back as stored, even one this version does not name; an unknown exposure is refused")
    func subjectSpellings() throws {
        let scratch = try Scratch()
        let store = try HistoryStore(path: scratch.db)
        var content = Samples.content()
        func finding(_ subject: FindingSubject) -> Finding {
            Finding(
                rule: .packetSocket, severity: .info, title: "subject \(subject.proto)", subject: subject, owners: [], evidence: [],
                remediation: "")
        }
        content.findings = [
            finding(FindingSubject(proto: .packet, family: nil, localAddress: "every interface", port: nil, inode: 7, exposure: nil)),
            finding(
                FindingSubject(
                    proto: .other("sctp"), family: .ipv4, localAddress: "0.0.0.0", port: 9, inode: 8, exposure: .allInterfacesIPv4)),
        ]
        let info = try store.saveSnapshot(content, time: 1_764_000_000, label: nil, hostname: "h", source: "netlink")
        let back = try store.content(of: info.id)
        #expect(back.findings == content.findings)
        #expect(back.findings.map { AuditRenderer.json($0) } == content.findings.map { AuditRenderer.json($0) })
        try store.queue.write { db in
            try db.execute("UPDATE snapshot_finding SET subject = replace(subject, 'all_interfaces_ipv4', 'everywhere')")
        }
        #expect(throws: (any Error).self) { try store.content(of: info.id) }
    }

    @Test("Baselines are added, never replaced; unknown ids are usage errors")
    func baselines() throws {
        let scratch = try Scratch()
        let store = try HistoryStore(path: scratch.db)
        try store.saveSnapshot(Samples.content(), time: 1, label: nil, hostname: nil, source: "netlink")
        try store.saveSnapshot(Samples.content(), time: 2, label: nil, hostname: nil, source: "netlink")
        _ = try store.setBaseline(1, at: 10)
        _ = try store.setBaseline(2, at: 20)
        #expect(try store.baseline()?.snapshot.id == 2)
        #expect(try store.baseline()?.setAt == 20)
        let rows = try store.queue.read { db in try db.value("SELECT count(*) FROM baseline") as Int? }
        #expect(rows == 2)
        #expect(throws: StoreError.self) { try store.setBaseline(9, at: 30) }
        let unknown = try #require(throws: StoreError.self) { _ = try store.content(of: 42) }
        #expect(unknown.code == .unknownSnapshot)
        #expect(unknown.isUsageError)
    }

    @Test("Watch events are recorded and listed")
    func events() throws {
        let scratch = try Scratch()
        let store = try HistoryStore(path: scratch.db)
        let view = ListenerView.group(Samples.content().entries)
        let events = WatchEvents.events(previous: [:], current: view, time: 1_764_000_000_123)
        try store.record(events)
        let stored = try store.events()
        #expect(stored.count == events.count)
        #expect(stored.first?.kind == "opened")
        #expect(try store.events(limit: 2).map(\.id) == stored.suffix(2).map(\.id))
        #expect(stored.first?.json.hasPrefix("{\"event\":\"opened\"") == true)
    }

    @Test("Read-only use of a missing file says what to do")
    func missingReadOnly() throws {
        let scratch = try Scratch()
        var options = HistoryStore.Options()
        options.mode = .readOnly
        do {
            _ = try HistoryStore(path: scratch.db, options: options)
            Issue.record("opened a missing file")
        } catch {
            #expect(error.code == .missing)
            #expect(error.description.contains(scratch.db))
            #expect(error.description.contains("portcullis snapshot"))
        }
        #expect(!FileManager.default.fileExists(atPath: scratch.db))
    }

    @Test("A file that is not a database is corrupt, named, and left untouched")
    func garbageFile() throws {
        let scratch = try Scratch()
        let junk = Data((0..<8192).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) })
        try junk.write(to: URL(fileURLWithPath: scratch.db))
        do {
            _ = try HistoryStore(path: scratch.db)
            Issue.record("opened garbage")
        } catch {
            #expect(error.code == .corrupt)
            #expect(error.description.contains(scratch.db))
            #expect(error.description.contains("Move it aside"))
        }
        #expect(bytes(scratch.db) == junk)
    }

    @Test("A damaged page fails the quick_check on open; nothing is written")
    func damagedPage() throws {
        let scratch = try Scratch()
        do {
            let store = try HistoryStore(path: scratch.db)
            for i in 0..<5 { try store.saveSnapshot(Samples.content(), time: Int64(i), label: nil, hostname: nil, source: "netlink") }
            try store.queue.writeWithoutTransaction { db in try db.execute("PRAGMA wal_checkpoint(TRUNCATE)") }
        }
        var data = bytes(scratch.db)
        let pageSize = 4096
        #expect(data.count > 4 * pageSize)
        for page in 1..<(data.count / pageSize) {
            for i in (page * pageSize + 8)..<(page * pageSize + 200) { data[i] = 0xA5 }
        }
        try data.write(to: URL(fileURLWithPath: scratch.db))
        do {
            _ = try HistoryStore(path: scratch.db)
            Issue.record("opened a damaged database")
        } catch {
            #expect(error.code == .corrupt, "\(error)")
        }
        #expect(bytes(scratch.db) == data)
    }

    @Test("A newer schema is refused by name, and the file is unchanged")
    func newerSchema() throws {
        let scratch = try Scratch()
        do {
            let store = try HistoryStore(path: scratch.db)
            try store.saveSnapshot(Samples.content(), time: 1, label: nil, hostname: nil, source: "netlink")
            try store.queue.writeWithoutTransaction { db in
                try db.execute("PRAGMA user_version = \(HistoryStore.schemaVersion + 1)")
                try db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            }
        }
        let before = bytes(scratch.db)
        do {
            _ = try HistoryStore(path: scratch.db)
            Issue.record("opened a newer schema")
        } catch {
            #expect(error.code == .newerSchema)
            #expect(error.description.contains(scratch.db))
            #expect(error.description.contains("newer portcullis"))
        }
        #expect(bytes(scratch.db) == before)
    }

    @Test("Another program's SQLite database is not touched")
    func foreignDatabase() throws {
        let scratch = try Scratch()
        do {
            let other = try SQLiteQueue(path: scratch.db)
            try other.write { db in try db.execute("CREATE TABLE notes (t TEXT); INSERT INTO notes VALUES ('mine')") }
        }
        let before = bytes(scratch.db)
        let refused = try #require(throws: StoreError.self) { _ = try HistoryStore(path: scratch.db) }
        #expect(refused.code == .foreign)
        #expect(bytes(scratch.db) == before)
    }

    @Test("A writer holding the lock past the timeout: a locked error, and the stored snapshots stay")
    func locked() throws {
        let scratch = try Scratch()
        var options = HistoryStore.Options()
        options.busyTimeout = 0.2
        let store = try HistoryStore(path: scratch.db, options: options)
        try store.saveSnapshot(Samples.content(), time: 1, label: nil, hostname: nil, source: "netlink")
        let other = try SQLiteQueue(path: scratch.db)
        try other.writeWithoutTransaction { db in
            try db.execute("BEGIN IMMEDIATE")
            do {
                try store.saveSnapshot(Samples.content(), time: 2, label: nil, hostname: nil, source: "netlink")
                Issue.record("wrote through another writer's lock")
            } catch let error as StoreError {
                #expect(error.code == .locked)
                #expect(error.description.contains(scratch.db))
            }
            try db.execute("ROLLBACK")
        }
        #expect(try store.snapshots().count == 1)
        try store.saveSnapshot(Samples.content(), time: 3, label: nil, hostname: nil, source: "netlink")
        #expect(try store.snapshots().count == 2)
    }

    @Test("A place that cannot be written: a clear error naming the file")
    func notWritable() throws {
        // /sys refuses new files even to root.
        let path = "/sys/portcullis-test-\(UUID().uuidString).db"
        do {
            _ = try HistoryStore(path: path)
            Issue.record("created a database in /sys")
        } catch {
            #expect(error.code == .notWritable, "\(error)")
            #expect(error.description.contains(path))
        }
    }

    @Test(
        "A read-only file (as an ordinary user): writes refused, reads work",
        .enabled(if: geteuid() != 0, "root may write any file; the CLI suite covers this through setpriv"))
    func readOnlyFile() throws {
        let scratch = try Scratch()
        do {
            let store = try HistoryStore(path: scratch.db)
            try store.saveSnapshot(Samples.content(), time: 1, label: nil, hostname: nil, source: "netlink")
        }
        chmod(scratch.db, 0o400)
        let refused = try #require(throws: StoreError.self) { _ = try HistoryStore(path: scratch.db) }
        #expect(refused.code == .notWritable)
        var options = HistoryStore.Options()
        options.mode = .readOnly
        #expect(try HistoryStore(path: scratch.db, options: options).snapshots().count == 1)
    }
}
