import PortcullisCore

/// Reads the host firewall: runs `nft -j list ruleset` (JSON, parsed, never
/// scraped as text) and notes legacy iptables tables, which nftables'
/// listing does not show.
///
/// nft is run by absolute path (no PATH lookup, no shell), with an empty
/// environment, stdin from /dev/null, a 5 s time limit and a 64 MiB cap on
/// what it prints; and only if the binary is a root-owned regular file that
/// no one else can write, since portcullis runs as root and a replaced nft
/// would run as root too.
public enum FirewallReader {
    /// Where nft is looked for, in order; the first path that exists is used (never a PATH lookup).
    public static let nftPaths = ["/usr/sbin/nft", "/sbin/nft"]
    /// How long nft may run before it is killed and the ruleset reported unavailable.
    public static let timeoutMilliseconds: Int64 = 5000
    /// The most nft may print, in bytes (64 MiB); more makes the ruleset unavailable rather than truncated.
    public static let outputLimit = 64 * 1024 * 1024

    /// The firewall as the live host sees it.
    public static func read(procRoot: String = "/proc") -> FirewallSnapshot {
        let (legacy4, legacy6) = legacyTables(procRoot: procRoot)
        return FirewallSnapshot(source: nftablesSource(), legacyIPv4Tables: legacy4, legacyIPv6Tables: legacy6)
    }

    static func nftablesSource() -> FirewallSnapshot.Source {
        guard let path = nftPaths.first(where: { (try? Sys.fileStatus($0)) != nil }) else {
            return .unavailable(
                "nft (nftables) is not installed (looked for \(nftPaths.joined(separator: ", "))): "
                    + "the firewall ruleset cannot be read")
        }
        if let problem = untrustworthy(path) { return .unavailable(problem) }
        return readRuleset(executable: path, arguments: [path, "-j", "list", "ruleset"], iptablesSave: iptablesSaveText())
    }

    /// Where iptables-nft-save and ip6tables-nft-save are looked for.
    public static let iptablesSavePaths: [AddressFamily: [String]] = [
        .ipv4: ["/usr/sbin/iptables-nft-save", "/sbin/iptables-nft-save"],
        .ipv6: ["/usr/sbin/ip6tables-nft-save", "/sbin/ip6tables-nft-save"],
    ]

    /// The rules iptables-nft wrote, as its save tool prints them: nft's JSON
    /// names an xtables match or target (DNAT, conntrack, addrtype) but not
    /// its options, so Docker's, kube-proxy's and CNI's DNAT targets are read
    /// from this text and joined to the JSON rule by rule. Absent when the
    /// tool is not installed, not trustworthy, or fails (the targets then
    /// stay unreadable, and say so).
    static func iptablesSaveText() -> [AddressFamily: String] {
        var texts: [AddressFamily: String] = [:]
        for (family, paths) in iptablesSavePaths {
            guard let path = paths.first(where: { (try? Sys.fileStatus($0)) != nil }), untrustworthy(path) == nil,
                let result = try? ChildProcess.run(
                    path: path, arguments: [path], timeoutMilliseconds: timeoutMilliseconds, stdoutLimit: outputLimit),
                !result.timedOut, !result.exceededOutputLimit, case .exited(0) = result.status,
                let text = String(validating: result.stdout, as: UTF8.self)
            else { continue }
            texts[family] = text
        }
        return texts
    }

    /// Why an nft binary should not be run as root, if it should not.
    static func untrustworthy(_ path: String) -> String? {
        guard let info = try? Sys.fileStatus(path) else { return "cannot inspect \(path)" }
        if !info.isRegular { return "refusing to run \(path): not a regular file" }
        if info.uid != 0 { return "refusing to run \(path): owned by uid \(info.uid), not root" }
        if info.mode & 0o022 != 0 {
            return "refusing to run \(path): writable by group or others (mode \(String(info.mode & 0o7777, radix: 8)))"
        }
        return nil
    }

    /// Runs a command that prints `nft -j list ruleset` output, and builds
    /// the model from it. `arguments` starts with argv[0]. Tests use it to
    /// read a network namespace's ruleset via `ip netns exec`.
    static func readRuleset(
        executable: String, arguments: [String], timeoutMilliseconds: Int64 = timeoutMilliseconds, outputLimit: Int = outputLimit,
        iptablesSave: [AddressFamily: String] = [:]
    ) -> FirewallSnapshot.Source {
        let result: ChildProcessResult
        do {
            result = try ChildProcess.run(
                path: executable, arguments: arguments, timeoutMilliseconds: timeoutMilliseconds, stdoutLimit: outputLimit)
        } catch {
            return .unavailable("could not run \(executable): \(error)")
        }
        if result.timedOut {
            return .unavailable("\(executable) did not finish within \(timeoutMilliseconds) ms; killed")
        }
        if result.exceededOutputLimit {
            return .unavailable("\(executable) printed more than \(outputLimit) bytes; killed")
        }
        let said = errorText(result.stderr)
        switch result.status {
        case .signalled(let signal):
            return .unavailable("\(executable) was killed by signal \(signal)\(said.map { ": \($0)" } ?? "")")
        case .exited(let code) where code != 0:
            let lower = said?.lowercased() ?? ""
            if Sys.realUserID() != 0 || Sys.userID() != 0 || lower.contains("operation not permitted")
                || lower.contains("permission denied")
            {
                return .unavailable(
                    "permission denied: reading the nftables ruleset needs root (CAP_NET_ADMIN)"
                        + (said.map { "; nft said: \($0)" } ?? ""))
            }
            return .unavailable("\(executable) failed (exit \(code))\(said.map { ": \($0)" } ?? "")")
        case .exited:
            do {
                return .nftables(try FirewallModel(nftJSON: result.stdout, iptablesSave: iptablesSave))
            } catch {
                return .unavailable(error.description)
            }
        }
    }

    /// nft's complaint, escaped (it may echo names from the ruleset) and
    /// kept to one readable line.
    static func errorText(_ bytes: [UInt8]) -> String? {
        let text = oneLine(UntrustedText.escape(bytes.prefix(400)))
        guard !text.isEmpty else { return nil }
        return text.count > 300 ? String(text.prefix(299)) + "…" : text
    }

    /// x_tables tables in use: /proc/net/ip_tables_names and
    /// ip6_tables_names list one per line (the files are absent when the
    /// modules are not loaded). iptables-nft does not use them.
    static func legacyTables(procRoot: String) -> (v4: [String], v6: [String]) {
        guard let proc = try? ProcFS(root: procRoot) else { return ([], []) }
        func names(_ file: String) -> [String] {
            guard let bytes = try? proc.read(file) else { return [] }
            return bytes.split(separator: 0x0a).map { UntrustedText.escape($0) }.filter { !$0.isEmpty }
        }
        return (names("net/ip_tables_names"), names("net/ip6_tables_names"))
    }

    /// Without leading and trailing blanks and (escaped) newlines.
    static func oneLine(_ text: String) -> String {
        var s = Substring(text)
        while true {
            if let first = s.first, first == " " || first == "\t" {
                s = s.dropFirst()
                continue
            }
            if s.hasSuffix("\\n") {
                s = s.dropLast(2)
                continue
            }
            if let last = s.last, last == " " || last == "\t" {
                s = s.dropLast()
                continue
            }
            return String(s)
        }
    }
}
