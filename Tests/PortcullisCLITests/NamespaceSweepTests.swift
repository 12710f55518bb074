import Foundation
import PortcullisCore
import PortcullisJobs
import PortcullisLinux
import Testing

/// A listener on `port` (TCP, all addresses) that records its pid.
func namespaceListener(port: Int) -> String {
    """
    import os, socket, sys, time
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("0.0.0.0", \(port)))
    s.listen(4)
    \(pythonReadyThenSleep)
    """
}

/// How a python fixture for `TestNamespace.startPython` ends once its
/// sockets are open: its pid written (atomically) to the file named by its
/// first argument, then sleep until killed. Needs `os`, `sys` and `time`.
let pythonReadyThenSleep = """
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write("%d\\n" % os.getpid())
    os.rename(sys.argv[1] + ".tmp", sys.argv[1])
    while True:
        time.sleep(3600)
    """

struct SweepSocketJSON: Decodable {
    struct Namespace: Decodable {
        var inode: UInt64
        var name: String?
        var kind: String
    }
    struct Owner: Decodable { var pid: Int32 }
    var proto: String
    var localPort: Int
    var netns: Namespace?
    var owners: [Owner]
    var verdictReason: String?
}

struct SweepDocument: Decodable { var sockets: [SweepSocketJSON] }

extension CLITests {
    /// Real namespaces: two made with `ip netns add` (named), one made by
    /// `unshare -n` that only its process holds. Every port is one the test
    /// chose at random, so nothing else on the host is mistaken for them.
    @Suite("Every network namespace is read, and --netns narrows it")
    struct NamespaceSweep {
        static let canRun =
            Host.canMakeNamespaces && Host.isRoot && Host.python3 != nil
            && Host.executable("ip", preferring: ["/usr/sbin/ip", "/sbin/ip", "/bin/ip"]) != nil
            && Host.executable("unshare", preferring: ["/usr/bin/unshare", "/bin/unshare"]) != nil

        static func list(_ arguments: [String]) throws -> (CommandResult, [SweepSocketJSON]) {
            let result = try CLI.run(["list", "-t", "--format", "json"] + arguments)
            guard result.status == 0 else { return (result, []) }
            return (result, try decodeJSON(SweepDocument.self, result.stdout).sockets)
        }

        @Test(
            "list finds each namespace's listener with its namespace and owner; --netns by name, pid and inode",
            .enabled(if: canRun, "needs network namespaces, root, python3, ip and unshare"))
        func sweep() throws {
            let first = try TestNamespace()
            let second = try TestNamespace()
            let base = Int.random(in: 20000...30000)  // below the ephemeral range: no ephemeral-listener finding
            let (portA, portB, portC) = (base, base + 1, base + 2)
            try first.startPython(namespaceListener(port: portA))
            try second.startPython(namespaceListener(port: portB))
            let lonely = try #require(try TestNamespace.startPython(namespaceListener(port: portC), wrappedIn: ["unshare", "-n"]))
            defer { kill(lonely, SIGKILL) }

            let (result, sockets) = try Self.list([])
            #expect(result.status == 0, "\(result)")
            // Other tests' namespaces are read too, and may use the same numbers: each is looked up by where it must be.
            let a = try #require(sockets.first { $0.localPort == portA && $0.netns?.name == first.name }, "\(result)")
            let b = try #require(sockets.first { $0.localPort == portB && $0.netns?.name == second.name }, "\(result)")
            let c = try #require(
                sockets.first { $0.localPort == portC && $0.owners.map(\.pid) == [lonely] }, "the fd walk covers every namespace: \(result)"
            )
            #expect(a.netns?.kind == "named" && b.netns?.kind == "named")
            #expect(c.netns?.kind == "process" && c.netns?.name == nil)
            #expect(!a.owners.isEmpty && !b.owners.isEmpty)
            #expect(Set([a.netns?.inode, b.netns?.inode, c.netns?.inode]).count == 3)
            // The host's own listeners are in the same list, in the host's namespace.
            #expect(sockets.allSatisfy { $0.netns != nil })

            // Narrowed: by ip netns name, by a process inside, by inode.
            let (_, byName) = try Self.list(["--netns", first.name])
            #expect(byName.map(\.localPort) == [portA], "\(byName)")
            let (_, byPID) = try Self.list(["--netns", String(lonely)])
            #expect(byPID.map(\.localPort) == [portC], "\(byPID)")
            let (_, byInode) = try Self.list(["--netns", String(try #require(b.netns?.inode)), "--netns", first.name])
            #expect(Set(byInode.map(\.localPort)) == [portA, portB])

            // /proc/PID/net reads the same namespaces' tables.
            let (procfs, viaProc) = try Self.list(["--source", "procfs", "--netns", second.name])
            #expect(viaProc.map(\.localPort) == [portB], "\(procfs)")

            // A namespace that does not exist: exit 2, saying what does.
            let missing = try CLI.run(["list", "--netns", "no-such-namespace"])
            #expect(missing.status == 2, "\(missing)")
            #expect(missing.err.contains("no-such-namespace") && missing.err.contains(first.name), "\(missing)")

            // The table names the namespace when there is more than one.
            let table = try CLI.run(["list", "-t", "--netns", first.name, "--netns", second.name])
            #expect(table.out.hasPrefix("NETNS"), "\(table)")
            #expect(table.out.contains("\(first.name) ") && table.out.contains(":\(portB)"), "\(table)")

            // The overview does not judge a container's listener by this namespace's firewall.
            let overview = try CLI.run(["--format", "json", "--netns", first.name])
            #expect(overview.status == 0, "the overview exits 0 without --fail-on: \(overview)")
            #expect(overview.out.contains("container network only: network namespace \(first.name)"), "\(overview)")
        }

        @Test(
            "watch: a listener opened and closed inside another namespace, keyed by that namespace",
            .enabled(if: canRun, "needs network namespaces, root, python3, ip and unshare"))
        func watch() throws {
            let namespace = try TestNamespace()
            var options = ListenerWatcher.Options()
            options.protocols = [.tcp]
            options.namespaces = .only([.name(namespace.name)])
            let watcher = try ListenerWatcher(options: options)
            try watcher.start()
            let port = Int.random(in: 40001...50000)
            let pid = try #require(try TestNamespace.startPython(namespaceListener(port: port), in: namespace.name))
            // Only this port's events: listeners other tests open and close meanwhile are not this test's.
            func ours(_ events: [WatchEvent]) -> [WatchEvent] { events.filter { $0.listener.key.localPort == UInt16(port) } }
            var events: [WatchEvent] = []
            for _ in 0..<50 where events.isEmpty {
                events = ours(try watcher.poll(time: 1))
                usleep(50_000)
            }
            let opened = try #require(events.first, "no event for the new listener")
            #expect(opened.kind == .opened)
            #expect(opened.listener.key.localPort == UInt16(port))
            #expect(opened.listener.key.scope == namespace.name)
            #expect(opened.listener.key.description.hasSuffix("in \(namespace.name)"))
            kill(pid, SIGKILL)
            var closed: [WatchEvent] = []
            for _ in 0..<50 where closed.isEmpty {
                closed = ours(try watcher.poll(time: 2))
                usleep(50_000)
            }
            #expect(closed.map(\.kind) == [.closed], "\(closed)")
        }
    }
}

extension CLITests.NamespaceSweep {
    /// Receives one descriptor over a Unix socket and keeps it (in the host's namespace).
    static let keeper = """
        import os, socket, sys, time
        path = sys.argv[1] + ".sock"
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(path)
        server.listen(1)
        with open(sys.argv[1] + ".tmp", "w") as f:
            f.write("%d\\n" % os.getpid())
        os.rename(sys.argv[1] + ".tmp", sys.argv[1])
        connection, _ = server.accept()
        message, fds, _, _ = socket.recv_fds(connection, 16, 1)
        kept = socket.socket(fileno=fds[0])
        open(sys.argv[1] + ".got", "w").close()
        while True:
            time.sleep(3600)
        """

    @Test(
        "hidden: a socket made in another namespace and held from the checked one's is in that namespace's tables, not hidden",
        .enabled(if: canRun, "needs network namespaces, root, python3, ip and unshare"), .timeLimit(.minutes(5)))
    func hiddenAcrossNamespaces() throws {
        // The check runs in a namespace of the test's own (`holder`), not
        // the host's, where the other test targets in this process open and
        // close listeners while it sweeps.
        let holder = try TestNamespace()
        let namespace = try TestNamespace()
        let directory = try TemporaryDirectory(prefix: "pc-keeper")
        defer { directory.remove() }
        let pidFile = directory.url.appendingPathComponent("keeper").path
        let python = try #require(Host.python3)
        let keeperScript = directory.url.appendingPathComponent("keeper.py")
        try Data(Self.keeper.utf8).write(to: keeperScript)
        // The keeper runs in the checked namespace and waits for the descriptor.
        let launcher =
            "import subprocess, sys; subprocess.Popen(sys.argv[1:], stdin=subprocess.DEVNULL, "
            + "stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)"
        try TestNamespace.must(["ip", "netns", "exec", holder.name, python, "-c", launcher, python, keeperScript.path, pidFile])
        var keeper: pid_t?
        for _ in 0..<200 where keeper == nil {
            keeper = (try? String(contentsOfFile: pidFile, encoding: .utf8)).flatMap { pid_t($0.dropLast()) }
            usleep(20_000)
        }
        let keeperPID = try #require(keeper)
        defer { kill(keeperPID, SIGKILL) }
        // A listener made inside the namespace, handed over, and its maker gone:
        // the namespace holds no process, only its /run/netns mount.
        let port = Int.random(in: 50001...60000)
        let sender = """
            import socket
            s = socket.socket(); s.bind(("0.0.0.0", \(port))); s.listen(1)
            c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); c.connect("\(pidFile).sock")
            socket.send_fds(c, [b"x"], [s.fileno()])
            """
        try TestNamespace.must(["ip", "netns", "exec", namespace.name, python, "-c", sender])
        for _ in 0..<200 where !FileManager.default.fileExists(atPath: pidFile + ".got") { usleep(20_000) }

        let result = try holder.runPortcullis(["hidden", "--format", "json", "--rounds", "1"], timeout: 240)
        #expect(result.status == 0, "a socket in a namespace with no process is still in that namespace's table: \(result)")
        #expect(!result.out.contains("\"port\" : \(port)") && !result.out.contains("\"port\": \(port)"), "\(result)")
    }
}

extension CLITests.NamespaceSweep {
    @Test(
        "hidden --all-netns: a port hidden inside another namespace is found by probes made there, and named by its namespace",
        .enabled(if: canRun && Host.cc != nil, "needs network namespaces, root, python3, ip and cc"), .timeLimit(.minutes(5)))
    func hiddenInsideNamespace() throws {
        let directory = try TemporaryDirectory(prefix: "pc-allnetns")
        defer { directory.remove() }
        let library = try CLITests.HiddenPreload().buildLibrary(in: directory)
        let namespace = try TestNamespace()
        let port = Int.random(in: 61001...64000)  // above the ephemeral range, where the benchmarks' fixtures are not
        try namespace.startPython(namespaceListener(port: port))
        func hidden(_ arguments: [String], preload: Bool) throws -> (CommandResult, [String: Any]) {
            let environment: [String: String?] =
                preload
                ? ["LD_PRELOAD": library, "HIDE_PORT": String(port), "HIDE_PROTO": "tcp", "HIDE_FAMILY": "ipv4"] : [:]
            let result = try CLI.run(["hidden", "--format", "json", "--rounds", "1"] + arguments, environment: environment, timeout: 240)
            let document = try JSONSerialization.jsonObject(with: Data(result.stdout)) as? [String: Any]
            return (result, try #require(document, "\(result)"))
        }
        // Nothing hidden: the namespace's own tables list what its probes find in use.
        let (clean, cleanDocument) = try hidden(["--all-netns"], preload: false)
        #expect(clean.status == 0, "\(clean)")
        #expect((cleanDocument["netns_probed"] as? [String])?.contains(namespace.name) == true, "\(clean)")

        // The library hides the port from portcullis's reads: the probes made inside the namespace find it.
        let (found, document) = try hidden(["--all-netns"], preload: true)
        #expect(found.status == 4, "\(found)")
        let findings = document["findings"] as? [[String: Any]] ?? []
        // (The host's own run may find it too, through the inode its holder has: that finding is not this one.)
        let inside = findings.filter { ($0["port"] as? Int) == port && ($0["alarm"] as? Bool) == true }
        let explanations = inside.compactMap { $0["explanation"] as? String }
        #expect(explanations.contains { $0.hasPrefix("network namespace \(namespace.name): ") }, "\(found)")
    }
}
