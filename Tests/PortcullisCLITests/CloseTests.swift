import Foundation
import Testing

@testable import PortcullisCore
@testable import PortcullisJobs
@testable import PortcullisLinux

struct ClosePlanJSON: Decodable {
    struct Process: Decodable {
        var pid: Int32
        var ppid: Int32
        var startTicks: Int64
    }
    struct Refusal: Decodable { var kind: String }
    struct Step: Decodable { var kind: String }
    var target: String
    var holders: [Process]
    var leaders: [Int32]
    var commonParent: Process?
    var method: String?
    var steps: [Step]
    var refusals: [Refusal]
    var willAct: Bool
}

struct CloseResultJSON: Decodable {
    struct Outcome: Decodable {
        var kind: String
        var status: String
        var detail: String
    }
    struct Verification: Decodable {
        var status: String
        var detail: String
    }
    var journalId: Int64?
    var steps: [Outcome]
    var verification: Verification?
    var elapsedMs: Int64
}

struct CloseDocumentJSON: Decodable {
    var plan: ClosePlanJSON
    var result: CloseResultJSON?
}

/// Python fixtures for close: they write their pid to argv[1] once listening (TestNamespace.startPython).
enum CloseFixtures {
    /// A pre-forking server: the parent listens on `port`, forks two
    /// workers that share the socket, and on SIGTERM stops them and exits.
    static func preforked(port: Int) -> String {
        """
        import os, signal, socket, sys, time
        # The test runner blocks signals, and children inherit the mask: a server must see its SIGTERM.
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", \(port)))
        s.listen(16)
        workers = []
        for _ in range(2):
            pid = os.fork()
            if pid == 0:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                while True:
                    time.sleep(3600)
            workers.append(pid)
        def stop(signum, frame):
            for w in workers:
                os.kill(w, signal.SIGTERM)
            for w in workers:
                os.waitpid(w, 0)
            sys.exit(0)
        signal.signal(signal.SIGTERM, stop)
        \(pythonReadyThenSleep)
        """
    }

    /// A listener on `port` that ignores SIGTERM.
    static func stubborn(port: Int) -> String {
        """
        import os, signal, socket, sys, time
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        s = socket.socket()
        s.bind(("0.0.0.0", \(port)))
        s.listen(4)
        \(pythonReadyThenSleep)
        """
    }

    /// The pids of `pid`'s children.
    static func children(of pid: Int32) -> [Int32] {
        let text = (try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8)) ?? ""
        return text.split(separator: " ").compactMap { Int32($0) }.sorted()
    }

    static func alive(_ pid: Int32) -> Bool {
        // A zombie has exited: its sockets are closed.
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return false }
        return !(stat.split(separator: ")").last?.trimmingCharacters(in: .whitespaces).hasPrefix("Z") ?? true)
    }

    /// From inside namespace `namespace`, a TCP connect to `address:port`: open, refused or filtered (no answer in 1 s).
    static func probe(from namespace: String, _ address: String, _ port: Int) throws -> String {
        let script = """
            import socket, sys
            s = socket.socket()
            s.settimeout(1.0)
            try:
                s.connect((sys.argv[1], int(sys.argv[2])))
                print("open")
            except ConnectionRefusedError:
                print("refused")
            except (socket.timeout, TimeoutError):
                print("filtered")
            except OSError as e:
                print("error %s" % e)
            """
        let python = try #require(Host.python3)
        let result = try Subprocess.run(
            "/usr/bin/env", ["ip", "netns", "exec", namespace, python, "-c", script, address, String(port)], environment: [:], timeout: 30)
        return result.out.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

extension TestNamespace {
    /// `portcullis close ARGS` inside the namespace, with a journal of the test's own, and `environment` added.
    func close(_ arguments: [String], db: String, environment: [String: String?] = [:]) throws -> CommandResult {
        try Subprocess.run(
            "/usr/bin/env", ["ip", "netns", "exec", name, try CLI.binary(), "close"] + arguments + ["--db", db],
            environment: environment.merging(["SSH_CONNECTION": nil]) { mine, _ in mine }, timeout: 120)
    }

    /// Two namespaces joined by a veth pair: this one 10.231.N.1, `client` 10.231.N.2.
    func link(to client: TestNamespace) throws -> (server: String, client: String) {
        let subnet = Int.random(in: 0...255)
        let (a, b) = ("10.231.\(subnet).1", "10.231.\(subnet).2")
        for command in [
            ["ip", "-n", name, "link", "add", "vsrv", "type", "veth", "peer", "name", "vcli", "netns", client.name],
            ["ip", "-n", name, "addr", "add", "\(a)/30", "dev", "vsrv"],
            ["ip", "-n", client.name, "addr", "add", "\(b)/30", "dev", "vcli"],
            ["ip", "-n", name, "link", "set", "vsrv", "up"], ["ip", "-n", client.name, "link", "set", "vcli", "up"],
        ] {
            try TestNamespace.must(command)
        }
        return (a, b)
    }
}

extension CLITests {
    @Suite("close: plan, act, verify, undo", .serialized)
    struct Close {
        static let canRun =
            Host.canMakeNamespaces && Host.isRoot && Host.python3 != nil
            && Host.executable("ip", preferring: ["/usr/sbin/ip", "/sbin/ip", "/bin/ip"]) != nil
        static let nft = Host.executable("nft", preferring: ["/usr/sbin/nft", "/sbin/nft"])

        static func document(_ result: CommandResult) throws -> CloseDocumentJSON {
            try decodeJSON(CloseDocumentJSON.self, result.stdout)
        }

        @Test(
            "a pre-forked listener: the plan names parent and both workers; --yes frees the port well within the grace",
            .enabled(if: canRun, "needs network namespaces, root, python3 and ip (network namespaces)"), .timeLimit(.minutes(2)))
        func preforked() throws {
            let ns = try TestNamespace()
            let scratch = try TemporaryDirectory(prefix: "portcullis-close")
            defer { scratch.remove() }
            let db = scratch.path + "/history.db"
            let parent = try #require(try TestNamespace.startPython(CloseFixtures.preforked(port: 8080), in: ns.name))
            let workers = CloseFixtures.children(of: parent)
            defer { for pid in [parent] + workers { kill(pid, SIGKILL) } }
            #expect(workers.count == 2)

            // No terminal and no --yes: a plan only, nothing changed.
            let planned = try ns.close(["8080/tcp", "--format", "json"], db: db)
            #expect(planned.status == 0, "\(planned)")
            #expect(planned.err.contains("nothing was changed"), "\(planned)")
            let plan = try Self.document(planned).plan
            #expect(Set(plan.holders.map(\.pid)) == Set([parent] + workers), "\(planned)")
            #expect(plan.leaders == [parent])
            #expect(plan.commonParent?.pid == parent)
            #expect(plan.method == "process")
            #expect(plan.willAct)
            #expect(CloseFixtures.alive(parent) && workers.allSatisfy(CloseFixtures.alive))

            let acted = try ns.close(["8080/tcp", "--yes", "--grace", "3s", "--format", "json"], db: db)
            #expect(acted.status == 0, "\(acted)")
            let result = try #require(try Self.document(acted).result)
            #expect(result.verification?.status == "free", "\(acted)")
            #expect(result.steps.map(\.status) == ["done"])
            #expect(!result.steps[0].detail.contains("SIGKILL"), "the master stops its workers on SIGTERM: \(acted)")
            #expect(result.elapsedMs < 3000 + 100, "\(acted)")
            #expect(!CloseFixtures.alive(parent) && !workers.contains(where: CloseFixtures.alive))
            #expect(try CloseFixtures.probe(from: ns.name, "127.0.0.1", 8080) == "refused")

            // The journal has it; a signal cannot be undone, and undo says so.
            let undone = try ns.close(["--undo"], db: db)
            #expect(undone.status == 0, "\(undone)")
            #expect(undone.out.contains("irreversible: portcullis cannot restart what it signalled"), "\(undone)")
            #expect(try ns.close(["--undo"], db: db).status == 2, "nothing left to undo")
        }

        @Test(
            "a listener that ignores SIGTERM is killed after the grace",
            .enabled(if: canRun, "needs network namespaces, root, python3 and ip (network namespaces)"), .timeLimit(.minutes(2)))
        func stubborn() throws {
            let ns = try TestNamespace()
            let scratch = try TemporaryDirectory(prefix: "portcullis-close")
            defer { scratch.remove() }
            try ns.startPython(CloseFixtures.stubborn(port: 8081))
            let acted = try ns.close(["8081", "--yes", "--grace", "700ms", "--format", "json"], db: scratch.path + "/h.db")
            #expect(acted.status == 0, "\(acted)")
            let result = try #require(try Self.document(acted).result)
            #expect(result.steps.first?.detail.contains("still holding after the 700 ms grace: SIGKILL to pid") == true, "\(acted)")
            #expect(result.elapsedMs >= 700 && result.elapsedMs < 700 + 1000, "\(acted)")
            #expect(result.verification?.status == "free")
        }

        @Test(
            "firewall: a client in another namespace sees open, then filtered, then open again after --undo",
            .enabled(if: canRun && nft != nil, "needs network namespaces, root, python3, ip and nft"), .timeLimit(.minutes(2)))
        func firewall() throws {
            let server = try TestNamespace()
            let client = try TestNamespace()
            let (serverAddress, _) = try server.link(to: client)
            let scratch = try TemporaryDirectory(prefix: "portcullis-close")
            defer { scratch.remove() }
            let db = scratch.path + "/h.db"
            try server.startPython(namespaceListener(port: 8082))
            #expect(try CloseFixtures.probe(from: client.name, serverAddress, 8082) == "open")

            let acted = try server.close(["8082/tcp", "--method", "firewall", "--yes", "--format", "json"], db: db)
            #expect(acted.status == 0, "\(acted)")
            let document = try Self.document(acted)
            #expect(document.plan.steps.map(\.kind) == ["firewall_drop"])
            #expect(document.result?.verification?.status == "filtered", "\(acted)")
            #expect(try CloseFixtures.probe(from: client.name, serverAddress, 8082) == "filtered")
            let table = try Subprocess.run(
                "/usr/bin/env", ["ip", "netns", "exec", server.name, try #require(Self.nft), "list", "table", "inet", "portcullis"],
                environment: [:])
            #expect(table.out.contains("hook prerouting priority mangle"), "-150, before DNAT: \(table)")
            #expect(table.out.contains("comment \"portcullis close \(document.result?.journalId ?? 0) 8082/tcp\""), "\(table)")

            // The listener is still there; hidden does not call it hidden.
            let hidden = try server.runPortcullis(["hidden"])
            #expect(hidden.status == 0, "\(hidden)")

            let journal = try server.close(["--journal", "--format", "json"], db: db)
            #expect(journal.out.contains("\"method\": \"firewall\""), "\(journal)")
            let undone = try server.close(["--undo", String(document.result?.journalId ?? 0)], db: db)
            #expect(undone.status == 0, "\(undone)")
            #expect(undone.out.contains("reverted: nft delete rule inet portcullis prerouting handle"), "\(undone)")
            #expect(try CloseFixtures.probe(from: client.name, serverAddress, 8082) == "open")
            let gone = try Subprocess.run(
                "/usr/bin/env", ["ip", "netns", "exec", server.name, try #require(Self.nft), "list", "tables"], environment: [:])
            #expect(!gone.out.contains("portcullis"), "the empty table is removed: \(gone)")
        }

        @Test(
            "a DNAT-published port with no socket on the host is closed by the firewall method, before the DNAT",
            .enabled(if: canRun && nft != nil, "needs network namespaces, root, python3, ip and nft"), .timeLimit(.minutes(2)))
        func published() throws {
            let lab = try PublishingLab(outside: "10.232", inside: "10.233")
            let (host, container, client) = (lab.host, lab.container, lab.client)
            let (hostAddress, containerAddress) = (lab.hostAddress, lab.containerAddress)
            try host.loadRuleset(
                """
                table ip nat {
                    chain prerouting { type nat hook prerouting priority dstnat; iifname != "pcbr0" tcp dport 8080 dnat to \(containerAddress):80; }
                    chain postrouting { type nat hook postrouting priority srcnat; oifname "pcbr0" masquerade; }
                }
                """)
            try container.startPython(namespaceListener(port: 80))
            #expect(try CloseFixtures.probe(from: client.name, hostAddress, 8080) == "open")

            let scratch = try TemporaryDirectory(prefix: "portcullis-close")
            defer { scratch.remove() }
            let acted = try host.close(["8080/tcp", "--yes", "--format", "json"], db: scratch.path + "/h.db")
            #expect(acted.status == 0, "\(acted)")
            let document = try Self.document(acted)
            #expect(document.plan.method == "firewall", "chosen because only a DNAT rule publishes it: \(acted)")
            #expect(document.plan.holders.isEmpty)
            #expect(try CloseFixtures.probe(from: client.name, hostAddress, 8080) == "filtered")
            // The container's own port is untouched.
            #expect(try CloseFixtures.probe(from: host.name, containerAddress, 80) == "open")
        }

        @Test(
            "the SSH session's own port is refused (exit 5) unless --force",
            .enabled(if: canRun, "needs network namespaces, root, python3 and ip (network namespaces)"), .timeLimit(.minutes(2)))
        func sessionPort() throws {
            let ns = try TestNamespace()
            let scratch = try TemporaryDirectory(prefix: "portcullis-close")
            defer { scratch.remove() }
            let db = scratch.path + "/h.db"
            try ns.startPython(namespaceListener(port: 2222))
            let ssh: [String: String?] = ["SSH_CONNECTION": "10.0.0.9 50122 10.0.0.1 2222"]
            let refused = try ns.close(["2222/tcp", "--yes"], db: db, environment: ssh)
            #expect(refused.status == 5, "\(refused)")
            #expect(refused.out.contains("refused: 2222/tcp carries the session this command runs in"), "\(refused)")
            #expect(try CloseFixtures.probe(from: ns.name, "127.0.0.1", 2222) == "open")
            // Another port is not the session's.
            #expect(try ns.close(["2223/tcp"], db: db, environment: ssh).status == 0)
            let forced = try ns.close(["2222/tcp", "--yes", "--force", "--grace", "1s"], db: db, environment: ssh)
            #expect(forced.status == 0, "\(forced)")
            #expect(forced.out.contains("overridden by --force"), "\(forced)")
            #expect(try CloseFixtures.probe(from: ns.name, "127.0.0.1", 2222) == "refused")
        }

        @Test("bad input gets exit 2 and says what is accepted")
        func usage() throws {
            for (arguments, message) in [
                (["close"], "give the port to close"),
                (["close", "70000"], "70000"),
                (["close", "80", "--method", "nuke"], "use one of unit, container, process, firewall, destroy"),
                (["close", "80", "--grace", "soon"], "--grace soon"),
                (["close", "--undo", "x"], "--undo x: give a journal id"),
                (["close", "--journal", "--undo"], "cannot be combined"),
                (["close", "80", "--format", "csv"], "csv"),
            ] {
                let result = try CLI.run(arguments)
                #expect(result.status == 2, "\(result)")
                #expect(result.err.contains(message), "\(arguments): \(result)")
            }
        }
    }
}

/// The library entry points with what the CLI cannot reach: a systemctl
/// stand-in (systemd is not pid 1 here), and a plan whose pid was reused.
@Suite("close: units through a systemctl stand-in, and pid reuse", .serialized)
struct CloseJobTests {
    static let cgroupRoot = "/sys/fs/cgroup/systemd"
    static let canRun = CLITests.Close.canRun
    static let canUseCgroups = canRun && FileManager.default.isWritableFile(atPath: cgroupRoot)

    /// A systemctl that records its arguments, answers `show` and
    /// `list-sockets` for UNIT, and stops a service by SIGTERM to the
    /// processes of its cgroup, waiting until they are gone (as systemctl does).
    static func standIn(in directory: String, unit: String, port: Int) throws -> (path: String, log: String) {
        let log = directory + "/calls.log"
        let path = directory + "/systemctl"
        let script = """
            #!/bin/sh
            echo "$*" >> \(log)
            case "$1" in
            show)
                shift 3
                for u in "$@"; do
                    case "$u" in
                    *.service) printf 'Id=%s\\nLoadState=loaded\\nActiveState=active\\nUnitFileState=enabled\\nRestart=always\\nTriggeredBy=%s\\n\\n' "$u" "${u%.service}.socket" ;;
                    *.socket) printf 'Id=%s\\nLoadState=loaded\\nActiveState=active\\nUnitFileState=enabled\\nRestart=\\nTriggeredBy=\\n\\n' "$u" ;;
                    esac
                done ;;
            list-sockets)
                printf '0.0.0.0:\(port) \(unit).socket \(unit).service\\n/run/other.sock other.socket other.service\\n' ;;
            stop)
                # As systemd stops a service: SIGTERM, then SIGKILL to what is left after a timeout (here 1 s).
                procs=\(cgroupRoot)/system.slice/\(unit).service/cgroup.procs
                for p in $(cat $procs); do kill -TERM $p; done
                i=0
                while [ -s $procs ] && [ $i -lt 20 ]; do sleep 0.05; i=$((i+1)); done
                for p in $(cat $procs); do kill -KILL $p; done
                while [ -s $procs ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done ;;
            esac
            exit 0
            """
        try Data(script.utf8).write(to: URL(fileURLWithPath: path))
        chmod(path, 0o755)
        chmod(directory, 0o755)
        return (path, log)
    }

    @Test(
        "a service with a socket unit: both are stopped, socket first, and masked; undo unmasks and starts them",
        .enabled(if: canUseCgroups, "needs network namespaces, root, python3, ip and a writable cgroup v1 name=systemd hierarchy"),
        .timeLimit(.minutes(2)))
    func socketActivatedUnit() throws {
        let ns = try TestNamespace()
        let scratch = try TemporaryDirectory(prefix: "portcullis-close-unit")
        defer { scratch.remove() }
        let unit = "pc-web-\(getpid())"
        let cgroup = "\(Self.cgroupRoot)/system.slice/\(unit).service"
        try FileManager.default.createDirectory(atPath: cgroup, withIntermediateDirectories: true)
        defer { rmdir(cgroup) }
        let pid = try #require(try TestNamespace.startPython(namespaceListener(port: 8090), in: ns.name))
        defer { kill(pid, SIGKILL) }
        try Data("\(pid)\n".utf8).write(to: URL(fileURLWithPath: cgroup + "/cgroup.procs"))
        let marker = scratch.path + "/run-systemd-system"
        try FileManager.default.createDirectory(atPath: marker, withIntermediateDirectories: true)
        let (systemctl, log) = try Self.standIn(in: scratch.path, unit: unit, port: 8090)

        var tools = CloseTools()
        tools.systemctl = [systemctl]
        tools.systemdMarker = marker
        let options = CloseJob.Options(
            port: 8090, proto: .tcp, netns: ns.name, request: CloseRequest(mask: true), tools: tools, database: scratch.path + "/h.db")
        let prepared = try CloseJob.plan(options)
        #expect(prepared.plan.facts.holders.map(\.unit) == ["\(unit).service"])
        #expect(prepared.plan.method == .unit, "\(prepared.plan.reason)")
        #expect(prepared.plan.units == ["\(unit).socket", "\(unit).service"])
        #expect(
            prepared.plan.steps == [.stopUnits(["\(unit).socket", "\(unit).service"]), .maskUnits(["\(unit).socket", "\(unit).service"])])

        let result = try CloseJob.apply(prepared, options: options)
        #expect(result.outcomes.map(\.status) == [.done, .done])
        #expect(result.verification?.status == .free, "\(String(describing: result.verification))")
        let calls = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(calls.contains("stop -- \(unit).socket \(unit).service"), "\(calls)")
        #expect(calls.contains("mask -- \(unit).socket \(unit).service"), "\(calls)")
        #expect(!CloseFixtures.alive(pid))

        let report = try CloseJob.undo(nil, options: options)
        #expect(report.outcomes.map(\.status) == [.reverted, .reverted])
        let after = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").map(String.init).suffix(2)
        #expect(Array(after) == ["unmask -- \(unit).socket \(unit).service", "start -- \(unit).socket \(unit).service"])
    }

    @Test(
        "a pid reused between plan and act is never signalled",
        .enabled(if: canRun, "needs network namespaces, root, python3 and ip (network namespaces)"), .timeLimit(.minutes(2)))
    func pidReuse() throws {
        let ns = try TestNamespace()
        let scratch = try TemporaryDirectory(prefix: "portcullis-close-reuse")
        defer { scratch.remove() }
        let pid = try #require(try TestNamespace.startPython(namespaceListener(port: 8091), in: ns.name))
        defer { kill(pid, SIGKILL) }
        let options = CloseJob.Options(port: 8091, proto: .tcp, netns: ns.name, database: scratch.path + "/h.db")
        var prepared = try CloseJob.plan(options)
        #expect(prepared.plan.method == .process)
        // As if the process had exited and the kernel had given its pid to another one since the plan was made.
        guard case .signal(var leaders, var holders, let grace) = try #require(prepared.plan.steps.first) else {
            Issue.record("expected a signal step: \(prepared.plan.steps)")
            return
        }
        leaders[0].startTicks += 1
        holders[0].startTicks += 1
        prepared.plan.steps = [.signal(leaders: leaders, holders: holders, graceMilliseconds: grace)]
        let result = try CloseJob.apply(prepared, options: options)
        #expect(result.outcomes.first?.status == .failed)
        #expect(result.outcomes.first?.detail.contains("its start time changed: the pid was reused") == true, "\(result.outcomes)")
        #expect(result.verification == nil)
        #expect(CloseFixtures.alive(pid), "the process of another plan is left alone")
    }
}

extension CLITests.Close {
    @Test(
        "destroy resets the connections and leaves the listener; hidden calls nothing hidden; a listener ss -K left bound is closed",
        .enabled(if: canRun, "needs network namespaces, root, python3 and ip (network namespaces)"), .timeLimit(.minutes(2)))
    func destroyAndHidden() throws {
        let ns = try TestNamespace()
        let scratch = try TemporaryDirectory(prefix: "portcullis-close")
        defer { scratch.remove() }
        let db = scratch.path + "/h.db"
        let script = """
            import os, signal, socket, sys, time
            signal.pthread_sigmask(signal.SIG_SETMASK, [])
            s = socket.socket()
            s.bind(("0.0.0.0", 8093))
            s.listen(4)
            c = socket.create_connection(("127.0.0.1", 8093))
            a, _ = s.accept()
            \(pythonReadyThenSleep)
            """
        let pid = try #require(try TestNamespace.startPython(script, in: ns.name))
        defer { kill(pid, SIGKILL) }
        let destroyed = try ns.close(["8093/tcp", "--method", "destroy", "--yes", "--format", "json"], db: db)
        #expect(destroyed.status == 0, "\(destroyed)")
        let result = try #require(try Self.document(destroyed).result)
        #expect(result.verification?.status == "connections_reset", "\(destroyed)")
        #expect(result.steps.first?.detail.hasPrefix("1 destroyed") == true, "\(destroyed)")
        #expect(try CloseFixtures.probe(from: ns.name, "127.0.0.1", 8093) == "open", "the listener stays")
        let hidden = try ns.runPortcullis(["hidden"])
        #expect(hidden.status == 0, "\(hidden)")

        // What `ss -K` does to a listener: gone from the tables, its port still bound.
        let ss = try #require(Host.ss)
        try TestNamespace.must(["ip", "netns", "exec", ns.name, ss, "-K", "-t", "-l", "sport = :8093"])
        #expect(try CloseFixtures.probe(from: ns.name, "127.0.0.1", 8093) == "refused")
        #expect(try ns.runPortcullis(["hidden"]).status == 0, "a destroyed listener is not a rootkit's")
        let closed = try ns.close(["8093/tcp", "--yes", "--grace", "1s", "--format", "json"], db: db)
        #expect(closed.status == 0, "\(closed)")
        let plan = try Self.document(closed).plan
        #expect(plan.holders.map(\.pid) == [pid], "\(closed)")
        #expect(try Self.document(closed).result?.verification?.status == "free", "\(closed)")
    }
}
