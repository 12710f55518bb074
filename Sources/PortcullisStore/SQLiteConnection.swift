import CSQLite
import PortcullisLinux

// The store's own thin layer over SQLite's C API: only what the history
// database uses. It replaced a Swift SQLite library that imports full
// Foundation, and with it ICU's data, into the static binary.

/// A failed SQLite call: its extended result code and SQLite's message.
struct SQLiteError: Error, Sendable, CustomStringConvertible {
    /// The extended result code (`SQLITE_IOERR_SHMSIZE`, `SQLITE_CONSTRAINT_FOREIGNKEY`...).
    var extendedCode: Int32
    /// `sqlite3_errmsg` read straight after the call, or `sqlite3_errstr` when there is no connection.
    var message: String

    /// The primary result code (`SQLITE_FULL`, `SQLITE_BUSY`...): the low byte of the extended one.
    var code: Int32 { extendedCode & 0xff }

    var description: String { "SQLite error \(extendedCode): \(message)" }

    /// SQLITE_IOERR_SHMSIZE, an expression macro Swift does not import: the WAL index could not be grown.
    static let ioErrorShmSize = SQLITE_IOERR | (19 << 8)
    /// SQLITE_CONSTRAINT_FOREIGNKEY, likewise.
    static let constraintForeignKey = SQLITE_CONSTRAINT | (3 << 8)

    /// The error `code` names, with SQLite's generic text for it.
    init(code: Int32, message: String? = nil) {
        extendedCode = code
        self.message = message ?? String(cString: sqlite3_errstr(code))
    }
}

/// A value as SQLite stores it.
enum SQLiteValue: Sendable, Equatable, CustomStringConvertible {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])

    /// As a message quotes it: text in quotes, so `"12"` is not mistaken for 12.
    var description: String {
        switch self {
        case .null: return "NULL"
        case .integer(let value): return String(value)
        case .real(let value): return String(value)
        case .text(let value): return String(reflecting: value)
        case .blob(let bytes): return "\(bytes.count) bytes"
        }
    }
}

/// A Swift value a statement can bind.
protocol SQLiteBindable {
    var sqliteValue: SQLiteValue { get }
}

extension Int64: SQLiteBindable { var sqliteValue: SQLiteValue { .integer(self) } }
extension Int: SQLiteBindable { var sqliteValue: SQLiteValue { .integer(Int64(self)) } }
extension Int32: SQLiteBindable { var sqliteValue: SQLiteValue { .integer(Int64(self)) } }
extension Bool: SQLiteBindable { var sqliteValue: SQLiteValue { .integer(self ? 1 : 0) } }
extension Double: SQLiteBindable { var sqliteValue: SQLiteValue { .real(self) } }
extension String: SQLiteBindable { var sqliteValue: SQLiteValue { .text(self) } }
extension Array: SQLiteBindable where Element == UInt8 { var sqliteValue: SQLiteValue { .blob(self) } }
extension SQLiteValue: SQLiteBindable { var sqliteValue: SQLiteValue { self } }
extension Optional: SQLiteBindable where Wrapped: SQLiteBindable {
    var sqliteValue: SQLiteValue { self?.sqliteValue ?? .null }
}

/// A Swift value a column reads as. Reads are defensive: a value of another
/// kind (text where an integer belongs, in a damaged or hand-edited file)
/// throws `SQLiteRow.Mismatch`, never stops the process.
protocol SQLiteColumnValue {
    /// The value, or nil when `value` cannot be read as this type (NULL included).
    init?(sqliteValue value: SQLiteValue)
}

extension Int64: SQLiteColumnValue {
    init?(sqliteValue value: SQLiteValue) {
        switch value {
        case .integer(let v): self = v
        case .real(let v):
            guard let exact = Int64(exactly: v) else { return nil }
            self = exact
        default: return nil
        }
    }
}

extension Int: SQLiteColumnValue {
    init?(sqliteValue value: SQLiteValue) {
        guard let wide = Int64(sqliteValue: value), let narrow = Int(exactly: wide) else { return nil }
        self = narrow
    }
}

extension Int32: SQLiteColumnValue {
    init?(sqliteValue value: SQLiteValue) {
        guard let wide = Int64(sqliteValue: value), let narrow = Int32(exactly: wide) else { return nil }
        self = narrow
    }
}

extension Bool: SQLiteColumnValue {
    init?(sqliteValue value: SQLiteValue) {
        switch value {
        case .integer(let v): self = v != 0
        case .real(let v): self = v != 0
        default: return nil
        }
    }
}

extension Double: SQLiteColumnValue {
    init?(sqliteValue value: SQLiteValue) {
        switch value {
        case .integer(let v): self = Double(v)
        case .real(let v): self = v
        default: return nil
        }
    }
}

extension String: SQLiteColumnValue {
    init?(sqliteValue value: SQLiteValue) {
        switch value {
        case .text(let v): self = v
        case .blob(let bytes):
            guard let text = String(validating: bytes, as: UTF8.self) else { return nil }
            self = text
        default: return nil
        }
    }
}

extension SQLiteValue: SQLiteColumnValue {
    init?(sqliteValue value: SQLiteValue) { self = value }
}

extension Optional: SQLiteColumnValue where Wrapped: SQLiteColumnValue {
    init?(sqliteValue value: SQLiteValue) {
        if value == .null {
            self = .none
            return
        }
        guard let wrapped = Wrapped(sqliteValue: value) else { return nil }
        self = .some(wrapped)
    }
}

/// One row read by a query: its values by column name or position.
struct SQLiteRow: Sequence {
    /// A value that is not of the kind asked for (or NULL where one is required).
    struct Mismatch: Error, CustomStringConvertible {
        var column: String
        var value: SQLiteValue
        var expected: String
        var description: String { "\(column) holds \(value), not \(expected)" }
    }

    /// A query's column names and where each is, made once and shared by its rows.
    final class Columns: Sendable {
        let names: [String]
        let positions: [String: Int]

        init(_ names: [String]) {
            self.names = names
            positions = Dictionary(names.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        }
    }

    let columns: Columns
    let values: [SQLiteValue]

    /// The value of `column` as `T`; throws `Mismatch` when it is of another kind.
    /// A column the query does not have reads as NULL, as in a file of an older
    /// schema (a version 4 finding has no `sockets`): nil for an optional.
    subscript<T: SQLiteColumnValue>(_ column: String) -> T {
        get throws {
            guard let index = columns.positions[column] else {
                guard let absent = T(sqliteValue: .null) else {
                    throw Mismatch(column: column, value: .null, expected: "a column of this query")
                }
                return absent
            }
            return try self[index]
        }
    }

    /// The value at `index` (from 0) as `T`; throws `Mismatch` when it is of another kind.
    subscript<T: SQLiteColumnValue>(_ index: Int) -> T {
        get throws {
            guard let value = T(sqliteValue: values[index]) else {
                throw Mismatch(column: columns.names[index], value: values[index], expected: "\(T.self)")
            }
            return value
        }
    }

    /// (column, value) pairs, in the query's order.
    func makeIterator() -> Zip2Sequence<[String], [SQLiteValue]>.Iterator { zip(columns.names, values).makeIterator() }
}

/// A prepared statement; finalized when the last reference goes.
final class SQLiteStatement {
    let handle: OpaquePointer
    /// The connection's handle, for `sqlite3_errmsg`; the statement never outlives its connection.
    let database: OpaquePointer

    fileprivate init(_ sql: String, database: OpaquePointer) throws(SQLiteError) {
        var statement: OpaquePointer?
        let code = sqlite3_prepare_v2(database, sql, -1, &statement, nil)
        guard code == SQLITE_OK, let statement else {
            sqlite3_finalize(statement)
            throw SQLiteConnection.error(code, database)
        }
        self.handle = statement
        self.database = database
    }

    deinit { sqlite3_finalize(handle) }

    /// Binds `values` to the parameters 1...n.
    func bind(_ values: [any SQLiteBindable]) throws(SQLiteError) {
        for (offset, value) in values.enumerated() { try bind(value.sqliteValue, at: Int32(offset + 1)) }
    }

    /// Binds one value to parameter `index` (from 1). Text and blobs are copied (SQLITE_TRANSIENT).
    func bind(_ value: SQLiteValue, at index: Int32) throws(SQLiteError) {
        let code: Int32
        switch value {
        case .null: code = sqlite3_bind_null(handle, index)
        case .integer(let v): code = sqlite3_bind_int64(handle, index, v)
        case .real(let v): code = sqlite3_bind_double(handle, index, v)
        case .text(let v): code = sqlite3_bind_text(handle, index, v, -1, csqlite_transient())
        case .blob(let bytes):
            code = bytes.withUnsafeBytes { raw in
                // A zero-length blob still needs a non-NULL pointer, or SQLite binds NULL.
                sqlite3_bind_blob64(
                    handle, index, raw.baseAddress ?? UnsafeRawPointer(bitPattern: 1), UInt64(raw.count), csqlite_transient())
            }
        }
        guard code == SQLITE_OK else { throw SQLiteConnection.error(code, database) }
    }

    /// One step: true when a row is ready to read, false when the statement is done.
    func step() throws(SQLiteError) -> Bool {
        let code = sqlite3_step(handle)
        switch code {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw SQLiteConnection.error(code, database)
        }
    }

    /// Ready to run again; bindings are kept until replaced or cleared.
    func reset() { sqlite3_reset(handle) }

    /// Binds `values`, runs to the end and resets.
    func execute(_ values: [any SQLiteBindable] = []) throws(SQLiteError) {
        defer { reset() }
        try bind(values)
        while try step() {}
    }

    /// Binds `values` and reads every row, then resets.
    func rows(_ values: [any SQLiteBindable] = []) throws(SQLiteError) -> [SQLiteRow] {
        defer { reset() }
        try bind(values)
        let count = sqlite3_column_count(handle)
        let columns = SQLiteRow.Columns((0..<count).map { String(cString: sqlite3_column_name(handle, $0)) })
        var rows: [SQLiteRow] = []
        while try step() {
            rows.append(SQLiteRow(columns: columns, values: (0..<count).map(column)))
        }
        return rows
    }

    /// The current row's value at `index` (from 0), as stored.
    func column(_ index: Int32) -> SQLiteValue {
        switch sqlite3_column_type(handle, index) {
        case SQLITE_INTEGER: return .integer(sqlite3_column_int64(handle, index))
        case SQLITE_FLOAT: return .real(sqlite3_column_double(handle, index))
        case SQLITE_TEXT:
            let count = Int(sqlite3_column_bytes(handle, index))
            guard let text = sqlite3_column_text(handle, index) else { return .text("") }
            return .text(String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self))
        case SQLITE_BLOB:
            let count = Int(sqlite3_column_bytes(handle, index))
            guard let bytes = sqlite3_column_blob(handle, index), count > 0 else { return .blob([]) }
            return .blob(Array(UnsafeRawBufferPointer(start: bytes, count: count)))
        default: return .null
        }
    }
}

/// One connection to a database file. Not thread-safe by itself: the store
/// reaches it only through `SQLiteQueue`, one caller at a time. Closed by
/// `close()` or when the last reference goes.
final class SQLiteConnection {
    /// How the file is opened.
    enum Access {
        /// SQLITE_OPEN_READONLY: nothing is ever written, not even the WAL index when it can be avoided.
        case readOnly
        /// SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE.
        case readWriteCreate
    }

    private(set) var handle: OpaquePointer?

    /// Opens `path` (a `file:` URI too), with extended result codes, the busy
    /// timeout, foreign keys enforced and double-quoted strings refused.
    init(path: String, access: Access, busyTimeout: Double) throws(SQLiteError) {
        // NOMUTEX: SQLite's own mutexes are not needed, SQLiteQueue serializes every use.
        var flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI | SQLITE_OPEN_EXRESCODE
        flags |= access == .readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
        var connection: OpaquePointer?
        let code = sqlite3_open_v2(path, &connection, flags, nil)
        guard code == SQLITE_OK, let connection else {
            // A handle comes back even when opening fails, and must be closed.
            sqlite3_close(connection)
            throw SQLiteError(code: code)
        }
        handle = connection
        sqlite3_busy_timeout(connection, Int32(min(max(busyTimeout * 1000, 0), Double(Int32.max))))
        let dqs = csqlite_disable_double_quoted_strings(connection)
        guard dqs == SQLITE_OK else { throw Self.error(dqs, connection) }
        // Off by default in SQLite; the schema's REFERENCES are meant to hold.
        try execute("PRAGMA foreign_keys = ON")
    }

    deinit { close() }

    /// Closes the connection (idempotent). Statements are finalized as they
    /// go, so sqlite3_close succeeds; close_v2 would defer it if one were left.
    func close() {
        guard let handle else { return }
        sqlite3_close_v2(handle)
        self.handle = nil
    }

    private var open: OpaquePointer {
        get throws(SQLiteError) {
            guard let handle else { throw SQLiteError(code: SQLITE_MISUSE, message: "the database connection is closed") }
            return handle
        }
    }

    /// The error for result `code`, with the connection's message for it.
    static func error(_ code: Int32, _ database: OpaquePointer?) -> SQLiteError {
        guard let database else { return SQLiteError(code: code) }
        return SQLiteError(code: sqlite3_extended_errcode(database), message: String(cString: sqlite3_errmsg(database)))
    }

    /// Runs one or more statements without parameters (sqlite3_exec), discarding any rows.
    func execute(_ sql: String) throws(SQLiteError) {
        let database = try open
        let code = sqlite3_exec(database, sql, nil, nil, nil)
        guard code == SQLITE_OK else { throw Self.error(code, database) }
    }

    /// Runs one statement with `values` bound to its parameters.
    func execute(_ sql: String, _ values: [any SQLiteBindable]) throws(SQLiteError) {
        try prepare(sql).execute(values)
    }

    /// A prepared statement for `sql` (one statement).
    func prepare(_ sql: String) throws(SQLiteError) -> SQLiteStatement {
        try SQLiteStatement(sql, database: open)
    }

    /// Every row of `sql`.
    func rows(_ sql: String, _ values: [any SQLiteBindable] = []) throws(SQLiteError) -> [SQLiteRow] {
        try prepare(sql).rows(values)
    }

    /// The first row of `sql`, or nil when there is none.
    func row(_ sql: String, _ values: [any SQLiteBindable] = []) throws(SQLiteError) -> SQLiteRow? {
        try rows(sql, values).first
    }

    /// The first column of the first row as `T`; nil when there is no row or it holds NULL.
    func value<T: SQLiteColumnValue>(_ sql: String, _ values: [any SQLiteBindable] = []) throws -> T? {
        guard let row = try row(sql, values) else { return nil }
        return try row[0] as T?
    }

    /// The first column of every row, as `T`.
    func column<T: SQLiteColumnValue>(_ sql: String, _ values: [any SQLiteBindable] = []) throws -> [T] {
        try rows(sql, values).map { row in try row[0] }
    }

    /// Whether the main database has a table `name`.
    func tableExists(_ name: String) throws(SQLiteError) -> Bool {
        try rows("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [name]).isEmpty == false
    }

    /// The rowid of the last row inserted on this connection.
    var lastInsertRowID: Int64 { handle.map { sqlite3_last_insert_rowid($0) } ?? 0 }

    /// Rows changed by the last INSERT, UPDATE or DELETE on this connection.
    var changes: Int { handle.map { Int(sqlite3_changes64($0)) } ?? 0 }

    /// How a transaction takes its locks.
    enum TransactionKind: String {
        /// Locks on first read or write: for reads, which see one consistent state.
        case deferred = "DEFERRED"
        /// Takes the write lock at once (waiting up to the busy timeout): for
        /// writes, so two writers never both read and then fail to upgrade.
        case immediate = "IMMEDIATE"
    }

    /// Runs `body` in a transaction: committed when it returns, rolled back when it throws.
    func transaction<T>(_ kind: TransactionKind, _ body: () throws -> T) throws -> T {
        try execute("BEGIN \(kind.rawValue) TRANSACTION")
        let result: T
        do {
            result = try body()
        } catch {
            rollback()
            throw error
        }
        do { try execute("COMMIT TRANSACTION") } catch {
            rollback()
            throw error
        }
        return result
    }

    /// Rolls back the open transaction, if SQLite has not already (it does on SQLITE_FULL, SQLITE_IOERR...).
    private func rollback() {
        guard let handle, sqlite3_get_autocommit(handle) == 0 else { return }
        _ = sqlite3_exec(handle, "ROLLBACK TRANSACTION", nil, nil, nil)
    }
}

/// One connection used by one caller at a time, as the former library's
/// DatabaseQueue was: the store is shared between threads (the server's handlers, watch),
/// and a SQLite connection must not be. The lock is `Locked`, a pthread
/// mutex ThreadSanitizer sees.
final class SQLiteQueue: Sendable {
    private let connection: Locked<SQLiteConnection>

    init(_ connection: SQLiteConnection) {
        self.connection = Locked(connection)
    }

    /// Runs `body` inside a deferred transaction: it reads one consistent state of the file.
    func read<T>(_ body: (SQLiteConnection) throws -> T) throws -> T {
        try connection.withLock { db in try db.transaction(.deferred) { try body(db) } }
    }

    /// Runs `body` inside an immediate transaction: all of it is written, or none.
    func write<T>(_ body: (SQLiteConnection) throws -> T) throws -> T {
        try connection.withLock { db in try db.transaction(.immediate) { try body(db) } }
    }

    /// Runs `body` outside any transaction (pragmas that cannot run inside one, such as journal_mode).
    func writeWithoutTransaction<T>(_ body: (SQLiteConnection) throws -> T) throws -> T {
        try connection.withLock { db in try body(db) }
    }

    /// Closes the connection now rather than when the queue goes.
    func close() {
        connection.withLock { db in db.close() }
    }
}
