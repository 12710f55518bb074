// Writes snapshots into a history database as fast as it can, printing each
// committed id on stdout, until it is killed. The crash-safety test kills it
// with SIGKILL at random moments and checks what it left behind.
//
//     portcullis-crash-writer DB [LISTENERS]
import PortcullisCore
import PortcullisStore

#if canImport(Glibc)
    import Glibc
#endif

/// write(2) straight away: an id printed is an id committed, even if SIGKILL follows.
func say(_ text: String, to fd: Int32 = 1) {
    let bytes = Array(text.utf8)
    _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
}

let arguments = CommandLine.arguments
guard arguments.count >= 2 else {
    say("usage: portcullis-crash-writer DB [LISTENERS]\n", to: 2)
    exit(2)
}
let count = arguments.count > 2 ? Int(arguments[2]) ?? 2000 : 2000

func content(_ round: Int) -> SnapshotContent {
    var entries: [InventoryEntry] = []
    var findings: [Finding] = []
    for i in 0..<count {
        let port = UInt16(1024 + (i + round) % 60000)
        let owner = SocketOwner(
            pid: Int32(1000 + i % 50), ppid: 1, name: "worker\(i % 50)", cmdline: "worker --round \(round)",
            exe: "/usr/bin/worker", uid: 0, user: "root", startTime: 1_764_000_000, fds: [Int32(3 + i)])
        let socket = SocketRecord(
            proto: i % 3 == 0 ? .udp : .tcp, family: i % 2 == 0 ? .ipv4 : .ipv6,
            localAddress: i % 2 == 0 ? .anyV4 : .anyV6, localPort: port,
            remoteAddress: i % 2 == 0 ? .anyV4 : .anyV6, remotePort: 0,
            stateCode: i % 3 == 0 ? 7 : 10, inode: UInt64(round * 100_000 + i), uid: 0)
        let entry = InventoryEntry(
            socket: socket, user: "root", portClass: PortClass(port: port), inEphemeralRange: false,
            service: nil, exposure: i % 2 == 0 ? .allInterfacesIPv4 : .allInterfacesDualStack,
            owners: [owner], unownedReason: nil)
        entries.append(entry)
        if i % 10 == 0 {
            findings.append(
                Finding(
                    rule: .ephemeralListener, severity: .low, title: "listener \(i) of round \(round)",
                    subject: FindingSubject(
                        proto: .transport(.tcp), family: .ipv4, localAddress: "0.0.0.0", port: port,
                        inode: socket.inode, exposure: .allInterfacesIPv4),
                    owners: [owner], evidence: ["round \(round)"], remediation: "none"))
        }
    }
    return SnapshotContent(entries: entries, findings: findings)
}

do {
    let store = try HistoryStore(path: arguments[1])
    var round = 0
    while true {
        let info = try store.saveSnapshot(
            content(round), time: 1_764_000_000 + Int64(round), label: "round \(round)",
            hostname: "crash", source: "netlink")
        say("\(info.id)\n")
        round += 1
    }
} catch {
    say("portcullis-crash-writer: \(error)\n", to: 2)
    exit(3)
}
