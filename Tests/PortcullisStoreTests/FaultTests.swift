import Foundation
import PortcullisCore
import PortcullisLinux
import Testing

@testable import PortcullisStore

#if canImport(Glibc)
    import Glibc
#endif

/// A file system mounted by a test on one of its own directories, unmounted
/// (lazily, so an open descriptor cannot keep it) when the value goes away.
final class TestMount {
    let path: String

    /// A tmpfs of `size` (as mount(8) spells it: "1m", "256k").
    init(tmpfsAt path: String, size: String) throws {
        self.path = path
        guard mount("tmpfs", path, "tmpfs", 0, "size=\(size),mode=0755") == 0 else {
            throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
        }
    }

    /// `path` bound onto itself, then remounted read-only: EROFS for everyone, root included.
    init(readOnlyBindOf path: String) throws {
        self.path = path
        guard mount(path, path, nil, UInt(MS_BIND), nil) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        guard mount(nil, path, nil, UInt(MS_REMOUNT | MS_BIND | MS_RDONLY), nil) == 0 else {
            let saved = errno
            umount2(path, Int32(MNT_DETACH))
            throw POSIXError(POSIXErrorCode(rawValue: saved) ?? .EIO)
        }
    }

    deinit { umount2(path, Int32(MNT_DETACH)) }

    /// Root, and mount(2) works here (not in every container): checked by mounting a small tmpfs once.
    static let available: Bool = {
        guard geteuid() == 0, let scratch = try? Scratch() else { return false }
        return (try? TestMount(tmpfsAt: scratch.path, size: "64k")) != nil
    }()
    static let reason: Comment = "needs root and mount(2) (CAP_SYS_ADMIN) to mount a tmpfs or a read-only bind"
}

/// Every snapshot's header and content, to compare a history before and after a fault.
struct StoredHistory: Equatable {
    var snapshots: [SnapshotInfo]
    var entries: [[InventoryEntry]]
    var findings: [[Finding]]

    init(_ store: HistoryStore, limit: Int = .max) throws {
        snapshots = try store.snapshots()
        let contents = try snapshots.prefix(limit).map { try store.content(of: $0.id) }
        entries = contents.map(\.entries)
        findings = contents.map(\.findings)
    }
}

/// `count` generated listeners with owners and a finding every tenth: a snapshot of some size.
func largeContent(_ count: Int, round: Int = 0) -> SnapshotContent {
    var entries: [InventoryEntry] = []
    var findings: [Finding] = []
    for i in 0..<count {
        let entry = Samples.entry(
            i % 3 == 0 ? .udp : .tcp, i % 2 == 0 ? "0.0.0.0" : "::", UInt16(1024 + (i + round) % 60000),
            inode: UInt64(round * 100_000 + i), owners: [Samples.owner(Int32(1000 + i % 50), "worker\(i % 50)", fds: [Int32(3 + i)])])
        entries.append(entry)
        if i % 10 == 0 { findings.append(Samples.finding(.ephemeralListener, .low, entry)) }
    }
    return SnapshotContent(entries: entries, findings: findings)
}

@Suite("History store: faults injected, nothing lost")
struct StoreFaultTests {
    @Test(
        "Disk full mid-snapshot: a diskFull error naming the file and what to do; earlier snapshots intact; the store writes again",
        .enabled(if: TestMount.available, TestMount.reason))
    func diskFull() throws {
        let scratch = try Scratch()
        let small = scratch.path + "/small"
        try FileManager.default.createDirectory(atPath: small, withIntermediateDirectories: false)
        let mounted = try TestMount(tmpfsAt: small, size: "1m")
        defer { umount2(small, Int32(MNT_DETACH)) }  // before Scratch removes the directory
        let db = small + "/history.db"
        let store = try HistoryStore(path: db)
        for time in 1...3 {
            try store.saveSnapshot(Samples.content(), time: Int64(time), label: "before \(time)", hostname: "h", source: "netlink")
        }
        let before = try StoredHistory(store)
        #expect(before.snapshots.count == 3)
        // About 3 MB of rows: far more than the 1 MB file system holds.
        let big = largeContent(6000)
        do {
            try store.saveSnapshot(big, time: 4, label: "too big", hostname: "h", source: "netlink")
            Issue.record("a snapshot larger than the file system was stored")
        } catch {
            #expect(error.code == .diskFull, "\(error)")
            #expect(
                error.description.hasPrefix("the file system holding the history database \(db) is full"), "\(error.description)")
            #expect(error.description.contains("nothing was written"), "\(error.description)")
            #expect(error.description.contains("Free space there (df \(small)), or give another file with --db"))
        }
        #expect(try StoredHistory(store) == before)
        #expect(try store.integrityCheck() == ["ok"])
        #expect(try store.consistencyProblems() == [])
        // Another connection, as the next command would open it, sees the same.
        var readOnly = HistoryStore.Options()
        readOnly.mode = .readOnly
        #expect(try StoredHistory(HistoryStore(path: db, options: readOnly)) == before)
        // The rolled-back frames are reused: a small snapshot still fits.
        let next = try store.saveSnapshot(Samples.content(), time: 5, label: "after", hostname: "h", source: "netlink")
        #expect(next.id == 4)
        #expect(try store.content(of: 4).entries == Samples.content().entries)
        let after = try StoredHistory(store)
        #expect(Array(after.entries.prefix(3)) == before.entries && Array(after.findings.prefix(3)) == before.findings)
        withExtendedLifetime((scratch, mounted)) {}
    }

    @Test(
        "A read-only file system (even for root): writes refused with EROFS and advice to remount; reads see every snapshot",
        .enabled(if: TestMount.available, TestMount.reason))
    func readOnlyFileSystem() throws {
        let scratch = try Scratch()
        let directory = scratch.path + "/ro"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        let db = directory + "/history.db"
        let before: StoredHistory
        do {
            let store = try HistoryStore(path: db)
            for time in 1...2 {
                try store.saveSnapshot(Samples.content(), time: Int64(time), label: "kept \(time)", hostname: "h", source: "netlink")
            }
            before = try StoredHistory(store)
        }
        // The last connection closed: the WAL is folded into the file and removed.
        #expect(!FileManager.default.fileExists(atPath: db + "-wal"))
        let bytesBefore = bytes(db)
        let mounted = try TestMount(readOnlyBindOf: directory)
        defer { umount2(directory, Int32(MNT_DETACH)) }  // before Scratch removes the directory
        do {
            _ = try HistoryStore(path: db)
            Issue.record("opened a database on a read-only file system for writing")
        } catch {
            #expect(error.code == .notWritable, "\(error)")
            #expect(error.underlying == Errno(EROFS))
            #expect(
                error.description
                    == "cannot write the history database \(db): Read-only file system. The file system holding \(db) is mounted "
                    + "read-only: remount it read-write, or give another file with --db; commands that only read (history, diff, "
                    + "baseline show) still work")
        }
        var readOnly = HistoryStore.Options()
        readOnly.mode = .readOnly
        let reader = try HistoryStore(path: db, options: readOnly)
        #expect(try StoredHistory(reader) == before)
        #expect(try reader.integrityCheck() == ["ok"])
        #expect(bytes(db) == bytesBefore)
        withExtendedLifetime((scratch, mounted)) {}
    }

    /// `portcullis` beside this test executable (`<scratch>/debug/portcullisPackageTests.xctest`), or PORTCULLIS_BIN.
    static let portcullis: String? = {
        if let explicit = ProcessInfo.processInfo.environment["PORTCULLIS_BIN"], !explicit.isEmpty { return explicit }
        let candidate =
            URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent(
                "portcullis"
            ).path
        return FileManager.default.isExecutableFile(atPath: candidate) ? candidate : nil
    }()

    /// A version 5 file of `copies` + 2 snapshots: a small one, a 2,000-listener one, and copies of
    /// that, written as SQL copies of its rows (fast); every row references its snapshot, so each
    /// migration's foreign key check reads them all, and the migration takes a while.
    static func largeVersionFive(_ path: String, copies: Int) throws -> (small: SnapshotContent, big: SnapshotContent) {
        let small = Samples.content()
        let big = largeContent(2000, round: 1)
        let queue = try SQLiteQueue(path: path)
        try queue.writeWithoutTransaction { db in try db.execute("PRAGMA journal_mode = WAL") }
        try HistoryStore.migrator.migrate(queue, upTo: "v5 finding ids and sockets")
        try queue.write { db in
            _ = try HistoryStore.insertSnapshot(
                small, time: 1_764_000_001, label: "small", hostname: "h", source: "netlink", diagnostics: [], db)
            _ = try HistoryStore.insertSnapshot(
                big, time: 1_764_000_002, label: "big", hostname: "h", source: "netlink", diagnostics: [], db)
            try db.execute("INSERT INTO baseline (snapshot_id, set_at) VALUES (1, 1764000003)")
            for table in ["snapshot_socket", "snapshot_process", "snapshot_finding"] {
                let columns = (try db.column("SELECT name FROM pragma_table_info('\(table)')") as [String]).filter { $0 != "snapshot_id" }
                    .joined(separator: ", ")
                for copy in 0..<copies {
                    let id = Int64(3 + copy)
                    if table == "snapshot_socket" {
                        try db.execute(
                            """
                            INSERT INTO snapshot (id, taken_at, label, hostname, source, format, listener_count, finding_count, diagnostics)
                            SELECT ?, taken_at + ?, ?, hostname, source, format, listener_count, finding_count, diagnostics FROM snapshot WHERE id = 2
                            """, [id, id, "copy \(copy)"])
                    }
                    try db.execute(
                        "INSERT INTO \(table) (snapshot_id, \(columns)) SELECT ?, \(columns) FROM \(table) WHERE snapshot_id = 2", [id])
                }
            }
        }
        return (small, big)
    }

    /// Whether process `pid` holds SQLite's WAL write lock on `shm` (an exclusive
    /// fcntl lock on byte 120 of the -shm file): it is inside a write transaction.
    static func holdsWriteLock(_ pid: pid_t, shm: String) -> Bool {
        var status = stat()
        guard stat(shm, &status) == 0, let locks = try? String(contentsOfFile: "/proc/locks", encoding: .utf8) else { return false }
        return locks.split(separator: "\n").contains { line in
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            // "1: POSIX  ADVISORY  WRITE 1234 fd:01:5678 120 120"
            guard fields.count >= 8, fields[1] == "POSIX", fields[3] == "WRITE", fields[4] == "\(pid)" else { return false }
            return fields[5].split(separator: ":").last == "\(status.st_ino)" && fields[6] == "120"
        }
    }

    @Test(
        "SIGKILL during a migration: the file stays at version 5 with every snapshot; history reads it; the next open migrates",
        .enabled(if: StoreFaultTests.portcullis != nil, "the portcullis executable is not built beside the tests"))
    func killedDuringMigration() throws {
        let binary = try #require(Self.portcullis)
        let scratch = try Scratch()
        let db = scratch.db
        let (small, big) = try Self.largeVersionFive(db, copies: 150)
        func history() throws -> (status: Int32, out: String) {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = ["history", "--db", db, "--format", "json"]
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = FileHandle.nullDevice
            try process.run()
            let out = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return (process.terminationStatus, String(decoding: out, as: UTF8.self))
        }
        let listed = try history()
        try #require(listed.status == 0, "\(listed)")
        #expect(listed.out.contains("copy 149"), "\(listed.out.prefix(300))")

        // The victim: a snapshot, whose open migrates version 5 to 6 before anything else it writes.
        let victim = Process()
        victim.executableURL = URL(fileURLWithPath: binary)
        victim.arguments = ["snapshot", "--db", db, "--no-policy", "--no-probe", "--no-firewall"]
        victim.standardOutput = FileHandle.nullDevice
        victim.standardError = FileHandle.nullDevice
        try victim.run()
        let deadline = Date().addingTimeInterval(60)
        var caught = false
        while victim.isRunning && Date() < deadline {
            if Self.holdsWriteLock(victim.processIdentifier, shm: db + "-shm") {
                kill(victim.processIdentifier, SIGKILL)
                caught = true
                break
            }
            usleep(500)
        }
        if !caught { kill(victim.processIdentifier, SIGKILL) }
        victim.waitUntilExit()
        try #require(caught, "the snapshot never held the write lock while it ran (status \(victim.terminationStatus))")
        #expect(victim.terminationReason == .uncaughtSignal)

        // Killed inside the migration's transaction: none of it is in the file.
        let version = try SQLiteQueue(path: db).read { db in
            (try db.value("PRAGMA user_version") as Int?, try db.tableExists("close_action"))
        }
        #expect(version.0 == 5 && version.1 == false, "the kill did not land inside the migration: \(version)")

        let again = try history()
        #expect(again.status == 0)
        #expect(again.out == listed.out, "history changed after the kill")
        var readOnly = HistoryStore.Options()
        readOnly.mode = .readOnly
        do {
            let reader = try HistoryStore(path: db, options: readOnly)
            #expect(try reader.integrityCheck() == ["ok"])
            #expect(try reader.consistencyProblems() == [])
            #expect(try reader.content(of: 1).entries == small.entries && reader.content(of: 1).findings == small.findings)
            #expect(try reader.content(of: 2).entries == big.entries && reader.content(of: 2).findings == big.findings)
            #expect(try reader.content(of: 152).entries == big.entries)
            #expect(try reader.baseline()?.snapshot.id == 1)
        }
        // The next writer migrates it, keeping everything.
        let store = try HistoryStore(path: db)
        #expect(try store.queue.read { try $0.value("PRAGMA user_version") as Int? } == HistoryStore.schemaVersion)
        #expect(try store.snapshots().count == 152)
        #expect(try store.content(of: 1).entries == small.entries && store.content(of: 2).entries == big.entries)
        #expect(try store.integrityCheck() == ["ok"] && store.consistencyProblems().isEmpty)
    }
}
