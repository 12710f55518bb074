import Foundation
import PortcullisTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `scan` end to end against 127.0.0.1: outputs, the XML file, and the
/// oracles nmap and ndiff when installed.
extension CLITests {
    @Suite("scan on loopback")
    struct ScanLoopback {
        static let nmap = Host.executable("nmap", preferring: ["/usr/bin/nmap"])
        static let ndiff = Host.executable("ndiff", preferring: ["/usr/bin/ndiff"])

        /// A port nothing listens on, next to one of ours.
        static func freeNeighbour(of listeners: [LocalListener]) -> [Int] {
            listeners.map { Int($0.port) + 1 }.filter { port in !listeners.contains { Int($0.port) == port } && port <= 65535 }
        }

        @Test func jsonNamesOpenAndClosedPorts() throws {
            let listeners = try (0..<3).map { _ in try LocalListener() }
            let closed = Self.freeNeighbour(of: listeners)
            let ports = (listeners.map { Int($0.port) } + closed).map(String.init).joined(separator: ",")
            let result = try CLI.run(["scan", "-p", ports, "--format", "json", "127.0.0.1"])
            #expect(result.status == 0, "\(result)")
            let document = try decodeJSON(ScanDocument.self, result.stdout)
            let host = try #require(document.hosts.first)
            #expect(host.address == "127.0.0.1" && host.up)
            for listener in listeners {
                #expect(host.ports.first { $0.port == Int(listener.port) }?.state == "open", "\(host.ports)")
                #expect(host.ports.first { $0.port == Int(listener.port) }?.reason == "syn-ack")
            }
            // A freed neighbour could be taken by another program meanwhile; most are closed.
            #expect(
                host.ports.filter { closed.contains($0.port) && $0.state == "closed" && $0.reason == "conn-refused" }.count >= closed.count
                    - 1)
            #expect(result.err.contains("1 host scanned (1 up)"))
        }

        @Test func ndjsonStreamsOpenPortsThenHostThenSummary() throws {
            let listener = try LocalListener()
            let result = try CLI.run(["scan", "-p", "\(listener.port)", "--format", "ndjson", "localhost"])
            #expect(result.status == 0, "\(result)")
            let lines = result.out.split(separator: "\n").map(String.init)
            #expect(lines.count == 3, "\(result)")
            #expect(
                lines.first?.hasPrefix(
                    #"{"type":"port","address":"127.0.0.1","zone":null,"hostname":"localhost","proto":"tcp","port":\#(listener.port),"state":"open""#
                )
                    == true)
            #expect(lines.dropFirst().first?.hasPrefix(#"{"type":"host","address":"127.0.0.1""#) == true)
            #expect(lines.last?.hasPrefix(#"{"type":"summary","hosts":1,"hosts_up":1"#) == true)
        }

        /// --excludefile: targets listed in a file are left out, and its
        /// errors name the file and line.
        @Test func excludeFileLeavesTargetsOut() throws {
            let listener = try LocalListener()
            let directory = try TemporaryDirectory(prefix: "portcullis-exclude")
            defer { directory.remove() }
            let skip = directory.url.appendingPathComponent("skip.txt").path
            try Data("# not these\n127.0.0.2\n".utf8).write(to: URL(fileURLWithPath: skip))
            let result = try CLI.run(["scan", "-p", "\(listener.port)", "--excludefile", skip, "--format", "json", "127.0.0.1-2"])
            #expect(result.status == 0, "\(result)")
            struct Document: Decodable {
                struct Host: Decodable { var address: String }
                var hosts: [Host]
            }
            #expect(try decodeJSON(Document.self, result.stdout).hosts.map(\.address) == ["127.0.0.1"])

            let bad = directory.url.appendingPathComponent("bad.txt").path
            try Data("127.0.0.3\n127.1\n".utf8).write(to: URL(fileURLWithPath: bad))
            let refused = try CLI.run(["scan", "-p", "\(listener.port)", "--excludefile", bad, "127.0.0.1"])
            #expect(refused.status == 2 && refused.err.contains("\(bad):2"), "\(refused)")
            let missing = try CLI.run([
                "scan", "-p", "\(listener.port)", "--excludefile", directory.url.appendingPathComponent("none").path, "127.0.0.1",
            ])
            #expect(missing.status == 2 && missing.err.contains("--excludefile") && missing.err.contains("cannot read"), "\(missing)")
        }

        /// --service against a live HTTP server and an SSH-like greeter with a
        /// hostile banner: product and version named, the banner escaped.
        @Test(.enabled(if: Host.python3 != nil, "needs python3")) func serviceDetectionNamesWhatAnswers() throws {
            let fixture = try PythonFixture(script: scanServicesScript, name: "scan_services.py")
            defer { fixture.stop() }
            let http = try #require(fixture.int("http"))
            let ssh = try #require(fixture.int("ssh"))
            let result = try CLI.run(["scan", "-sV", "-p", "\(http),\(ssh)", "--format", "json", "127.0.0.1"])
            #expect(result.status == 0, "\(result)")
            struct Service: Decodable {
                var name: String
                var product: String?
                var version: String?
                var banner: String?
                var method: String
            }
            struct Port: Decodable {
                var port: Int
                var service: Service?
            }
            struct HostResult: Decodable { var ports: [Port] }
            struct Document: Decodable { var hosts: [HostResult] }
            let ports = try #require(try decodeJSON(Document.self, result.stdout).hosts.first).ports
            let web = try #require(ports.first { $0.port == http }?.service)
            #expect(web.name == "http" && web.product == "Python SimpleHTTPServer" && web.method == "probed", "\(web)")
            let shell = try #require(ports.first { $0.port == ssh }?.service)
            #expect(shell.name == "ssh" && shell.product == "OpenSSH" && shell.version == "9.9p1", "\(shell)")
            #expect(
                shell.banner?.contains("\\x1b[31m") == true && !result.out.contains("\u{1b}"),
                "the escape sequence is shown escaped: \(shell)")
        }

        /// With one ephemeral port, P, a connect to the free port P from this
        /// host must use P as its source: TCP simultaneous open connects the
        /// socket to itself. That is a free port, never "open".
        @Test(
            .enabled(if: Host.isRoot && Host.canMakeNamespaces, "needs root and network namespaces: one with its own ip_local_port_range"))
        func selfConnectIsNotOpen() throws {
            let namespace = try TestNamespace()
            try TestNamespace.must(["ip", "netns", "exec", namespace.name, "sysctl", "-qw", "net.ipv4.ip_local_port_range=40000 40000"])
            let result = try namespace.runPortcullis(["scan", "-p", "40000", "--format", "json", "127.0.0.1"])
            #expect(result.status == 0, "\(result)")
            let port = try #require(try decodeJSON(ScanDocument.self, result.stdout).hosts.first?.ports.first)
            #expect(port.state == "closed" && port.detail == "connect looped back to itself (the port is free)", "\(port)")
        }

        /// nmap's spellings reach the right options: -sU, -Pn and an attached -p value.
        @Test func nmapSpellingsAreAccepted() throws {
            let result = try CLI.run(["scan", "-sU", "-Pn", "-n", "-p9", "--format", "json", "127.0.0.1"])
            #expect(result.status == 0, "\(result)")
            let port = try #require(try decodeJSON(ScanDocument.self, result.stdout).hosts.first?.ports.first)
            #expect(port.proto == "udp" && port.port == 9, "\(port)")
        }

        @Test func xmlFileIsNeverOverwrittenWithoutBeingAsked() throws {
            let directory = try TemporaryDirectory(prefix: "portcullis-scan")
            defer { directory.remove() }
            let file = directory.url.appendingPathComponent("scan.xml").path
            try Data("keep me".utf8).write(to: URL(fileURLWithPath: file))
            let refused = try CLI.run(["scan", "-p", "1", "--xml", file, "127.0.0.1"])
            #expect(refused.status == 2 && refused.err.contains("exists") && refused.err.contains("--overwrite"), "\(refused)")
            let kept = try String(contentsOfFile: file, encoding: .utf8)
            #expect(kept == "keep me")
            let replaced = try CLI.run(["scan", "-p", "1", "--xml", file, "--overwrite", "127.0.0.1"])
            #expect(replaced.status == 0, "\(replaced)")
            let xml = try String(contentsOfFile: file, encoding: .utf8)
            #expect(xml.hasPrefix("<?xml") && xml.contains(#"<nmaprun scanner="portcullis""#) && xml.hasSuffix("</nmaprun>\n"))
            let left = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            #expect(left == ["scan.xml"], "no temporary file left behind")
        }

        /// The same scan by nmap -sT and by portcullis: the same open set, and
        /// ndiff (nmap's own comparison tool) finds no port difference. Both
        /// scan the loopback of a namespace of the test's own, where only the
        /// fixture listens: on the host's loopback, listeners that other tests
        /// open and close meanwhile made the two scans differ.
        @Test(
            .enabled(
                if: Host.rootWithPython && Host.canMakeNamespaces && nmap != nil && ndiff != nil,
                "needs network namespaces, root, python3, nmap and ndiff"),
            .timeLimit(.minutes(3)))
        func sameOpenSetAsNmapAndNdiffAgrees() throws {
            let namespace = try TestNamespace()
            let ports = (0..<300).map { 20_000 + 7 * $0 }
            try namespace.startPython(
                """
                import os, socket, sys, time
                keep = []
                for port in \(ports):
                    s = socket.socket(); s.bind(("127.0.0.1", port)); s.listen(64); keep.append(s)
                open(sys.argv[1], "w").write(f"{os.getpid()}\\n")
                time.sleep(600)
                """)
            let directory = try TemporaryDirectory(prefix: "portcullis-ndiff")
            defer { directory.remove() }
            let ours = directory.url.appendingPathComponent("portcullis.xml").path
            let theirs = directory.url.appendingPathComponent("nmap.xml").path
            let nmapRun = try Subprocess.run(
                "/usr/bin/env",
                ["ip", "netns", "exec", namespace.name, try #require(Self.nmap), "-sT", "-p-", "-T4", "-n", "-oX", theirs, "127.0.0.1"],
                environment: [:], timeout: 120)
            #expect(nmapRun.status == 0, "\(nmapRun)")
            let ourRun = try namespace.runPortcullis(["scan", "-p-", "-n", "-oX", ours, "127.0.0.1"])
            #expect(ourRun.status == 0, "\(ourRun)")
            let diff = try Subprocess.run(try #require(Self.ndiff), [theirs, ours], timeout: 60)
            // ndiff exits 0 when the scans agree, 1 when they differ; the header
            // lines (scanner, time, command) always differ and are not port differences.
            let portLines = diff.out.split(separator: "\n").filter { ($0.hasPrefix("+") || $0.hasPrefix("-")) && $0.contains("/tcp") }
            #expect(diff.status == 0 && portLines.isEmpty, "\(diff)")
            let xml = try String(contentsOfFile: ours, encoding: .utf8)
            for port in ports {
                #expect(xml.contains(#"<port protocol="tcp" portid="\#(port)"><state state="open""#))
            }
        }
    }
}

/// An HTTP server and a greeter that claims OpenSSH with an ANSI escape in
/// its banner; prints {"pid", "http", "ssh"} when both listen.
let scanServicesScript = #"""
    import http.server, json, os, socket, sys, threading
    httpd = http.server.HTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    greeter = socket.socket(); greeter.bind(("127.0.0.1", 0)); greeter.listen(16)
    def greet():
        while True:
            c, _ = greeter.accept()
            try:
                c.sendall(b"SSH-2.0-OpenSSH_9.9p1 \x1b[31mDebian\r\n")
                c.recv(256)
            except OSError:
                pass
            c.close()
    threading.Thread(target=greet, daemon=True).start()
    print(json.dumps({"pid": os.getpid(), "http": httpd.server_address[1], "ssh": greeter.getsockname()[1]}), flush=True)
    sys.stdin.read()
    """#
