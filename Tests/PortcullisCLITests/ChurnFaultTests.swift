import Foundation
import PortcullisTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Long-lived sockets on fixed ports of a namespace of the test's own, and
/// threads that open and close sockets as fast as python can: listeners on
/// kernel-chosen ports, UDP sockets, and connections accepted and closed.
let socketChurnScript = #"""
    import os, socket, sys, threading, time
    keep = []
    for port in (7101, 7102, 7103):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("127.0.0.1", port)); s.listen(64); keep.append(s)
    for port in (7201, 7202):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind(("127.0.0.1", port)); keep.append(u)
    target = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    target.bind(("127.0.0.1", 7999)); target.listen(4096)
    def accept():
        while True:
            c, _ = target.accept(); c.close()
    def connect():
        while True:
            try:
                c = socket.create_connection(("127.0.0.1", 7999)); c.close()
            except OSError:
                time.sleep(0.001)
    def listeners(kind):
        while True:
            batch = []
            for _ in range(64):
                s = socket.socket(socket.AF_INET, kind)
                s.bind(("127.0.0.1", 0))
                if kind == socket.SOCK_STREAM: s.listen(1)
                batch.append(s)
            for s in batch: s.close()
    for f, a in ((accept, ()), (connect, ()), (listeners, (socket.SOCK_STREAM,)), (listeners, (socket.SOCK_DGRAM,))):
        threading.Thread(target=f, args=a, daemon=True).start()
    with open(sys.argv[1], "w") as f: f.write("%d\n" % os.getpid())
    while True: time.sleep(1)
    """#

/// One long-lived listener (TCP 7301, UDP 7302) and a loop forking children
/// that each open a listener and a UDP socket of their own and exit within
/// milliseconds: processes vanish in the middle of every fd walk.
let forkChurnScript = #"""
    import os, random, socket, sys, time
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t.bind(("127.0.0.1", 7301)); t.listen(64)
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", 7302))
    with open(sys.argv[1], "w") as f: f.write("%d\n" % os.getpid())
    children = 0
    while True:
        pid = os.fork()
        if pid == 0:
            try:
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.bind(("127.0.0.1", 0)); s.listen(1)
                d = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                d.bind(("127.0.0.1", 0))
                time.sleep(random.random() * 0.004)
            finally:
                os._exit(0)
        children += 1
        while children > 24:
            os.waitpid(-1, 0); children -= 1
        while children:
            done, _ = os.waitpid(-1, os.WNOHANG)
            if done == 0: break
            children -= 1
    """#

extension CLITests {
    @Suite("Churn and hostile /proc: diagnostics, no crash, no socket dropped", .serialized)
    struct Churn {
        static let ip = Host.executable("ip", preferring: ["/usr/sbin/ip", "/sbin/ip", "/bin/ip"])
        static let unshare = Host.executable("unshare", preferring: ["/usr/bin/unshare", "/bin/unshare"])
        static let canUseNamespaces = Host.isRoot && Host.python3 != nil && ip != nil

        /// `portcullis ARGS` run inside the namespace, reading only it.
        static func list(_ ns: TestNamespace, _ extra: [String]) throws -> (CommandResult, ListDocument?) {
            let result = try ns.runPortcullis(["list", "--format", "json", "--netns", ns.name] + extra)
            return (result, try? decodeJSON(ListDocument.self, result.stdout))
        }

        /// Alarming diagnostics: warnings (root told it could not read fd
        /// tables among them) that a quiet run of the same namespace did not
        /// give (a sandbox may refuse pid 1's table to root every time).
        static func alarming(_ document: ListDocument, quiet: ListDocument) -> [String] {
            let usual = Set(quiet.diagnostics.map(\.message))
            return document.diagnostics.filter {
                ($0.severity == "warning" || $0.message.contains("even as root")) && !usual.contains($0.message)
            }
            .map(\.message)
        }

        /// A list of the namespace before the fixture starts.
        static func quietList(_ ns: TestNamespace) throws -> ListDocument {
            let (result, document) = try list(ns, [])
            return try #require(document, "\(result)")
        }

        @Test(
            "Heavy socket churn in the namespace: every list exits 0 and shows every long-lived socket with its owner",
            .enabled(if: canUseNamespaces, "needs root, python3 and ip (a network namespace of its own)"),
            .timeLimit(.minutes(Sanitizer.minutes(10))))
        func listUnderSocketChurn() throws {
            let ns = try TestNamespace()
            let quiet = try Self.quietList(ns)
            let fixture = try #require(try TestNamespace.startPython(socketChurnScript, in: ns.name))
            defer { kill(fixture, SIGKILL) }
            usleep(300_000)  // the churn threads get going
            let wanted: [(String, Int)] = [("tcp", 7101), ("tcp", 7102), ("tcp", 7103), ("tcp", 7999), ("udp", 7201), ("udp", 7202)]
            for run in 0..<12 {
                let (result, document) = try Self.list(ns, run % 2 == 0 ? [] : ["-a"])
                #expect(result.status == 0 && !result.signaled && !result.timedOut, "run \(run): \(result)")
                let doc = try #require(document, "run \(run): not JSON\n\(result)")
                for (proto, port) in wanted {
                    let found = doc.sockets.first { $0.proto == proto && $0.localPort == port && $0.remotePort == 0 }
                    #expect(found != nil, "run \(run): \(proto) \(port) missing\n\(doc.diagnostics)")
                    #expect(
                        found?.owners.contains { $0.pid == fixture } == true,
                        "run \(run): \(proto) \(port) not attributed: \(found?.unownedReason ?? "-")")
                }
                #expect(Self.alarming(doc, quiet: quiet).isEmpty, "run \(run): \(Self.alarming(doc, quiet: quiet))")
            }
        }

        @Test(
            "Processes exiting mid-walk at a high rate: the long-lived listener is always attributed, nothing crashes, nothing alarms",
            .enabled(if: canUseNamespaces, "needs root, python3 and ip (a network namespace of its own)"),
            .timeLimit(.minutes(Sanitizer.minutes(10))))
        func listWhileChildrenExit() throws {
            let ns = try TestNamespace()
            let quiet = try Self.quietList(ns)
            let fixture = try #require(try TestNamespace.startPython(forkChurnScript, in: ns.name))
            defer { kill(fixture, SIGKILL) }
            usleep(300_000)
            var childSockets = 0
            for run in 0..<12 {
                let (result, document) = try Self.list(ns, [])
                #expect(result.status == 0 && !result.signaled && !result.timedOut, "run \(run): \(result)")
                let doc = try #require(document, "run \(run): not JSON\n\(result)")
                for (proto, port) in [("tcp", 7301), ("udp", 7302)] {
                    let found = doc.sockets.first { $0.proto == proto && $0.localPort == port }
                    #expect(
                        found?.owners.contains { $0.pid == fixture } == true, "run \(run): \(proto) \(port): \(String(describing: found))")
                }
                // The children's own sockets: attributed, or explained as gone; never called kernel sockets.
                let others = doc.sockets.filter { $0.localPort != 7301 && $0.localPort != 7302 }
                childSockets += others.count
                let misnamed = others.filter { $0.owners.isEmpty && $0.unownedReason != "gone" }
                #expect(misnamed.isEmpty, "run \(run): \(misnamed.map { "\($0.proto) \($0.localPort) \($0.unownedReason ?? "-")" })")
                #expect(Self.alarming(doc, quiet: quiet).isEmpty, "run \(run): \(Self.alarming(doc, quiet: quiet))")
            }
            #expect(childSockets > 0, "the fixture's children were never seen: the test did not exercise the race")
        }

        @Test(
            "/proc mounted hidepid=2 in a mount namespace, list as nobody: says processes are hidden and how many sockets are unattributed; root's listener listed, owner unknown with the reason",
            .enabled(if: Host.isRoot && Host.python3 != nil, "needs root (mount namespace, setpriv) and python3"),
            .enabled(if: Host.setpriv != nil && unshare != nil, "needs setpriv and unshare (util-linux)"))
        func hidePIDAsNobody() throws {
            let listener = try PythonFixture(script: simpleListenerScript, name: "root_listener.py")
            defer { listener.stop() }
            let port = try #require(listener.int("tcp"))
            let directory = try TemporaryDirectory(prefix: "portcullis-hidepid")
            defer { directory.remove() }
            let binary = try CLITests.Unprivileged.copyBinaryForEveryone(into: directory)
            // A proc instance of the namespace's own (never a remount: that would change the host's).
            let script =
                "mount -t proc -o hidepid=2 proc /proc || exit 97; "
                + "exec \(try #require(Host.setpriv)) --reuid=\(nobody.uid) --regid=\(nobody.gid) --clear-groups -- "
                + "sh -c 'if [ -e /proc/1/status ]; then echo PROC1=visible >&2; else echo PROC1=hidden >&2; fi; exec \"$0\" list --format json' "
                + binary
            let result = try Subprocess.run(
                try #require(Self.unshare), ["-m", "--propagation", "private", "sh", "-c", script], environment: ["HOME": "/"])
            try #require(result.status == 0 && !result.signaled, "\(result)")
            try #require(result.err.contains("PROC1=hidden"), "hidepid=2 did not take effect: \(result)")
            let document = try decodeList(result)
            let socket = try #require(
                document.sockets.first { $0.proto == "tcp" && $0.localPort == port }, "the root listener was dropped\n\(result)")
            #expect(socket.owners.isEmpty && socket.unownedReason == "not_permitted", "\(socket)")
            let messages = document.diagnostics.map(\.message)
            #expect(messages.contains { $0.contains("hidepid=") && $0.contains("invisible") }, "\(messages)")
            let unattributed = try #require(messages.first { $0.contains("could not be attributed") }, "\(messages)")
            #expect(unattributed.first?.isNumber == true, "no count: \(unattributed)")
        }
    }
}
