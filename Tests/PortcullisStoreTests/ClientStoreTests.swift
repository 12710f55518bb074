import Foundation
import PortcullisCore
import Testing

@testable import PortcullisStore

@Suite("History store: remote clients of listeners (schema v4)")
struct ClientStoreTests {
    let redis = ClientSighting(
        proto: .tcp, family: .ipv4, localAddress: "0.0.0.0", localPort: 6379, peerAddress: "10.0.0.5", connections: 3)
    let postgres = ClientSighting(
        proto: .tcp, family: .ipv6, localAddress: "::", localPort: 5432, peerAddress: "2001:db8::7", connections: 1)

    @Test("Sightings read back per snapshot inside the window; snapshots that did not look are not counted")
    func window() throws {
        let scratch = try Scratch()
        let store = try HistoryStore(path: scratch.db)
        let content = Samples.content()
        try store.saveSnapshot(content, time: 1_000, label: "old", hostname: "h", source: "netlink", clients: [redis])
        try store.saveSnapshot(content, time: 2_000, label: "a", hostname: "h", source: "netlink", clients: [redis, postgres])
        try store.saveSnapshot(content, time: 3_000, label: "b", hostname: "h", source: "netlink", clients: [])
        try store.saveSnapshot(content, time: 4_000, label: "not looked", hostname: "h", source: "procfs")
        let (count, sightings) = try store.clientSightings(since: 1_500)
        #expect(count == 2)
        #expect(sightings == [StoredSighting(snapshotID: 2, sighting: postgres), StoredSighting(snapshotID: 2, sighting: redis)])
        #expect(try store.clientSightings(since: 0).snapshots == 3)
        #expect(try store.clientSightings(since: 5_000) == (0, []))
        #expect(try store.integrityCheck() == ["ok"] && store.consistencyProblems().isEmpty)
        // A client row whose snapshot is gone (written with foreign keys off, as a damaged file might be) is reported.
        let raw = try SQLiteQueue(path: scratch.db)
        try raw.writeWithoutTransaction { db in try db.execute("PRAGMA foreign_keys = OFF") }
        try raw.write { db in try db.execute("UPDATE snapshot_client SET snapshot_id = 99 WHERE snapshot_id = 1") }
        #expect(try store.consistencyProblems() == ["1 rows of snapshot_client belong to no snapshot"])
    }

    @Test("A version 3 database is migrated to 4: old snapshots intact and not counted; read-only it reads as having no clients")
    func migratesVersionThree() throws {
        let scratch = try Scratch()
        let content = Samples.content()
        do {
            let queue = try SQLiteQueue(path: scratch.db)
            try HistoryStore.migrator.migrate(queue, upTo: "v3 scans")
            try queue.write { db in try HistoryStore.insertIntoOlderSchema(content, time: 1_000, label: "v3", db) }
            #expect(try queue.read { try $0.value("PRAGMA user_version") as Int? } == 3)
        }
        var readOnly = HistoryStore.Options()
        readOnly.mode = .readOnly
        do {
            let reader = try HistoryStore(path: scratch.db, options: readOnly)
            #expect(try reader.clientSightings(since: 0) == (0, []))
            #expect(try reader.queue.read { try $0.tableExists("snapshot_client") } == false)
        }
        let store = try HistoryStore(path: scratch.db)
        #expect(try store.queue.read { try $0.value("PRAGMA user_version") as Int? } == HistoryStore.schemaVersion)
        #expect(try store.content(of: 1).entries == content.entries)
        #expect(try store.clientSightings(since: 0) == (0, []))
        try store.saveSnapshot(content, time: 2_000, label: "v4", hostname: "h", source: "netlink", clients: [redis])
        #expect(try store.clientSightings(since: 0) == (1, [StoredSighting(snapshotID: 2, sighting: redis)]))
        #expect(try store.integrityCheck() == ["ok"] && store.consistencyProblems().isEmpty)
    }

    @Test("A stored protocol this binary does not know is an error naming the snapshot, not a guess")
    func unknownValue() throws {
        let scratch = try Scratch()
        let store = try HistoryStore(path: scratch.db)
        try store.saveSnapshot(Samples.content(), time: 1_000, label: nil, hostname: "h", source: "netlink", clients: [redis])
        try store.queue.write { try $0.execute("UPDATE snapshot_client SET proto = 'sctp'") }
        do {
            _ = try store.clientSightings(since: 0)
            Issue.record("read an unknown protocol")
        } catch {
            #expect(error.description.contains("snapshot_client of snapshot 1 holds proto sctp"))
        }
    }
}
