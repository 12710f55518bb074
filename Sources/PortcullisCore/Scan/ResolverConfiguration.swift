/// A DNS server to ask: an address and a UDP/TCP port (53 unless a test
/// points elsewhere).
public struct Nameserver: Sendable, Hashable, CustomStringConvertible {
    /// The server's IPv4 or IPv6 address.
    public var address: IPAddress
    /// UDP and TCP port to send queries to, in host byte order.
    public var port: UInt16

    /// A nameserver at `address`, on port 53 unless told otherwise.
    public init(_ address: IPAddress, port: UInt16 = 53) {
        self.address = address
        self.port = port
    }

    /// `10.0.0.53` on port 53; `127.0.0.1:5353` or `[::1]:5353` otherwise.
    public var description: String {
        if port == 53 { return address.description }
        return address.kind == .v6 ? "[\(address)]:\(port)" : "\(address):\(port)"
    }
}

/// How to resolve names by DNS, read from /etc/resolv.conf the way glibc
/// reads it (resolv.conf(5)):
///
/// - `nameserver ADDRESS`: up to three are used, in order (glibc's MAXNS);
///   with none, 127.0.0.1 is asked, as glibc does;
/// - `options timeout:N` (seconds per try, 1-30, default 5), `attempts:N`
///   (rounds over all nameservers, 1-5, default 2), `ndots:N` (0-15,
///   default 1); other options are ignored;
/// - `search D...` and `domain D` (the last one given wins): a name with
///   fewer dots than `ndots` is tried with each search domain appended
///   before it is tried as given; other names are tried as given first. A
///   trailing dot (`host.`) turns the search off. Unlike glibc, no search
///   domain is taken from the machine's own hostname when neither line is present.
public struct ResolverConfiguration: Sendable, Hashable {
    /// The servers to ask, in order; parsing keeps at most three (`maximumNameservers`) and falls
    /// back to 127.0.0.1 when the file names none.
    public var nameservers: [Nameserver]
    /// How long to wait for a reply from one nameserver in one round.
    public var timeoutMilliseconds: Int
    /// Rounds over the nameservers before giving up.
    public var attempts: Int
    /// Domains tried after (or, for a name with fewer than `ndots` dots, before) the name as given:
    /// the last `search` or `domain` line, in order.
    public var searchDomains: [String]
    /// A name with at least this many dots is tried as given before the search domains (`options ndots:N`, 0-15).
    public var ndots: Int
    /// Lines that were ignored, and why.
    public var diagnostics: [Diagnostic] = []

    /// glibc's limit on nameservers (MAXNS).
    public static let maximumNameservers = 3

    /// A configuration from its parts; the defaults are glibc's (5 s per try, 2 rounds, no search domain, ndots 1).
    public init(
        nameservers: [Nameserver], timeoutMilliseconds: Int = 5000, attempts: Int = 2,
        searchDomains: [String] = [], ndots: Int = 1
    ) {
        self.nameservers = nameservers
        self.timeoutMilliseconds = timeoutMilliseconds
        self.attempts = attempts
        self.searchDomains = searchDomains
        self.ndots = ndots
    }

    /// Parses the text of resolv.conf; `path` is used in diagnostics only.
    public init(resolvConf text: String, path: String = "/etc/resolv.conf") {
        self.init(nameservers: [])
        var lineNumber = 0
        func note(_ message: String) {
            diagnostics.append(Diagnostic(.notice, "\(UntrustedText.escape(path)):\(lineNumber): \(message)"))
        }
        for line in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            lineNumber += 1
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
            guard let keyword = words.first, !keyword.hasPrefix("#"), !keyword.hasPrefix(";") else { continue }
            switch keyword {
            case "nameserver":
                guard words.count >= 2 else {
                    note("nameserver line without an address ignored")
                    continue
                }
                let text = String(words[1])
                guard !text.contains("%"), let address = IPAddress(parsing: text) else {
                    note(
                        "nameserver \"\(UntrustedText.escape(text))\" ignored "
                            + (text.contains("%") ? "(zone indexes are not supported)" : "(not an IP address)"))
                    continue
                }
                if nameservers.count < Self.maximumNameservers {
                    nameservers.append(Nameserver(address))
                } else {
                    note("nameserver \(address) ignored (only the first \(Self.maximumNameservers) are used, as by glibc)")
                }
            case "search":
                searchDomains = words.dropFirst().map(String.init)
            case "domain":
                searchDomains = words.count >= 2 ? [String(words[1])] : []
            case "options":
                for option in words.dropFirst() {
                    guard let colon = option.firstIndex(of: ":") else { continue }
                    let name = option[..<colon]
                    let value = Int(option[option.index(after: colon)...])
                    switch (name, value) {
                    case ("timeout", let n?): timeoutMilliseconds = min(max(n, 1), 30) * 1000
                    case ("attempts", let n?): attempts = min(max(n, 1), 5)
                    case ("ndots", let n?): ndots = min(max(n, 0), 15)
                    case ("timeout", nil), ("attempts", nil), ("ndots", nil):
                        note("option \"\(UntrustedText.escape(String(option)))\" ignored (not a number)")
                    default: continue
                    }
                }
            default:
                continue  // sortlist, lookup, ...: not needed to resolve a name
            }
        }
        if nameservers.isEmpty { nameservers = [Nameserver(IPAddress(v4: 127, 0, 0, 1))] }
    }

    /// The names to try for `name`, in order (see the type's documentation).
    public func candidates(for name: String) -> [String] {
        if name.hasSuffix(".") { return [String(name.dropLast())] }
        let searched = searchDomains.map { "\(name).\($0.hasSuffix(".") ? String($0.dropLast()) : $0)" }
        let dots = name.reduce(0) { $0 + ($1 == "." ? 1 : 0) }
        return dots >= ndots ? [name] + searched : searched + [name]
    }
}
