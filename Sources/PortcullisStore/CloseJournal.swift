/// One `portcullis close` that acted, as journaled: what was targeted, and the documents the close job wrote.
public struct CloseJournalEntry: Sendable, Equatable {
    /// The entry's id, as `close --undo ID` names it; ids only grow.
    public var id: Int64
    /// When the close was applied (journaled, just before acting), in milliseconds since the epoch.
    public var time: Int64
    /// What was closed, as the user named it: "8080/tcp".
    public var target: String
    /// The network namespace as the user named it; nil for the host's own.
    public var namespace: String?
    /// How it was closed: "unit", "container", "process", "firewall" or "destroy".
    public var method: String
    /// JSON text written by the close job (its plan, the steps' outcomes, what undoing needs); opaque to the store.
    public var document: String
    /// When `close --undo` reverted it, in milliseconds since the epoch; nil while it stands.
    public var undoneTime: Int64?
    /// JSON text of the undo report; nil while it stands. Opaque to the store.
    public var undoDocument: String?

    /// An entry as stored; `undoneTime` and `undoDocument` are nil for a close that was not undone.
    public init(
        id: Int64, time: Int64, target: String, namespace: String?, method: String, document: String, undoneTime: Int64? = nil,
        undoDocument: String? = nil
    ) {
        self.id = id
        self.time = time
        self.target = target
        self.namespace = namespace
        self.method = method
        self.document = document
        self.undoneTime = undoneTime
        self.undoDocument = undoDocument
    }
}

extension HistoryStore {
    // MARK: close journal

    /// Journals a close BEFORE it acts (so a crash mid-way still leaves a record); returns the new id.
    /// A `method` outside the five the journal knows is refused (`.failed`) and nothing is written.
    public func journalClose(time: Int64, target: String, namespace: String?, method: String, document: String) throws(StoreError)
        -> Int64
    {
        try run {
            try queue.write { db in
                try requireJournalTable(db)
                try db.execute(
                    "INSERT INTO close_action (time_ms, target, namespace, method, document) VALUES (?, ?, ?, ?, ?)",
                    [time, target, namespace, method, document])
                return db.lastInsertRowID
            }
        }
    }

    /// Replaces the document of entry `id` after acting (the steps' outcomes and undo data). Throws `.unknownCloseAction` if no such id.
    public func updateClose(id: Int64, document: String) throws(StoreError) {
        try run {
            try queue.write { db in
                try requireJournalTable(db)
                try db.execute("UPDATE close_action SET document = ? WHERE id = ?", [document, id])
                if db.changes == 0 { throw unknownCloseAction(id) }
            }
        }
    }

    /// Marks `id` undone at `time` with the undo report. Throws `.unknownCloseAction` if no such id.
    public func markCloseUndone(id: Int64, time: Int64, undoDocument: String) throws(StoreError) {
        try run {
            try queue.write { db in
                try requireJournalTable(db)
                try db.execute(
                    "UPDATE close_action SET undone_time_ms = ?, undo_document = ? WHERE id = ?", [time, undoDocument, id])
                if db.changes == 0 { throw unknownCloseAction(id) }
            }
        }
    }

    /// Every journaled close, newest first, at most `limit`. A database from
    /// before the journal (schema 5 or older, opened read-only) has none.
    public func closeActions(limit: Int? = nil) throws(StoreError) -> [CloseJournalEntry] {
        try run {
            try queue.read { db in
                guard try db.tableExists("close_action") else { return [] }
                return try Self.closeEntries(db, where: "1", limit: limit)
            }
        }
    }

    /// Entry `id`; with nil, the newest entry not yet undone. Throws `.unknownCloseAction` (a usage error, exit 2)
    /// when there is none, saying which id was not found or that nothing is left to undo, and how to list them.
    public func closeAction(id: Int64?) throws(StoreError) -> CloseJournalEntry {
        let (found, journaled) = try run {
            try queue.read { db -> (CloseJournalEntry?, Int) in
                guard try db.tableExists("close_action") else { return (nil, 0) }
                if let id { return (try Self.closeEntries(db, where: "id = ?", arguments: [id]).first, 0) }
                let newest = try Self.closeEntries(db, where: "undone_time_ms IS NULL", limit: 1).first
                return (newest, try db.value("SELECT count(*) FROM close_action") ?? 0)
            }
        }
        if let found { return found }
        if let id { throw unknownCloseAction(id) }
        let why =
            journaled == 0
            ? "no close has been journaled in \(path)"
            : "every close journaled in \(path) has been undone already"
        throw StoreError(.unknownCloseAction, path: path, "nothing left to undo: \(why) (portcullis close --journal lists them)")
    }

    private func unknownCloseAction(_ id: Int64) -> StoreError {
        StoreError(.unknownCloseAction, path: path, "no close action \(id) in \(path) (portcullis close --journal lists them)")
    }

    /// Writes need the table; only a read-only open leaves a file without it (a read-write open migrates).
    private func requireJournalTable(_ db: SQLiteConnection) throws {
        guard try db.tableExists("close_action") else {
            let version: Int = try db.value("PRAGMA user_version") ?? 0
            throw StoreError(
                .notWritable, path: path,
                "it was opened read-only, and its schema (version \(version)) predates the close journal; nothing was written")
        }
    }

    static func closeEntries(
        _ db: SQLiteConnection, where condition: String, arguments: [any SQLiteBindable] = [], limit: Int? = nil
    ) throws -> [CloseJournalEntry] {
        var arguments = arguments
        var sql = """
            SELECT id, time_ms, target, namespace, method, document, undone_time_ms, undo_document
            FROM close_action WHERE \(condition) ORDER BY id DESC
            """
        if let limit {
            sql += " LIMIT ?"
            arguments += [max(limit, 0)]
        }
        return try db.rows(sql, arguments).map { row in
            CloseJournalEntry(
                id: try row["id"], time: try row["time_ms"], target: try row["target"], namespace: try row["namespace"],
                method: try row["method"], document: try row["document"], undoneTime: try row["undone_time_ms"],
                undoDocument: try row["undo_document"])
        }
    }

    /// Schema 6: the journal of `portcullis close`. Each row is written before
    /// the close acts, its document replaced once it has, and its undo columns
    /// set (together) when `close --undo` reverts it.
    static let closeJournalSchema = """
        CREATE TABLE close_action (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            time_ms INTEGER NOT NULL,
            target TEXT NOT NULL,
            namespace TEXT,
            method TEXT NOT NULL CHECK (method IN ('unit', 'container', 'process', 'firewall', 'destroy')),
            document TEXT NOT NULL,
            undone_time_ms INTEGER,
            undo_document TEXT,
            CHECK ((undone_time_ms IS NULL) = (undo_document IS NULL))
        );

        """
}
