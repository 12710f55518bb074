import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// One TCP listener on 127.0.0.1 and one UDP socket on 127.0.0.1, on kernel-
/// chosen ports. Prints `{"pid": P, "uid": U, "tcp": PORT, "udp": PORT}`;
/// exits when stdin closes or on SIGTERM.
let simpleListenerScript = #"""
    import json, os, signal, socket, sys
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t.bind(("127.0.0.1", 0))
    t.listen(4)
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", 0))
    print(json.dumps({"pid": os.getpid(), "uid": os.geteuid(),
                      "tcp": t.getsockname()[1], "udp": u.getsockname()[1]}), flush=True)
    while sys.stdin.buffer.read(4096):
        pass
    os._exit(0)
    """#

let nobody: (uid: UInt32, gid: UInt32) = (65534, 65534)

extension CLITests {
    @Suite("Unprivileged run")
    struct Unprivileged {
        /// A copy of the binary that user nobody can execute: the build tree
        /// may sit under a directory only root can traverse (/root).
        static func copyBinaryForEveryone(into directory: TemporaryDirectory) throws -> String {
            chmod(directory.path, 0o755)
            let copy = directory.url.appendingPathComponent("portcullis").path
            try FileManager.default.copyItem(atPath: try CLI.binary(), toPath: copy)
            chmod(copy, 0o755)
            return copy
        }

        static func runAsNobody(_ binary: String, _ arguments: [String]) throws -> CommandResult {
            try Subprocess.run(
                try #require(Host.setpriv),
                ["--reuid=\(nobody.uid)", "--regid=\(nobody.gid)", "--clear-groups", "--", binary] + arguments,
                environment: ["HOME": "/"])
        }

        @Test(
            "As nobody: sockets are listed, root's are unattributed with one notice, nobody's own are attributed",
            .enabled(if: Host.isRoot, "needs root to start a root-owned listener and to switch to nobody"),
            .enabled(if: Host.setpriv != nil, "setpriv (util-linux) is not installed"),
            .enabled(if: Host.python3 != nil, "python3 is not installed: it runs the listeners"))
        func listAsNobody() throws {
            let rootListener = try PythonFixture(script: simpleListenerScript, name: "root_listener.py")
            defer { rootListener.stop() }
            let nobodyListener = try PythonFixture(script: simpleListenerScript, name: "nobody_listener.py", asUser: nobody)
            defer { nobodyListener.stop() }
            #expect(rootListener.int("uid") == 0)
            #expect(nobodyListener.int("uid") == Int(nobody.uid))
            let rootTCP = try #require(rootListener.int("tcp"))
            let rootUDP = try #require(rootListener.int("udp"))
            let nobodyTCP = try #require(nobodyListener.int("tcp"))

            let directory = try TemporaryDirectory(prefix: "portcullis-unpriv")
            defer { directory.remove() }
            let binary = try Self.copyBinaryForEveryone(into: directory)

            // Check that the switch really happened, so the test means something.
            let whoami = try Subprocess.run(
                try #require(Host.setpriv),
                [
                    "--reuid=\(nobody.uid)", "--regid=\(nobody.gid)", "--clear-groups", "--",
                    try #require(Host.executable("id", preferring: ["/usr/bin/id", "/bin/id"])), "-u",
                ])
            #expect(whoami.out.trimmingCharacters(in: .whitespacesAndNewlines) == "\(nobody.uid)", "\(whoami)")

            let result = try Self.runAsNobody(binary, ["list", "--format", "json"])
            try #require(result.status == 0, "unprivileged list must succeed\n\(result)")
            let document = try decodeList(result)
            #expect(!document.sockets.isEmpty, "nothing listed as nobody\n\(result)")

            for (proto, port) in [("tcp", rootTCP), ("udp", rootUDP)] {
                let entries = document.sockets.filter { $0.proto == proto && $0.localPort == port && $0.localAddress == "127.0.0.1" }
                try #require(entries.count == 1, "root's \(proto) 127.0.0.1:\(port) is not listed as nobody\n\(result)")
                let entry = entries[0]
                #expect(entry.owners.isEmpty, "nobody cannot read root's fd table, yet owners are \(entry.owners.map(\.pid))")
                #expect(entry.unownedReason == "not_permitted", "unowned_reason \(String(describing: entry.unownedReason))")
                #expect(entry.uid == 0)
                #expect(entry.user == "root")
            }
            // The socket nobody owns is attributed to its process.
            let own = document.sockets.filter { $0.proto == "tcp" && $0.localPort == nobodyTCP }
            try #require(own.count == 1, "nobody's own listener tcp/\(nobodyTCP) is not listed\n\(result)")
            #expect(own[0].owners.map(\.pid) == [nobodyListener.pid], "owners \(own[0].owners.map(\.pid))")
            #expect(own[0].unownedReason == nil)
            #expect(own[0].owners.first?.uid == nobody.uid)

            // Exactly one notice line about unattributed sockets, on stderr;
            // and the JSON document carries the same notice.
            let noticeLines = result.err.split(separator: "\n").filter { $0.contains("could not be attributed") }
            #expect(noticeLines.count == 1, "stderr:\n\(result.err)")
            #expect(occurrences(of: "could not be attributed", in: result.err) == 1, "stderr:\n\(result.err)")
            if let line = noticeLines.first {
                #expect(line.hasPrefix("portcullis: notice:"), "notice line: \(line)")
                #expect(line.contains("not permitted"), "the notice should say why: \(line)")
            }
            #expect(document.diagnostics.filter { $0.message.contains("could not be attributed") }.count == 1)
            #expect(!result.err.contains("even as root"), "the root-only warning must not appear for nobody:\n\(result.err)")
            let escaped = result.stdout.contains(escapeByte)
            #expect(!escaped, "ESC in piped JSON")

            // The table says the same in words, and exits 0 too.
            let table = try Self.runAsNobody(binary, ["list", "--port", "\(rootTCP)"])
            #expect(table.status == 0, "\(table)")
            let row = table.out.split(separator: "\n").first { $0.contains("127.0.0.1:\(rootTCP)") }
            #expect(row?.contains("not permitted") == true, "table row: \(String(describing: row))\n\(table)")
            #expect(occurrences(of: "could not be attributed", in: table.err) == 1, "\(table)")
        }
    }
}
