import PortcullisCore

/// The remote clients of listeners recorded with each snapshot
/// (`snapshot_client`), for the audit's client window.
enum ClientCodec {
    /// Schema version 4, in one place: the table of remote clients, and a
    /// mark on each snapshot that recorded them (NULL on older snapshots,
    /// which never looked, so they do not count as "no client seen").
    static func migrateToVersion4(_ db: SQLiteConnection) throws {
        try db.execute(
            """
            CREATE TABLE snapshot_client (
                snapshot_id INTEGER NOT NULL REFERENCES snapshot(id),
                proto TEXT NOT NULL,
                family TEXT NOT NULL,
                local_address TEXT NOT NULL,
                local_port INTEGER NOT NULL,
                peer_address TEXT NOT NULL,
                connections INTEGER NOT NULL,
                PRIMARY KEY (snapshot_id, proto, family, local_address, local_port, peer_address)
            ) WITHOUT ROWID;
            ALTER TABLE snapshot ADD COLUMN clients_recorded INTEGER;
            PRAGMA user_version = 4;
            """)
    }

    /// Marks snapshot `id` as having recorded its clients and writes them (inside the caller's transaction).
    static func insert(_ clients: [ClientSighting], snapshot id: Int64, _ db: SQLiteConnection) throws {
        try db.execute("UPDATE snapshot SET clients_recorded = 1 WHERE id = ?", [id])
        let statement = try db.prepare(
            """
            INSERT OR REPLACE INTO snapshot_client (snapshot_id, proto, family, local_address, local_port, peer_address, connections)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """)
        for c in clients {
            try statement.execute([
                id, c.proto.rawValue, c.family.rawValue, c.localAddress, Int(c.localPort), c.peerAddress, c.connections,
            ])
        }
    }
}

extension HistoryStore {
    /// The snapshots taken at or after `since` that recorded remote
    /// clients, and every sighting they hold. A database older than schema
    /// version 4 (opened read-only) has none.
    public func clientSightings(since: Int64) throws(StoreError) -> (snapshots: Int, sightings: [StoredSighting]) {
        try run {
            try queue.read { db in
                guard try db.tableExists("snapshot_client") else { return (0, []) }
                let count = try db.value("SELECT COUNT(*) FROM snapshot WHERE clients_recorded = 1 AND taken_at >= ?", [since]) ?? 0
                let rows = try db.rows(
                    """
                    SELECT c.snapshot_id, c.proto, c.family, c.local_address, c.local_port, c.peer_address, c.connections
                    FROM snapshot_client c JOIN snapshot s ON s.id = c.snapshot_id
                    WHERE s.clients_recorded = 1 AND s.taken_at >= ?
                    ORDER BY c.snapshot_id, c.local_port, c.peer_address
                    """, [since])
                var sightings: [StoredSighting] = []
                for row in rows {
                    let proto: String = try row[1]
                    let family: String = try row[2]
                    let port: Int = try row[4]
                    guard let p = TransportProtocol(rawValue: proto), let f = AddressFamily(rawValue: family),
                        let localPort = UInt16(exactly: port)
                    else {
                        throw StoreError(
                            .failed, path: path,
                            "snapshot_client of snapshot \(try row[0] as Int64) holds proto \(proto), family \(family), port \(port), which this portcullis does not know"
                        )
                    }
                    sightings.append(
                        StoredSighting(
                            snapshotID: try row[0],
                            sighting: ClientSighting(
                                proto: p, family: f, localAddress: try row[3], localPort: localPort, peerAddress: try row[5],
                                connections: try row[6])))
                }
                return (count, sightings)
            }
        }
    }
}
