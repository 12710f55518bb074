import CSQLite

/// The schema's migrations, applied in order, each exactly once.
///
/// Applied migrations are recorded where the store's former SQLite library
/// (grdb.swift, until the store moved to SQLite's C API) recorded them, in a
/// table `grdb_migrations(identifier TEXT NOT NULL PRIMARY KEY)`, under the
/// same identifiers: a file either one wrote, the other reads and migrates,
/// and an older portcullis still sees which migrations a newer one applied.
struct SchemaMigrator: Sendable {
    /// Where applied migrations are recorded; the name the former library gave it.
    static let table = "grdb_migrations"

    /// One step of the schema.
    struct Migration: Sendable {
        var identifier: String
        var run: @Sendable (SQLiteConnection) throws -> Void
    }

    private(set) var migrations: [Migration] = []

    /// Adds a migration after the ones registered so far.
    mutating func registerMigration(_ identifier: String, _ run: @escaping @Sendable (SQLiteConnection) throws -> Void) {
        migrations.append(Migration(identifier: identifier, run: run))
    }

    /// The identifiers recorded as applied, known or not; none when nothing was ever migrated.
    func appliedIdentifiers(_ db: SQLiteConnection) throws -> Set<String> {
        guard try db.tableExists(Self.table) else { return [] }
        return Set(try db.column("SELECT identifier FROM \(Self.table)") as [String])
    }

    /// Whether the file has migrations this binary does not know: a newer portcullis wrote it.
    func hasBeenSuperseded(_ db: SQLiteConnection) throws -> Bool {
        let known = Set(migrations.map(\.identifier))
        return try !appliedIdentifiers(db).isSubset(of: known)
    }

    /// Applies the migrations not yet applied, up to and including `target`
    /// (all when nil), in order and in one transaction: a process killed on
    /// the way leaves the file as it was. Foreign keys are off while the
    /// schema changes and checked before the commit, as the former library did and as
    /// SQLite's ALTER TABLE procedure asks
    /// (https://www.sqlite.org/lang_altertable.html#otheralter).
    func migrate(_ queue: SQLiteQueue, upTo target: String? = nil) throws {
        let wanted: ArraySlice<Migration>
        if let target {
            guard let last = migrations.firstIndex(where: { $0.identifier == target }) else {
                throw SQLiteError(code: SQLITE_MISUSE, message: "no migration named \(target)")
            }
            wanted = migrations[...last]
        } else {
            wanted = migrations[...]
        }
        try queue.writeWithoutTransaction { db in
            // Up to date (the usual case): no write lock taken, nothing written.
            let applied = try appliedIdentifiers(db)
            guard wanted.contains(where: { !applied.contains($0.identifier) }) else { return }
            try db.execute("PRAGMA foreign_keys = OFF")
            defer { try? db.execute("PRAGMA foreign_keys = ON") }
            try db.transaction(.immediate) {
                // Read again under the write lock: another process may have migrated meanwhile.
                try db.execute("CREATE TABLE IF NOT EXISTS \(Self.table) (identifier TEXT NOT NULL PRIMARY KEY)")
                let applied = try appliedIdentifiers(db)
                for migration in wanted where !applied.contains(migration.identifier) {
                    try migration.run(db)
                    try db.execute("INSERT INTO \(Self.table) (identifier) VALUES (?)", [migration.identifier])
                }
                if let violation = try db.row("PRAGMA foreign_key_check") {
                    let table: String = (try? violation["table"]) ?? "?"
                    let parent: String = (try? violation["parent"]) ?? "?"
                    throw SQLiteError(
                        code: SQLiteError.constraintForeignKey,
                        message: "FOREIGN KEY constraint violation - from \(table) to \(parent)")
                }
            }
        }
    }
}
