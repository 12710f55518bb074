import Foundation
import PortcullisCore
import Testing

@testable import PortcullisStore

@Suite("History store: the close journal (schema v6)")
struct CloseJournalTests {
    static let plan = #"{"plan":{"target":"8080/tcp","method":"unit"},"steps":[]}"#
    static let acted = #"{"plan":{"target":"8080/tcp","method":"unit"},"steps":[{"stop":"demo.service","ok":true}]}"#
    static let undone = #"{"undo":[{"start":"demo.service","ok":true}]}"#

    var readOnly: HistoryStore.Options {
        var options = HistoryStore.Options()
        options.mode = .readOnly
        return options
    }

    /// Expects `body` to throw `.unknownCloseAction`, a usage error, with exactly `message`.
    func expectUnknown(_ message: String, _ body: () throws(StoreError) -> Void) {
        do {
            try body()
            Issue.record("no error; expected: \(message)")
        } catch {
            #expect(error.code == .unknownCloseAction)
            #expect(error.isUsageError)
            #expect(error.description == message)
        }
    }

    @Test("An entry reads back as journaled, then with its new document, then undone; newest first")
    func roundTrip() throws {
        let scratch = try Scratch()
        let store = try HistoryStore(path: scratch.db)
        let first = try store.journalClose(
            time: 1_764_000_000_123, target: "8080/tcp", namespace: nil, method: "unit", document: Self.plan)
        let second = try store.journalClose(
            time: 1_764_000_001_000, target: "53/udp", namespace: "blue", method: "firewall", document: "{}")
        #expect(first == 1 && second == 2)
        let journaled = CloseJournalEntry(
            id: 1, time: 1_764_000_000_123, target: "8080/tcp", namespace: nil, method: "unit", document: Self.plan)
        #expect(try store.closeAction(id: 1) == journaled)

        try store.updateClose(id: 1, document: Self.acted)
        var acted = journaled
        acted.document = Self.acted
        #expect(try store.closeAction(id: 1) == acted)

        try store.markCloseUndone(id: 1, time: 1_764_000_050_000, undoDocument: Self.undone)
        var reverted = acted
        reverted.undoneTime = 1_764_000_050_000
        reverted.undoDocument = Self.undone
        let other = CloseJournalEntry(
            id: 2, time: 1_764_000_001_000, target: "53/udp", namespace: "blue", method: "firewall", document: "{}")
        #expect(try store.closeActions() == [other, reverted])
        #expect(try store.closeActions(limit: 1) == [other])
        #expect(try store.closeActions(limit: 0) == [])

        // A reader that opened the file read-only sees the same.
        let reader = try HistoryStore(path: scratch.db, options: readOnly)
        #expect(try reader.closeActions() == [other, reverted])
        #expect(try reader.closeAction(id: nil) == other)
        #expect(try store.integrityCheck() == ["ok"] && store.consistencyProblems().isEmpty)
    }

    @Test("Without an id: the newest entry not undone; when all are undone, or none was journaled, a usage error saying so")
    func newestNotUndone() throws {
        let scratch = try Scratch()
        let store = try HistoryStore(path: scratch.db)
        expectUnknown("nothing left to undo: no close has been journaled in \(scratch.db) (portcullis close --journal lists them)") {
            () throws(StoreError) in _ = try store.closeAction(id: nil)
        }
        for (n, method) in ["process", "container", "destroy"].enumerated() {
            _ = try store.journalClose(time: Int64(n), target: "\(9000 + n)/tcp", namespace: nil, method: method, document: "{}")
        }
        #expect(try store.closeAction(id: nil).id == 3)
        try store.markCloseUndone(id: 3, time: 10, undoDocument: "{}")
        #expect(try store.closeAction(id: nil).target == "9001/tcp")
        // Undoing an older one first does not bring back the newer undone one.
        try store.markCloseUndone(id: 1, time: 11, undoDocument: "{}")
        #expect(try store.closeAction(id: nil).id == 2)
        try store.markCloseUndone(id: 2, time: 12, undoDocument: "{}")
        expectUnknown(
            "nothing left to undo: every close journaled in \(scratch.db) has been undone already (portcullis close --journal lists them)"
        ) { () throws(StoreError) in _ = try store.closeAction(id: nil) }
        // An undone entry is still found by its id.
        #expect(try store.closeAction(id: 2).undoneTime == 12)
    }

    @Test("An unknown id is a usage error naming the id and the file, for reads, updates and undos; nothing changes")
    func unknownID() throws {
        let scratch = try Scratch()
        let store = try HistoryStore(path: scratch.db)
        _ = try store.journalClose(time: 5, target: "22/tcp", namespace: nil, method: "process", document: Self.plan)
        let message = "no close action 7 in \(scratch.db) (portcullis close --journal lists them)"
        expectUnknown(message) { () throws(StoreError) in _ = try store.closeAction(id: 7) }
        expectUnknown(message) { () throws(StoreError) in try store.updateClose(id: 7, document: Self.acted) }
        expectUnknown(message) { () throws(StoreError) in try store.markCloseUndone(id: 7, time: 9, undoDocument: Self.undone) }
        #expect(
            try store.closeActions() == [
                CloseJournalEntry(id: 1, time: 5, target: "22/tcp", namespace: nil, method: "process", document: Self.plan)
            ])
    }

    @Test("A method outside the five is refused by the table, and nothing is written")
    func unknownMethod() throws {
        let scratch = try Scratch()
        let store = try HistoryStore(path: scratch.db)
        do {
            _ = try store.journalClose(time: 1, target: "22/tcp", namespace: nil, method: "nuke", document: "{}")
            Issue.record("journaled an unknown method")
        } catch {
            #expect(error.code == .failed && !error.isUsageError)
            #expect(error.description.contains("CHECK constraint failed"), "\(error)")
        }
        #expect(try store.closeActions().isEmpty)
    }

    @Test("A version 5 database is migrated to 6 with its snapshots, baseline and events intact; then it journals")
    func migratesVersionFive() throws {
        let scratch = try Scratch()
        let content = Samples.content()
        do {
            let queue = try SQLiteQueue(path: scratch.db)
            try HistoryStore.migrator.migrate(queue, upTo: "v5 finding ids and sockets")
            try queue.write { db in
                _ = try HistoryStore.insertSnapshot(
                    content, time: 1_764_000_000, label: "v5", hostname: "h", source: "netlink", diagnostics: [], db)
                try db.execute("INSERT INTO baseline (snapshot_id, set_at) VALUES (1, 1764000001)")
                try db.execute(
                    "INSERT INTO event (time_ms, kind, listener, body) VALUES (1764000002000, 'appeared', 'tcp 0.0.0.0:22', '{}')")
            }
            #expect(try queue.read { try $0.value("PRAGMA user_version") as Int? } == 5)
            #expect(try queue.read { try $0.tableExists("close_action") } == false)
        }
        let store = try HistoryStore(path: scratch.db)
        #expect(try store.queue.read { try $0.value("PRAGMA user_version") as Int? } == 6)
        #expect(HistoryStore.schemaVersion == 6)
        let old = try store.content(of: 1)
        #expect(old.entries == content.entries && old.findings == content.findings)
        #expect(try store.snapshots().map(\.label) == ["v5"])
        #expect(try store.baseline()?.setAt == 1_764_000_001)
        #expect(try store.events().map(\.timeMilliseconds) == [1_764_000_002_000])
        #expect(try store.closeActions().isEmpty)
        #expect(try store.journalClose(time: 7, target: "8080/tcp", namespace: "red", method: "destroy", document: "{}") == 1)
        #expect(try store.closeAction(id: nil).namespace == "red")
        #expect(try store.integrityCheck() == ["ok"] && store.consistencyProblems().isEmpty)
    }

    @Test("Read-only on a version 5 file: no journal, unknown ids, writes refused as not writable, the file unchanged")
    func readOnlyOlderSchema() throws {
        let scratch = try Scratch()
        do {
            let queue = try SQLiteQueue(path: scratch.db)
            try HistoryStore.migrator.migrate(queue, upTo: "v5 finding ids and sockets")
            try queue.write { db in
                _ = try HistoryStore.insertSnapshot(
                    Samples.content(), time: 1, label: "v5", hostname: nil, source: "netlink", diagnostics: [], db)
            }
        }
        let before = bytes(scratch.db)
        do {
            let reader = try HistoryStore(path: scratch.db, options: readOnly)
            #expect(try reader.snapshots().map(\.label) == ["v5"])
            #expect(try reader.closeActions() == [])
            #expect(try reader.closeActions(limit: 3) == [])
            expectUnknown("no close action 1 in \(scratch.db) (portcullis close --journal lists them)") {
                () throws(StoreError) in _ = try reader.closeAction(id: 1)
            }
            expectUnknown("nothing left to undo: no close has been journaled in \(scratch.db) (portcullis close --journal lists them)") {
                () throws(StoreError) in _ = try reader.closeAction(id: nil)
            }
            do {
                _ = try reader.journalClose(time: 1, target: "22/tcp", namespace: nil, method: "unit", document: "{}")
                Issue.record("journaled through a read-only store")
            } catch {
                #expect(error.code == .notWritable)
                #expect(error.description.contains("predates the close journal"), "\(error)")
            }
            #expect(try reader.queue.read { try $0.tableExists("close_action") } == false)
        }
        #expect(bytes(scratch.db) == before)
    }

    @Test("A read-only store of the current schema refuses writes as not writable and keeps the entry as it was")
    func readOnlyWritesRefused() throws {
        let scratch = try Scratch()
        do {
            let store = try HistoryStore(path: scratch.db)
            _ = try store.journalClose(time: 3, target: "80/tcp", namespace: nil, method: "container", document: Self.plan)
        }
        let reader = try HistoryStore(path: scratch.db, options: readOnly)
        do {
            try reader.updateClose(id: 1, document: Self.acted)
            Issue.record("updated through a read-only store")
        } catch { #expect(error.code == .notWritable, "\(error)") }
        do {
            try reader.markCloseUndone(id: 1, time: 4, undoDocument: Self.undone)
            Issue.record("marked undone through a read-only store")
        } catch { #expect(error.code == .notWritable, "\(error)") }
        #expect(
            try reader.closeAction(id: nil)
                == CloseJournalEntry(id: 1, time: 3, target: "80/tcp", namespace: nil, method: "container", document: Self.plan))
    }
}
