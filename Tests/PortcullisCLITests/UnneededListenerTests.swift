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
            Host.isRoot && Host.python3 != nil && rpcbind != nil
            && Host.executable("unshare", preferring: ["/usr/bin/unshare"]) != nil
            && Host.executable("ip", preferring: ["/usr/sbin/ip", "/sbin/ip", "/bin/ip"]) != nil

        /// Starts rpcbind with `exports` as its /etc/exports, audits the namespace, stops it.
        func audit(exports: String) throws -> RPCBindAuditDocument? {
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
                let result = try namespace.runPortcullis(["audit", "--format", "json", "--no-policy", "--client-window", "0", "--fail-on", "critical"])
                try #require(result.status == 0, "\(result)")
                let document = try decodeJSON(RPCBindAuditDocument.self, result.stdout)
                if document.listeners.contains(where: { $0.proto == "tcp" && $0.localPort == 111 }) { return document }
                usleep(100_000)
            }
            Issue.record("rpcbind did not listen on 111/tcp in namespace \(namespace.name)")
            return nil
        }

        @Test("rpcbind with an export-less /etc/exports of its own is unneeded; evidence names what was read", .enabled(if: canRun))
        func unneeded() throws {
            guard let document = try audit(exports: "# /etc/exports: the access control list for filesystems which may be exported\n")
            else { return }
            let found = document.findings.filter { $0.rule == "unneeded-listener" }
            let titles = Set(found.map(\.title))
            #expect(titles.contains("rpcbind reachable beyond loopback on 0.0.0.0:111/tcp, and nothing on this host uses it"), "\(titles)")
            let first = try #require(found.first)
            #expect(first.severity == "medium")
            #expect(first.evidence.contains { $0.hasPrefix("/etc/exports has no export; no NFS mount") }, "\(first.evidence)")
            #expect(first.evidence.contains { $0.hasPrefix("configuration read through /proc/") && $0.hasSuffix("(the program's own mount namespace)") })
            #expect(first.remediation.contains("systemctl disable --now rpcbind.service rpcbind.socket"))
        }

        @Test("The same rpcbind whose own /etc/exports exports a path is needed: no unneeded-listener finding", .enabled(if: canRun))
        func needed() throws {
            guard let document = try audit(exports: "/srv/share 192.0.2.0/24(ro,no_subtree_check)\n") else { return }
            #expect(!document.findings.contains { $0.rule == "unneeded-listener" }, "\(document.findings.map(\.title))")
            #expect(document.listeners.contains { $0.localPort == 111 })
        }
    }
}
