// The snapshot codec: a stored snapshot read back from a history database
// whose rows hold anything (a damaged or hand-edited file). The input gives
// the rows of one snapshot: its header, then up to three rows each of
// snapshot_process, snapshot_socket and snapshot_finding. Every column's
// value is a tag byte (NULL, integer, text or real) and its bytes; the
// database takes whatever its constraints allow, and the store must read it
// back or say it is damaged.
import GRDB
import Glibc
import PortcullisCore
import PortcullisStore

/// The input, read front to back; reading past its end gives zeros.
struct Cursor {
    var bytes: [UInt8]
    var offset = 0

    mutating func byte() -> UInt8 {
        defer { offset += 1 }
        return offset < bytes.count ? bytes[offset] : 0
    }

    mutating func value() -> DatabaseValue {
        switch byte() % 4 {
        case 0:
            return .null
        case 1:
            let count = Int(byte() % 9)
            var value: UInt64 = 0
            for i in 0..<count { value |= UInt64(byte()) << (8 * UInt64(i)) }
            // Small numbers as often as large: sign-extend from the bytes given.
            let shift = UInt64(64 - 8 * max(count, 1))
            return (Int64(bitPattern: value << shift) >> Int64(shift)).databaseValue
        case 2:
            let count = Int(byte())
            let end = min(offset + count, bytes.count)
            let text = String(decoding: bytes[min(offset, end)..<end], as: UTF8.self)
            offset = end
            return text.databaseValue
        default:
            return Double(Int8(bitPattern: byte())).databaseValue
        }
    }
}

/// The store and a second connection that writes its rows, made once.
final class Fixture: @unchecked Sendable {
    let store: HistoryStore
    let writer: DatabaseQueue
    let snapshotID: Int64
    var columns: [String: [String]] = [:]
    static let tables = ["snapshot_process", "snapshot_socket", "snapshot_finding"]

    init() {
        let path = "/dev/shm/portcullis-fuzz-snapshot-\(getpid()).sqlite"
        for suffix in ["", "-wal", "-shm"] { unlink(path + suffix) }
        do {
            store = try HistoryStore(path: path)
            snapshotID = try store.saveSnapshot(
                SnapshotContent(entries: [], findings: []), time: 1_800_000_000, label: nil, hostname: nil, source: "fuzz"
            ).id
            writer = try DatabaseQueue(path: path)
            try writer.read { db in
                for table in Self.tables + ["snapshot"] {
                    columns[table] = try Row.fetchAll(db, sql: "PRAGMA table_info(\(table))").map { $0["name"] as String }
                        .filter { $0 != "snapshot_id" && $0 != "id" }
                }
            }
        } catch {
            fatalError("fuzz-snapshot: cannot make its database at \(path): \(error)")
        }
    }

    func run(_ input: [UInt8]) {
        var cursor = Cursor(bytes: input)
        do {
            try writer.write { db in
                for table in Self.tables {
                    try db.execute(sql: "DELETE FROM \(table) WHERE snapshot_id = ?", arguments: [snapshotID])
                }
                let header = columns["snapshot"] ?? []
                let assignments = header.map { "\($0) = ?" }.joined(separator: ", ")
                var values: [DatabaseValue] = header.map { _ in cursor.value() }
                values.append(snapshotID.databaseValue)
                try? db.execute(sql: "UPDATE snapshot SET \(assignments) WHERE id = ?", arguments: StatementArguments(values))
                for table in Self.tables {
                    let names = columns[table] ?? []
                    for _ in 0..<(cursor.byte() % 4) {
                        let row = [snapshotID.databaseValue] + names.map { _ in cursor.value() }
                        let marks = Array(repeating: "?", count: row.count).joined(separator: ", ")
                        try? db.execute(
                            sql: "INSERT OR REPLACE INTO \(table) (snapshot_id, \(names.joined(separator: ", "))) VALUES (\(marks))",
                            arguments: StatementArguments(row))
                    }
                }
            }
        } catch {
            fatalError("fuzz-snapshot: cannot write rows: \(error)")
        }
        if let content = try? store.content(of: snapshotID) {
            for entry in content.entries { _ = "\(entry.socket.localAddress) \(entry.owners.count)" }
            for finding in content.findings { _ = "\(finding.title) \(finding.id)" }
        }
        _ = try? store.snapshots()
    }
}

let fixture = Fixture()

/// libFuzzer's entry point: one input, `size` bytes at `data`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    fixture.run(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}
