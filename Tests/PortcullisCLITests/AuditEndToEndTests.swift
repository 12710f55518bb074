import Foundation
import PortcullisTestSupport
import Testing

/// Real listeners, as the issue describes: Redis's port open to the world,
/// a second one on loopback, NTP's UDP port, and a server run from a copy
/// of its executable in /tmp that is then deleted.
let auditFixtureScript = #"""
    import json, os, shutil, socket, subprocess, sys, tempfile, time
    keep = []
    def listen(family, kind, address, port):
        s = socket.socket(family, kind)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((address, port))
        if kind == socket.SOCK_STREAM:
            s.listen(8)
        keep.append(s)
    listen(socket.AF_INET, socket.SOCK_STREAM, "0.0.0.0", 6379)
    listen(socket.AF_INET, socket.SOCK_STREAM, "127.0.0.1", 6380)
    listen(socket.AF_INET, socket.SOCK_DGRAM, "0.0.0.0", 123)
    # A copy of the interpreter in /tmp serves a loopback port, then the copy is deleted.
    directory = tempfile.mkdtemp(prefix="pc-audit-", dir="/tmp")
    copy = os.path.join(directory, "implant")
    shutil.copy2(os.path.realpath(sys.executable), copy)
    child = subprocess.Popen([copy, "-c", "import socket,sys,time\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\ns.bind(('127.0.0.1', int(sys.argv[1])))\ns.listen(4)\nprint('up', flush=True)\nsys.stdin.read()\n", sys.argv[1]],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    child.stdout.readline()
    os.unlink(copy)
    os.rmdir(directory)
    print(json.dumps({"pid": os.getpid(), "implant": child.pid}), flush=True)
    try:
        sys.stdin.read()
    finally:
        child.kill()
    """#

struct AuditFindingJSON: Decodable {
    struct Subject: Decodable {
        var proto: String
        var localPort: Int?
    }
    var rule: String
    var severity: String
    var subject: Subject?
    var owners: [OwnerRef]
    struct OwnerRef: Decodable { var pid: Int32 }
}

struct AuditDocumentJSON: Decodable {
    struct Summary: Decodable {
        var failed: Bool
        var failOn: String
    }
    var summary: Summary
    var findings: [AuditFindingJSON]
    var suppressed: [AuditFindingJSON]
}

extension CLITests {
    @Suite("Audit end to end")
    struct AuditEndToEnd {
        func findings(_ document: AuditDocumentJSON, ports: Set<Int>) -> [String] {
            document.findings.filter { f in f.subject?.localPort.map(ports.contains) ?? false }
                .map { "\($0.rule) \($0.severity) \($0.subject?.proto ?? "")/\($0.subject?.localPort ?? 0)" }.sorted()
        }

        /// `portcullis ARGUMENTS --netns NAME` run inside the namespace: as
        /// root every namespace is read, so the audit keeps to this one.
        func audit(_ namespace: TestNamespace, _ arguments: [String]) throws -> CommandResult {
            try namespace.runPortcullis(["audit", "--no-firewall", "--netns", namespace.name] + arguments)
        }

        @Test(
            "Real listeners give exactly the expected findings and exit code; a policy allowing 6379 removes its finding",
            .enabled(
                if: Host.rootWithPython && Host.canMakeNamespaces,
                "needs root, python3 and network namespaces (its listeners bind 6379 and 123 in a namespace of their own)"))
        func realListeners() throws {
            // A namespace of the test's own: the host's Redis (on 6379 where
            // redis-server is installed) and other tests' listeners are not in it.
            let namespace = try TestNamespace()
            // Below the ephemeral range (a listener there has a finding of its own) and no well-known backdoor port.
            let implantPort = 24123
            let fixture = try PythonFixture(
                script: auditFixtureScript, name: "audit_fixture.py", arguments: ["\(implantPort)"], namespace: namespace.name)
            defer { fixture.stop() }
            let implant = try #require(fixture.int("implant"))
            let ports: Set<Int> = [6379, 6380, 123, implantPort]
            // The host's own firewall is not part of this test: judge by address.
            let result = try audit(namespace, ["--no-policy", "--format", "json"])
            #expect(result.status == 1, "high findings must fail the audit: \(result)")
            let document = try decodeJSON(AuditDocumentJSON.self, result.stdout)
            #expect(document.summary.failed && document.summary.failOn == "high")
            #expect(
                findings(document, ports: ports) == [
                    "deleted-executable high tcp/\(implantPort)",
                    "exposed-datastore high tcp/6379",
                    "udp-amplification medium udp/123",
                    "unsafe-executable-location high tcp/\(implantPort)",
                ])
            let deleted = try #require(
                document.findings.first { $0.rule == "deleted-executable" && $0.subject?.localPort == Int(implantPort) })
            #expect(deleted.owners.map(\.pid) == [Int32(implant)])

            // The text report and --fail-on.
            // Nothing here is critical, so --fail-on critical passes.
            #expect(!document.findings.contains { $0.severity == "critical" }, "\(document.findings.map(\.rule))")
            let text = try audit(namespace, ["--no-policy", "--fail-on", "critical"])
            #expect(text.status == 0, "\(text)")
            #expect(text.out.contains("[exposed-datastore] Redis reachable beyond loopback on 0.0.0.0:6379/tcp"))

            // A policy that allows 6379 as it is: that finding goes (kept as suppressed).
            let directory = try TemporaryDirectory(prefix: "portcullis-policy")
            defer { directory.remove() }
            let policy = directory.url.appendingPathComponent("policy.yaml")
            try Data(
                """
                version: 1
                allow:
                  - port: 6379
                    proto: tcp
                    exposure: any
                """.utf8
            ).write(to: policy)
            let allowed = try audit(namespace, ["--policy", policy.path, "--format", "json"])
            let allowedDocument = try decodeJSON(AuditDocumentJSON.self, allowed.stdout)
            let remaining = findings(allowedDocument, ports: ports)
            #expect(!remaining.contains("exposed-datastore high tcp/6379"), "\(remaining)")
            #expect(remaining.contains("deleted-executable high tcp/\(implantPort)"))
            #expect(remaining.contains("not-in-policy medium udp/123"))
            #expect(!remaining.contains { $0.hasPrefix("not-in-policy") && $0.hasSuffix("tcp/6379") })
            #expect(allowedDocument.suppressed.contains { $0.rule == "exposed-datastore" && $0.subject?.localPort == 6379 })

            // JUnit for CI systems.
            let junit = try audit(namespace, ["--no-policy", "--format", "junit"])
            #expect(junit.status == 1)
            #expect(junit.out.hasPrefix("<?xml") && junit.out.contains("<failure type=\"exposed-datastore\""))
        }

        @Test("A broken policy is a usage error naming file, line and column")
        func brokenPolicy() throws {
            let directory = try TemporaryDirectory(prefix: "portcullis-policy")
            defer { directory.remove() }
            let policy = directory.url.appendingPathComponent("bad.yaml")
            try Data("version: 1\nallow:\n  - port: 90-80\n".utf8).write(to: policy)
            let result = try CLI.run(["audit", "--no-firewall", "--policy", policy.path])
            #expect(result.status == 2, "\(result)")
            #expect(result.err.contains("\(policy.path):3:"), "\(result)")
            #expect(result.out.isEmpty)
            let missing = try CLI.run(["audit", "--policy", "/nonexistent/policy.yaml"])
            #expect(missing.status == 2 && missing.err.contains("/nonexistent/policy.yaml"), "\(missing)")
        }

        @Test(
            "policy init allows what listens now, and never overwrites a file",
            .enabled(if: Host.python3 != nil, "needs python3"))
        func policyInit() throws {
            let directory = try TemporaryDirectory(prefix: "portcullis-policy")
            defer { directory.remove() }
            let listener = try LocalListener(address: "0.0.0.0")
            defer { withExtendedLifetime(listener) {} }
            let path = directory.url.appendingPathComponent("policy.yaml").path
            let written = try CLI.run(["policy", "init", "--output", path])
            #expect(written.status == 0, "\(written)")
            let check = try CLI.run(["policy", "check", path])
            #expect(check.status == 0 && check.out.contains("ok"), "\(check)")
            let audit = try CLI.run(["audit", "--no-firewall", "--policy", path, "--format", "json"])
            let document = try decodeJSON(AuditDocumentJSON.self, audit.stdout)
            #expect(!document.findings.contains { $0.rule == "not-in-policy" && $0.subject?.localPort == Int(listener.port) }, "\(audit)")
            let again = try CLI.run(["policy", "init", "--output", path])
            #expect(again.status == 3 && again.err.contains("File exists"), "\(again)")
        }
    }
}
