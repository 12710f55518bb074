import CSQLite
import PortcullisCore

/// Binds one row's values straight to a prepared statement and runs it:
/// for the thousands of socket rows of a snapshot, without boxing every
/// value as `SQLiteStatement.bind` does.
///
/// Texts are gathered in one buffer and bound from it when the row is run
/// (SQLITE_STATIC), rather than each copied by SQLite into memory of its own
/// (SQLITE_TRANSIENT): that copy was a quarter of writing a 10,000-listener
/// snapshot. Their bindings are cleared right after the row, so SQLite never
/// holds a pointer into the buffer between rows.
struct RowWriter {
    let statement: SQLiteStatement
    private var index: Int32 = 1
    /// This row's texts, one after another.
    private var texts: [UInt8] = []
    /// Where each text bound so far lies in `texts`.
    private var textSlots: [(index: Int32, start: Int, count: Int)] = []
    init(_ statement: SQLiteStatement) {
        self.statement = statement
    }

    mutating func int(_ value: Int64?) {
        if let value {
            sqlite3_bind_int64(statement.handle, index, value)
        } else {
            sqlite3_bind_null(statement.handle, index)
        }
        index += 1
    }

    mutating func bool(_ value: Bool?) { int(value.map { $0 ? 1 : 0 }) }

    mutating func text(_ value: String?) {
        if let value {
            text { $0.append(contentsOf: value.utf8) }
        } else {
            sqlite3_bind_null(statement.handle, index)
            index += 1
        }
    }

    /// A text written by `write` straight into the row's buffer.
    mutating func text(_ write: (inout [UInt8]) -> Void) {
        let start = texts.count
        write(&texts)
        textSlots.append((index, start, texts.count - start))
        index += 1
    }

    /// Runs the statement and resets it for the next row.
    mutating func step() throws {
        let statement = self.statement.handle
        let code = texts.withUnsafeBufferPointer { buffer -> Int32 in
            for slot in textSlots {
                if slot.count > 0, let base = buffer.baseAddress {
                    _ = UnsafeRawPointer(base + slot.start).withMemoryRebound(to: CChar.self, capacity: slot.count) {
                        // nil: SQLITE_STATIC, SQLite reads the bytes where they are.
                        sqlite3_bind_text(statement, slot.index, $0, Int32(slot.count), nil)
                    }
                } else {
                    _ = sqlite3_bind_text(statement, slot.index, "", 0, csqlite_transient())
                }
            }
            let code = sqlite3_step(statement)
            sqlite3_reset(statement)
            for slot in textSlots { sqlite3_bind_null(statement, slot.index) }
            return code
        }
        texts.removeAll(keepingCapacity: true)
        textSlots.removeAll(keepingCapacity: true)
        index = 1
        guard code == SQLITE_DONE else {
            throw SQLiteConnection.error(code, self.statement.database)
        }
    }
}

/// The stored form of a snapshot (format 1): one row per socket with the
/// fields `list --format json` shows, one row per holding process (shared by
/// its sockets; the socket row keeps `pid:fd,fd;pid:fd`), one row per
/// finding with what `audit --format json` shows. Decoding gives back the
/// collected sockets and their owners exactly; a finding's owners come back
/// as `audit --format json` names them (pid, name, exe, user, unit,
/// container), without command line, parent or descriptors.
enum SnapshotCodec {
    static func insert(_ entries: [InventoryEntry], findings: [Finding], snapshot id: Int64, _ db: SQLiteConnection) throws {
        let socketStatement = try db.prepare(
            """
            INSERT INTO snapshot_socket (snapshot_id, position, proto, family, local_address, local_port, remote_address,
              remote_port, state, inode, uid, user, v6only, interface_index, raw_protocol, receive_queue, send_queue,
              port_class, in_ephemeral_range, service, exposure, unowned_reason, owners, netns_inode, netns_name, netns_kind)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        let processStatement = try db.prepare(
            """
            INSERT INTO snapshot_process (snapshot_id, pid, ppid, name, cmdline, exe, exe_deleted, exe_replaced,
              exe_directory_world_writable, uid, user, start_time, unit, container, netns, container_runtime, container_name,
              container_image, pod_namespace, pod_name, pod_uid)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        var processes = Set<Int32>()
        var socketRow = RowWriter(socketStatement)
        var processRow = RowWriter(processStatement)
        for (position, e) in entries.enumerated() {
            let s = e.socket
            socketRow.int(id)
            socketRow.int(Int64(position))
            socketRow.text(s.proto.rawValue)
            socketRow.text(s.family.rawValue)
            socketRow.text(s.localAddress.description)
            socketRow.int(Int64(s.localPort))
            socketRow.text(s.remoteAddress.description)
            socketRow.int(Int64(s.remotePort))
            socketRow.int(Int64(s.stateCode))
            socketRow.int(Int64(bitPattern: s.inode))
            socketRow.int(Int64(s.uid))
            socketRow.text(e.user)
            socketRow.bool(s.v6only)
            socketRow.int(Int64(s.interfaceIndex))
            socketRow.int(s.rawProtocol.map { Int64($0) })
            socketRow.int(Int64(s.receiveQueue))
            socketRow.int(Int64(s.sendQueue))
            socketRow.text(e.portClass.rawValue)
            socketRow.bool(e.inEphemeralRange)
            socketRow.text(e.service)
            socketRow.text(e.exposure.rawValue)
            socketRow.text(e.unownedReason?.rawValue)
            // pid:fd,fd;pid:fd, written straight into the row.
            socketRow.text { bytes in
                for (i, owner) in e.owners.enumerated() {
                    if i > 0 { bytes.append(UInt8(ascii: ";")) }
                    bytes.append(contentsOf: String(owner.pid).utf8)
                    bytes.append(UInt8(ascii: ":"))
                    for (j, fd) in owner.fds.enumerated() {
                        if j > 0 { bytes.append(UInt8(ascii: ",")) }
                        bytes.append(contentsOf: String(fd).utf8)
                    }
                }
            }
            socketRow.int(e.namespace.map { Int64(bitPattern: $0.inode) })
            socketRow.text(e.namespace?.name)
            socketRow.text(e.namespace?.kind.rawValue)
            try socketRow.step()
            for o in e.owners where processes.insert(o.pid).inserted {
                processRow.int(id)
                processRow.int(Int64(o.pid))
                processRow.int(Int64(o.ppid))
                processRow.text(o.name)
                processRow.text(o.cmdline)
                processRow.text(o.exe)
                processRow.bool(o.exeDeleted)
                processRow.bool(o.exeReplaced)
                processRow.bool(o.exeDirectoryWorldWritable)
                processRow.int(o.uid.map { Int64($0) })
                processRow.text(o.user)
                processRow.int(o.startTime)
                processRow.text(o.unit)
                processRow.text(o.container)
                processRow.int(o.netnsInode.map { Int64(bitPattern: $0) })
                let container = o.containerReference
                processRow.text(container?.runtime.rawValue)
                processRow.text(container?.name)
                processRow.text(container?.image)
                processRow.text(container?.pod?.namespace)
                processRow.text(container?.pod?.name)
                processRow.text(container?.pod?.uid)
                try processRow.step()
            }
        }
        let findingStatement = try db.prepare(
            """
            INSERT INTO snapshot_finding
                (snapshot_id, position, rule, severity, title, subject, owners, evidence, remediation, finding_id, sockets)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        // Through a RowWriter too, the JSON fields written straight into the
        // row: with a policy, most listeners have a finding, and boxing each
        // row's arguments and serializing each field into a String of its
        // own was most of the snapshot's time.
        var findingRow = RowWriter(findingStatement)
        for (position, f) in findings.enumerated() {
            guard case .object(let fields) = AuditRenderer.json(f) else { continue }
            func field(_ name: String, into bytes: inout [UInt8]) {
                if let value = fields.first(where: { $0.0 == name })?.1 {
                    value.write(into: &bytes, pretty: false, indent: 0)
                } else {
                    bytes.append(contentsOf: "null".utf8)
                }
            }
            findingRow.int(id)
            findingRow.int(Int64(position))
            findingRow.text(f.rule.rawValue)
            findingRow.text(f.severity.rawValue)
            findingRow.text(f.title)
            if f.subject == nil { findingRow.text(nil) } else { findingRow.text { field("subject", into: &$0) } }
            findingRow.text { field("owners", into: &$0) }
            findingRow.text { field("evidence", into: &$0) }
            findingRow.text(f.remediation)
            findingRow.text(f.id)
            findingRow.text { field("sockets", into: &$0) }
            try findingRow.step()
        }
    }

    /// A finding's subject (or one of its sockets) as stored: the JSON
    /// object `AuditRenderer` writes.
    static func findingSubject(_ object: [(String, JSONValue)], _ location: String) throws -> FindingSubject {
        let fields = Dictionary(object, uniquingKeysWith: { a, _ in a })
        var exposure: Exposure?
        if let name = fields["exposure"]?.stringValue {
            // As for a socket row: an exposure this version cannot name is a damaged snapshot.
            guard let known = Exposure(rawValue: name) else {
                throw Malformed(description: "\(location): unknown exposure \(name)")
            }
            exposure = known
        }
        return FindingSubject(
            proto: SubjectProtocol(jsonName: fields["proto"]?.stringValue ?? ""),
            family: fields["family"]?.stringValue.flatMap(AddressFamily.init(rawValue:)),
            localAddress: fields["local_address"]?.stringValue ?? "",
            port: fields["local_port"]?.intValue.map { UInt16(truncatingIfNeeded: $0) },
            inode: UInt64(bitPattern: fields["inode"]?.intValue ?? 0), exposure: exposure)
    }

    struct Malformed: Error, CustomStringConvertible {
        var description: String
    }

    /// The columns of the snapshot tables (and of the queries over them)
    /// that hold integers; every other column holds text.
    static let integerColumns: Set<String> = [
        "id", "snapshot_id", "position", "taken_at", "listener_count", "finding_count", "format", "n",
        "pid", "ppid", "exe_deleted", "exe_replaced", "exe_directory_world_writable", "uid", "start_time", "netns",
        "local_port", "remote_port", "state", "inode", "v6only", "interface_index", "raw_protocol", "receive_queue",
        "send_queue", "in_ephemeral_range", "netns_inode",
    ]

    /// Checks that each value of a row read back is of its column's kind
    /// (or NULL, which only a nullable column can hold) before it is read:
    /// a damaged or hand-edited database may hold text where an integer
    /// belongs, and the message should name the column and what it holds.
    static func checkStorage(_ row: SQLiteRow, _ location: String) throws {
        for (column, value) in row {
            let integer = integerColumns.contains(column)
            switch value {
            case .null: continue
            case .integer where integer: continue
            case .text where !integer: continue
            default: throw Malformed(description: "\(location): \(column) holds \(value), not \(integer ? "an integer" : "text")")
            }
        }
    }

    static func load(snapshot id: Int64, _ db: SQLiteConnection) throws -> SnapshotContent {
        var processes: [Int32: SocketOwner] = [:]
        for row in try db.rows("SELECT * FROM snapshot_process WHERE snapshot_id = ?", [id]) {
            try checkStorage(row, "snapshot \(id), process")
            var o = SocketOwner(pid: Int32(truncatingIfNeeded: try row["pid"] as Int64))
            o.ppid = Int32(truncatingIfNeeded: try row["ppid"] as Int64)
            o.name = try row["name"]
            o.cmdline = try row["cmdline"]
            o.exe = try row["exe"]
            o.exeDeleted = try row["exe_deleted"]
            o.exeReplaced = try row["exe_replaced"]
            o.exeDirectoryWorldWritable = try row["exe_directory_world_writable"]
            o.uid = (try row["uid"] as Int64?).map { UInt32(truncatingIfNeeded: $0) }
            o.user = try row["user"]
            o.startTime = try row["start_time"]
            o.unit = try row["unit"]
            o.container = try row["container"]
            o.netnsInode = (try row["netns"] as Int64?).map { UInt64(bitPattern: $0) }
            if let runtime = (try row["container_runtime"] as String?).flatMap(ContainerRuntime.init(rawValue:)) {
                let pod = try (row["pod_uid"] as String?).map {
                    PodReference(uid: $0, namespace: try row["pod_namespace"], name: try row["pod_name"])
                }
                o.containerReference = ContainerReference(
                    runtime: runtime, id: o.container, name: try row["container_name"], image: try row["container_image"], pod: pod)
            }
            processes[o.pid] = o
        }
        var entries: [InventoryEntry] = []
        for row in try db.rows("SELECT * FROM snapshot_socket WHERE snapshot_id = ? ORDER BY position", [id]) {
            try checkStorage(row, "snapshot \(id), socket")
            let location = "snapshot \(id), socket \(try row["position"] as Int64)"
            guard let proto = TransportProtocol(rawValue: try row["proto"]), let family = AddressFamily(rawValue: try row["family"]),
                let local = IPAddress(parsing: try row["local_address"]), let remote = IPAddress(parsing: try row["remote_address"]),
                let portClass = PortClass(rawValue: try row["port_class"]), let exposure = Exposure(rawValue: try row["exposure"])
            else { throw Malformed(description: "\(location): a field holds a value this portcullis does not know") }
            let socket = SocketRecord(
                proto: proto, family: family, localAddress: local, localPort: UInt16(truncatingIfNeeded: try row["local_port"] as Int64),
                remoteAddress: remote, remotePort: UInt16(truncatingIfNeeded: try row["remote_port"] as Int64),
                stateCode: UInt8(truncatingIfNeeded: try row["state"] as Int64), inode: UInt64(bitPattern: try row["inode"]),
                uid: UInt32(truncatingIfNeeded: try row["uid"] as Int64), v6only: try row["v6only"],
                interfaceIndex: UInt32(truncatingIfNeeded: try row["interface_index"] as Int64),
                rawProtocol: (try row["raw_protocol"] as Int64?).map { UInt8(truncatingIfNeeded: $0) },
                receiveQueue: UInt32(truncatingIfNeeded: try row["receive_queue"] as Int64),
                sendQueue: UInt32(truncatingIfNeeded: try row["send_queue"] as Int64))
            var owners: [SocketOwner] = []
            let ownerText: String = try row["owners"]
            for part in ownerText.split(separator: ";") {
                let halves = part.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
                guard let pid = Int32(halves[0]), var owner = processes[pid] else {
                    throw Malformed(description: "\(location): owner \(part) has no process row")
                }
                owner.fds = halves.count > 1 ? halves[1].split(separator: ",").compactMap { Int32($0) } : []
                owners.append(owner)
            }
            var unowned: UnownedReason?
            if let reason: String = try row["unowned_reason"] {
                guard let known = UnownedReason(rawValue: reason) else {
                    throw Malformed(description: "\(location): unknown unowned_reason \(reason)")
                }
                unowned = known
            }
            var entry = InventoryEntry(
                socket: socket, user: try row["user"], portClass: portClass, inEphemeralRange: try row["in_ephemeral_range"],
                service: try row["service"], exposure: exposure, owners: owners, unownedReason: unowned)
            if let inode = try row["netns_inode"] as Int64? {
                let kind = (try row["netns_kind"] as String?).flatMap(NetworkNamespace.Kind.init(rawValue:)) ?? .process
                entry.namespace = NetworkNamespace(inode: UInt64(bitPattern: inode), name: try row["netns_name"], kind: kind)
                entry.socket.netns = UInt64(bitPattern: inode)
            }
            entries.append(entry)
        }
        var findings: [Finding] = []
        for row in try db.rows("SELECT * FROM snapshot_finding WHERE snapshot_id = ? ORDER BY position", [id]) {
            try checkStorage(row, "snapshot \(id), finding")
            let location = "snapshot \(id), finding \(try row["position"] as Int64)"
            guard let rule = RuleID(rawValue: try row["rule"]), let severity = Severity(rawValue: try row["severity"]) else {
                throw Malformed(description: "\(location): unknown rule or severity")
            }
            var subject: FindingSubject?
            if let text: String = try row["subject"] {
                guard case .object(let f) = try JSONValue.parse(Array(text.utf8)) else {
                    throw Malformed(description: "\(location): subject is not an object")
                }
                subject = try findingSubject(f, location)
            }
            // Before schema 4 a finding had one socket, its subject, and an
            // id derived from it (the default below).
            var sockets: [FindingSubject]?
            if let text: String = try row["sockets"] {
                guard case .array(let items) = try JSONValue.parse(Array(text.utf8)) else {
                    throw Malformed(description: "\(location): sockets is not a list")
                }
                sockets = try items.map { item in
                    guard case .object(let f) = item else { throw Malformed(description: "\(location): a socket is not an object") }
                    return try findingSubject(f, location)
                }
            }
            var owners: [SocketOwner] = []
            if case .array(let items) = try JSONValue.parse(Array((try row["owners"] as String).utf8)) {
                for case .object(let f) in items {
                    let fields = Dictionary(f, uniquingKeysWith: { a, _ in a })
                    var o = SocketOwner(pid: Int32(truncatingIfNeeded: fields["pid"]?.intValue ?? 0))
                    o.name = fields["name"]?.stringValue ?? ""
                    o.exe = fields["exe"]?.stringValue
                    o.user = fields["user"]?.stringValue
                    o.unit = fields["unit"]?.stringValue
                    o.container = fields["container"]?.stringValue
                    owners.append(o)
                }
            }
            var evidence: [String] = []
            if case .array(let items) = try JSONValue.parse(Array((try row["evidence"] as String).utf8)) {
                evidence = items.compactMap(\.stringValue)
            }
            findings.append(
                Finding(
                    rule: rule, severity: severity, title: try row["title"], subject: subject, owners: owners,
                    evidence: evidence, remediation: try row["remediation"], sockets: sockets, id: try row["finding_id"]))
        }
        return SnapshotContent(entries: entries, findings: findings)
    }
}

extension JSONValue {
    var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }
    var intValue: Int64? { if case .int(let i) = self { return i } else { return nil } }
}
