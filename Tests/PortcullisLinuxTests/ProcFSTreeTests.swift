import Foundation
import Testing

@testable import PortcullisCore
@testable import PortcullisLinux

/// A procfs tree laid out like a copy of another machine's /proc: the real
/// /proc/net tables captured from a kernel, and process directories whose
/// fd entries are symlinks to "socket:[inode]" as the kernel shows them.
final class FakeProcTree {
    let root: URL

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("portcullis-proc-\(UUID().uuidString)")
        let fm = FileManager.default
        try fm.createDirectory(at: root.appendingPathComponent("net"), withIntermediateDirectories: true)
        for table in ["tcp", "tcp6", "udp", "udp6", "raw", "raw6"] {
            try Data(try LinuxFixtures.bytes("procnet/\(table)")).write(to: root.appendingPathComponent("net/\(table)"))
        }
        try write("sys/net/ipv4/ip_local_port_range", "32768\t60999\n")
        try write("stat", "cpu 1 2 3\nbtime 1795000000\n")
        // 4242 holds the 24001 and 24002 listeners; 4243 shares 24002 (pre-fork).
        try process(4242, ppid: 1, name: "python3", sockets: [3: 623984, 4: 623985], extra: [5: "/dev/null", 6: "pipe:[77]"])
        try process(4243, ppid: 4242, name: "python3 child", sockets: [4: 623985])
        // A hostile entry: its fd directory is a symlink out of the tree.
        try process(4244, ppid: 1, name: "evil", sockets: [:])
        try fm.removeItem(at: root.appendingPathComponent("4244/fd"))
        try fm.createSymbolicLink(atPath: root.appendingPathComponent("4244/fd").path, withDestinationPath: "/proc/self/fd")
        try fm.removeItem(at: root.appendingPathComponent("4244/stat"))
        try fm.createSymbolicLink(atPath: root.appendingPathComponent("4244/stat").path, withDestinationPath: "/etc/passwd")
    }

    deinit { try? FileManager.default.removeItem(at: root) }

    func write(_ path: String, _ text: String) throws {
        let url = root.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
    }

    func process(_ pid: Int, ppid: Int, name: String, sockets: [Int: UInt64], extra: [Int: String] = [:]) throws {
        let fm = FileManager.default
        let dir = root.appendingPathComponent("\(pid)")
        try fm.createDirectory(at: dir.appendingPathComponent("fd"), withIntermediateDirectories: true)
        try fm.createDirectory(at: dir.appendingPathComponent("ns"), withIntermediateDirectories: true)
        try write("\(pid)/stat", "\(pid) (\(name)) S \(ppid) \(pid) \(pid) 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 500 0 0 0\n")
        try write("\(pid)/status", "Name:\t\(name)\nUid:\t0\t0\t0\t0\n")
        try write("\(pid)/cmdline", "/usr/bin/python3\0/tmp/fixture.py\0")
        try write("\(pid)/cgroup", "0::/system.slice/fixture.service\n")
        try fm.createSymbolicLink(atPath: dir.appendingPathComponent("exe").path, withDestinationPath: "/usr/bin/python3.11")
        try fm.createSymbolicLink(atPath: dir.appendingPathComponent("ns/net").path, withDestinationPath: "net:[4026531833]")
        for (fd, inode) in sockets {
            try fm.createSymbolicLink(atPath: dir.appendingPathComponent("fd/\(fd)").path, withDestinationPath: "socket:[\(inode)]")
        }
        for (fd, target) in extra {
            try fm.createSymbolicLink(atPath: dir.appendingPathComponent("fd/\(fd)").path, withDestinationPath: target)
        }
    }
}

@Suite struct ProcFSTreeTests {
    func collect(_ tree: FakeProcTree, all: Bool = false) throws -> Inventory {
        var options = InventoryCollector.Options()
        options.procRoot = tree.root.path
        options.source = .procfs
        options.query = SocketQuery(listeningOnly: !all)
        var collector = InventoryCollector(options: options)
        return try collector.collect()
    }

    @Test func readsACopiedProcTreeWithOwners() throws {
        let tree = try FakeProcTree()
        let inventory = try collect(tree)
        #expect(inventory.source == "procfs")
        let loopback = try #require(inventory.entries.first { $0.socket.localPort == 24001 })
        #expect(loopback.owners.map(\.pid) == [4242])
        let owner = try #require(loopback.owners.first)
        #expect(owner.name == "python3" && owner.ppid == 1 && owner.fds == [3])
        #expect(owner.cmdline == "/usr/bin/python3 /tmp/fixture.py")
        #expect(owner.exe == "/usr/bin/python3.11" && !owner.exeDeleted && !owner.exeReplaced)
        #expect(owner.unit == "fixture.service" && owner.netnsInode == 4_026_531_833)
        #expect(owner.startTime == Int64(1_795_000_000 + 500 / 100))  // btime + starttime / CLK_TCK
        // Shared by a pre-forked child: both holders listed.
        let shared = try #require(inventory.entries.first { $0.socket.localPort == 24002 })
        #expect(shared.owners.map(\.pid) == [4242, 4243])
        #expect(shared.owners[1].name == "python3 child")
        // Listening only by default: no TIME_WAIT or established rows.
        #expect(inventory.entries.allSatisfy { $0.socket.isListening })
        #expect(inventory.entries.contains { $0.socket.proto == .raw && $0.socket.rawProtocol == 58 })
    }

    @Test func neverFollowsSymlinksOutOfTheTree() throws {
        let tree = try FakeProcTree()
        let inventory = try collect(tree, all: true)
        // 4244's fd directory points at the test process's real fds: it must not be walked.
        #expect(!inventory.entries.flatMap(\.owners).contains { $0.pid == 4244 })
        let procfs = try ProcFS(root: tree.root.path)
        let evil = try procfs.process(4244)
        #expect(throws: Errno.self) { try evil.read("stat") }  // ELOOP, not /etc/passwd
        #expect(throws: Errno.self) { try evil.forEachSocket { _, _ in } }
    }

    @Test func everyStateWithAll() throws {
        let tree = try FakeProcTree()
        let inventory = try collect(tree, all: true)
        let timeWait = try #require(inventory.entries.first { $0.socket.state == .timeWait && $0.socket.family == .ipv4 })
        #expect(timeWait.unownedReason == .noProcessState)
        // The copy holds sockets no copied process holds: not "kernel" guesses about a live host.
        let orphan = try #require(inventory.entries.first { $0.socket.localPort == 24006 && $0.socket.isListening })
        #expect(orphan.owners.isEmpty && orphan.unownedReason == .kernelSocket)
        #expect(inventory.entries.count == 7 + 7 + 3 + 3 + 1 + 1)
    }

    /// A snapshot of a copied /proc is labelled with that host's name, not ours.
    @Test func hostnameComesFromTheCopiedTree() throws {
        let tree = try FakeProcTree()
        #expect(HostFiles.hostname(procRoot: tree.root.path) == nil)
        try tree.write("sys/kernel/hostname", "copied-host\n")
        #expect(HostFiles.hostname(procRoot: tree.root.path) == "copied-host")
    }

    @Test func aCopyOfNetAloneHasNoOwnersToFind() throws {
        let tree = try FakeProcTree()
        for pid in ["4242", "4243", "4244"] { try FileManager.default.removeItem(at: tree.root.appendingPathComponent(pid)) }
        let inventory = try collect(tree)
        #expect(inventory.entries.allSatisfy { $0.unownedReason == .notCollected })
    }

    @Test func missingTablesAreClearErrors() throws {
        let tree = try FakeProcTree()
        try FileManager.default.removeItem(at: tree.root.appendingPathComponent("net/tcp"))
        #expect { try collect(tree) } throws: { error in
            "\(error)".contains("net/tcp") && "\(error)".contains("No such file")
        }
        try FileManager.default.removeItem(at: tree.root.appendingPathComponent("net/tcp6"))
        var options = InventoryCollector.Options()
        options.procRoot = tree.root.appendingPathComponent("missing").path
        var collector = InventoryCollector(options: options)
        #expect { try collector.collect() } throws: { error in "\(error)".contains("cannot open the proc root") }
    }
}
