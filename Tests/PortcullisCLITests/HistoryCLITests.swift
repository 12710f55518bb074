import Foundation
import PortcullisCore
import PortcullisStore
import PortcullisTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A long-running portcullis started in its own session through python's
/// Popen (Foundation's Process would wait for every holder of its pipes).
/// A middle python waits for it and writes its exit status to a file.
final class BackgroundPortcullis {
    let directory: TemporaryDirectory
    let pid: pid_t
    var stdoutPath: String { directory.path + "/stdout" }
    var stderrPath: String { directory.path + "/stderr" }
    var statusPath: String { directory.path + "/status" }

    /// Runs `portcullis ARGUMENTS`, under `wrapper` when given (`ip netns exec NS`, which execs: the pid is portcullis's).
    init(_ arguments: [String], wrapper: [String] = []) throws {
        directory = try TemporaryDirectory(prefix: "portcullis-background")
        let python = try #require(Host.python3)
        let waiter = """
            import subprocess, sys
            d = sys.argv[1]
            with open(d + '/stdout', 'wb') as out, open(d + '/stderr', 'wb') as err:
                p = subprocess.Popen(sys.argv[2:], stdin=subprocess.DEVNULL, stdout=out, stderr=err)
            with open(d + '/pid.tmp', 'w') as f: f.write(str(p.pid))
            import os; os.rename(d + '/pid.tmp', d + '/pid')
            rc = p.wait()
            with open(d + '/status.tmp', 'w') as f: f.write(str(rc))
            os.rename(d + '/status.tmp', d + '/status')
            """
        try Data(waiter.utf8).write(to: directory.url.appendingPathComponent("waiter.py"))
        let launcher =
            "import subprocess, sys; subprocess.Popen(sys.argv[1:], stdin=subprocess.DEVNULL, "
            + "stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)"
        let started = try Subprocess.run(
            python, ["-c", launcher, python, directory.path + "/waiter.py", directory.path] + wrapper + [try CLI.binary()] + arguments)
        try #require(started.status == 0, "\(started)")
        let deadline = Date().addingTimeInterval(20)
        var found: pid_t = 0
        while Date() < deadline {
            if let text = try? String(contentsOfFile: directory.path + "/pid", encoding: .utf8), let value = pid_t(text) {
                found = value
                break
            }
            usleep(10_000)
        }
        try #require(found > 0, "portcullis did not start")
        pid = found
    }

    var out: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }
    var err: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    /// Waits until `condition` holds on stdout/stderr, up to `timeout` seconds.
    @discardableResult
    func wait(for timeout: TimeInterval = 20, _ condition: (BackgroundPortcullis) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition(self) { return true }
            usleep(20_000)
        }
        return condition(self)
    }

    /// SIGTERM, then the exit status (nil if it did not end within `timeout`).
    func terminate(timeout: TimeInterval = 10) -> Int32? {
        kill(pid, SIGTERM)
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let text = try? String(contentsOfFile: statusPath, encoding: .utf8), let status = Int32(text) { return status }
            usleep(20_000)
        }
        kill(pid, SIGKILL)
        return nil
    }

    deinit {
        if (try? String(contentsOfFile: statusPath, encoding: .utf8)) == nil { kill(pid, SIGKILL) }
        directory.remove()
    }
}

/// The JSON lines of an ndjson stream.
func jsonLines(_ text: String) -> [[String: Any]] {
    text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
}

func events(_ text: String, port: UInt16) -> [[String: Any]] {
    jsonLines(text).filter { ($0["local_port"] as? NSNumber)?.intValue == Int(port) && ($0["proto"] as? String) == "tcp" }
}

func ownerPIDs(_ event: [String: Any]) -> [Int32] {
    ((event["owners"] as? [[String: Any]]) ?? []).compactMap { ($0["pid"] as? NSNumber)?.int32Value }
}

/// An AF_UNIX datagram socket bound in a temporary directory: a stand-in for /dev/log.
final class DatagramSink {
    let fd: Int32
    let path: String

    init(path: String) throws {
        self.path = path
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in path.utf8.enumerated() { raw[i] = b }
        }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        try #require(rc == 0, "bind \(path): errno \(errno)")
    }

    func messages() -> [String] {
        var out: [String] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            out.append(String(decoding: buffer[0..<n], as: UTF8.self))
        }
        return out
    }

    deinit {
        close(fd)
        unlink(path)
    }
}

extension CLITests {
    @Suite("History: snapshots, baselines, diff, watch")
    struct History {
        static let canWatch = Host.isRoot && Host.python3 != nil

        @Test("snapshot, history, baseline, diff and audit --baseline through the CLI")
        func snapshotFlow() throws {
            let scratch = try TemporaryDirectory(prefix: "portcullis-history")
            defer { scratch.remove() }
            let db = scratch.path + "/h.db"
            let first = try CLI.run(["snapshot", "--db", db, "--label", "first", "--no-policy"])
            #expect(first.status == 0, "\(first)")
            #expect(first.out == "1\n")
            let attributes = try FileManager.default.attributesOfItem(atPath: db)
            #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)

            // No baseline yet: diff's default FROM, baseline show and audit --baseline are usage errors.
            for arguments in [["diff"], ["baseline", "show"], ["audit", "--baseline", "--no-firewall", "--no-policy"]] {
                let noBaseline = try CLI.run(arguments + ["--db", db])
                #expect(noBaseline.status == 2, "\(arguments): \(noBaseline)")
                #expect(noBaseline.err.contains("no baseline is set in \(db)") && noBaseline.err.contains("baseline set"), "\(noBaseline)")
            }

            let set = try CLI.run(["baseline", "set", "1", "--db", db])
            #expect(set.status == 0, "\(set)")
            #expect(set.out.hasPrefix("baseline: snapshot 1 "))

            let listener = try LocalListener(address: "127.0.0.1")
            let second = try CLI.run(["snapshot", "--db", db, "--no-policy"])
            #expect(second.out == "2\n", "\(second)")

            let history = try CLI.run(["history", "--db", db, "--format", "json"])
            #expect(history.status == 0, "\(history)")
            let document = try #require(try JSONSerialization.jsonObject(with: Data(history.stdout)) as? [String: Any])
            #expect((document["baseline"] as? NSNumber)?.intValue == 1)
            let snapshots = try #require(document["snapshots"] as? [[String: Any]])
            #expect(snapshots.map { ($0["id"] as? NSNumber)?.intValue } == [1, 2])
            #expect(snapshots.first?["label"] as? String == "first")
            #expect((snapshots.last?["listeners"] as? NSNumber)?.intValue ?? 0 >= 1)

            let diff = try CLI.run(["diff", "1", "2", "--db", db, "--format", "json"])
            #expect(diff.status == 1, "\(diff)")
            let diffDocument = try #require(try JSONSerialization.jsonObject(with: Data(diff.stdout)) as? [String: Any])
            let added = try #require(diffDocument["added"] as? [[String: Any]])
            let ours = added.first { ($0["local_port"] as? NSNumber)?.intValue == Int(listener.port) }
            #expect(ours != nil, "\(diff.out)")
            #expect(ours.map(ownerPIDs) == [getpid()])
            #expect(diffDocument["differs"] as? Bool == true)

            // The same snapshot against itself: nothing, exit 0.
            let same = try CLI.run(["diff", "2", "2", "--db", db])
            #expect(same.status == 0, "\(same)")
            #expect(same.out.contains("no differences"))

            let audit = try CLI.run(["audit", "--baseline", "--db", db, "--no-policy", "--format", "json", "--fail-on", "critical"])
            let findings = try #require(
                (try JSONSerialization.jsonObject(with: Data(audit.stdout)) as? [String: Any])?["findings"] as? [[String: Any]])
            let notInBaseline = findings.filter { $0["rule"] as? String == "not-in-baseline" }
            #expect(
                notInBaseline.contains { (($0["subject"] as? [String: Any])?["local_port"] as? NSNumber)?.intValue == Int(listener.port) },
                "\(audit)")

            let unknown = try CLI.run(["diff", "41", "2", "--db", db])
            #expect(unknown.status == 2, "\(unknown)")
            #expect(unknown.err.contains("no snapshot 41"))
            _ = listener
        }

        @Test("A corrupt database: exit 3, the file named and left as it was")
        func corruptDatabase() throws {
            let scratch = try TemporaryDirectory(prefix: "portcullis-history")
            defer { scratch.remove() }
            let db = scratch.path + "/h.db"
            let junk = Data(repeating: 0x42, count: 4096)
            try junk.write(to: URL(fileURLWithPath: db))
            for arguments in [["snapshot", "--db", db], ["history", "--db", db]] {
                let result = try CLI.run(arguments)
                #expect(result.status == 3, "\(result)")
                #expect(result.err.contains(db) && result.err.contains("damaged"), "\(result)")
            }
            #expect((try? Data(contentsOf: URL(fileURLWithPath: db))) == junk)
        }

        @Test(
            "A database the user may read but not write: snapshot fails with exit 3, history still reads",
            .enabled(if: Host.isRoot && Host.setpriv != nil, "needs root and setpriv to run as nobody"))
        func readOnlyDatabase() throws {
            let scratch = try TemporaryDirectory(prefix: "portcullis-history")
            defer { scratch.remove() }
            chmod(scratch.path, 0o755)
            let db = scratch.path + "/h.db"
            let made = try CLI.run(["snapshot", "--db", db, "--no-policy"])
            try #require(made.status == 0, "\(made)")
            // Fold the WAL into the file, then let everyone read it.
            do { _ = try HistoryStore(path: db) }
            chmod(db, 0o644)
            for suffix in ["-wal", "-shm"] { chmod(db + suffix, 0o644) }
            let binary = try Unprivileged.copyBinaryForEveryone(into: scratch)
            let write = try Unprivileged.runAsNobody(binary, ["snapshot", "--db", db, "--no-policy"])
            #expect(write.status == 3, "\(write)")
            #expect(write.err.contains("cannot write the history database \(db)"), "\(write)")
            let read = try Unprivileged.runAsNobody(binary, ["history", "--db", db])
            #expect(read.status == 0, "\(read)")
            #expect(read.out.contains("\n1 "), "\(read)")
        }

        @Test("Crash safety: SIGKILL while writing snapshots, many times; the file stays sound and each snapshot is whole or absent")
        func crashSafety() throws {
            let writer = URL(fileURLWithPath: try CLI.binary()).deletingLastPathComponent().appendingPathComponent(
                "portcullis-crash-writer"
            ).path
            try #require(FileManager.default.isExecutableFile(atPath: writer), "build portcullis-crash-writer first (swift build)")
            let scratch = try TemporaryDirectory(prefix: "portcullis-crash")
            defer { scratch.remove() }
            let db = scratch.path + "/h.db"
            var committed = Set<Int64>()
            var generator = SystemRandomNumberGenerator()
            // At least 30 rounds, and more (up to 90) until 5 snapshots were committed:
            // on a loaded machine a writer killed within 400 ms may commit none.
            var round = -1
            while true {
                round += 1
                if round >= 90 || (round >= 30 && committed.count >= 5) { break }
                let out = scratch.path + "/out-\(round)"
                FileManager.default.createFile(atPath: out, contents: nil)
                let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: out))
                let process = Process()
                process.executableURL = URL(fileURLWithPath: writer)
                process.arguments = [db, "3000"]
                process.standardOutput = handle
                process.standardError = FileHandle.nullDevice
                try process.run()
                // The first kills land during creation and migration, later ones mid-transaction;
                // an instrumented writer (Sanitizer.timeScale) gets there later.
                let delay =
                    round < 3
                    ? UInt32.random(in: 1_000...30_000, using: &generator) : UInt32.random(in: 20_000...400_000, using: &generator)
                usleep(UInt32(Sanitizer.scaled(Double(delay))))
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                try? handle.close()
                #expect(process.terminationReason == .uncaughtSignal, "round \(round): the writer exited on its own")
                let printed = ((try? String(contentsOfFile: out, encoding: .utf8)) ?? "").split(separator: "\n").compactMap { Int64($0) }
                committed.formUnion(printed)

                guard FileManager.default.fileExists(atPath: db) else { continue }
                var options = HistoryStore.Options()
                options.mode = .readOnly
                let store: HistoryStore
                do { store = try HistoryStore(path: db, options: options) } catch {
                    // Killed before the schema was committed: an empty file is fine, damage is not.
                    #expect(error.code == .missing, "round \(round): \(error)")
                    continue
                }
                #expect(try store.integrityCheck() == ["ok"], "round \(round)")
                #expect(try store.consistencyProblems() == [], "round \(round)")
                let ids = Set(try store.snapshots().map(\.id))
                #expect(committed.isSubset(of: ids), "round \(round): committed snapshots missing: \(committed.subtracting(ids).sorted())")
                // Every stored snapshot decodes whole.
                for info in try store.snapshots().suffix(2) {
                    let content = try store.content(of: info.id)
                    #expect(content.entries.count == info.listenerCount && content.findings.count == info.findingCount)
                }
            }
            #expect(committed.count >= 5, "too few snapshots were committed to prove anything: \(committed.count)")
        }

        @Test(
            "watch --format ndjson: a listener opened and closed gives two events with its owner's pid; SIGTERM ends it with 0",
            .enabled(if: canWatch, "needs root and python3"))
        func watchEvents() throws {
            let watch = try BackgroundPortcullis(["watch", "--format", "ndjson", "--interval", "0.2"])
            try #require(watch.wait { $0.err.contains("watching") }, "watch did not start: \(watch.err)")
            var listener: LocalListener? = try LocalListener(address: "127.0.0.1")
            let port = try #require(listener?.port)
            #expect(
                watch.wait { events($0.out, port: port).contains { $0["event"] as? String == "opened" } },
                "no opened event: \(watch.out)\n\(watch.err)")
            listener = nil
            #expect(
                watch.wait { events($0.out, port: port).contains { $0["event"] as? String == "closed" } }, "no closed event: \(watch.out)")
            let mine = events(watch.out, port: port)
            #expect(mine.map { $0["event"] as? String } == ["opened", "closed"])
            for event in mine {
                #expect(ownerPIDs(event) == [getpid()], "\(event)")
                #expect(event["exposure"] as? String == "loopback")
                #expect((event["time"] as? String)?.hasSuffix("Z") == true)
            }
            #expect(watch.terminate() == 0, "\(watch.err)")
            #expect(watch.err.contains("stopped by SIGTERM"))
        }

        @Test(
            "watch: a listener whose holder runs another program (exec) is an owner change, with both owners",
            .enabled(if: canWatch, "needs root and python3"))
        func watchOwnerChange() throws {
            let scratch = try TemporaryDirectory(prefix: "portcullis-exec")
            defer { scratch.remove() }
            let python = try #require(Host.python3)
            let sleep = try #require(Host.executable("sleep", preferring: ["/bin/sleep", "/usr/bin/sleep"]))
            let watch = try BackgroundPortcullis(["watch", "--format", "ndjson", "--interval", "0.2"])
            try #require(watch.wait { $0.err.contains("watching") }, "watch did not start: \(watch.err)")
            // A listener whose descriptor survives exec, then exec: same pid, same socket, another program.
            let script = """
                import os, socket, sys, time
                s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(4); s.set_inheritable(True)
                open(sys.argv[1] + '/port', 'w').write(str(s.getsockname()[1]))
                time.sleep(1.5)
                os.execv(sys.argv[2], [sys.argv[2], '3'])
                """
            try Data(script.utf8).write(to: scratch.url.appendingPathComponent("exec.py"))
            let launcher =
                "import subprocess, sys; subprocess.Popen(sys.argv[1:], stdin=subprocess.DEVNULL, "
                + "stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)"
            let started = try Subprocess.run(python, ["-c", launcher, python, scratch.path + "/exec.py", scratch.path, sleep])
            try #require(started.status == 0, "\(started)")
            var port: UInt16 = 0
            #expect(
                watch.wait(for: 10) { _ in
                    port = UInt16((try? String(contentsOfFile: scratch.path + "/port", encoding: .utf8)) ?? "") ?? 0
                    return port != 0
                })
            #expect(
                watch.wait { events($0.out, port: port).contains { $0["event"] as? String == "owner_changed" } },
                "\(watch.out)\n\(watch.err)")
            let changed = try #require(events(watch.out, port: port).first { $0["event"] as? String == "owner_changed" })
            let now = (changed["owners"] as? [[String: Any]])?.first
            let before = (changed["previous_owners"] as? [[String: Any]])?.first
            #expect((now?["exe"] as? String)?.hasSuffix("sleep") == true, "\(changed)")
            #expect((before?["exe"] as? String)?.contains("python") == true, "\(changed)")
            #expect((now?["pid"] as? NSNumber) == (before?["pid"] as? NSNumber))
            #expect(watch.terminate() == 0, "\(watch.err)")
        }

        @Test(
            "watch --record, --exec and --syslog: each event stored, piped to the program, and sent as a datagram",
            .enabled(if: canWatch, "needs root and python3"))
        func watchSinks() throws {
            let scratch = try TemporaryDirectory(prefix: "portcullis-sinks")
            defer { scratch.remove() }
            let db = scratch.path + "/h.db"
            let received = scratch.path + "/received"
            let sink = try DatagramSink(path: scratch.path + "/log")
            // The event reaches the program on stdin only: its arguments hold no event data.
            let watch = try BackgroundPortcullis([
                "watch", "--interval", "0.2", "--record", "--db", db,
                "--exec", "/bin/sh", "--exec-arg", "-c", "--exec-arg", "cat >> '\(received)'",
                "--syslog", "--syslog-socket", sink.path,
            ])
            try #require(watch.wait { $0.err.contains("watching") }, "watch did not start: \(watch.err)")
            var listener: LocalListener? = try LocalListener(address: "127.0.0.1")
            let port = try #require(listener?.port)
            #expect(watch.wait { $0.out.contains("opened tcp 127.0.0.1:\(port)") }, "\(watch.out)\n\(watch.err)")
            listener = nil
            #expect(watch.wait { $0.out.contains("closed tcp 127.0.0.1:\(port)") }, "\(watch.out)")
            #expect(watch.terminate() == 0, "\(watch.err)")

            let piped = events((try? String(contentsOfFile: received, encoding: .utf8)) ?? "", port: port)
            #expect(piped.map { $0["event"] as? String } == ["opened", "closed"])
            #expect(piped.first.map(ownerPIDs) == [getpid()])

            let logged = sink.messages().filter { $0.contains("127.0.0.1:\(port)") }
            #expect(logged.count == 2, "\(logged)")
            #expect(logged.first?.hasPrefix("<29>") == true, "daemon.notice: \(logged)")
            #expect(logged.first?.contains("portcullis[\(watch.pid)]: ") == true)

            let history = try CLI.run(["history", "--events", "--db", db])
            #expect(history.status == 0, "\(history)")
            let stored = events(history.out, port: port)
            #expect(stored.map { $0["event"] as? String } == ["opened", "closed"])
            #expect(stored.allSatisfy { $0["id"] != nil })
        }
    }
}
