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
    /// One `name port/proto [aliases...]` line of /etc/services (a few
    /// hundred lines, so plain Strings).
    struct EtcEntry: Sendable {
        var name: String
        var port: UInt16
        var proto: TransportProtocol
        var aliases: [String]
    }

    /// One `name port/proto frequency` line of nmap-services. The name stays
    /// a range of `nmapText` and is decoded only when asked for: creating
    /// ~27,000 Strings was most of the parse time.
    struct NmapEntry: Sendable {
        var nameStart: Int32
        var nameLength: UInt8
        var proto: TransportProtocol
        var isUnknown: Bool
        var port: UInt16
        /// Fraction of scanned hosts on which nmap found the port open, in
        /// billionths (fixed point keeps parsing exact and cheap).
        var frequency: UInt64
    }

    private var etcEntries: [EtcEntry] = []
    private var nmapEntries: [NmapEntry] = []
    private var nmapText: [UInt8] = []
    /// Effective name by port, one table per protocol, as an entry number:
    /// 0 none, n > 0 `etcEntries[n - 1]`, n < 0 `nmapEntries[-n - 1]`. A flat
    /// array indexed by port is faster to build and query than a dictionary.
    private var tcpIndex: [Int32]
    private var udpIndex: [Int32]

    /// Malformed lines that were skipped, naming the file and line (capped,
    /// so a binary file passed by mistake cannot produce thousands).
    public private(set) var diagnostics: [Diagnostic] = []

    /// Most malformed-line diagnostics reported per file.
    static let diagnosticLimit = 20

    /// Parses the text of /etc/services and, when given, of nmap-services; lines it cannot read go to `diagnostics`.
    public init(etcServices: String, nmapServices: String? = nil) {
        self.init(etcServices: Array(etcServices.utf8), nmapServices: nmapServices.map { Array($0.utf8) })
    }

    /// The same as `init(etcServices:nmapServices:)` for file contents read as bytes.
    public init(etcServices: [UInt8], nmapServices: [UInt8]? = nil) {
        tcpIndex = [Int32](repeating: 0, count: 65536)
        udpIndex = [Int32](repeating: 0, count: 65536)
        // Entries are numbered, and nmap names located, with Int32s.
        if etcServices.count < Int(Int32.max) {
            etcServices.withUnsafeBufferPointer { parseEtc($0) }
        } else {
            diagnostics.append(Diagnostic(.warning, "/etc/services: file too large, ignored"))
        }
        if let nmapServices {
            guard nmapServices.count < Int(Int32.max) else {
                diagnostics.append(Diagnostic(.warning, "nmap-services: file too large, ignored"))
                return
            }
            nmapText = nmapServices
            nmapServices.withUnsafeBufferPointer { parseNmap($0) }
        }
    }

    /// The conventional name of a port, or nil. RAW sockets have no ports in
    /// this sense (the number is an IP protocol), so they never have a name.
    public func name(port: UInt16, proto: TransportProtocol) -> String? {
        let slot: Int32
        switch proto {
        case .tcp: slot = tcpIndex[Int(port)]
        case .udp: slot = udpIndex[Int(port)]
        case .raw: return nil
        }
        if slot > 0 { return etcEntries[Int(slot) - 1].name }
        if slot < 0 { return nmapName(nmapEntries[Int(-slot) - 1]) }
        return nil
    }

    /// nmap-services' own names for `proto`, by port (what nmap prints; it
    /// does not read /etc/services), built in one pass for a whole scan.
    public func nmapNames(proto: TransportProtocol) -> [UInt16: String] {
        var names: [UInt16: String] = [:]
        for entry in nmapEntries where entry.proto == proto && names[entry.port] == nil { names[entry.port] = nmapName(entry) }
        return names
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
        where Self.matches(entry.name.utf8, wanted) || entry.aliases.contains(where: { Self.matches($0.utf8, wanted) }) {
            add(entry.port, entry.proto)
        }
        if includeNmap {
            nmapText.withUnsafeBufferPointer { text in
                for entry in nmapEntries where !entry.isUnknown && Int(entry.nameLength) == wanted.count {
                    let start = Int(entry.nameStart)
                    if Self.matches(text[start..<start + Int(entry.nameLength)], wanted) {
                        add(entry.port, entry.proto)
                    }
                }
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

    private func nmapName(_ entry: NmapEntry) -> String {
        let start = Int(entry.nameStart)
        return String(decoding: nmapText[start..<start + Int(entry.nameLength)], as: UTF8.self)
    }

    // MARK: - Parsing

    private mutating func parseEtc(_ b: UnsafeBufferPointer<UInt8>) {
        var reported = 0
        var lineNumber = 0
        var i = 0
        while i < b.count {
            lineNumber += 1
            let end = Self.lineEnd(b, from: i)
            defer { i = end + 1 }
            var cursor = i
            guard let first = Self.nextToken(b, &cursor, end) else { continue }  // blank or comment
            guard let second = Self.nextToken(b, &cursor, end),
                Self.isPrintableName(b, first),
                let (port, protoToken) = Self.portAndProto(b, second)
            else {
                Self.report(&diagnostics, &reported, "/etc/services", lineNumber, b, i..<end)
                continue
            }
            guard let proto = Self.proto(b, protoToken) else { continue }  // sctp, ddp: valid, not modelled
            var aliases: [String] = []
            while let alias = Self.nextToken(b, &cursor, end) {
                if Self.isPrintableName(b, alias) { aliases.append(Self.string(b, alias)) }
            }
            etcEntries.append(EtcEntry(name: Self.string(b, first), port: port, proto: proto, aliases: aliases))
            // First entry wins, as with getservbyport(3).
            setIfAbsent(Int32(etcEntries.count), port, proto)
        }
    }

    private mutating func parseNmap(_ b: UnsafeBufferPointer<UInt8>) {
        nmapEntries.reserveCapacity(b.count / 40)
        var reported = 0
        var lineNumber = 0
        var i = 0
        while i < b.count {
            lineNumber += 1
            let end = Self.lineEnd(b, from: i)
            defer { i = end + 1 }
            var cursor = i
            guard let first = Self.nextToken(b, &cursor, end) else { continue }
            guard let second = Self.nextToken(b, &cursor, end),
                let third = Self.nextToken(b, &cursor, end),
                Self.isPrintableName(b, first),
                let (port, protoToken) = Self.portAndProto(b, second),
                let frequency = Self.frequency(b, third)
            else {
                Self.report(&diagnostics, &reported, "nmap-services", lineNumber, b, i..<end)
                continue
            }
            guard let proto = Self.proto(b, protoToken) else { continue }
            let isUnknown = Self.isUnknown(b, first)
            nmapEntries.append(
                NmapEntry(
                    nameStart: Int32(first.lowerBound), nameLength: UInt8(first.count), proto: proto,
                    isUnknown: isUnknown, port: port, frequency: frequency))
            if !isUnknown { setIfAbsent(-Int32(nmapEntries.count), port, proto) }
        }
    }

    private mutating func setIfAbsent(_ slot: Int32, _ port: UInt16, _ proto: TransportProtocol) {
        switch proto {
        case .tcp: if tcpIndex[Int(port)] == 0 { tcpIndex[Int(port)] = slot }
        case .udp: if udpIndex[Int(port)] == 0 { udpIndex[Int(port)] = slot }
        case .raw: break
        }
    }

    /// nmap's placeholder name, compared by hand: the generic
    /// `elementsEqual` showed up in profiles.
    private static func isUnknown(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> Bool {
        guard r.count == 7 else { return false }
        let s = r.lowerBound
        return b[s] == 0x75 && b[s + 1] == 0x6e && b[s + 2] == 0x6b && b[s + 3] == 0x6e
            && b[s + 4] == 0x6f && b[s + 5] == 0x77 && b[s + 6] == 0x6e  // "unknown"
    }

    /// Index of the `\n` ending the line that starts at `start`, or the end.
    ///
    /// Eight bytes at a time: most of nmap-services is trailing comment text
    /// that only needs skipping, and this loop dominated the profile.
    private static func lineEnd(_ b: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        var i = start
        if let base = b.baseAddress {
            let raw = UnsafeRawPointer(base)
            let ones: UInt64 = 0x0101_0101_0101_0101
            let highs: UInt64 = 0x8080_8080_8080_8080
            let newlines: UInt64 = 0x0a0a_0a0a_0a0a_0a0a
            while i + 8 <= b.count {
                // Little-endian order puts byte i in the low bits on any host.
                let word = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)) ^ newlines
                // Non-zero exactly when some byte of `word` is zero, i.e. was '\n';
                // the lowest flagged byte is the first newline.
                let found = (word &- ones) & ~word & highs
                if found != 0 { return i + found.trailingZeroBitCount / 8 }
                i += 8
            }
        }
        while i < b.count && b[i] != 0x0a { i += 1 }
        return i
    }

    /// The next whitespace-separated token before `end`, or nil at the end of
    /// the line or at a `#` comment.
    private static func nextToken(_ b: UnsafeBufferPointer<UInt8>, _ i: inout Int, _ end: Int) -> Range<Int>? {
        while i < end && isSpace(b[i]) { i += 1 }
        guard i < end, b[i] != 0x23 else { return nil }
        let start = i
        while i < end && !isSpace(b[i]) && b[i] != 0x23 { i += 1 }
        return start..<i
    }

    private static func report(
        _ diagnostics: inout [Diagnostic], _ reported: inout Int, _ file: String, _ line: Int,
        _ b: UnsafeBufferPointer<UInt8>, _ range: Range<Int>
    ) {
        reported += 1
        if reported <= diagnosticLimit {
            var start = range.lowerBound
            while start < range.upperBound && isSpace(b[start]) { start += 1 }
            let shown = UntrustedText.escape(b[start..<min(range.upperBound, start + 80)])
            diagnostics.append(Diagnostic(.warning, "\(file):\(line): malformed line skipped: \(shown)"))
        } else if reported == diagnosticLimit + 1 {
            diagnostics.append(Diagnostic(.warning, "\(file): further malformed lines skipped without report"))
        }
    }

    private static func isSpace(_ c: UInt8) -> Bool {
        c == 0x20 || c == 0x09 || c == 0x0d || c == 0x0b || c == 0x0c
    }

    /// Names end up on terminals, so a name with control bytes makes the
    /// line suspect and it is refused rather than escaped.
    private static func isPrintableName(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> Bool {
        guard r.count <= 64 else { return false }
        for i in r where b[i] < 0x20 || b[i] == 0x7f { return false }
        return true
    }

    private static func string(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: b[r]), as: UTF8.self)
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

    /// nmap's frequency column (`0.182286`) as billionths. Digits past the
    /// ninth decimal are ignored; values of a million or more are refused.
    private static func frequency(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> UInt64? {
        let scale: UInt64 = 1_000_000_000
        var whole: UInt64 = 0
        var fraction: UInt64 = 0
        var fractionDigits = 0
        var sawDigit = false
        var sawDot = false
        for i in r {
            let c = b[i]
            if c >= 0x30 && c <= 0x39 {
                sawDigit = true
                if !sawDot {
                    whole = whole * 10 + UInt64(c - 0x30)
                    guard whole < 1_000_000 else { return nil }
                } else if fractionDigits < 9 {
                    fraction = fraction * 10 + UInt64(c - 0x30)
                    fractionDigits += 1
                }
            } else if c == 0x2e && !sawDot {
                sawDot = true
            } else {
                return nil
            }
        }
        guard sawDigit else { return nil }
        while fractionDigits < 9 {
            fraction *= 10
            fractionDigits += 1
        }
        return whole * scale + fraction
    }

    // MARK: - Helpers

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
    private static func matches<C: Collection<UInt8>>(_ name: C, _ lowered: [UInt8]) -> Bool {
        var i = 0
        for c in name {
            guard i < lowered.count, asciiLower(c) == lowered[i] else { return false }
            i += 1
        }
        return i == lowered.count
    }
}
