import Foundation
import PortcullisCore
import Testing

@testable import PortcullisStore

/// Databases written by portcullis while its store used a Swift SQLite library
/// (Fixtures/grdb, made by the main branch's code before that library was removed):
/// every one must open, read back whole and migrate, and keep the record of
/// applied migrations it kept, so older binaries can still open it.
@Suite("History store: files written by the former store (grdb_migrations)")
struct LegacyFileTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/grdb")

    static let identifiers = [
        "v1 snapshots, baselines, events", "v2 namespaces and containers", "v3 scans", "v4 remote clients",
        "v5 finding ids and sockets", "v6 close journal",
    ]

    /// A copy of fixture `name` in a scratch directory: the committed file is never opened for writing.
    static func copy(_ name: String, into scratch: Scratch) throws -> String {
        try FileManager.default.copyItem(atPath: fixtures.appendingPathComponent(name).path, toPath: scratch.db)
        return scratch.db
    }

    static func applied(_ store: HistoryStore) throws -> [String] {
        try store.queue.read { db in try db.column("SELECT identifier FROM grdb_migrations") as [String] }.sorted()
    }

    @Test("A version 6 file from the former store: snapshots, clients, baseline, events, scan and close journal read back")
    func versionSix() throws {
        let scratch = try Scratch()
        let db = try Self.copy("history-v6.db", into: scratch)
        var readOnly = HistoryStore.Options()
        readOnly.mode = .readOnly
        for store in [try HistoryStore(path: db, options: readOnly), try HistoryStore(path: db)] {
            let snapshots = try store.snapshots()
            #expect(snapshots.map(\.id) == [1, 2])
            #expect(snapshots.map(\.label) == ["first", nil])
            #expect(snapshots.map(\.time) == [1_764_000_000, 1_764_000_100])
            #expect(snapshots[0].severities == [.high: 2, .low: 1])
            for snapshot in snapshots {
                let content = try store.content(of: snapshot.id)
                #expect(content.entries == Samples.content().entries)
                #expect(content.findings == Samples.content().findings)
            }
            #expect(try store.baseline()?.snapshot.id == 1 && store.baseline()?.setAt == 1_764_000_050)
            let (count, sightings) = try store.clientSightings(since: 0)
            #expect(count == 1 && sightings.map(\.sighting.peerAddress) == ["10.0.0.5"])
            let events = try store.events()
            #expect(!events.isEmpty && events.allSatisfy { $0.kind == "opened" && $0.timeMilliseconds == 1_764_000_000_123 })
            var scan = ScanSamples.record()
            scan.info.id = 1
            #expect(try store.scan(1) == scan)
            let close = try store.closeAction(id: 1)
            #expect(close.target == "8080/tcp" && close.method == "process" && close.document == "{\"plan\":1}")
            #expect(close.undoneTime == 1_764_000_300_000 && close.undoDocument == "{\"undone\":true}")
            #expect(try store.integrityCheck() == ["ok"] && store.consistencyProblems().isEmpty)
            #expect(try Self.applied(store) == Self.identifiers.sorted())
        }
        // And it takes new snapshots as before.
        let store = try HistoryStore(path: db)
        let next = try store.saveSnapshot(Samples.content(), time: 1_764_000_200, label: "after", hostname: "h", source: "netlink")
        #expect(next.id == 3)
        #expect(try store.content(of: 3).entries == Samples.content().entries)
    }

    @Test("A version 2 file from the former store reads read-only, then migrates to 6 keeping its snapshot and baseline")
    func versionTwo() throws {
        let scratch = try Scratch()
        let db = try Self.copy("history-v2.db", into: scratch)
        var readOnly = HistoryStore.Options()
        readOnly.mode = .readOnly
        do {
            let reader = try HistoryStore(path: db, options: readOnly)
            #expect(try reader.content(of: 1).entries == Samples.content().entries)
            #expect(try Self.applied(reader) == Array(Self.identifiers.prefix(2)).sorted())
        }
        let store = try HistoryStore(path: db)
        #expect(try store.queue.read { try $0.value("PRAGMA user_version") as Int? } == HistoryStore.schemaVersion)
        #expect(try Self.applied(store) == Self.identifiers.sorted())
        #expect(try store.snapshots().map(\.label) == ["v2"])
        #expect(try store.content(of: 1).entries == Samples.content().entries)
        #expect(try store.baseline()?.snapshot.id == 1)
        #expect(try store.scans().isEmpty && store.closeActions().isEmpty)
        #expect(try store.integrityCheck() == ["ok"] && store.consistencyProblems().isEmpty)
    }

    @Test("A new file records its migrations as before, under the same identifiers")
    func newFileRecordsMigrations() throws {
        let scratch = try Scratch()
        let store = try HistoryStore(path: scratch.db)
        #expect(try Self.applied(store) == Self.identifiers.sorted())
        #expect(HistoryStore.migrator.migrations.map(\.identifier) == Self.identifiers)
    }

    @Test("A migration recorded that this binary does not know: a newer schema, and the file is not changed")
    func unknownMigration() throws {
        let scratch = try Scratch()
        do {
            let store = try HistoryStore(path: scratch.db)
            try store.queue.write { db in try db.execute("INSERT INTO grdb_migrations (identifier) VALUES ('v7 from the future')") }
            try store.queue.writeWithoutTransaction { db in try db.execute("PRAGMA wal_checkpoint(TRUNCATE)") }
        }
        let before = bytes(scratch.db)
        let refused = try #require(throws: StoreError.self) { _ = try HistoryStore(path: scratch.db) }
        #expect(refused.code == .newerSchema)
        #expect(refused.description.contains("it has migrations this portcullis does not know"))
        #expect(bytes(scratch.db) == before)
    }
}
