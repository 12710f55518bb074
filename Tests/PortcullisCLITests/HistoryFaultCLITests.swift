import Foundation
import PortcullisCore
import PortcullisStore
import PortcullisTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `history --format json` of `db`, run as root.
func historyJSON(_ db: String, _ extra: [String] = []) throws -> CommandResult {
    try CLI.run(["history", "--db", db, "--format", "json"] + extra)
}

/// Every stored snapshot's listeners and findings, read through the store, to compare before and after a fault.
func storedContents(_ db: String) throws -> [String] {
    var options = HistoryStore.Options()
    options.mode = .readOnly
    let store = try HistoryStore(path: db, options: options)
    #expect(try store.integrityCheck() == ["ok"])
    #expect(try store.consistencyProblems() == [])
    return try store.snapshots().map { info in
        let content = try store.content(of: info.id)
        return "\(info) \(content.entries) \(content.findings)"
    }
}

/// A size-limited tmpfs mounted on a test's own directory, unmounted (lazily) when the value goes away.
final class SmallFileSystem {
    let path: String

    init(at path: String, size: String) throws {
        self.path = path
        guard mount("tmpfs", path, "tmpfs", 0, "size=\(size),mode=0755") == 0 else {
            throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
        }
    }

    /// Writes a file until the file system refuses more (ENOSPC); returns the bytes written.
    func fill(_ name: String) -> Int {
        let fd = open(path + "/" + name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return 0 }
        defer { close(fd) }
        let block = [UInt8](repeating: 0x55, count: 4096)
        var total = 0
        while true {
            let written = block.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if written <= 0 { break }
            total += written
        }
        // The last partial block, byte by byte, so not one is left free.
        while block.withUnsafeBytes({ write(fd, $0.baseAddress, 1) }) == 1 { total += 1 }
        return total
    }

    deinit { umount2(path, Int32(MNT_DETACH)) }

    /// Root, and mount(2) works here (not in every container).
    static let available: Bool = {
        guard Host.isRoot, let scratch = try? TemporaryDirectory(prefix: "portcullis-mount") else { return false }
        defer { scratch.remove() }
        return (try? SmallFileSystem(at: scratch.path, size: "64k")) != nil
    }()
}

extension CLITests {
    @Suite("History: faults injected, nothing lost")
    struct HistoryFaults {
        static let asNobody = Host.isRoot && Host.setpriv != nil
        static let asNobodyReason: Comment = "needs root to make the files and setpriv (util-linux) to run as nobody"

        @Test(
            "As nobody, a database in a root-only directory (0700) is a permission problem naming the directory, never an empty history",
            .enabled(if: asNobody, asNobodyReason))
        func unreachableDirectory() throws {
            let scratch = try TemporaryDirectory(prefix: "portcullis-faults")
            defer { scratch.remove() }
            let binary = try Unprivileged.copyBinaryForEveryone(into: scratch)
            let closed = scratch.path + "/root-only"
            try #require(mkdir(closed, 0o700) == 0)
            let db = closed + "/h.db"
            let made = try CLI.run(["snapshot", "--db", db, "--no-policy"])
            try #require(made.status == 0, "\(made)")
            let before = try historyJSON(db)

            let reads = [
                ["history", "--db", db], ["history", "--db", db, "--events"], ["history", "--db", db, "--scans"],
                ["baseline", "show", "--db", db], ["diff", "1", "1", "--db", db],
            ]
            for arguments in reads {
                let result = try Unprivileged.runAsNobody(binary, arguments)
                #expect(result.status == 3, "\(result)")
                #expect(!result.err.contains("no history database"), "\(result)")
                #expect(!result.err.contains("nothing has been stored"), "\(result)")
                #expect(
                    result.err.contains(
                        "portcullis: error: cannot read the history database \(db): this user may not enter its directory \(closed): "
                            + "Permission denied (a permission problem: this user may not read it). Run as the user who owns it "
                            + "(root for the system database), or give another file with --db"), "\(result)")
                #expect(result.out.isEmpty, "\(result)")
            }
            let write = try Unprivileged.runAsNobody(binary, ["snapshot", "--db", db, "--no-policy"])
            #expect(write.status == 3, "\(write)")
            #expect(
                write.err.contains(
                    "cannot write the history database \(db): this user may not enter its directory \(closed): Permission denied "
                        + "(a permission problem: this user may not write it)"), "\(write)")

            // A file that is truly absent, in a directory open to nobody, is still "no history database".
            let absent = try Unprivileged.runAsNobody(binary, ["history", "--db", scratch.path + "/absent.db"])
            #expect(absent.status == 3, "\(absent)")
            #expect(absent.err.contains("no history database at \(scratch.path)/absent.db: nothing has been stored yet"), "\(absent)")

            // Root still sees the one snapshot, unchanged.
            let after = try historyJSON(db)
            #expect(after.status == 0 && after.out == before.out, "\(after)")
        }

        @Test(
            "A database its own user made read-only (0400): snapshot says so and how to undo it; history reads every snapshot",
            .enabled(if: asNobody, asNobodyReason))
        func readOnlyOwnFile() throws {
            let scratch = try TemporaryDirectory(prefix: "portcullis-faults")
            defer { scratch.remove() }
            let binary = try Unprivileged.copyBinaryForEveryone(into: scratch)
            let home = scratch.path + "/nobody"
            try #require(mkdir(home, 0o755) == 0 && chown(home, nobody.uid, nobody.gid) == 0)
            let db = home + "/h.db"
            for label in ["one", "two"] {
                let made = try Unprivileged.runAsNobody(binary, ["snapshot", "--db", db, "--no-policy", "--label", label])
                try #require(made.status == 0, "\(made)")
            }
            try #require(chmod(db, 0o400) == 0)
            let before = try Unprivileged.runAsNobody(binary, ["history", "--db", db, "--format", "json"])
            try #require(before.status == 0 && before.out.contains("\"two\""), "\(before)")
            let bytes = try Data(contentsOf: URL(fileURLWithPath: db))

            let write = try Unprivileged.runAsNobody(binary, ["snapshot", "--db", db, "--no-policy"])
            #expect(write.status == 3, "\(write)")
            #expect(
                write.err.contains(
                    "portcullis: error: cannot write the history database \(db): Permission denied (mode 0400: this user owns it, "
                        + "but made it read-only) (a permission problem: this user may not write it). Make it writable again "
                        + "(chmod u+w \(db)), or give another file with --db"), "\(write)")
            let after = try Unprivileged.runAsNobody(binary, ["history", "--db", db, "--format", "json"])
            #expect(after.status == 0 && after.out == before.out, "\(after)")
            #expect(try Data(contentsOf: URL(fileURLWithPath: db)) == bytes)
            // Read last, as root (its read could leave root's -shm beside the file): sound, both snapshots whole.
            #expect(try storedContents(db).count == 2)
        }

        @Test(
            "Two writers: snapshots while watch --record stores events, both complete, nothing lost or damaged",
            .enabled(if: Host.isRoot && Host.python3 != nil, "needs root (watch) and python3"))
        func twoWriters() throws {
            let scratch = try TemporaryDirectory(prefix: "portcullis-faults")
            defer { scratch.remove() }
            let db = scratch.path + "/h.db"
            let first = try CLI.run(["snapshot", "--db", db, "--no-policy", "--no-probe", "--label", "before"])
            try #require(first.status == 0 && first.out == "1\n", "\(first)")
            let earlier = try storedContents(db)

            let watch = try BackgroundPortcullis(["watch", "--record", "--db", db, "--format", "ndjson", "--interval", "0.1"])
            try #require(watch.wait { $0.err.contains("watching") }, "watch did not start: \(watch.err)")
            var ports: [UInt16] = []
            var ids: [String] = []
            for round in 0..<6 {
                // A listener opened and closed around each snapshot: watch writes while the snapshot does.
                var listener: LocalListener? = try LocalListener(address: "127.0.0.1")
                ports.append(try #require(listener?.port))
                let snapshot = try CLI.run(["snapshot", "--db", db, "--no-policy", "--no-probe", "--label", "round \(round)"])
                #expect(snapshot.status == 0, "\(snapshot)")
                ids.append(snapshot.out)
                listener = nil
                usleep(150_000)
            }
            #expect(ids == (2...7).map { "\($0)\n" })
            let last = try #require(ports.last)
            #expect(watch.wait { events($0.out, port: last).count == 2 }, "watch missed the last listener: \(watch.out)")
            #expect(watch.terminate() == 0, "\(watch.err)")
            #expect(!watch.err.contains("portcullis: error"), "\(watch.err)")

            // Every event watch printed was stored, and the snapshots are all there and whole.
            let stored = try CLI.run(["history", "--db", db, "--events"])
            #expect(stored.status == 0, "\(stored)")
            for port in ports {
                let printed = events(watch.out, port: port).map { $0["event"] as? String }
                let recorded = events(stored.out, port: port).map { $0["event"] as? String }
                #expect(printed == ["opened", "closed"], "port \(port): \(watch.out)")
                #expect(recorded == printed, "port \(port): \(stored.out)")
            }
            let history = try historyJSON(db)
            let document = try #require(try JSONSerialization.jsonObject(with: Data(history.stdout)) as? [String: Any])
            let labels = (document["snapshots"] as? [[String: Any]])?.map { $0["label"] as? String }
            #expect(labels == ["before"] + (0..<6).map { "round \($0)" })
            #expect(Array(try storedContents(db).prefix(1)) == earlier)
        }

        @Test(
            "A full disk: snapshot fails with exit 3 saying so; history still reads every snapshot; with room the next is stored",
            .enabled(if: SmallFileSystem.available, "needs root and mount(2) to mount a size-limited tmpfs"))
        func diskFull() throws {
            let scratch = try TemporaryDirectory(prefix: "portcullis-faults")
            defer { scratch.remove() }
            let mountPoint = scratch.path + "/small"
            try #require(mkdir(mountPoint, 0o755) == 0)
            let small = try SmallFileSystem(at: mountPoint, size: "64m")  // room for a busy host's snapshots
            defer { umount2(mountPoint, Int32(MNT_DETACH)) }  // before the directory is removed
            let db = mountPoint + "/h.db"
            for label in ["one", "two"] {
                let made = try CLI.run(["snapshot", "--db", db, "--no-policy", "--no-probe", "--label", label])
                try #require(made.status == 0, "\(made)")
            }
            let before = try historyJSON(db)
            try #require(before.status == 0 && before.out.contains("\"two\""), "\(before)")
            let earlier = try storedContents(db)
            // A writer's close folds the WAL into the file and removes it and its index, as after any command that wrote.
            do { _ = try HistoryStore(path: db) }
            #expect(!FileManager.default.fileExists(atPath: db + "-shm") && !FileManager.default.fileExists(atPath: db + "-wal"))
            let bytes = try Data(contentsOf: URL(fileURLWithPath: db))
            #expect(small.fill("filler") > 0)

            let full = try CLI.run(["snapshot", "--db", db, "--no-policy", "--no-probe", "--label", "three"])
            #expect(full.status == 3, "\(full)")
            #expect(
                full.err.contains("portcullis: error: the file system holding the history database \(db) is full ("), "\(full)")
            #expect(
                full.err.contains(
                    "nothing was written, and what was stored before is unchanged. Free space there (df \(mountPoint)), "
                        + "or give another file with --db"), "\(full)")
            #expect(full.out.isEmpty)
            let read = try historyJSON(db)
            #expect(read.status == 0 && read.out == before.out, "\(read)")
            #expect(try Data(contentsOf: URL(fileURLWithPath: db)) == bytes)

            try FileManager.default.removeItem(atPath: mountPoint + "/filler")
            let again = try CLI.run(["snapshot", "--db", db, "--no-policy", "--no-probe", "--label", "three"])
            #expect(again.status == 0 && again.out == "3\n", "\(again)")
            let contents = try storedContents(db)
            #expect(contents.count == 3 && Array(contents.prefix(2)) == earlier)
            withExtendedLifetime(small) {}
        }
    }
}
