import PortcullisCore

@testable import PortcullisStore

/// Inventories built by hand, covering every stored field.
enum Samples {
    static func owner(_ pid: Int32, _ name: String, exe: String? = nil, uid: UInt32 = 0, user: String? = "root", fds: [Int32] = [3])
        -> SocketOwner
    {
        var o = SocketOwner(
            pid: pid, ppid: 1, name: name, cmdline: "\(name) --serve \\x1b[31m", exe: exe ?? "/usr/sbin/\(name)",
            uid: uid, user: user, startTime: 1_764_000_000 + Int64(pid), unit: "\(name).service",
            container: nil, netnsInode: 4_026_531_840, fds: fds)
        o.exeDirectoryWorldWritable = pid % 2 == 0
        return o
    }

    static func entry(
        _ proto: TransportProtocol = .tcp, _ address: String, _ port: UInt16, inode: UInt64, owners: [SocketOwner],
        v6only: Bool? = nil, interfaceIndex: UInt32 = 0, unowned: UnownedReason? = nil
    ) -> InventoryEntry {
        let local = IPAddress(parsing: address)!
        let family: AddressFamily = local.kind == .v4 ? .ipv4 : .ipv6
        let state: UInt8 = proto == .tcp ? SocketState.listen.rawValue : SocketState.close.rawValue
        let socket = SocketRecord(
            proto: proto, family: family, localAddress: local, localPort: port,
            remoteAddress: family == .ipv4 ? .anyV4 : .anyV6, remotePort: 0, stateCode: state, inode: inode, uid: owners.first?.uid ?? 0,
            v6only: family == .ipv6 ? v6only : nil, interfaceIndex: interfaceIndex, rawProtocol: proto == .raw ? UInt8(port) : nil,
            receiveQueue: 0, sendQueue: 128)
        return InventoryEntry(
            socket: socket, user: owners.first?.user, portClass: PortClass(port: port), inEphemeralRange: port >= 32768,
            service: port == 22 ? "ssh" : nil,
            exposure: Exposure(localAddress: local, v6only: socket.v6only, interfaceIndex: interfaceIndex),
            owners: owners, unownedReason: owners.isEmpty ? (unowned ?? .kernelSocket) : nil)
    }

    /// Findings as the audit's JSON keeps them: owners with pid, name, exe, user, unit, container.
    static func finding(_ rule: RuleID, _ severity: Severity, _ entry: InventoryEntry) -> Finding {
        let s = entry.socket
        let owners = entry.owners.map { o in
            var slim = SocketOwner(pid: o.pid, name: o.name, exe: o.exe, user: o.user, unit: o.unit, container: o.container)
            slim.fds = []
            return slim
        }
        return Finding(
            rule: rule, severity: severity, title: "\(s.localAddress):\(s.localPort)/\(s.proto.rawValue) \(rule.rawValue)",
            subject: FindingSubject(
                proto: .transport(s.proto), family: s.family, localAddress: s.localAddress.description,
                port: s.localPort, inode: s.inode, exposure: entry.exposure),
            owners: owners, evidence: ["one", "two \"quoted\""], remediation: "fix it")
    }

    static let nginx = [owner(100, "nginx", fds: [6]), owner(101, "nginx", uid: 33, user: "www-data", fds: [6, 7])]

    static func content() -> SnapshotContent {
        let entries = [
            entry(.tcp, "0.0.0.0", 22, inode: 1001, owners: [owner(500, "sshd")]),
            entry(.tcp, "::", 80, inode: 1002, owners: nginx, v6only: true),
            entry(.tcp, "0.0.0.0", 80, inode: 1003, owners: nginx),
            entry(.udp, "127.0.0.1", 53, inode: 1004, owners: [owner(600, "dnsmasq", uid: 65534, user: nil)]),
            entry(.udp, "::ffff:10.0.0.1", 5353, inode: 1005, owners: [], unowned: .notPermitted),
            entry(.raw, "0.0.0.0", 1, inode: 1006, owners: [], interfaceIndex: 1),
            entry(.tcp, "fe80::1", 40000, inode: 1007, owners: [owner(700, "tmp-server", exe: nil)]),
        ]
        let findings = [
            finding(.exposedDatastore, .high, entries[0]),
            finding(.ephemeralListener, .low, entries[6]),
            Finding(
                rule: .ldPreload, severity: .high, title: "/etc/ld.so.preload exists", subject: nil, owners: [], evidence: [],
                remediation: "look"),
        ]
        return SnapshotContent(entries: entries, findings: findings)
    }
}

extension HistoryStore {
    /// Writes `content` with today's writer into a database of an older
    /// schema: version 5's finding columns are added for the write and
    /// dropped again, so the file keeps the older shape.
    static func insertIntoOlderSchema(_ content: SnapshotContent, time: Int64, label: String, _ db: SQLiteConnection) throws {
        try db.execute(
            "ALTER TABLE snapshot_finding ADD COLUMN finding_id TEXT; ALTER TABLE snapshot_finding ADD COLUMN sockets TEXT;")
        _ = try insertSnapshot(content, time: time, label: label, hostname: "h", source: "netlink", diagnostics: [], db)
        try db.execute("ALTER TABLE snapshot_finding DROP COLUMN finding_id; ALTER TABLE snapshot_finding DROP COLUMN sockets;")
    }
}

extension SQLiteQueue {
    /// A second connection to `path`, as another process would open it: to
    /// build older schemas, damage rows or hold the lock.
    convenience init(path: String) throws {
        self.init(try SQLiteConnection(path: path, access: .readWriteCreate, busyTimeout: 5))
    }
}
