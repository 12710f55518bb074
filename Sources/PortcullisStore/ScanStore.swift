import PortcullisCore

extension HistoryStore {
    // MARK: scans

    /// Stores a finished scan in one transaction and returns its header (with its new id).
    @discardableResult
    public func recordScan(_ record: ScanRecord) throws(StoreError) -> ScanInfo {
        try run {
            let saved = try queue.write { db in
                let id = try ScanCodec.insert(record, db)
                return try ScanCodec.infos(db, where: "id = ?", arguments: [id]).first
            }
            guard let saved else { throw StoreError(.failed, path: path, "the scan just recorded is missing") }
            return saved
        }
    }

    /// The recorded scans, oldest first; the most recent `limit` when given.
    /// A database from before scans were recorded (schema 2, opened read-only) has none.
    public func scans(limit: Int? = nil) throws(StoreError) -> [ScanInfo] {
        try run {
            try queue.read { db in
                guard try db.tableExists("scan") else { return [] }
                guard let limit else { return try ScanCodec.infos(db) }
                return try ScanCodec.infos(db, where: "id IN (SELECT id FROM scan ORDER BY id DESC LIMIT ?)", arguments: [limit])
            }
        }
    }

    /// The recorded scan `id`, whole; `.unknownScan` (a usage error) when there is none.
    public func scan(_ id: Int64) throws(StoreError) -> ScanRecord {
        let found = try run {
            try queue.read { db -> ScanRecord? in
                guard try db.tableExists("scan") else { return nil }
                return try ScanCodec.load(id: id, db)
            }
        }
        guard let found else {
            throw StoreError(.unknownScan, path: path, "no recorded scan \(id) in \(path) (portcullis history --scans lists them)")
        }
        return found
    }

    /// The most recent recorded scan of the same targets and ports (`ScanScope.targetKey` and `portKey`), or nil.
    public func lastScan(matching scope: ScanScope) throws(StoreError) -> ScanRecord? {
        try run {
            try queue.read { db -> ScanRecord? in
                guard try db.tableExists("scan"),
                    let id: Int64 = try db.value(
                        "SELECT max(id) FROM scan WHERE target_key = ? AND port_key = ?", [scope.targetKey, scope.portKey])
                else { return nil }
                return try ScanCodec.load(id: id, db)
            }
        }
    }
}

/// A stored value this binary cannot read back (a newer portcullis's state name, or a damaged row).
struct UnreadableScanValue: Error, CustomStringConvertible {
    var scan: Int64
    var column: String
    var value: String
    var description: String { "recorded scan \(scan): column \(column) holds \"\(value)\", which this portcullis does not know" }
}

/// The stored form of a scan (schema 3): one `scan` row (what was asked,
/// the counts `history --scans` shows), one `scan_host` row per address
/// (up or down, discovery's status, and per protocol the state the unlisted
/// ports share), one `scan_port` row per listed port (every open port, and
/// ports whose state or reason differ from the host's unlisted ones). See
/// `ScanRecord` for why ports are not all listed.
enum ScanCodec {
    static let schema = """
        CREATE TABLE scan (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            started_at INTEGER NOT NULL,
            ended_at INTEGER NOT NULL,
            duration_ms INTEGER NOT NULL,
            targets TEXT NOT NULL,
            ports TEXT NOT NULL,
            protocols TEXT NOT NULL,
            target_key TEXT NOT NULL,
            port_key TEXT NOT NULL,
            tcp_ports TEXT NOT NULL,
            udp_ports TEXT NOT NULL,
            host_count INTEGER NOT NULL,
            hosts_up INTEGER NOT NULL,
            open_ports INTEGER NOT NULL
        );
        CREATE INDEX scan_by_scope ON scan (target_key, port_key, id);
        CREATE TABLE scan_host (
            scan_id INTEGER NOT NULL REFERENCES scan(id),
            position INTEGER NOT NULL,
            address TEXT NOT NULL,
            hostname TEXT,
            up INTEGER NOT NULL,
            discovery_up INTEGER,
            discovery_reason TEXT,
            mac TEXT,
            vendor TEXT,
            discovery_rtt_us INTEGER,
            tcp_other_state TEXT,
            tcp_other_reason TEXT,
            tcp_other_count INTEGER,
            udp_other_state TEXT,
            udp_other_reason TEXT,
            udp_other_count INTEGER,
            PRIMARY KEY (scan_id, position)
        ) WITHOUT ROWID;
        CREATE TABLE scan_port (
            scan_id INTEGER NOT NULL REFERENCES scan(id),
            host_position INTEGER NOT NULL,
            proto TEXT NOT NULL,
            port INTEGER NOT NULL,
            state TEXT NOT NULL,
            reason TEXT NOT NULL,
            detail TEXT,
            service_name TEXT,
            service_product TEXT,
            service_version TEXT,
            service_method TEXT,
            banner TEXT,
            verdict TEXT,
            PRIMARY KEY (scan_id, host_position, proto, port)
        ) WITHOUT ROWID;

        """

    static func insert(_ record: ScanRecord, _ db: SQLiteConnection) throws -> Int64 {
        let info = record.info
        try db.execute(
            """
            INSERT INTO scan (started_at, ended_at, duration_ms, targets, ports, protocols, target_key, port_key, tcp_ports,
              udp_ports, host_count, hosts_up, open_ports)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                info.startTime, info.endTime, info.durationMilliseconds, info.scope.targets, info.scope.ports,
                info.scope.protocols.map(\.rawValue).joined(separator: ","), info.scope.targetKey, info.scope.portKey,
                ScanScope.portRanges(record.tcpPorts), ScanScope.portRanges(record.udpPorts), record.hosts.count,
                record.hosts.filter(\.up).count, record.hosts.reduce(0) { $0 + $1.openCount },
            ])
        let id = db.lastInsertRowID
        let hostStatement = try db.prepare(
            """
            INSERT INTO scan_host (scan_id, position, address, hostname, up, discovery_up, discovery_reason, mac, vendor,
              discovery_rtt_us, tcp_other_state, tcp_other_reason, tcp_other_count, udp_other_state, udp_other_reason,
              udp_other_count)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        let portStatement = try db.prepare(
            """
            INSERT INTO scan_port (scan_id, host_position, proto, port, state, reason, detail, service_name, service_product,
              service_version, service_method, banner, verdict)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        for (position, host) in record.hosts.enumerated() {
            let tcp = host.others.first { $0.proto == .tcp }
            let udp = host.others.first { $0.proto == .udp }
            try hostStatement.execute([
                id, position, host.addressText, host.hostname, host.up, host.status?.up, host.status?.reason.rawValue,
                host.status?.macAddress, host.status?.vendor, host.status?.rttMicroseconds, tcp?.state.rawValue, tcp?.reason.rawValue,
                tcp?.count, udp?.state.rawValue, udp?.reason.rawValue, udp?.count,
            ])
            for port in host.ports {
                try portStatement.execute([
                    id, position, port.proto.rawValue, Int64(port.port), port.state.rawValue, port.reason.rawValue, port.detail,
                    port.service?.name, port.service?.product, port.service?.version, port.service?.method.rawValue,
                    port.service?.banner, port.verdict?.jsonName,
                ])
            }
        }
        return id
    }

    static func infos(_ db: SQLiteConnection, where condition: String = "1", arguments: [any SQLiteBindable] = []) throws -> [ScanInfo] {
        try db.rows(
            """
            SELECT id, started_at, ended_at, duration_ms, targets, ports, protocols, target_key, port_key, host_count, hosts_up,
              open_ports FROM scan WHERE \(condition) ORDER BY id
            """, arguments
        ).map { row in
            let id: Int64 = try row["id"]
            let protocols = try (row["protocols"] as String).split(separator: ",").map { word in
                guard let proto = TransportProtocol(rawValue: String(word)) else {
                    throw UnreadableScanValue(scan: id, column: "protocols", value: String(word))
                }
                return proto
            }
            return ScanInfo(
                id: id, startTime: try row["started_at"], endTime: try row["ended_at"], durationMilliseconds: try row["duration_ms"],
                scope: ScanScope(
                    targets: try row["targets"], ports: try row["ports"], protocols: protocols, targetKey: try row["target_key"],
                    portKey: try row["port_key"]),
                hostCount: try row["host_count"], hostsUp: try row["hosts_up"], openPorts: try row["open_ports"])
        }
    }

    static func load(id: Int64, _ db: SQLiteConnection) throws -> ScanRecord? {
        guard let info = try infos(db, where: "id = ?", arguments: [id]).first,
            let row = try db.row("SELECT tcp_ports, udp_ports FROM scan WHERE id = ?", [id])
        else { return nil }
        func decode<T: RawRepresentable<String>>(_ type: T.Type, _ value: String?, _ column: String) throws -> T? {
            guard let value else { return nil }
            guard let decoded = T(rawValue: value) else { throw UnreadableScanValue(scan: id, column: column, value: value) }
            return decoded
        }
        func ports(_ column: String) throws -> [UInt16] {
            let text: String = try row[column]
            guard let ports = ScanScope.parsePortRanges(text) else { throw UnreadableScanValue(scan: id, column: column, value: text) }
            return ports
        }
        var listed: [Int: [ScanRecord.Port]] = [:]
        for row in try db.rows(
            """
            SELECT host_position, proto, port, state, reason, detail, service_name, service_product, service_version,
              service_method, banner, verdict
            FROM scan_port WHERE scan_id = ? ORDER BY host_position, proto, port
            """, [id])
        {
            var service: ScanRecord.Service?
            if let name: String = try row["service_name"] {
                service = ScanRecord.Service(
                    name: name, product: try row["service_product"], version: try row["service_version"], banner: try row["banner"],
                    method: try decode(ScanService.Method.self, try row["service_method"], "service_method") ?? .table)
            }
            var verdict: ListenerVerdict?
            if let text: String = try row["verdict"] {
                guard let known = ListenerVerdict.allCases.first(where: { $0.jsonName == text }) else {
                    throw UnreadableScanValue(scan: id, column: "verdict", value: text)
                }
                verdict = known
            }
            let port: Int64 = try row["port"]
            guard let number = UInt16(exactly: port) else { throw UnreadableScanValue(scan: id, column: "port", value: "\(port)") }
            let position: Int = try row["host_position"]
            listed[position, default: []].append(
                ScanRecord.Port(
                    proto: try decode(TransportProtocol.self, try row["proto"], "proto") ?? .tcp, port: number,
                    state: try decode(ScanPortState.self, try row["state"], "state") ?? .unknown,
                    reason: try decode(ScanReason.self, try row["reason"], "reason") ?? .localError, detail: try row["detail"],
                    service: service, verdict: verdict))
        }
        var hosts: [ScanRecord.Host] = []
        for row in try db.rows("SELECT * FROM scan_host WHERE scan_id = ? ORDER BY position", [id]) {
            let text: String = try row["address"]
            guard let (address, zone) = ScanRecord.Host.parseAddressText(text) else {
                throw UnreadableScanValue(scan: id, column: "address", value: text)
            }
            var status: HostStatus?
            if let up: Bool = try row["discovery_up"] {
                status = HostStatus(
                    up: up, reason: try decode(HostDiscoveryReason.self, try row["discovery_reason"], "discovery_reason") ?? .noResponse,
                    macAddress: try row["mac"], vendor: try row["vendor"], rttMicroseconds: try row["discovery_rtt_us"])
            }
            var others: [ScanRecord.Others] = []
            for proto in [TransportProtocol.tcp, .udp] {
                guard let state = try decode(ScanPortState.self, try row["\(proto.rawValue)_other_state"], "\(proto.rawValue)_other_state"),
                    let reason = try decode(ScanReason.self, try row["\(proto.rawValue)_other_reason"], "\(proto.rawValue)_other_reason")
                else { continue }
                others.append(
                    ScanRecord.Others(proto: proto, state: state, reason: reason, count: try row["\(proto.rawValue)_other_count"]))
            }
            let position: Int = try row["position"]
            hosts.append(
                ScanRecord.Host(
                    address: address, zone: zone, hostname: try row["hostname"], up: try row["up"], status: status,
                    ports: listed[position] ?? [],
                    others: others))
        }
        return ScanRecord(info: info, tcpPorts: try ports("tcp_ports"), udpPorts: try ports("udp_ports"), hosts: hosts)
    }
}
