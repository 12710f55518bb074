/// The text of /etc/hosts, for looking names up without NSS.
///
/// Each line is `ADDRESS NAME [ALIAS...]`; `#` starts a comment. Addresses
/// are parsed strictly (as glibc's inet_pton does: no `127.1`); a line whose
/// address cannot be read, or carries an IPv6 zone index (`fe80::1%eth0`,
/// which a scan cannot use), is skipped and reported in `diagnostics`.
public struct HostsFile: Sendable {
    /// Addresses by lower-cased name without trailing dot, in file order.
    private var table: [String: [IPAddress]] = [:]
    /// Lines that were skipped (capped at 20), naming the file and line.
    public private(set) var diagnostics: [Diagnostic] = []

    /// An empty hosts file.
    public init() {}

    /// Parses `text`; `path` is used in diagnostics only.
    public init(_ text: String, path: String = "/etc/hosts") {
        var lineNumber = 0
        var skipped = 0
        for line in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            lineNumber += 1
            let content = line.firstIndex(of: "#").map { line[..<$0] } ?? line
            let words = content.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
            guard let first = words.first else { continue }
            guard words.count >= 2, !first.contains("%"), let address = IPAddress(parsing: String(first)) else {
                skipped += 1
                if skipped <= 20 {
                    let why =
                        words.count < 2
                        ? "no name after the address"
                        : first.contains("%") ? "zone indexes are not supported" : "not an IP address"
                    diagnostics.append(
                        Diagnostic(
                            .notice,
                            "\(UntrustedText.escape(path)):\(lineNumber): line skipped "
                                + "(\(why)): \(UntrustedText.escape(String(content.prefix(80))))"))
                }
                continue
            }
            for name in words.dropFirst() {
                let key = DNSMessage.canonical(String(name))
                if !(table[key]?.contains(address) ?? false) { table[key, default: []].append(address) }
            }
        }
    }

    /// Every address listed for `name` (compared without regard to ASCII
    /// case, a trailing dot ignored), in file order, each once. Empty when
    /// the name is not listed.
    public func addresses(for name: String) -> [IPAddress] { table[DNSMessage.canonical(name)] ?? [] }
}
