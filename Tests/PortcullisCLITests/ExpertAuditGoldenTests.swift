import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension CLITests {
    /// The audit of a Debian server, checked finding by finding. Fixtures/expert-lab/lab.sh
    /// starts the real packages' daemons (openssh-server, postfix, dnsmasq, rpcbind, chrony,
    /// snmpd, samba, mariadb, redis, memcached) in a network namespace of the test's own, with
    /// their default configuration and then with a hardened one; the audit's findings, each
    /// reduced to rule, severity, sockets and fix, must equal default.golden and hardened.golden.
    /// `PORTCULLIS_UPDATE_GOLDEN=1` rewrites the golden files (and the text reports beside them)
    /// instead of comparing.
    @Suite("An expert's audit of a Debian server (golden files)")
    struct ExpertAuditGolden {
        static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/expert-lab")
        static let lab = directory.appendingPathComponent("lab.sh").path
        static let ip = Host.executable("ip", preferring: ["/usr/sbin/ip", "/sbin/ip", "/bin/ip"])
        static let updating = ProcessInfo.processInfo.environment["PORTCULLIS_UPDATE_GOLDEN"] == "1"

        /// The lab's packages this host lacks (`lab.sh missing`); nil when that cannot be asked.
        static let missingPackages: [String]? = {
            guard Host.isRoot, ip != nil, Host.hasIPv6Loopback, Host.canMakeNamespaces,
                let result = try? Subprocess.run("/bin/bash", [lab, "missing"], timeout: 30), result.status == 0
            else { return nil }
            return result.out.split(separator: "\n").map(String.init)
        }()

        static let canRun = missingPackages?.isEmpty == true
        static let skipReason: Comment = {
            if !Host.isRoot { return "needs root: network namespaces and the daemons' own users" }
            if ip == nil { return "needs ip (iproute2)" }
            if !Host.canMakeNamespaces { return "cannot make network namespaces here (ip netns add, unshare -n)" }
            if !Host.hasIPv6Loopback { return "needs IPv6: the lab's interface has 2001:db8::2" }
            guard let missing = missingPackages else { return "Fixtures/expert-lab/lab.sh missing could not run" }
            return "needs the Debian packages \(missing.joined(separator: ", ")) (.ci/run installs them)"
        }()

        @Test("default configuration", .enabled(if: canRun, skipReason), .timeLimit(.minutes(5)))
        func defaultConfiguration() throws {
            try check(mode: "default")
        }

        @Test("hardened configuration", .enabled(if: canRun, skipReason), .timeLimit(.minutes(5)))
        func hardenedConfiguration() throws {
            try check(mode: "hardened")
        }

        /// Starts the lab in `mode`, audits it, compares with `<mode>.golden`, stops the lab.
        func check(mode: String) throws {
            let namespace = "pcx\(mode.prefix(1))\(getpid() % 100_000)"
            let up = try Subprocess.run("/bin/bash", [Self.lab, "up", mode, namespace], timeout: 150)
            defer { _ = try? Subprocess.run("/bin/bash", [Self.lab, "down", namespace], timeout: 90) }
            try #require(up.status == 0, "the lab did not come up:\n\(up)")

            // Inside the namespace, so the audit reads the lab's /etc/netns overrides as /etc.
            let binary = try CLI.binary()
            let ip = try #require(Self.ip)
            let json = try Subprocess.run(
                ip, ["netns", "exec", namespace, binary, "audit", "--netns", namespace, "--no-policy", "--format", "json"])
            try #require(json.status == 0 || json.status == 1, "audit failed:\n\(json)")
            let actual = try Self.golden(fromAuditJSON: json.stdout)

            let goldenURL = Self.directory.appendingPathComponent("\(mode).golden")
            if Self.updating {
                try actual.write(to: goldenURL, atomically: true, encoding: .utf8)
                let table = try Subprocess.run(
                    ip, ["netns", "exec", namespace, binary, "audit", "--netns", namespace, "--no-policy"])
                try #require(table.status == 0 || table.status == 1, "audit failed:\n\(table)")
                // Pids change from run to run; the files beside the golden ones are for reading.
                try table.out.replacing(try Regex(#"\[[0-9]+\]"#), with: "[PID]").replacing(
                    try Regex(#"/proc/[0-9]+/"#), with: "/proc/PID/"
                )
                .write(
                    to: Self.directory.appendingPathComponent("\(mode).txt"), atomically: true, encoding: .utf8)
                let sockets = try Subprocess.run("/bin/bash", [Self.lab, "sockets", namespace], timeout: 30)
                try sockets.out.replacing(try Regex(#"pid=[0-9]+,"#), with: "").write(
                    to: Self.directory.appendingPathComponent("\(mode).sockets"), atomically: true, encoding: .utf8)
                return
            }
            let expected = try #require(
                try? String(contentsOf: goldenURL, encoding: .utf8),
                "no golden file \(goldenURL.path); PORTCULLIS_UPDATE_GOLDEN=1 writes it")
            if actual != expected {
                Issue.record(
                    """
                    the \(mode) lab's findings differ from \(goldenURL.path) \
                    (PORTCULLIS_UPDATE_GOLDEN=1 rewrites it):
                    \(Self.unifiedDiff(expected: expected, actual: actual))
                    """)
            }
        }

        // MARK: - The golden form

        /// One block per finding, sorted: `rule severity`, then `id:` (when the audit gives
        /// one), a `socket:` line per socket ("proto address:port", sorted) and `fix:`.
        /// Titles, evidence, pids and inodes are left out: they are not what the golden
        /// file pins down.
        static func golden(fromAuditJSON data: [UInt8]) throws -> String {
            let object = try JSONSerialization.jsonObject(with: Data(data))
            let top = try #require(object as? [String: Any], "audit JSON is not an object")
            let findings = try #require(top["findings"] as? [[String: Any]], "audit JSON has no findings array")
            let blocks = try findings.map { finding -> (key: String, text: String) in
                let rule = try #require(finding["rule"] as? String, "a finding without rule: \(finding)")
                let severity = try #require(finding["severity"] as? String, "a finding without severity: \(finding)")
                let fix = finding["remediation"] as? String ?? ""
                var sockets: [String] = []
                if let list = finding["sockets"] as? [Any] {
                    sockets = list.map(socketText)
                } else if let subject = finding["subject"], !(subject is NSNull) {
                    sockets = [socketText(subject)]
                }
                sockets.sort { socketOrder($0) < socketOrder($1) }
                var lines = ["\(rule) \(severity)"]
                if let id = finding["id"] as? String { lines.append("  id: \(id)") }
                lines += sockets.map { "  socket: \($0)" }
                lines.append("  fix: \(fix)")
                let key = [rule, sockets.first.map(socketOrder) ?? "", finding["id"] as? String ?? "", fix]
                    .joined(separator: "\u{1}")
                return (key, lines.joined(separator: "\n"))
            }
            let sorted = blocks.sorted { $0.key < $1.key }.map(\.text)
            return sorted.isEmpty ? "(no findings)\n" : sorted.joined(separator: "\n\n") + "\n"
        }

        /// Sorts "udp 0.0.0.0:53" before "udp 0.0.0.0:111": port (as a number), then protocol, then address.
        static func socketOrder(_ socket: String) -> String {
            let parts = socket.split(separator: " ", maxSplits: 1).map(String.init)
            guard parts.count == 2, let colon = parts[1].lastIndex(of: ":"),
                let port = Int(parts[1][parts[1].index(after: colon)...])
            else { return socket }
            let padded = String(repeating: "0", count: max(0, 5 - String(port).count)) + String(port)
            return "\(padded) \(parts[0]) \(parts[1][..<colon])"
        }

        /// "tcp 0.0.0.0:22", "udp [::]:53": from a socket object (proto, local_address,
        /// local_port) or a string as the audit wrote it.
        static func socketText(_ value: Any) -> String {
            if let text = value as? String { return text }
            guard let socket = value as? [String: Any] else { return "\(value)" }
            let proto = socket["proto"] as? String ?? "?"
            let address = socket["local_address"] as? String ?? socket["address"] as? String ?? "?"
            let shown = address.contains(":") ? "[\(address)]" : address
            if let port = (socket["local_port"] ?? socket["port"]) as? Int { return "\(proto) \(shown):\(port)" }
            return "\(proto) \(shown)"
        }

        /// A line diff in unified style (`-` expected, `+` actual, two lines of context),
        /// from the longest common subsequence of lines.
        static func unifiedDiff(expected: String, actual: String) -> String {
            let a = expected.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            let b = actual.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            var lcs = Array(repeating: Array(repeating: 0, count: b.count + 1), count: a.count + 1)
            for i in stride(from: a.count - 1, through: 0, by: -1) {
                for j in stride(from: b.count - 1, through: 0, by: -1) {
                    lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : max(lcs[i + 1][j], lcs[i][j + 1])
                }
            }
            var ops: [(Character, String)] = []
            var i = 0
            var j = 0
            while i < a.count || j < b.count {
                if i < a.count, j < b.count, a[i] == b[j] {
                    ops.append((" ", a[i]))
                    i += 1
                    j += 1
                } else if i < a.count, j == b.count || lcs[i + 1][j] >= lcs[i][j + 1] {
                    ops.append(("-", a[i]))
                    i += 1
                } else {
                    ops.append(("+", b[j]))
                    j += 1
                }
            }
            let changed = ops.indices.filter { ops[$0].0 != " " }
            let shown = Set(changed.flatMap { max(0, $0 - 2)...min(ops.count - 1, $0 + 2) })
            var out = ["--- expected", "+++ actual"]
            var previous = -2
            for index in shown.sorted() {
                if index != previous + 1 { out.append("@@") }
                out.append("\(ops[index].0)\(ops[index].1)")
                previous = index
            }
            return out.joined(separator: "\n")
        }
    }
}
