import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Real rpcbind in a network namespace of the test's own, in a mount
/// namespace of its own whose /etc is a copy of the host's with the test's
/// /etc/exports: the audit (run in the same network namespace, the host's
/// mount namespace) must judge rpcbind by the file rpcbind sees, read
/// through /proc/PID/root, not by the host's /etc.
private let rpcbindLauncher = """
    import os, subprocess, sys
    work = os.environ["PC_WORK"]
    subprocess.run(["cp", "-a", "/etc", work + "/etc"], check=True)
    if os.environ["PC_EXPORTS"] == "DIRECTORY":
        os.makedirs(work + "/etc/exports")
    else:
        with open(work + "/etc/exports", "w") as f:
            f.write(os.environ["PC_EXPORTS"])
    subprocess.run(["mount", "--bind", work + "/etc", "/etc"], check=True)
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", "/run"], check=True)
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write("%d\\n" % os.getpid())
    os.rename(sys.argv[1] + ".tmp", sys.argv[1])
    os.execv(os.environ["PC_RPCBIND"], ["rpcbind", "-f"])
    """

struct RPCBindAuditDocument: Decodable {
    struct Finding: Decodable {
        var rule: String
        var severity: String
        var title: String
        var evidence: [String]
        var remediation: String
    }
    struct Listener: Decodable {
        var proto: String
        var localPort: Int
        var findings: [String]
    }
    var findings: [Finding]
    var listeners: [Listener]
}

extension CLITests {
    @Suite("unneeded-listener against a real rpcbind", .serialized)
    struct UnneededListener {
        static let rpcbind = Host.executable("rpcbind", preferring: ["/usr/sbin/rpcbind", "/sbin/rpcbind"])
        static let canRun =
            Host.canMakeNamespaces && Host.isRoot && Host.python3 != nil && rpcbind != nil
            && Host.executable("unshare", preferring: ["/usr/bin/unshare"]) != nil
            && Host.executable("ip", preferring: ["/usr/sbin/ip", "/sbin/ip", "/bin/ip"]) != nil

        /// Starts rpcbind with `exports` as its /etc/exports, audits the namespace, stops it.
        func audit(exports: String) throws -> RPCBindAuditDocument? { try auditWithStderr(exports: exports)?.0 }

        func auditWithStderr(exports: String) throws -> (RPCBindAuditDocument, String)? {
            let namespace = try TestNamespace()
            let work = FileManager.default.temporaryDirectory.appendingPathComponent("pc-rpcbind-\(getpid())-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: work) }
            setenv("PC_WORK", work.path, 1)
            setenv("PC_EXPORTS", exports, 1)
            setenv("PC_RPCBIND", try #require(Self.rpcbind), 1)
            guard
                let pid = try TestNamespace.startPython(
                    rpcbindLauncher, wrappedIn: ["ip", "netns", "exec", namespace.name, "unshare", "-m", "--propagation", "private"])
            else { return nil }
            defer { kill(pid, SIGKILL) }
            // rpcbind binds after exec: audit until its TCP listener shows.
            let deadline = Date().addingTimeInterval(20)
            while Date() < deadline {
                let result = try namespace.runPortcullis([
                    "audit", "--format", "json", "--no-policy", "--client-window", "0", "--fail-on", "critical",
                ])
                try #require(result.status == 0, "\(result)")
                let document = try decodeJSON(RPCBindAuditDocument.self, result.stdout)
                if document.listeners.contains(where: { $0.proto == "tcp" && $0.localPort == 111 }) { return (document, result.err) }
                usleep(100_000)
            }
            Issue.record("rpcbind did not listen on 111/tcp in namespace \(namespace.name)")
            return nil
        }

        @Test(
            "rpcbind with an export-less /etc/exports of its own is unneeded; evidence names what was read",
            .enabled(if: canRun, "needs network namespaces, root, python3, rpcbind and unshare"))
        func unneeded() throws {
            guard let document = try audit(exports: "# /etc/exports: the access control list for filesystems which may be exported\n")
            else { return }
            let found = document.findings.filter { $0.rule == "unneeded-listener" }
            // One finding for rpcbind's four sockets.
            #expect(
                found.map(\.title) == [
                    "rpcbind reachable beyond loopback on 0.0.0.0:111/tcp, [::]:111/tcp, 0.0.0.0:111/udp and [::]:111/udp, and nothing on this host uses it"
                ], "\(found.map(\.title))")
            let first = try #require(found.first)
            #expect(first.severity == "medium")
            #expect(first.evidence.contains { $0.hasPrefix("/etc/exports has no export; no NFS mount") }, "\(first.evidence)")
            #expect(
                first.evidence.contains {
                    $0.hasPrefix("configuration read through /proc/") && $0.hasSuffix("(the program's own mount namespace)")
                })
            #expect(first.remediation.contains("systemctl disable --now rpcbind.service rpcbind.socket"))
        }

        @Test(
            "An /etc/exports rpcbind's root holds but that cannot be read is a warning and no verdict, not a guess",
            .enabled(if: canRun, "needs network namespaces, root, python3, rpcbind and unshare"))
        func unreadable() throws {
            guard let (document, stderr) = try auditWithStderr(exports: "DIRECTORY") else { return }
            #expect(!document.findings.contains { $0.rule == "unneeded-listener" }, "\(document.findings.map(\.title))")
            #expect(
                stderr.contains(
                    "portcullis: warning: rpcbind: could not read /etc/exports: is a directory; whether it is needed is not judged"),
                "\(stderr)")
        }

        @Test(
            "The same rpcbind whose own /etc/exports exports a path is needed: no unneeded-listener finding",
            .enabled(if: canRun, "needs network namespaces, root, python3, rpcbind and unshare"))
        func needed() throws {
            guard let document = try audit(exports: "/srv/share 192.0.2.0/24(ro,no_subtree_check)\n") else { return }
            #expect(!document.findings.contains { $0.rule == "unneeded-listener" }, "\(document.findings.map(\.title))")
            #expect(document.listeners.contains { $0.localPort == 111 })
        }
    }
}

/// A listener on the Redis port with one client connected from a
/// non-loopback address of the namespace (192.0.2.1 on its lo), so the
/// connection's peer is remote as the kernel sees it.
private let datastoreWithClient = """
    import os, socket, sys, time
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("0.0.0.0", 6379))
    server.listen(4)
    client = socket.create_connection(("192.0.2.1", 6379), source_address=("192.0.2.1", 0))
    accepted, _ = server.accept()
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write("%d\\n" % os.getpid())
    os.rename(sys.argv[1] + ".tmp", sys.argv[1])
    while True:
        time.sleep(3600)
    """

extension CLITests {
    @Suite("Remote clients of an exposed datastore: now, recorded by snapshot, and over the client window")
    struct DatastoreClients {
        static let canRun =
            Host.canMakeNamespaces && Host.isRoot && Host.python3 != nil
            && Host.executable("ip", preferring: ["/usr/sbin/ip", "/sbin/ip", "/bin/ip"]) != nil

        @Test(
            "A connected client is evidence now; snapshot records it in snapshot_client; the audit counts it over the window",
            .enabled(if: canRun, "needs network namespaces, root, python3, rpcbind and unshare"))
        func recordedAndCounted() throws {
            let namespace = try TestNamespace()
            // A documentation address on the namespace's lo: not a loopback address, so its peer counts as remote.
            try TestNamespace.must(["ip", "-n", namespace.name, "address", "add", "192.0.2.1/32", "dev", "lo"])
            let scratch = try TemporaryDirectory(prefix: "portcullis-clients")
            defer { scratch.remove() }
            let db = scratch.url.appendingPathComponent("history.db").path

            // No history database yet: the audit says so.
            let empty = try namespace.runPortcullis(["audit", "--format", "json", "--no-policy", "--db", db, "--fail-on", "critical"])
            try #require(empty.status == 0, "\(empty)")
            try namespace.startPython(datastoreWithClient)
            let first = try namespace.runPortcullis(["audit", "--format", "json", "--no-policy", "--db", db, "--fail-on", "critical"])
            try #require(first.status == 0, "\(first)")
            let before = try #require(
                try decodeJSON(RPCBindAuditDocument.self, first.stdout).findings.first { $0.rule == "exposed-datastore" }, "\(first)")
            #expect(before.evidence.contains("remote clients connected now: 192.0.2.1 (1 connection)"), "\(before.evidence)")
            #expect(
                before.evidence.contains("no history database at \(db): take snapshots (portcullis snapshot) to learn which clients use it")
            )
            #expect(!FileManager.default.fileExists(atPath: db), "the audit must never create the history database")

            let snapshot = try namespace.runPortcullis(["snapshot", "--db", db, "--no-policy"])
            try #require(snapshot.status == 0, "\(snapshot)")
            let rows = try Subprocess.run(
                "/usr/bin/env",
                [
                    "python3", "-c",
                    "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT proto, family, local_address, local_port, peer_address, connections FROM snapshot_client').fetchall())",
                    db,
                ],
                timeout: 30)
            #expect(rows.out == "[('tcp', 'ipv4', '0.0.0.0', 6379, '192.0.2.1', 1)]\n", "\(rows)")

            let second = try namespace.runPortcullis(["audit", "--format", "json", "--no-policy", "--db", db, "--fail-on", "critical"])
            let after = try #require(
                try decodeJSON(RPCBindAuditDocument.self, second.stdout).findings.first { $0.rule == "exposed-datastore" }, "\(second)")
            #expect(after.evidence.contains("remote clients seen over the last 7 days: 192.0.2.1 (1 of 1 snapshot)"), "\(after.evidence)")
            #expect(!after.remediation.hasPrefix("No remote client"))
        }
    }
}
