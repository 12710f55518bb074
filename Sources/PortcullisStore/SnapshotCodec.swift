import GRDB
import PortcullisCore

/// The stored form of a snapshot (format 1): one row per socket with the
/// fields `list --format json` shows, one row per holding process (shared by
/// its sockets; the socket row keeps `pid:fd,fd;pid:fd`), one row per
/// finding with what `audit --format json` shows. Decoding gives back the
/// collected values exactly.
enum SnapshotCodec {
    static func insert(_ entries: [InventoryEntry], findings: [Finding], snapshot id: Int64, _ db: Database) throws {
        let socketStatement = try db.makeStatement(sql: """
            INSERT INTO snapshot_socket (snapshot_id, position, proto, family, local_address, local_port, remote_address,
              remote_port, state, inode, uid, user, v6only, interface_index, raw_protocol, receive_queue, send_queue,
              port_class, in_ephemeral_range, service, exposure, unowned_reason, owners)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        let processStatement = try db.makeStatement(sql: """
            INSERT INTO snapshot_process (snapshot_id, pid, ppid, name, cmdline, exe, exe_deleted, exe_replaced,
              exe_directory_world_writable, uid, user, start_time, unit, container, netns)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        var processes = Set<Int32>()
        for (position, e) in entries.enumerated() {
            let s = e.socket
            let owners = e.owners.map { "\($0.pid):" + $0.fds.map { String($0) }.joined(separator: ",") }.joined(separator: ";")
            let values: [(any DatabaseValueConvertible)?] = [
                id, position, s.proto.rawValue, s.family.rawValue, s.localAddress.description, Int(s.localPort),
                s.remoteAddress.description, Int(s.remotePort), Int(s.stateCode), Int64(bitPattern: s.inode), Int64(s.uid), e.user,
                s.v6only, Int64(s.interfaceIndex), s.rawProtocol.map { Int($0) }, Int64(s.receiveQueue), Int64(s.sendQueue),
                e.portClass.rawValue, e.inEphemeralRange, e.service, e.exposure.rawValue, e.unownedReason?.rawValue, owners,
            ]
            try socketStatement.execute(arguments: StatementArguments(values))
            for o in e.owners where processes.insert(o.pid).inserted {
                let values: [(any DatabaseValueConvertible)?] = [
                    id, Int(o.pid), Int(o.ppid), o.name, o.cmdline, o.exe, o.exeDeleted, o.exeReplaced, o.exeDirectoryWorldWritable,
                    o.uid.map { Int64($0) }, o.user, o.startTime, o.unit, o.container, o.netnsInode.map { Int64(bitPattern: $0) },
                ]
                try processStatement.execute(arguments: StatementArguments(values))
            }
        }
        let findingStatement = try db.makeStatement(sql: """
            INSERT INTO snapshot_finding (snapshot_id, position, rule, severity, title, subject, owners, evidence, remediation)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        for (position, f) in findings.enumerated() {
            guard case .object(let fields) = AuditRenderer.json(f) else { continue }
            func field(_ name: String) -> String { fields.first { $0.0 == name }?.1.serialized() ?? "null" }
            let values: [(any DatabaseValueConvertible)?] = [
                id, position, f.rule.rawValue, f.severity.rawValue, f.title,
                f.subject == nil ? nil : field("subject"), field("owners"), field("evidence"), f.remediation,
            ]
            try findingStatement.execute(arguments: StatementArguments(values))
        }
    }

    struct Malformed: Error, CustomStringConvertible {
        var description: String
    }

    static func load(snapshot id: Int64, _ db: Database) throws -> SnapshotContent {
        var processes: [Int32: SocketOwner] = [:]
        let processRows = try Row.fetchCursor(db, sql: "SELECT * FROM snapshot_process WHERE snapshot_id = ?", arguments: [id])
        while let row = try processRows.next() {
            var o = SocketOwner(pid: Int32(row["pid"] as Int64))
            o.ppid = Int32(row["ppid"] as Int64)
            o.name = row["name"]
            o.cmdline = row["cmdline"]
            o.exe = row["exe"]
            o.exeDeleted = row["exe_deleted"]
            o.exeReplaced = row["exe_replaced"]
            o.exeDirectoryWorldWritable = row["exe_directory_world_writable"]
            o.uid = (row["uid"] as Int64?).map { UInt32(truncatingIfNeeded: $0) }
            o.user = row["user"]
            o.startTime = row["start_time"]
            o.unit = row["unit"]
            o.container = row["container"]
            o.netnsInode = (row["netns"] as Int64?).map { UInt64(bitPattern: $0) }
            processes[o.pid] = o
        }
        var entries: [InventoryEntry] = []
        let socketRows = try Row.fetchCursor(db, sql: "SELECT * FROM snapshot_socket WHERE snapshot_id = ? ORDER BY position", arguments: [id])
        while let row = try socketRows.next() {
            let where_ = "snapshot \(id), socket \(row["position"] as Int64)"
            guard let proto = TransportProtocol(rawValue: row["proto"]), let family = AddressFamily(rawValue: row["family"]),
                  let local = IPAddress(parsing: row["local_address"]), let remote = IPAddress(parsing: row["remote_address"]),
                  let portClass = PortClass(rawValue: row["port_class"]), let exposure = Exposure(rawValue: row["exposure"])
            else { throw Malformed(description: "\(where_): a field holds a value this portcullis does not know") }
            let socket = SocketRecord(
                proto: proto, family: family, localAddress: local, localPort: UInt16(truncatingIfNeeded: row["local_port"] as Int64),
                remoteAddress: remote, remotePort: UInt16(truncatingIfNeeded: row["remote_port"] as Int64),
                stateCode: UInt8(truncatingIfNeeded: row["state"] as Int64), inode: UInt64(bitPattern: row["inode"]),
                uid: UInt32(truncatingIfNeeded: row["uid"] as Int64), v6only: row["v6only"],
                interfaceIndex: UInt32(truncatingIfNeeded: row["interface_index"] as Int64),
                rawProtocol: (row["raw_protocol"] as Int64?).map { UInt8(truncatingIfNeeded: $0) },
                receiveQueue: UInt32(truncatingIfNeeded: row["receive_queue"] as Int64),
                sendQueue: UInt32(truncatingIfNeeded: row["send_queue"] as Int64))
            var owners: [SocketOwner] = []
            let ownerText: String = row["owners"]
            for part in ownerText.split(separator: ";") {
                let halves = part.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
                guard let pid = Int32(halves[0]), var owner = processes[pid] else { throw Malformed(description: "\(where_): owner \(part) has no process row") }
                owner.fds = halves.count > 1 ? halves[1].split(separator: ",").compactMap { Int32($0) } : []
                owners.append(owner)
            }
            var unowned: UnownedReason?
            if let reason: String = row["unowned_reason"] {
                guard let known = UnownedReason(rawValue: reason) else { throw Malformed(description: "\(where_): unknown unowned_reason \(reason)") }
                unowned = known
            }
            entries.append(InventoryEntry(
                socket: socket, user: row["user"], portClass: portClass, inEphemeralRange: row["in_ephemeral_range"],
                service: row["service"], exposure: exposure, owners: owners, unownedReason: unowned))
        }
        var findings: [Finding] = []
        let findingRows = try Row.fetchCursor(db, sql: "SELECT * FROM snapshot_finding WHERE snapshot_id = ? ORDER BY position", arguments: [id])
        while let row = try findingRows.next() {
            let where_ = "snapshot \(id), finding \(row["position"] as Int64)"
            guard let rule = RuleID(rawValue: row["rule"]), let severity = Severity(rawValue: row["severity"]) else {
                throw Malformed(description: "\(where_): unknown rule or severity")
            }
            var subject: FindingSubject?
            if let text: String = row["subject"] {
                guard case .object(let f) = try JSONValue.parse(Array(text.utf8)) else { throw Malformed(description: "\(where_): subject is not an object") }
                let fields = Dictionary(f, uniquingKeysWith: { a, _ in a })
                subject = FindingSubject(
                    proto: fields["proto"]?.stringValue ?? "", family: fields["family"]?.stringValue.flatMap(AddressFamily.init(rawValue:)),
                    localAddress: fields["local_address"]?.stringValue ?? "", port: fields["local_port"]?.intValue.map { UInt16(truncatingIfNeeded: $0) },
                    inode: UInt64(bitPattern: fields["inode"]?.intValue ?? 0), exposure: fields["exposure"]?.stringValue)
            }
            var owners: [SocketOwner] = []
            if case .array(let items) = try JSONValue.parse(Array((row["owners"] as String).utf8)) {
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
            if case .array(let items) = try JSONValue.parse(Array((row["evidence"] as String).utf8)) {
                evidence = items.compactMap(\.stringValue)
            }
            findings.append(Finding(rule: rule, severity: severity, title: row["title"], subject: subject, owners: owners,
                                    evidence: evidence, remediation: row["remediation"]))
        }
        return SnapshotContent(entries: entries, findings: findings)
    }
}

extension JSONValue {
    var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }
    var intValue: Int64? { if case .int(let i) = self { return i } else { return nil } }
}
