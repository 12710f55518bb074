import Foundation
import PortcullisTestSupport
import Testing

/// A network namespace made for one test, removed afterwards.
final class TestNamespace {
    let name: String
    /// Listener processes started in the namespace, killed on teardown.
    private var pids: [pid_t] = []

    init() throws {
        name = "pc-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try Self.must(["ip", "netns", "add", name])
        try Self.must(["ip", "netns", "exec", name, "ip", "link", "set", "lo", "up"])
    }

    deinit {
        for pid in pids { kill(pid, SIGKILL) }
        _ = try? Subprocess.run("/usr/bin/env", ["ip", "netns", "delete", name], environment: [:], timeout: 30)
    }

    /// Loads an nftables ruleset inside the namespace (never the host's).
    func loadRuleset(_ text: String) throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString).nft")
        try Data(("flush ruleset\n" + text).utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        try Self.must(["ip", "netns", "exec", name, "nft", "-f", file.path])
    }

    /// Starts python3 inside the namespace in the background; returns once
    /// it wrote its pid (after binding everything).
    func startPython(_ script: String) throws {
        if let pid = try Self.startPython(script, in: name) { pids.append(pid) }
    }

    /// Starts python3 detached inside network namespace `namespace`; the
    /// script gets a file name as its argument and writes its pid there
    /// when ready. Returns that pid (nil, and an issue, if it never did).
    static func startPython(_ script: String, in namespace: String) throws -> pid_t? {
        try startPython(script, wrappedIn: ["ip", "netns", "exec", namespace])
    }

    /// Starts python3 detached under `wrapper` (`ip netns exec NS`, `unshare -n`); as `startPython(_:in:)`.
    static func startPython(_ script: String, wrappedIn wrapper: [String]) throws -> pid_t? {
        let namespace = "pc-fixture-\(getpid())"
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("\(namespace)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let scriptFile = directory.appendingPathComponent("fixture.py")
        let pidFile = directory.appendingPathComponent("pid")
        try Data(script.utf8).write(to: scriptFile)
        let python = try #require(Host.python3)
        // The fixture runs detached and records its own pid; teardown kills it by pid. It is
        // started through Popen, which closes inherited descriptors: Foundation's Process
        // waits until every holder of its status descriptor exits, the fixture included.
        let launcher =
            "import subprocess, sys; subprocess.Popen(sys.argv[1:], stdin=subprocess.DEVNULL, "
            + "stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)"
        try must([python, "-c", launcher] + wrapper + [python, scriptFile.path, pidFile.path])
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if let text = try? String(contentsOf: pidFile, encoding: .utf8), text.hasSuffix("\n"), let pid = pid_t(text.dropLast()) {
                return pid
            }
            usleep(20_000)
        }
        Issue.record("the python fixture did not start under \(wrapper.joined(separator: " "))")
        return nil
    }

    /// Runs portcullis inside the namespace, with `environment` (VAR=value) set for it alone.
    func runPortcullis(
        _ arguments: [String], environment: [String: String] = [:], timeout: TimeInterval = Sanitizer.scaled(120)
    ) throws -> CommandResult {
        let assignments = environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        return try Subprocess.run(
            "/usr/bin/env", ["ip", "netns", "exec", name, "/usr/bin/env"] + assignments + [try CLI.binary()] + arguments, environment: [:],
            timeout: timeout)
    }

    static func must(_ command: [String]) throws {
        let result = try Subprocess.run("/usr/bin/env", command, environment: [:], timeout: 60)
        try #require(result.status == 0, "\(result)")
    }
}

struct FirewallListenerJSON: Decodable {
    struct Verdict: Decodable {
        var verdict: String
        var reason: String
    }
    var proto: String
    var localPort: Int
    var firewall: Verdict?
    var verdict: String
    var findings: [String]
}

struct FirewallAuditDocument: Decodable {
    struct Summary: Decodable { var failed: Bool }
    var summary: Summary
    var listeners: [FirewallListenerJSON]
}

let namespaceListeners = """
    import socket, sys
    keep = []
    for kind, port in [(socket.SOCK_STREAM, 22), (socket.SOCK_STREAM, 6379), (socket.SOCK_STREAM, 8080),
                       (socket.SOCK_DGRAM, 53), (socket.SOCK_DGRAM, 123)]:
        s = socket.socket(socket.AF_INET, kind)
        s.bind(("0.0.0.0", port))
        if kind == socket.SOCK_STREAM:
            s.listen(4)
        keep.append(s)
    import os, time
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write("%d\\n" % os.getpid())
    os.rename(sys.argv[1] + ".tmp", sys.argv[1])
    while True:
        time.sleep(3600)
    """

extension CLITests {
    @Suite("Firewall-aware audit in a network namespace")
    struct FirewallAudit {
        static let canRun =
            Host.canMakeNamespaces && Host.isRoot && Host.python3 != nil
            && Host.executable("nft", preferring: ["/usr/sbin/nft", "/sbin/nft"]) != nil
            && Host.executable("ip", preferring: ["/usr/sbin/ip", "/sbin/ip", "/bin/ip"]) != nil

        func audit(_ namespace: TestNamespace) throws -> [String: FirewallListenerJSON] {
            // As root every namespace is read: keep to the one under test.
            let result = try namespace.runPortcullis(["audit", "--no-policy", "--format", "json", "--netns", namespace.name])
            let document = try decodeJSON(FirewallAuditDocument.self, result.stdout)
            // Exit 1 exactly when the report says the audit failed (a finding at or above high).
            #expect(result.status == (document.summary.failed ? 1 : 0), "\(result)")
            return Dictionary(document.listeners.map { ("\($0.proto)/\($0.localPort)", $0) }, uniquingKeysWith: { a, _ in a })
        }

        @Test(
            "Policy drop with accepts by set and port: filtered ports raise no exposure finding",
            .enabled(if: canRun, "needs network namespaces, root, python3, nft and ip"))
        func policyDrop() throws {
            let namespace = try TestNamespace()
            try namespace.loadRuleset(
                """
                table inet filter {
                    set allowed { type inet_service; elements = { 22, 8080 } }
                    chain input {
                        type filter hook input priority 0; policy drop;
                        iifname "lo" accept
                        ct state established,related accept
                        tcp dport @allowed accept
                        udp dport 53 accept
                    }
                }
                """)
            try namespace.startPython(namespaceListeners)
            let listeners = try audit(namespace)
            #expect(listeners["tcp/22"]?.firewall?.verdict == "reachable")
            #expect(listeners["tcp/8080"]?.firewall?.verdict == "reachable")
            #expect(listeners["udp/53"]?.firewall?.verdict == "reachable")
            #expect(listeners["tcp/6379"]?.firewall?.verdict == "filtered", "\(String(describing: listeners["tcp/6379"]))")
            #expect(listeners["tcp/6379"]?.verdict == "filtered", "\(String(describing: listeners["tcp/6379"]))")
            #expect(listeners["tcp/6379"]?.findings.isEmpty == true)  // Redis's port, but dropped
            #expect(listeners["udp/123"]?.firewall?.verdict == "filtered")
            #expect(listeners["udp/123"]?.findings.contains("udp-amplification") == false)
            #expect(listeners["udp/53"]?.findings.contains("udp-amplification") == true)
        }

        @Test(
            "Explicit drop and reject by port; a construct it cannot judge is unknown, never filtered",
            .enabled(if: canRun, "needs network namespaces, root, python3, nft and ip"))
        func dropRejectAndUnknown() throws {
            let namespace = try TestNamespace()
            try namespace.loadRuleset(
                """
                table ip filter {
                    chain input {
                        type filter hook input priority 0; policy accept;
                        tcp dport 6379 drop
                        udp dport 123 reject
                        meta mark 0x1 tcp dport 8080 drop
                    }
                }
                """)
            try namespace.startPython(namespaceListeners)
            let listeners = try audit(namespace)
            #expect(listeners["tcp/6379"]?.firewall?.verdict == "filtered")
            #expect(listeners["udp/123"]?.firewall?.verdict == "filtered")
            #expect(listeners["tcp/22"]?.firewall?.verdict == "reachable")
            let unknown = try #require(listeners["tcp/8080"]?.firewall)
            // Nothing says whether other hosts' packets carry mark 0x1: the drop may or may not apply.
            #expect(unknown.verdict == "unknown", "a mark match is neither filtered nor plainly reachable: \(unknown)")
        }
    }
}
