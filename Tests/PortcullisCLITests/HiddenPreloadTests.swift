import Foundation
import PortcullisCore
import PortcullisLinux
import PortcullisTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `portcullis hidden` against a real userland rootkit technique: the debug
/// (dynamically linked) binary runs with an LD_PRELOAD library,
/// Fixtures/hideport.c, that removes one port from the /proc/net tables and
/// from the netlink sock_diag replies, and optionally one pid from the /proc
/// listing. The kernel still knows the socket, so the bind and connect
/// probes see it in use while both tables miss it.
///
/// The library is told the protocol and family under test as well as the
/// port (HIDE_PROTO, HIDE_FAMILY): it hides exactly the listener's socket,
/// not every socket on the host that shares its port number. Each case
/// asserts the whole host's alarms, so another socket on that number in the
/// other protocol — a TCP connection's TIME_WAIT on the UDP listener's port
/// number, say, which has no owner and no inode and so, hidden, is "hidden
/// from all readers" — must stay visible, or it is a second (true) finding.
/// Each case puts such a neighbour on its port to keep that so.

extension Host {
    static let cc = executable("cc", preferring: ["/usr/bin/cc", "/usr/bin/gcc"])
    static let ls = executable("ls", preferring: ["/usr/bin/ls", "/bin/ls"])
}

/// One listener, bound to loopback on the port given (see `exclusivePort`). IPv6 sockets
/// are V6ONLY, so the listener holds only the (proto, family) under test. Prints
/// {"pid", "port"} when bound; exits when stdin closes.
let preloadListenerScript = #"""
    import json, os, socket, sys
    proto, family = sys.argv[1], sys.argv[2]
    af = socket.AF_INET6 if family == "ipv6" else socket.AF_INET
    s = socket.socket(af, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
    if af == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind(("::1" if af == socket.AF_INET6 else "127.0.0.1", int(sys.argv[3])))
    if proto == "tcp":
        s.listen(8)
    print(json.dumps({"pid": os.getpid(), "port": s.getsockname()[1]}), flush=True)
    sys.stdin.read()
    """#

/// Prints {"pid"} and sleeps until stdin closes: a process and nothing more.
let preloadSleeperScript = #"""
    import json, os, sys
    print(json.dumps({"pid": os.getpid()}), flush=True)
    sys.stdin.read()
    """#

/// `hidden --format json`, decoded with every field the tests look at; the
/// tamper hints are optional so the test also reads older output.
struct PreloadHiddenDocument: Decodable {
    struct Finding: Decodable {
        var kind: String
        var proto: String?
        var family: String?
        var port: Int?
        var inode: UInt64?
        var technique: String
        var alarm: Bool
        var seenBy: [String]
        var notSeenBy: [String]
        var ownerPids: [Int32]
        var explanation: String
    }
    struct Hint: Decodable {
        var kind: String
        var detail: String
    }
    var clean: Bool
    var rounds: Int
    var candidates: Int
    var findings: [Finding]
    var diagnostics: [DiagnosticJSON]
    var tamperHints: [Hint]?
    var pidsChecked: Int?
    var tasksCounted: Int?

    var alarms: [Finding] { findings.filter(\.alarm) }
}

/// Sockets made on a thread inside a namespace, handed back to the test that keeps them open.
struct UncheckedSockets: @unchecked Sendable {
    let sockets: TestSockets
}

struct PreloadCase: CustomTestStringConvertible, Sendable {
    var proto: String
    var family: String
    var testDescription: String { "\(proto)/\(family)" }

    /// TCP and UDP over IPv4.
    static let ipv4 = ["tcp", "udp"].map { PreloadCase(proto: $0, family: "ipv4") }
    /// TCP and UDP over IPv6: a test of their own, which skips with a message where ::1 cannot be bound.
    static let ipv6 = ["tcp", "udp"].map { PreloadCase(proto: $0, family: "ipv6") }
}

extension CLITests {
    @Suite("Hidden ports: an LD_PRELOAD library hides a real listener")
    struct HiddenPreload {
        static let fixtureSource = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/hideport.c")

        /// Builds Fixtures/hideport.c into `directory`; returns the library's path.
        func buildLibrary(in directory: TemporaryDirectory) throws -> String {
            let cc = try #require(Host.cc)
            let library = directory.url.appendingPathComponent("hideport.so").path
            let built = try Subprocess.run(cc, ["-shared", "-fPIC", "-O2", "-o", library, Self.fixtureSource.path, "-ldl"], timeout: 120)
            try #require(built.status == 0, "the LD_PRELOAD library did not build: \(built)")
            return library
        }

        func hidden(_ environment: [String: String?]) throws -> (CommandResult, PreloadHiddenDocument) {
            let result = try CLI.run(["hidden", "--format", "json", "--rounds", "2"], environment: environment, timeout: 180)
            do {
                return (result, try decodeJSON(PreloadHiddenDocument.self, result.stdout))
            } catch {
                Issue.record("hidden --format json did not decode: \(error)\n\(result)")
                throw error
            }
        }

        /// Whether `ss -[tu][46]lnH`, run inside `namespace` with `environment`, lists the port.
        func ssLists(_ c: PreloadCase, port: Int, in namespace: TestNamespace, environment: [String: String]) throws -> Bool {
            let ss = try #require(Host.ss)
            let flags = "-" + (c.proto == "tcp" ? "t" : "u") + (c.family == "ipv6" ? "6" : "4") + "lnH"
            let assignments = environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
            let result = try Subprocess.run(
                "/usr/bin/env", ["ip", "netns", "exec", namespace.name, "/usr/bin/env"] + assignments + [ss, flags], environment: [:],
                timeout: 30)
            try #require(result.status == 0, "\(result)")
            // Columns: State Recv-Q Send-Q Local:Port Peer:Port
            return result.out.split(separator: "\n").contains { line in
                let columns = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
                return columns.count >= 4 && columns[3].hasSuffix(":\(port)")
            }
        }

        @Test(
            "A port hidden from netlink and /proc/net is found by the probes, with its owner",
            .enabled(if: Host.isRoot, "needs root: bind probes of every port and the fd walk of every process"),
            .enabled(if: Host.cc != nil, "cc is not installed: it builds the LD_PRELOAD library (apt-get install gcc libc6-dev)"),
            .enabled(if: Host.python3 != nil, "python3 is not installed: it runs the listener"),
            .enabled(if: Host.canMakeNamespaces, "cannot make network namespaces here: the check runs in one of its own"),
            arguments: PreloadCase.ipv4)
        func hiddenPort(_ c: PreloadCase) throws { try checkHiddenPort(c) }

        @Test(
            "A port hidden from netlink and /proc/net is found by the probes, with its owner (IPv6)",
            .enabled(if: Host.isRoot, "needs root: bind probes of every port and the fd walk of every process"),
            .enabled(if: Host.cc != nil, "cc is not installed: it builds the LD_PRELOAD library (apt-get install gcc libc6-dev)"),
            .enabled(if: Host.python3 != nil, "python3 is not installed: it runs the listener"),
            .enabled(if: Host.hasIPv6Loopback, "no IPv6 loopback: ::1 cannot be bound"),
            .enabled(if: Host.canMakeNamespaces, "cannot make network namespaces here: the check runs in one of its own"),
            arguments: PreloadCase.ipv6)
        func hiddenPortIPv6(_ c: PreloadCase) throws { try checkHiddenPort(c) }

        /// `hidden --format json` run inside `namespace`, with `environment` set for it.
        func hidden(in namespace: TestNamespace, _ environment: [String: String]) throws -> (CommandResult, PreloadHiddenDocument) {
            let result = try namespace.runPortcullis(
                ["hidden", "--format", "json", "--rounds", "2"], environment: environment, timeout: 180)
            do {
                return (result, try decodeJSON(PreloadHiddenDocument.self, result.stdout))
            } catch {
                Issue.record("hidden --format json did not decode: \(error)\n\(result)")
                throw error
            }
        }

        /// The port cases run in a network namespace of the test's own: the
        /// sweep there sees only this test's sockets, not the listeners the
        /// other test targets of this process open and close meanwhile.
        func checkHiddenPort(_ c: PreloadCase) throws {
            let directory = try TemporaryDirectory(prefix: "portcullis-preload")
            defer { directory.remove() }
            let library = try buildLibrary(in: directory)
            let namespace = try TestNamespace()
            let listener = try PythonFixture(
                script: preloadListenerScript, name: "hidden_listener.py", arguments: [c.proto, c.family, "23456"],
                namespace: namespace.name)
            defer { listener.stop() }
            let port = try #require(listener.int("port"))
            let pid = listener.pid
            let preload = ["LD_PRELOAD": library, "HIDE_PORT": String(port), "HIDE_PROTO": c.proto, "HIDE_FAMILY": c.family]
            // The same port number in the other protocol, same family and
            // address: a TCP TIME_WAIT beside a UDP listener (no descriptor,
            // no owner), a UDP socket of this process beside a TCP one. The
            // library must leave it in the tables, so it is no finding.
            let neighbours = try Sys.inNetworkNamespace("/run/netns/\(namespace.name)") {
                Result { () throws -> UncheckedSockets in
                    let sockets = TestSockets()
                    let address = c.family == "ipv6" ? "::1" : "127.0.0.1"
                    if c.proto == "udp" {
                        try sockets.serverTimeWait(ipv6: c.family == "ipv6", address: address, port: UInt16(port))
                    } else {
                        try sockets.open(.udp, ipv6: c.family == "ipv6", address: address, port: UInt16(port))
                    }
                    return UncheckedSockets(sockets: sockets)
                }
            }.get().get()
            defer { withExtendedLifetime(neighbours) {} }

            // Without the library the listener is in the tables: nothing hidden.
            let (plain, plainDocument) = try hidden(in: namespace, [:])
            #expect(plain.status == 0, "no hidden port without the library: \(plain)")
            #expect(plainDocument.clean && plainDocument.alarms.isEmpty, "\(plainDocument.alarms)")
            #expect(!plainDocument.findings.contains { $0.port == port || $0.ownerPids.contains(pid) }, "\(plainDocument.findings)")

            // The library works: ss (netlink, dynamically linked) no longer shows the port.
            if Host.ss != nil {
                #expect(try ssLists(c, port: port, in: namespace, environment: [:]), "ss lists the listener on \(port)")
                #expect(try !ssLists(c, port: port, in: namespace, environment: preload), "under the library ss must not list \(port)")
            }

            // Under the library: exactly that port, hidden from every table reader.
            let (result, document) = try hidden(in: namespace, preload)
            #expect(result.status == 4, "a hidden port exits 4: \(result)")
            #expect(!document.clean)
            let described = document.alarms.map {
                "\($0.kind) \($0.proto ?? "-")/\($0.family ?? "-")/\($0.port.map(String.init) ?? "-") \($0.technique)"
            }
            // A raw read of /proc/net still lists the row: the technique is named.
            #expect(described == ["port \(c.proto)/\(c.family)/\(port) libc_hook"], "\(result)")
            let finding = try #require(document.alarms.first { $0.port == port })
            #expect(finding.notSeenBy.contains("netlink") && finding.notSeenBy.contains("proc_net"), "\(finding)")
            #expect(finding.seenBy.contains("bind_probe"), "\(finding)")
            if c.proto == "tcp" { #expect(finding.seenBy.contains("connect_probe"), "\(finding)") }
            // The owner: no table maps the port to an inode, so the fd walk
            // must ask the socket itself (pidfd_getfd, then getsockname).
            #expect(finding.ownerPids.contains(pid), "the listener (pid \(pid)) owns the hidden port: \(finding)")
            let hints = document.tamperHints ?? []
            #expect(hints.contains { $0.kind == "ld_preload_env" && $0.detail.contains("hideport.so") }, "\(hints)")
            let table = "/proc/net/\(c.proto)\(c.family == "ipv6" ? "6" : "")"
            #expect(
                hints.contains {
                    $0.kind == "libc_read_differs" && $0.detail.hasPrefix(table + " ") && $0.detail.contains("local port \(port)")
                },
                "\(hints)")
            #expect(!(plainDocument.tamperHints ?? []).contains { $0.kind == "libc_read_differs" }, "no difference without the library")
        }

        @Test(
            "A hidden port whose owner is also hidden from the /proc listing",
            .enabled(if: Host.isRoot, "needs root: bind probes of every port and the fd walk of every process"),
            .enabled(if: Host.cc != nil, "cc is not installed: it builds the LD_PRELOAD library (apt-get install gcc libc6-dev)"),
            .enabled(if: Host.python3 != nil, "python3 is not installed: it runs the listener"))
        func hiddenPortAndProcess() throws {
            let directory = try TemporaryDirectory(prefix: "portcullis-preload")
            defer { directory.remove() }
            let library = try buildLibrary(in: directory)
            let listener = try PythonFixture(
                script: preloadListenerScript, name: "hidden_listener.py", arguments: ["tcp", "ipv4", "\(try #require(exclusivePort()))"])
            defer { listener.stop() }
            let port = try #require(listener.int("port"))
            let pid = listener.pid
            let preload: [String: String?] = [
                "LD_PRELOAD": library, "HIDE_PORT": String(port), "HIDE_PROTO": "tcp", "HIDE_FAMILY": "ipv4", "HIDE_PID": String(pid),
            ]

            // The library works: ls (readdir, dynamically linked) no longer lists the pid.
            if let ls = Host.ls {
                let listed = try Subprocess.run(ls, ["-1", "/proc"], environment: ["LD_PRELOAD": nil], timeout: 30)
                let hidden = try Subprocess.run(ls, ["-1", "/proc"], environment: preload, timeout: 30)
                #expect(listed.out.split(separator: "\n").contains("\(pid)"[...]), "\(listed)")
                #expect(!hidden.out.split(separator: "\n").contains("\(pid)"[...]), "under the library ls must not list \(pid)")
            }

            let (result, document) = try hidden(preload)
            #expect(result.status == 4, "a hidden port exits 4: \(result)")
            let portFinding = document.alarms.first { $0.kind == "port" && $0.port == port }
            #expect(
                portFinding?.proto == "tcp" && portFinding?.family == "ipv4" && portFinding?.technique == "libc_hook",
                "\(result)")
            // The process itself: present at /proc/PID, missing from the listing.
            let processFinding = document.alarms.first { $0.kind == "process" && $0.ownerPids.contains(pid) }
            #expect(processFinding != nil, "pid \(pid) is hidden from the /proc listing: \(result)")
            #expect(portFinding?.ownerPids.contains(pid) == true, "the hidden listener (pid \(pid)) owns the hidden port: \(result)")
            // Nothing else: only that port and that process.
            #expect(
                document.alarms.filter { !($0.kind == "port" && $0.port == port) && !($0.kind == "process" && $0.ownerPids == [pid]) }
                    .isEmpty,
                "\(document.alarms)")
        }

        @Test(
            "A process hidden from the /proc listing at a pid above 32768 is found (pid_max raised as systemd sets it)",
            .enabled(if: Host.isRoot, "needs root: it raises kernel.pid_max and places the process with ns_last_pid"),
            .enabled(if: Host.cc != nil, "cc is not installed: it builds the LD_PRELOAD library (apt-get install gcc libc6-dev)"),
            .enabled(if: Host.python3 != nil, "python3 is not installed: it runs the process"),
            .enabled(if: FileManager.default.isWritableFile(atPath: "/proc/sys/kernel/ns_last_pid"), "no writable ns_last_pid"))
        func hiddenProcessAtHighPID() throws {
            let directory = try TemporaryDirectory(prefix: "portcullis-preload")
            defer { directory.remove() }
            let library = try buildLibrary(in: directory)
            // pid_max as systemd sets it, restored however the test ends.
            let pidMaxPath = "/proc/sys/kernel/pid_max"
            let original = try String(contentsOfFile: pidMaxPath, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            let high = 4_194_304
            if Int(original) ?? 0 < high { try String(high).write(toFile: pidMaxPath, atomically: false, encoding: .utf8) }
            defer { try? original.write(toFile: pidMaxPath, atomically: false, encoding: .utf8) }
            // The kernel hands out the pids after ns_last_pid: the process
            // (or, if another process on the host forks first, the one
            // after it) gets a pid above 99,999.
            try "99999".write(toFile: "/proc/sys/kernel/ns_last_pid", atomically: false, encoding: .utf8)
            let sleeper = try PythonFixture(script: preloadSleeperScript, name: "hidden_sleeper.py")
            defer { sleeper.stop() }
            let pid = sleeper.pid
            try #require(pid > 99_999, "ns_last_pid did not place the process above 99,999 (pid \(pid))")

            let (result, document) = try hidden(["LD_PRELOAD": library, "HIDE_PID": String(pid), "HIDE_PORT": nil])
            #expect(result.status == 4, "a hidden process exits 4: \(result)")
            let finding = document.alarms.first { $0.kind == "process" && $0.ownerPids == [pid] }
            #expect(finding?.technique == "process_hidden_from_listing", "pid \(pid) is hidden from the /proc listing: \(result)")
            // Found by looking up every pid up to pid_max: the task count
            // cannot prove the listing complete when a process is missing from it.
            #expect(document.pidsChecked == high, "\(result)")
            #expect(document.tasksCounted == 0, "\(result)")
            #expect(document.alarms.filter { !($0.kind == "process" && $0.ownerPids == [pid]) }.isEmpty, "\(document.alarms)")
        }
    }
}
