/// Port names from the text of /etc/services and, optionally,
/// /usr/share/nmap/nmap-services.
///
/// The caller reads the files (Core does no I/O) and passes their contents.
/// Both files are parsed byte by byte, without splitting into `String`s,
/// because the CLI parses them on every run and nmap-services has ~27,000
/// lines. Lines that cannot be understood are skipped and reported in
/// `diagnostics`; protocols portcullis does not model (sctp, ddp) are skipped
/// silently, as they are valid entries.
///
/// Precedence follows what an administrator expects: /etc/services is the
/// system's own naming and wins; nmap-services only fills ports it does not
/// name. nmap's placeholder name `unknown` is never returned as a name.
public struct ServiceTable: Sendable {
    /// One `name port/proto [aliases...]` line of /etc/services.
    struct EtcEntry: Sendable {
        var name: String
        var port: UInt16
        var proto: TransportProtocol
        var aliases: [String]
    }

    /// One `name port/proto frequency` line of nmap-services.
    struct NmapEntry: Sendable {
        var name: String
        var port: UInt16
        var proto: TransportProtocol
        /// Fraction of scanned hosts on which nmap found the port open.
        var frequency: Double
        var isUnknown: Bool
    }

    private var etcEntries: [EtcEntry] = []
    private var nmapEntries: [NmapEntry] = []
    /// Effective names by port, one table per protocol: a flat array indexed by
    /// port is faster to build and to query than a dictionary, and 64 K
    /// slots per protocol are cheap.
    private var tcpNames: [String?]
    private var udpNames: [String?]

    /// Malformed lines that were skipped, naming the file and line (capped,
    /// so a binary file passed by mistake cannot produce thousands).
    public private(set) var diagnostics: [Diagnostic] = []

    /// Most malformed-line diagnostics reported per file.
    static let diagnosticLimit = 20

    public init(etcServices: String, nmapServices: String? = nil) {
        tcpNames = [String?](repeating: nil, count: 65536)
        udpNames = [String?](repeating: nil, count: 65536)
        Self.withBytes(etcServices) { parseEtc($0) }
        if let nmapServices {
            Self.withBytes(nmapServices) { parseNmap($0) }
        }
    }

    /// The same as `init(etcServices:nmapServices:)` for file contents read as bytes.
    public init(etcServices: [UInt8], nmapServices: [UInt8]? = nil) {
        tcpNames = [String?](repeating: nil, count: 65536)
        udpNames = [String?](repeating: nil, count: 65536)
        etcServices.withUnsafeBufferPointer { parseEtc($0) }
        if let nmapServices {
            nmapServices.withUnsafeBufferPointer { parseNmap($0) }
        }
    }

    /// The conventional name of a port, or nil. RAW sockets have no ports in
    /// this sense (the number is an IP protocol), so they never have a name.
    public func name(port: UInt16, proto: TransportProtocol) -> String? {
        switch proto {
        case .tcp: return tcpNames[Int(port)]
        case .udp: return udpNames[Int(port)]
        case .raw: return nil
        }
    }

    /// Every port/protocol pair whose name, or /etc/services alias, matches
    /// `named` without regard to ASCII case, sorted by port then protocol.
    ///
    /// - Parameter includeNmap: also search nmap-services. nmap names many
    ///   ports after one service (`x11` on 6010–6063, for instance), so a
    ///   caller that wants the canonical ports may look in /etc/services first.
    public func ports(named: String, includeNmap: Bool = true) -> [(port: UInt16, proto: TransportProtocol)] {
        let wanted = Array(named.utf8).map(Self.asciiLower)
        guard !wanted.isEmpty else { return [] }
        var seen = Set<UInt32>()
        var found: [(port: UInt16, proto: TransportProtocol)] = []
        func add(_ port: UInt16, _ proto: TransportProtocol) {
            if seen.insert(Self.key(port, proto)).inserted { found.append((port, proto)) }
        }
        for entry in etcEntries
        where Self.matches(entry.name, wanted) || entry.aliases.contains(where: { Self.matches($0, wanted) }) {
            add(entry.port, entry.proto)
        }
        if includeNmap {
            for entry in nmapEntries where !entry.isUnknown && Self.matches(entry.name, wanted) {
                add(entry.port, entry.proto)
            }
        }
        return found.sorted { ($0.port, Self.order($0.proto)) < ($1.port, Self.order($1.proto)) }
    }

    /// The `n` ports of `proto` most often found open, by nmap-services'
    /// open-frequency column (ties broken by port number), as nmap's
    /// `--top-ports` chooses them: ports nmap calls `unknown` count too, since
    /// the frequency is about the port, not its name. When nmap-services was
    /// not given, or has fewer ports, the remainder are /etc/services' ports
    /// in ascending order.
    public func topPorts(_ n: Int, proto: TransportProtocol) -> [UInt16] {
        guard n > 0, proto != .raw else { return [] }
        let ranked = nmapEntries.filter { $0.proto == proto }
            .sorted { $0.frequency != $1.frequency ? $0.frequency > $1.frequency : $0.port < $1.port }
        var seen = Set<UInt16>()
        var out: [UInt16] = []
        out.reserveCapacity(min(n, 65536))
        for entry in ranked where out.count < n {
            if seen.insert(entry.port).inserted { out.append(entry.port) }
        }
        if out.count < n {
            for port in etcEntries.filter({ $0.proto == proto }).map(\.port).sorted() where out.count < n {
                if seen.insert(port).inserted { out.append(port) }
            }
        }
        return out
    }

    /// Whether nmap-services data (with open frequencies) was loaded.
    public var hasNmapData: Bool { !nmapEntries.isEmpty }

    // MARK: - Parsing

    private mutating func parseEtc(_ b: UnsafeBufferPointer<UInt8>) {
        etcEntries.reserveCapacity(b.count / 40)
        var reported = 0
        Self.forEachLine(b) { lineNumber, tokens in
            guard tokens.count >= 2,
                  let name = Self.token(b, tokens[0]),
                  let (port, protoToken) = Self.portAndProto(b, tokens[1])
            else {
                Self.report(&diagnostics, &reported, "/etc/services", lineNumber, b, tokens)
                return
            }
            guard let proto = Self.proto(b, protoToken) else { return }  // sctp, ddp: valid, not modelled
            var aliases: [String] = []
            for t in tokens.dropFirst(2) {
                if let alias = Self.token(b, t) { aliases.append(alias) }
            }
            etcEntries.append(EtcEntry(name: name, port: port, proto: proto, aliases: aliases))
            // First entry wins, as with getservbyport(3).
            setNameIfAbsent(name, port, proto)
        }
    }

    private mutating func parseNmap(_ b: UnsafeBufferPointer<UInt8>) {
        nmapEntries.reserveCapacity(b.count / 45)
        var reported = 0
        Self.forEachLine(b) { lineNumber, tokens in
            guard tokens.count >= 3,
                  let name = Self.token(b, tokens[0]),
                  let (port, protoToken) = Self.portAndProto(b, tokens[1]),
                  let frequency = Self.frequency(b, tokens[2])
            else {
                Self.report(&diagnostics, &reported, "nmap-services", lineNumber, b, tokens)
                return
            }
            guard let proto = Self.proto(b, protoToken) else { return }
            let isUnknown = name == "unknown"
            nmapEntries.append(NmapEntry(name: name, port: port, proto: proto, frequency: frequency, isUnknown: isUnknown))
            if !isUnknown { setNameIfAbsent(name, port, proto) }
        }
    }

    private mutating func setNameIfAbsent(_ name: String, _ port: UInt16, _ proto: TransportProtocol) {
        switch proto {
        case .tcp: if tcpNames[Int(port)] == nil { tcpNames[Int(port)] = name }
        case .udp: if udpNames[Int(port)] == nil { udpNames[Int(port)] = name }
        case .raw: break
        }
    }

    /// Calls `body` with the 1-based line number and the whitespace-separated
    /// tokens before any `#`, for each line that has at least one token.
    private static func forEachLine(
        _ b: UnsafeBufferPointer<UInt8>, _ body: (Int, [Range<Int>]) -> Void
    ) {
        var tokens: [Range<Int>] = []
        tokens.reserveCapacity(16)
        var lineNumber = 0
        var i = 0
        let count = b.count
        while i < count {
            lineNumber += 1
            tokens.removeAll(keepingCapacity: true)
            var inComment = false
            // One pass to the end of the line, collecting tokens until `#`.
            while i < count && b[i] != 0x0a {
                let c = b[i]
                if inComment || isSpace(c) {
                    i += 1
                } else if c == 0x23 {  // '#'
                    inComment = true
                    i += 1
                } else {
                    let start = i
                    while i < count && b[i] != 0x0a && b[i] != 0x23 && !isSpace(b[i]) { i += 1 }
                    // A line with absurdly many aliases is kept, its tail ignored.
                    if tokens.count < 64 { tokens.append(start..<i) }
                }
            }
            i += 1  // past '\n'
            if !tokens.isEmpty { body(lineNumber, tokens) }
        }
    }

    private static func report(
        _ diagnostics: inout [Diagnostic], _ reported: inout Int, _ file: String, _ line: Int,
        _ b: UnsafeBufferPointer<UInt8>, _ tokens: [Range<Int>]
    ) {
        reported += 1
        if reported <= diagnosticLimit {
            let start = tokens.first?.lowerBound ?? 0
            let end = min(tokens.last?.upperBound ?? start, start + 80)
            let shown = UntrustedText.escape(b[start..<end])
            diagnostics.append(Diagnostic(.warning, "\(file):\(line): malformed line skipped: \(shown)"))
        } else if reported == diagnosticLimit + 1 {
            diagnostics.append(Diagnostic(.warning, "\(file): further malformed lines skipped without report"))
        }
    }

    private static func isSpace(_ c: UInt8) -> Bool {
        c == 0x20 || c == 0x09 || c == 0x0d || c == 0x0b || c == 0x0c
    }

    /// A name or alias. Control bytes make the line suspect (these names end
    /// up on terminals), so such tokens are refused rather than escaped.
    private static func token(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> String? {
        guard r.count <= 64 else { return nil }
        for i in r where b[i] < 0x20 || b[i] == 0x7f { return nil }
        return String(decoding: UnsafeBufferPointer(rebasing: b[r]), as: UTF8.self)
    }

    /// `PORT/PROTO`: returns the port and the range of the protocol text.
    private static func portAndProto(
        _ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>
    ) -> (UInt16, Range<Int>)? {
        var i = r.lowerBound
        var value = 0
        while i < r.upperBound, b[i] >= 0x30, b[i] <= 0x39 {
            value = value * 10 + Int(b[i] - 0x30)
            guard value <= 65535 else { return nil }
            i += 1
        }
        guard i > r.lowerBound, i < r.upperBound, b[i] == 0x2f, i + 1 < r.upperBound else { return nil }
        return (UInt16(value), (i + 1)..<r.upperBound)
    }

    private static func proto(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> TransportProtocol? {
        guard r.count == 3 else { return nil }
        let (x, y, z) = (b[r.lowerBound], b[r.lowerBound + 1], b[r.lowerBound + 2])
        if x == 0x74 && y == 0x63 && z == 0x70 { return .tcp }  // "tcp"
        if x == 0x75 && y == 0x64 && z == 0x70 { return .udp }  // "udp"
        return nil
    }

    /// nmap's frequency column: `0.182286`. Parsed by hand because
    /// `Double(String)` would need a String per line; exact decimal rounding
    /// does not matter, only a consistent order.
    private static func frequency(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> Double? {
        var whole: Double = 0
        var fraction: Double = 0
        var scale: Double = 1
        var sawDigit = false
        var sawDot = false
        for i in r {
            let c = b[i]
            if c >= 0x30 && c <= 0x39 {
                sawDigit = true
                if sawDot {
                    scale *= 10
                    fraction = fraction * 10 + Double(c - 0x30)
                } else {
                    whole = whole * 10 + Double(c - 0x30)
                }
            } else if c == 0x2e && !sawDot {
                sawDot = true
            } else {
                return nil
            }
        }
        guard sawDigit, scale.isFinite else { return nil }
        return whole + fraction / scale
    }

    // MARK: - Helpers

    private static func withBytes(_ s: String, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        // Native Swift strings are contiguous UTF-8, so this normally copies nothing.
        if s.utf8.withContiguousStorageIfAvailable(body) == nil {
            Array(s.utf8).withUnsafeBufferPointer(body)
        }
    }

    private static func key(_ port: UInt16, _ proto: TransportProtocol) -> UInt32 {
        UInt32(port) << 2 | UInt32(order(proto))
    }

    private static func order(_ proto: TransportProtocol) -> Int {
        switch proto {
        case .tcp: return 0
        case .udp: return 1
        case .raw: return 2
        }
    }

    private static func asciiLower(_ c: UInt8) -> UInt8 {
        c >= 0x41 && c <= 0x5a ? c + 0x20 : c
    }

    /// ASCII case-insensitive comparison of `name` with already-lowered bytes,
    /// without allocating a lowered copy of every name in the table.
    private static func matches(_ name: String, _ lowered: [UInt8]) -> Bool {
        var i = 0
        for c in name.utf8 {
            guard i < lowered.count, asciiLower(c) == lowered[i] else { return false }
            i += 1
        }
        return i == lowered.count
    }
}
