// The snapshot codec: a stored snapshot read back from a history database
// whose rows hold anything (a damaged or hand-edited file). The input gives
// the rows of one snapshot: its header, then up to three rows each of
// snapshot_process, snapshot_socket and snapshot_finding. Every column's
// value is a tag byte (NULL, integer, text or real) and its bytes; the
// database takes whatever its constraints allow, and the store must read it
// back or say it is damaged.
import FuzzSQLite
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

    mutating func value() -> Value {
        switch byte() % 4 {
        case 0:
            return .null
        case 1:
            let count = Int(byte() % 9)
            var value: UInt64 = 0
            for i in 0..<count { value |= UInt64(byte()) << (8 * UInt64(i)) }
            // Small numbers as often as large: sign-extend from the bytes given.
            let shift = UInt64(64 - 8 * max(count, 1))
            return .integer(Int64(bitPattern: value << shift) >> Int64(shift))
        case 2:
            let count = Int(byte())
            let end = min(offset + count, bytes.count)
            let text = String(decoding: bytes[min(offset, end)..<end], as: UTF8.self)
            offset = end
            return .text(text)
        default:
            return .real(Double(Int8(bitPattern: byte())))
        }
    }
}

/// A value to bind, of any of SQLite's kinds.
enum Value {
    case null
    case integer(Int64)
    case text(String)
    case real(Double)
}

/// A second connection to the store's file, on SQLite's C API: it writes
/// whatever the input says, as a damaged or hand-edited file would hold.
final class Connection {
    let handle: OpaquePointer

    init(path: String) throws {
        var handle: OpaquePointer?
        let code = sqlite3_open_v2(path, &handle, SQLITE_OPEN_READWRITE, nil)
        guard code == SQLITE_OK, let handle else {
            sqlite3_close(handle)
            throw Failure(message: "open: \(String(cString: sqlite3_errstr(code)))")
        }
        self.handle = handle
        sqlite3_busy_timeout(handle, 5000)
        // As the store's own connection: rows must still reference their snapshot.
        sqlite3_exec(handle, "PRAGMA foreign_keys = ON", nil, nil, nil)
    }

    deinit { sqlite3_close_v2(handle) }

    struct Failure: Error { var message: String }

    /// Runs one statement with `values` bound; its rows (as text) are returned.
    @discardableResult
    func execute(_ sql: String, _ values: [Value] = []) throws -> [[String?]] {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(handle, sql, -1, &statement, nil) == SQLITE_OK, let statement else {
            throw Failure(message: String(cString: sqlite3_errmsg(handle)))
        }
        defer { sqlite3_finalize(statement) }
        // SQLITE_TRANSIENT, a macro Swift cannot import: SQLite copies the text.
        let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            switch value {
            case .null: sqlite3_bind_null(statement, index)
            case .integer(let v): sqlite3_bind_int64(statement, index, v)
            case .text(let v): sqlite3_bind_text(statement, index, v, -1, transient)
            case .real(let v): sqlite3_bind_double(statement, index, v)
            }
        }
        var rows: [[String?]] = []
        while true {
            switch sqlite3_step(statement) {
            case SQLITE_ROW:
                rows.append(
                    (0..<sqlite3_column_count(statement)).map { column in
                        sqlite3_column_text(statement, column).map { String(cString: $0) }
                    })
            case SQLITE_DONE: return rows
            default: throw Failure(message: String(cString: sqlite3_errmsg(handle)))
            }
        }
    }

    /// `body` in one transaction, committed when it returns.
    func write(_ body: (Connection) throws -> Void) throws {
        try execute("BEGIN IMMEDIATE")
        do { try body(self) } catch {
            _ = try? execute("ROLLBACK")
            throw error
        }
        try execute("COMMIT")
    }
}

/// The store and a second connection that writes its rows, made once.
final class Fixture: @unchecked Sendable {
    let store: HistoryStore
    let writer: Connection
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
            writer = try Connection(path: path)
            for table in Self.tables + ["snapshot"] {
                // PRAGMA table_info's second column is the column's name.
                columns[table] = try writer.execute("PRAGMA table_info(\(table))").compactMap { $0[1] }
                    .filter { $0 != "snapshot_id" && $0 != "id" }
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
                    try db.execute("DELETE FROM \(table) WHERE snapshot_id = ?", [.integer(snapshotID)])
                }
                let header = columns["snapshot"] ?? []
                let assignments = header.map { "\($0) = ?" }.joined(separator: ", ")
                var values: [Value] = header.map { _ in cursor.value() }
                values.append(.integer(snapshotID))
                _ = try? db.execute("UPDATE snapshot SET \(assignments) WHERE id = ?", values)
                for table in Self.tables {
                    let names = columns[table] ?? []
                    for _ in 0..<(cursor.byte() % 4) {
                        let row = [Value.integer(snapshotID)] + names.map { _ in cursor.value() }
                        let marks = Array(repeating: "?", count: row.count).joined(separator: ", ")
                        _ = try? db.execute(
                            "INSERT OR REPLACE INTO \(table) (snapshot_id, \(names.joined(separator: ", "))) VALUES (\(marks))", row)
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
