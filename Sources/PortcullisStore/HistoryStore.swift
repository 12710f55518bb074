import CSQLite
import PortcullisCore
import PortcullisLinux

/// The history database: snapshots of the listeners and findings, the
/// baseline, recorded watch events, recorded network scans and the journal
/// of `portcullis close`. SQLite through its C API, in WAL mode
/// with synchronous=FULL; each snapshot is written in one transaction, so it
/// is either wholly there or wholly absent, whatever happens to the process.
/// Nothing is ever deleted, and only the close journal is updated (an
/// entry's document once the close has acted, and its undo): setting a baseline adds a row.
public final class HistoryStore: Sendable {
    /// Whether the store may create, migrate and write the database.
    public enum Mode: Sendable {
        /// Create the file (mode 0600) and migrate the schema as needed.
        case readWrite
        /// Only read; a missing file is an error.
        case readOnly
    }

    /// How the database is opened.
    public struct Options: Sendable {
        /// Read-write (the default) creates and migrates; read-only never changes the file.
        public var mode: Mode = .readWrite
        /// How long to wait for another writer's lock, in seconds.
        public var busyTimeout: Double = 5
        /// Create missing parent directories (mode 0700): for the default location.
        public var createDirectories = false
        /// What a read-only open of a missing file tells the user to do first.
        public var firstStep = "take a snapshot first (portcullis snapshot)"
        /// The defaults: read-write, 5 s busy timeout, no directories created.
        public init() {}
    }

    /// `PRAGMA application_id`: "PCUL", so a stranger's database is never migrated.
    public static let applicationID: Int32 = 0x5043_554C
    /// `PRAGMA user_version` after every migration this binary knows.
    public static let schemaVersion = 6
    /// The oldest schema whose snapshots this binary reads without migrating
    /// it (a read-only open): version 3 only added the scan tables, so a
    /// version 2 file reads as one without recorded scans; version 4 added
    /// the remote clients of listeners, so an older file reads as one
    /// whose snapshots recorded none; version 5 only added finding ids and
    /// sockets, which older findings derive from their subject; version 6
    /// only added the close journal, which an older file reads as empty.
    public static let oldestReadableVersion = 2
    /// Version of the stored form of listeners and findings (`snapshot.format`).
    public static let storedFormVersion = 1

    /// The database file, as given; every `StoreError` names it.
    public let path: String
    /// The one connection, used by one caller at a time.
    let queue: SQLiteQueue

    /// The default database: /var/lib/portcullis/portcullis.db for root,
    /// else $XDG_STATE_HOME/portcullis/portcullis.db, or
    /// ~/.local/state/portcullis/portcullis.db when XDG_STATE_HOME is unset
    /// or not absolute. nil when there is no home directory to use.
    public static func defaultPath(effectiveUID: UInt32, environment: (String) -> String?) -> String? {
        if effectiveUID == 0 { return "/var/lib/portcullis/portcullis.db" }
        if let state = environment("XDG_STATE_HOME"), state.hasPrefix("/") { return state + "/portcullis/portcullis.db" }
        guard let home = environment("HOME"), home.hasPrefix("/") else { return nil }
        return (home == "/" ? "" : home) + "/.local/state/portcullis/portcullis.db"
    }

    /// Opens (read-write: creates if missing, checks, migrates) the database at `path`. Throws `.foreign`,
    /// `.corrupt`, `.newerSchema`, `.notWritable` or `.missing` before anything is written.
    public init(path: String, options: Options = Options()) throws(StoreError) {
        self.path = path
        switch StoreFiles.kind(path) {
        case .other:
            throw StoreError(.foreign, path: path, "not a regular file")
        case .unreachable(let error):
            // The file may exist: the user may not reach it. Never "nothing stored yet".
            let code: StoreError.Code = options.mode == .readOnly ? .notReadable : .notWritable
            if error.meansDenied, let directory = StoreFiles.firstClosedDirectory(on: path) {
                throw StoreError(code, path: path, "this user may not enter its directory \(directory): \(error)", underlying: error)
            }
            throw StoreError(code, path: path, "\(error)", underlying: error)
        case .missing:
            if options.mode == .readOnly {
                throw StoreError(.missing, path: path, "nothing has been stored yet; \(options.firstStep)")
            }
            let directory = StoreFiles.directory(of: path)
            if options.createDirectories {
                do throws(Errno) { try StoreFiles.makeDirectories(directory) } catch {
                    throw StoreError(.notWritable, path: path, "cannot create \(directory): \(error)", underlying: error)
                }
            }
            do throws(Errno) { try StoreFiles.createPrivate(path) } catch {
                throw StoreError(.notWritable, path: path, "\(error)", underlying: error)
            }
        case .regular:
            break
        }
        if options.mode == .readOnly {
            do throws(Errno) { try StoreFiles.checkReadable(path) } catch {
                throw StoreError(.notReadable, path: path, "\(error)", underlying: error)
            }
        }
        if options.mode == .readWrite {
            do throws(Errno) { try StoreFiles.checkWritable(path) } catch {
                throw Self.notWritable(path, error)
            }
            // WAL keeps two files beside the database.
            let directory = StoreFiles.directory(of: path)
            do throws(Errno) { try StoreFiles.checkWritable(directory) } catch {
                throw Self.notWritable(path, error, directory: directory)
            }
        }

        do {
            queue = try Self.open(path, options: options, path: path)
        } catch  where options.mode == .readOnly && (error.code == .notWritable || error.code == .diskFull) {
            // A reader who may not write the directory, or on a full file system,
            // cannot create the WAL index (-shm): read the file as it is on disk instead.
            queue = try Self.open("file:" + Self.uriEscaped(path) + "?immutable=1", options: options, path: path)
        }
    }

    /// Why `path` (or its `directory`) may not be written, with advice that
    /// fits: a read-only file system is remounted, not run as another user;
    /// a file this user owns and made read-only is made writable again.
    static func notWritable(_ path: String, _ error: Errno, directory: String? = nil) -> StoreError {
        let target = directory ?? path
        let subject = directory.map { "its directory \($0): " } ?? ""
        if error == .readOnlyFileSystem {
            return StoreError(
                .notWritable, path: path, subject + "\(error)", underlying: error,
                remedy: "The file system holding \(target) is mounted read-only: remount it read-write, or give another file with --db; "
                    + "commands that only read (history, diff, baseline show) still work")
        }
        if error == .permissionDenied, let status = try? Sys.fileStatus(target), status.uid == Sys.userID(),
            status.mode & 0o200 == 0
        {
            let mode = String(status.mode & 0o7777, radix: 8)
            return StoreError(
                .notWritable, path: path, subject + "\(error) (mode 0\(mode): this user owns it, but made it read-only)",
                underlying: error,
                remedy: "Make it writable again (chmod u+w \(target)), or give another file with --db; "
                    + "commands that only read (history, diff, baseline show) still work")
        }
        return StoreError(.notWritable, path: path, subject + "\(error)", underlying: error)
    }

    /// Opens `location` (the path, or a `file:` URI) as `options` say, then
    /// checks and (read-write) migrates it; a failure names `path`.
    static func open(_ location: String, options: Options, path: String) throws(StoreError) -> SQLiteQueue {
        let queue: SQLiteQueue
        do {
            let connection = try SQLiteConnection(
                path: location, access: options.mode == .readOnly ? .readOnly : .readWriteCreate, busyTimeout: options.busyTimeout)
            try connection.execute("PRAGMA synchronous = FULL")
            // Fails at once on a file that is not a database, before anything else is asked of it.
            _ = try connection.rows("SELECT * FROM sqlite_master LIMIT 1")
            queue = SQLiteQueue(connection)
        } catch {
            throw Self.translate(error, path: path)
        }
        try check(queue, options.mode, path: path, firstStep: options.firstStep)
        return queue
    }

    static func uriEscaped(_ path: String) -> String {
        var out = ""
        for byte in path.utf8 {
            switch byte {
            case 0x25, 0x3f, 0x23, 0x00..<0x21, 0x7f...:
                let hex = Array("0123456789ABCDEF".utf8)
                out += "%" + String(decoding: [hex[Int(byte >> 4)], hex[Int(byte & 0xf)]], as: UTF8.self)
            default: out += String(decoding: [byte], as: UTF8.self)
            }
        }
        return out
    }

    /// Integrity, ownership and schema version; then the migrations.
    private static func check(_ queue: SQLiteQueue, _ mode: Mode, path: String, firstStep: String) throws(StoreError) {
        do {
            let (quick, applicationID, userVersion, tables) = try queue.read { db in
                (
                    try db.column("PRAGMA quick_check") as [String],
                    try db.value("PRAGMA application_id") ?? Int64(0),
                    try db.value("PRAGMA user_version") ?? 0,
                    try db.column(
                        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%' AND name != '\(SchemaMigrator.table)'"
                    ) as [String]
                )
            }
            if quick != ["ok"] {
                throw StoreError(.corrupt, path: path, "PRAGMA quick_check: " + quick.prefix(3).joined(separator: "; "))
            }
            if applicationID != 0 && applicationID != Int64(Self.applicationID) {
                throw StoreError(.foreign, path: path, "SQLite application_id \(applicationID)")
            }
            if applicationID == 0 && !tables.isEmpty {
                throw StoreError(
                    .foreign, path: path, "it holds tables (\(tables.prefix(3).joined(separator: ", "))) but no portcullis schema")
            }
            if userVersion > Self.schemaVersion {
                throw StoreError(
                    .newerSchema, path: path, "schema version \(userVersion); this portcullis knows up to \(Self.schemaVersion)")
            }
            let migrator = Self.migrator
            if try queue.read({ db in try migrator.hasBeenSuperseded(db) }) {
                throw StoreError(.newerSchema, path: path, "it has migrations this portcullis does not know")
            }
            switch mode {
            case .readWrite:
                // Only now, once the file is known to be ours: WAL, set once and kept in the file.
                try queue.writeWithoutTransaction { db in
                    if try db.value("PRAGMA journal_mode") != "wal" {
                        try db.execute("PRAGMA journal_mode = WAL")
                    }
                }
                try migrator.migrate(queue)
            case .readOnly:
                if userVersion == 0 {
                    throw StoreError(.missing, path: path, "it holds no history yet (schema version 0); \(firstStep)")
                }
                if userVersion < Self.oldestReadableVersion {
                    throw StoreError(
                        .missing, path: path,
                        "it was written by an older portcullis (schema version \(userVersion)); a command that writes "
                            + "(portcullis snapshot) upgrades it, keeping what it holds")
                }
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw Self.translate(error, path: path)
        }
    }

    /// Maps SQLite's answers to what the user should be told.
    static func translate(_ error: any Error, path: String) -> StoreError {
        if let error = error as? StoreError { return error }
        if let error = error as? SnapshotCodec.Malformed { return StoreError(.corrupt, path: path, error.description) }
        // A value of the wrong kind in a column (a damaged or hand-edited file).
        if let error = error as? SQLiteRow.Mismatch { return StoreError(.corrupt, path: path, error.description) }
        guard let database = error as? SQLiteError else { return StoreError(.failed, path: path, "\(error)") }
        let detail = database.message
        // The WAL index (-shm) could not be grown: on a full file system, before
        // anything is read or written, SQLite says only "disk I/O error".
        if database.extendedCode == SQLiteError.ioErrorShmSize {
            return StoreError(.diskFull, path: path, "cannot grow its WAL index \(path)-shm: \(detail)")
        }
        switch database.code {
        case SQLITE_CORRUPT, SQLITE_NOTADB: return StoreError(.corrupt, path: path, detail)
        case SQLITE_BUSY, SQLITE_LOCKED: return StoreError(.locked, path: path, detail)
        case SQLITE_READONLY, SQLITE_PERM, SQLITE_CANTOPEN, SQLITE_AUTH: return StoreError(.notWritable, path: path, detail)
        case SQLITE_FULL: return StoreError(.diskFull, path: path, detail)
        default: return StoreError(.failed, path: path, detail)
        }
    }

    /// Runs a database operation, translating failures.
    func run<T>(_ body: () throws -> T) throws(StoreError) -> T {
        do { return try body() } catch { throw Self.translate(error, path: path) }
    }

    // MARK: snapshots

    /// Saves a snapshot in one transaction and returns its header. `clients`:
    /// the remote peers of its listeners at that moment (nil: not read, so
    /// the snapshot does not count in the client window).
    @discardableResult
    public func saveSnapshot(
        _ content: SnapshotContent, time: Int64, label: String?, hostname: String?, source: String, diagnostics: [Diagnostic] = [],
        clients: [ClientSighting]? = nil
    ) throws(StoreError) -> SnapshotInfo {
        try run {
            let saved = try queue.write { db in
                let id = try Self.insertSnapshot(
                    content, time: time, label: label, hostname: hostname, source: source, diagnostics: diagnostics, db)
                if let clients { try ClientCodec.insert(clients, snapshot: id, db) }
                // This snapshot's header, not the newest one's: another writer may commit right after us.
                return try Self.infos(db, where: "id = ?", arguments: [id]).first
            }
            guard let saved else { throw StoreError(.failed, path: path, "the snapshot just written is missing") }
            return saved
        }
    }

    /// Writes a snapshot's rows (inside the caller's transaction) and returns its id.
    static func insertSnapshot(
        _ content: SnapshotContent, time: Int64, label: String?, hostname: String?, source: String, diagnostics: [Diagnostic],
        _ db: SQLiteConnection
    ) throws -> Int64 {
        let diagnosticsJSON = JSONValue.array(diagnostics.map(InventoryRenderer.json)).serialized()
        try db.execute(
            """
            INSERT INTO snapshot (taken_at, label, hostname, source, format, listener_count, finding_count, diagnostics)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [time, label, hostname, source, Self.storedFormVersion, content.entries.count, content.findings.count, diagnosticsJSON])
        let id = db.lastInsertRowID
        try SnapshotCodec.insert(content.entries, findings: content.findings, snapshot: id, db)
        return id
    }

    static func infos(_ db: SQLiteConnection, where condition: String = "1", arguments: [any SQLiteBindable] = []) throws
        -> [SnapshotInfo]
    {
        var severities: [Int64: [Severity: Int]] = [:]
        let rows = try db.rows(
            """
            SELECT snapshot_id, severity, count(*) AS n FROM snapshot_finding
            WHERE snapshot_id IN (SELECT id FROM snapshot WHERE \(condition)) GROUP BY snapshot_id, severity
            """, arguments)
        for row in rows {
            try SnapshotCodec.checkStorage(row, "snapshot findings")
            if let severity = Severity(rawValue: try row["severity"]) {
                severities[try row["snapshot_id"], default: [:]][severity] = try row["n"]
            }
        }
        return try db.rows(
            """
            SELECT id, taken_at, label, hostname, source, listener_count, finding_count FROM snapshot WHERE \(condition) ORDER BY id
            """, arguments
        ).map { row in
            try SnapshotCodec.checkStorage(row, "snapshot")
            let id: Int64 = try row["id"]
            return SnapshotInfo(
                id: id, time: try row["taken_at"], label: try row["label"], hostname: try row["hostname"], source: try row["source"],
                listenerCount: try row["listener_count"], findingCount: try row["finding_count"], severities: severities[id] ?? [:])
        }
    }

    /// Every snapshot, oldest first.
    public func snapshots() throws(StoreError) -> [SnapshotInfo] {
        try run { try queue.read { db in try Self.infos(db) } }
    }

    /// The summary of snapshot `id`; throws `.unknownSnapshot` when there is none.
    public func snapshot(_ id: Int64) throws(StoreError) -> SnapshotInfo {
        let found = try run { try queue.read { db in try Self.infos(db, where: "id = ?", arguments: [id]).first } }
        guard let found else {
            throw StoreError(.unknownSnapshot, path: path, "no snapshot \(id) in \(path) (portcullis history lists them)")
        }
        return found
    }

    /// The listeners and findings of a snapshot, as they were collected.
    public func content(of id: Int64) throws(StoreError) -> SnapshotContent {
        _ = try snapshot(id)
        return try run { try queue.read { db in try SnapshotCodec.load(snapshot: id, db) } }
    }

    // MARK: baseline

    /// Makes a snapshot the baseline. Earlier baselines stay recorded.
    public func setBaseline(_ id: Int64, at time: Int64) throws(StoreError) -> BaselineInfo {
        let info = try snapshot(id)
        try run {
            try queue.write { db in
                try db.execute("INSERT INTO baseline (snapshot_id, set_at) VALUES (?, ?)", [id, time])
            }
        }
        return BaselineInfo(snapshot: info, setAt: time)
    }

    /// The current baseline, or nil when none was set.
    public func baseline() throws(StoreError) -> BaselineInfo? {
        let row = try run {
            try queue.read { db -> (id: Int64, setAt: Int64)? in
                guard let row = try db.row("SELECT snapshot_id, set_at FROM baseline ORDER BY id DESC LIMIT 1") else { return nil }
                return (try row["snapshot_id"], try row["set_at"])
            }
        }
        guard let row else { return nil }
        return BaselineInfo(snapshot: try snapshot(row.id), setAt: row.setAt)
    }

    /// The current baseline; `.noBaseline` (a usage error) when none is set.
    public func requireBaseline() throws(StoreError) -> BaselineInfo {
        guard let baseline = try baseline() else {
            throw StoreError(
                .noBaseline, path: path,
                "no baseline is set in \(path): set one with `portcullis baseline set` (or name the snapshots to compare)")
        }
        return baseline
    }

    // MARK: events

    /// Stores watch events in one transaction.
    public func record(_ events: [WatchEvent]) throws(StoreError) {
        guard !events.isEmpty else { return }
        try run {
            try queue.write { db in
                let statement = try db.prepare("INSERT INTO event (time_ms, kind, listener, body) VALUES (?, ?, ?, ?)")
                for event in events {
                    try statement.execute([
                        event.timeMilliseconds, event.kind.rawValue, event.listener.key.description,
                        HistoryRenderer.json(event).serialized(),
                    ])
                }
            }
        }
    }

    /// Recorded events, oldest first; the most recent `limit` when given.
    public func events(limit: Int? = nil) throws(StoreError) -> [StoredEvent] {
        try run {
            try queue.read { db in
                let sql =
                    limit == nil
                    ? "SELECT id, time_ms, kind, listener, body FROM event ORDER BY id"
                    : "SELECT * FROM (SELECT id, time_ms, kind, listener, body FROM event ORDER BY id DESC LIMIT ?) ORDER BY id"
                return try db.rows(sql, limit.map { [$0] } ?? []).map { row in
                    StoredEvent(
                        id: try row["id"], timeMilliseconds: try row["time_ms"], kind: try row["kind"], key: try row["listener"],
                        json: try row["body"])
                }
            }
        }
    }

    // MARK: checks (tests, crash-safety)

    /// `PRAGMA integrity_check`: ["ok"] when the file is sound.
    public func integrityCheck() throws(StoreError) -> [String] {
        try run { try queue.read { db in try db.column("PRAGMA integrity_check") } }
    }

    /// Snapshots and scans whose stored rows do not match their header
    /// counts, and rows that belong to no snapshot or scan: both empty for a sound history.
    public func consistencyProblems() throws(StoreError) -> [String] {
        try run {
            try queue.read { db in
                var problems: [String] = []
                for row in try db.rows(
                    """
                    SELECT s.id, s.listener_count, s.finding_count,
                      (SELECT count(*) FROM snapshot_socket WHERE snapshot_id = s.id) AS sockets,
                      (SELECT count(*) FROM snapshot_finding WHERE snapshot_id = s.id) AS findings
                    FROM snapshot s
                    """)
                {
                    let id: Int64 = try row["id"]
                    let (listeners, findings, sockets, findingRows): (Int, Int, Int, Int) = (
                        try row["listener_count"], try row["finding_count"], try row["sockets"], try row["findings"]
                    )
                    if listeners != sockets || findings != findingRows {
                        problems.append(
                            "snapshot \(id): header says \(listeners) listeners and \(findings) findings, rows hold \(sockets) and \(findingRows)"
                        )
                    }
                }
                var snapshotTables = ["snapshot_socket", "snapshot_finding", "snapshot_process"]
                if try db.tableExists("snapshot_client") { snapshotTables.append("snapshot_client") }
                for table in snapshotTables {
                    let orphans =
                        try db.value("SELECT count(*) FROM \(table) WHERE snapshot_id NOT IN (SELECT id FROM snapshot)") ?? 0
                    if orphans > 0 { problems.append("\(orphans) rows of \(table) belong to no snapshot") }
                }
                if try db.tableExists("scan") {
                    for row in try db.rows(
                        "SELECT s.id, s.host_count, (SELECT count(*) FROM scan_host WHERE scan_id = s.id) AS hosts FROM scan s")
                    {
                        let (id, header, hosts): (Int64, Int, Int) = (try row["id"], try row["host_count"], try row["hosts"])
                        if header != hosts {
                            problems.append("scan \(id): header says \(header) hosts, rows hold \(hosts)")
                        }
                    }
                    for table in ["scan_host", "scan_port"] {
                        let orphans =
                            try db.value("SELECT count(*) FROM \(table) WHERE scan_id NOT IN (SELECT id FROM scan)") ?? 0
                        if orphans > 0 { problems.append("\(orphans) rows of \(table) belong to no scan") }
                    }
                }
                return problems
            }
        }
    }

    // MARK: schema

    /// Migrations only ever add. Each sets user_version to its number.
    static let migrator: SchemaMigrator = {
        var migrator = SchemaMigrator()
        migrator.registerMigration("v1 snapshots, baselines, events") { db in
            try db.execute(
                """
                PRAGMA application_id = \(HistoryStore.applicationID);
                CREATE TABLE snapshot (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    taken_at INTEGER NOT NULL,
                    label TEXT,
                    hostname TEXT,
                    source TEXT NOT NULL,
                    format INTEGER NOT NULL,
                    listener_count INTEGER NOT NULL,
                    finding_count INTEGER NOT NULL,
                    diagnostics TEXT NOT NULL
                );
                CREATE TABLE snapshot_process (
                    snapshot_id INTEGER NOT NULL REFERENCES snapshot(id),
                    pid INTEGER NOT NULL,
                    ppid INTEGER NOT NULL,
                    name TEXT NOT NULL,
                    cmdline TEXT NOT NULL,
                    exe TEXT,
                    exe_deleted INTEGER NOT NULL,
                    exe_replaced INTEGER NOT NULL,
                    exe_directory_world_writable INTEGER NOT NULL,
                    uid INTEGER,
                    user TEXT,
                    start_time INTEGER,
                    unit TEXT,
                    container TEXT,
                    netns INTEGER,
                    PRIMARY KEY (snapshot_id, pid)
                ) WITHOUT ROWID;
                CREATE TABLE snapshot_socket (
                    snapshot_id INTEGER NOT NULL REFERENCES snapshot(id),
                    position INTEGER NOT NULL,
                    proto TEXT NOT NULL,
                    family TEXT NOT NULL,
                    local_address TEXT NOT NULL,
                    local_port INTEGER NOT NULL,
                    remote_address TEXT NOT NULL,
                    remote_port INTEGER NOT NULL,
                    state INTEGER NOT NULL,
                    inode INTEGER NOT NULL,
                    uid INTEGER NOT NULL,
                    user TEXT,
                    v6only INTEGER,
                    interface_index INTEGER NOT NULL,
                    raw_protocol INTEGER,
                    receive_queue INTEGER NOT NULL,
                    send_queue INTEGER NOT NULL,
                    port_class TEXT NOT NULL,
                    in_ephemeral_range INTEGER NOT NULL,
                    service TEXT,
                    exposure TEXT NOT NULL,
                    unowned_reason TEXT,
                    owners TEXT NOT NULL,
                    PRIMARY KEY (snapshot_id, position)
                ) WITHOUT ROWID;
                CREATE TABLE snapshot_finding (
                    snapshot_id INTEGER NOT NULL REFERENCES snapshot(id),
                    position INTEGER NOT NULL,
                    rule TEXT NOT NULL,
                    severity TEXT NOT NULL,
                    title TEXT NOT NULL,
                    subject TEXT,
                    owners TEXT NOT NULL,
                    evidence TEXT NOT NULL,
                    remediation TEXT NOT NULL,
                    PRIMARY KEY (snapshot_id, position)
                ) WITHOUT ROWID;
                CREATE TABLE baseline (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    snapshot_id INTEGER NOT NULL REFERENCES snapshot(id),
                    set_at INTEGER NOT NULL
                );
                CREATE TABLE event (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    time_ms INTEGER NOT NULL,
                    kind TEXT NOT NULL,
                    listener TEXT NOT NULL,
                    body TEXT NOT NULL
                );
                PRAGMA user_version = 1;
                """)
        }
        // Sockets in other network namespaces, and owners' containers by name.
        // Older snapshots read these as NULL: the host's namespace, no container name.
        migrator.registerMigration("v2 namespaces and containers") { db in
            try db.execute(
                """
                ALTER TABLE snapshot_socket ADD COLUMN netns_inode INTEGER;
                ALTER TABLE snapshot_socket ADD COLUMN netns_name TEXT;
                ALTER TABLE snapshot_socket ADD COLUMN netns_kind TEXT;
                ALTER TABLE snapshot_process ADD COLUMN container_runtime TEXT;
                ALTER TABLE snapshot_process ADD COLUMN container_name TEXT;
                ALTER TABLE snapshot_process ADD COLUMN container_image TEXT;
                ALTER TABLE snapshot_process ADD COLUMN pod_namespace TEXT;
                ALTER TABLE snapshot_process ADD COLUMN pod_name TEXT;
                ALTER TABLE snapshot_process ADD COLUMN pod_uid TEXT;
                PRAGMA user_version = 2;
                """)
        }
        // Network scans (`scan --record`). Snapshot tables are untouched.
        migrator.registerMigration("v3 scans") { db in
            try db.execute(ScanCodec.schema + "PRAGMA user_version = 3;")
        }
        migrator.registerMigration("v4 remote clients") { db in try ClientCodec.migrateToVersion4(db) }
        // One finding per problem: its stable id and every socket it covers.
        // Older findings read these as NULL: one socket, the id derived from it.
        migrator.registerMigration("v5 finding ids and sockets") { db in
            try db.execute(
                """
                ALTER TABLE snapshot_finding ADD COLUMN finding_id TEXT;
                ALTER TABLE snapshot_finding ADD COLUMN sockets TEXT;
                PRAGMA user_version = 5;
                """)
        }
        // The journal of `portcullis close`, for `close --undo`. Nothing else changes.
        migrator.registerMigration("v6 close journal") { db in
            try db.execute(HistoryStore.closeJournalSchema + "PRAGMA user_version = 6;")
        }
        return migrator
    }()
}
