import Foundation
import Glibc
import Testing

@testable import PortcullisCore
@testable import PortcullisLinux

/// The tools the firewall tests need, found by absolute path.
enum FirewallHost {
    static func executable(_ candidates: [String]) -> String? {
        candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static let isRoot = geteuid() == 0
    static let ip = executable(["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"])
    static let nft = executable(FirewallReader.nftPaths)
    static let python3 = executable(["/usr/bin/python3", "/usr/local/bin/python3", "/bin/python3"])
    static let setpriv = executable(["/usr/bin/setpriv", "/bin/setpriv"])
    static let sh = executable(["/bin/sh", "/usr/bin/sh"])
}

@Suite struct FirewallReaderTests {
    // MARK: the child process runner

    @Test(.enabled(if: FirewallHost.sh != nil, "needs /bin/sh"))
    func runsWithoutShellEnvironmentOrInput() throws {
        let sh = try #require(FirewallHost.sh)
        // `export` lists the environment: empty. `cat` reads stdin: /dev/null, so it ends at once.
        let result = try ChildProcess.run(
            path: sh, arguments: ["sh", "-c", "export; cat; echo out; echo err >&2; exit 3"],
            timeoutMilliseconds: 5000, stdoutLimit: 1024)
        let out = String(decoding: result.stdout, as: UTF8.self)
        #expect(result.status == .exited(3))
        #expect(!out.contains("PATH=") && !out.contains("HOME="), "environment leaked: \(out)")
        #expect(out.hasSuffix("out\n"))
        #expect(String(decoding: result.stderr, as: UTF8.self) == "err\n")
        #expect(!result.timedOut && !result.exceededOutputLimit)
        // An argument with spaces and quotes reaches the child unchanged: no shell in between.
        let echo = try ChildProcess.run(
            path: sh, arguments: ["sh", "-c", "printf %s \"$0\"", "a b;'c'"],
            timeoutMilliseconds: 5000, stdoutLimit: 1024)
        #expect(String(decoding: echo.stdout, as: UTF8.self) == "a b;'c'")
    }

    @Test(.enabled(if: FirewallHost.sh != nil, "needs /bin/sh"))
    func reportsSignalsTimeoutsAndOversizedOutput() throws {
        let sh = try #require(FirewallHost.sh)
        let killed = try ChildProcess.run(path: sh, arguments: ["sh", "-c", "kill -9 $$"], timeoutMilliseconds: 5000, stdoutLimit: 1024)
        #expect(killed.status == .signalled(SIGKILL))

        let clock = ContinuousClock()
        let started = clock.now
        let slow = try ChildProcess.run(path: sh, arguments: ["sh", "-c", "sleep 30"], timeoutMilliseconds: 300, stdoutLimit: 1024)
        #expect(slow.timedOut)
        #expect(slow.status == .signalled(SIGKILL))
        #expect(clock.now - started < .seconds(10))

        // A child that closes its output but keeps running is still bounded by the deadline.
        let lingering = try ChildProcess.run(
            path: sh, arguments: ["sh", "-c", "exec >&- 2>&-; sleep 30"],
            timeoutMilliseconds: 300, stdoutLimit: 1024)
        #expect(lingering.timedOut)

        let chatty = try ChildProcess.run(
            path: sh, arguments: ["sh", "-c", "while :; do echo yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy; done"],
            timeoutMilliseconds: 10_000, stdoutLimit: 100_000)
        #expect(chatty.exceededOutputLimit)
        #expect(chatty.stdout.count > 100_000 && chatty.stdout.count < 100_000 + 65_536 + 1)

        #expect(throws: Errno.noSuchFile) {
            try ChildProcess.run(path: "/nonexistent/nft", arguments: ["nft"], timeoutMilliseconds: 1000, stdoutLimit: 10)
        }
    }

    // MARK: reading a ruleset

    @Test(.enabled(if: FirewallHost.sh != nil, "needs /bin/sh"))
    func everyFailureBecomesAReason() throws {
        let sh = try #require(FirewallHost.sh)
        func read(_ script: String, timeout: Int64 = 5000, limit: Int = 1 << 20) -> String {
            switch FirewallReader.readRuleset(
                executable: sh, arguments: ["sh", "-c", script], timeoutMilliseconds: timeout, outputLimit: limit)
            {
            case .nftables: return "model"
            case .unavailable(let why): return why
            }
        }
        #expect(read(#"echo '{"nftables": [{"metainfo": {"version": "1.0.6"}}]}'"#) == "model")
        #expect(read(#"echo '{"nftables": [1'"#) == "nft printed malformed JSON: unexpected end of input at byte 16")
        #expect(read(#"echo '{"tables": []}'"#) == "unexpected nft JSON: no top-level \"nftables\" array")
        #expect(read("sleep 30", timeout: 200) == "\(sh) did not finish within 200 ms; killed")
        #expect(read("while :; do echo y; done", limit: 10_000) == "\(sh) printed more than 10000 bytes; killed")
        // nft's complaint is kept, escaped, on one line.
        let failed = read(#"printf 'Error: No such file or directory\nlist table ip \033[31mnosuch\n' >&2; exit 1"#)
        #expect(failed == #"\#(sh) failed (exit 1): Error: No such file or directory\nlist table ip \x1b[31mnosuch"#)
        let denied = read("echo 'Operation not permitted (you must be root)' >&2; exit 1")
        #expect(
            denied.hasPrefix(
                "permission denied: reading the nftables ruleset needs root (CAP_NET_ADMIN); nft said: Operation not permitted"))
    }

    @Test(
        .enabled(
            if: FirewallHost.isRoot && FirewallHost.setpriv != nil && FirewallHost.nft != nil,
            "needs root, setpriv (util-linux) and nft to run nft as nobody"))
    func nftAsAnUnprivilegedUserIsPermissionDenied() throws {
        let setpriv = try #require(FirewallHost.setpriv)
        let nft = try #require(FirewallHost.nft)
        let source = FirewallReader.readRuleset(
            executable: setpriv,
            arguments: ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", nft, "-j", "list", "ruleset"])
        guard case .unavailable(let why) = source else {
            Issue.record("nft as nobody read the ruleset")
            return
        }
        #expect(why.hasPrefix("permission denied: reading the nftables ruleset needs root (CAP_NET_ADMIN)"), "\(why)")
    }

    @Test func onlyARootOwnedUnwritableBinaryIsRun() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pc-fw-trust-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("nft").path
        #expect(FileManager.default.createFile(atPath: file, contents: Data("#!/bin/sh\n".utf8)))
        chmod(file, 0o777)
        let writable = try #require(FirewallReader.untrustworthy(file))
        if FirewallHost.isRoot {
            #expect(writable == "refusing to run \(file): writable by group or others (mode 777)")
        } else {
            #expect(writable.contains("not root"))
        }
        #expect(FirewallReader.untrustworthy(directory.path) == "refusing to run \(directory.path): not a regular file")
        if FirewallHost.isRoot, let nft = FirewallHost.nft {
            #expect(FirewallReader.untrustworthy(nft) == nil)
        }
    }

    @Test func legacyTablesAreReadFromProc() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("pc-fw-proc-\(getpid())")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("net"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        try "filter\nnat\n".write(to: root.appendingPathComponent("net/ip_tables_names"), atomically: true, encoding: .utf8)
        let (v4, v6) = FirewallReader.legacyTables(procRoot: root.path)
        #expect(v4 == ["filter", "nat"])
        #expect(v6 == [])
        #expect(FirewallReader.legacyTables(procRoot: "/nonexistent/proc") == ([], []))
    }

    /// The product's entry point on this host: it reads (never changes) the
    /// host ruleset. As root with nft installed that must give a model; the
    /// other outcomes are `nftAsAnUnprivilegedUserIsPermissionDenied` and
    /// `everyFailureBecomesAReason`.
    @Test(.enabled(if: FirewallHost.isRoot && FirewallHost.nft != nil, "needs root and nft to read the host ruleset"))
    func readsTheLiveHost() throws {
        let snapshot = FirewallReader.read()
        let model = try #require(snapshot.model, "root could not read the ruleset: \(snapshot.unavailableReason ?? "")")
        #expect(model.nftVersion != nil)
        #expect(snapshot.unavailableReason == nil)
    }
}
