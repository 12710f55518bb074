/// Parses the kernel's /proc/net/{tcp,tcp6,udp,udp6,raw,raw6} tables.
///
/// The kernel prints each address word with `%08X` of the native-endian
/// value, so the byte order of the machine that wrote the file matters; it is
/// a parameter so a /proc copied off a big-endian host can be read here.
public enum ProcNetParser {
    /// Byte order of the machine that wrote the file: `little` (x86, most ARM) or `big` (s390x, some PowerPC).
    public enum ByteOrder: Sendable {
        case little, big
        /// The byte order of the machine running portcullis, right for the live /proc.
        public static var host: ByteOrder { 1.littleEndian == 1 ? .little : .big }
    }

    /// What one table held: the sockets of its well-formed lines, and a warning for each other line.
    public struct Result: Sendable {
        /// One record per well-formed socket line, in file order; every state is kept (no filtering here).
        public var records: [SocketRecord]
        /// One entry per malformed line, naming the file and line.
        public var diagnostics: [Diagnostic]
    }

    /// - Parameters:
    ///   - text: the whole file.
    ///   - name: file name used in diagnostics (e.g. "/proc/net/tcp6").
    public static func parse(
        _ bytes: [UInt8], proto: TransportProtocol, family: AddressFamily,
        name: String, byteOrder: ByteOrder = .host
    ) -> Result {
        var records: [SocketRecord] = []
        var diagnostics: [Diagnostic] = []
        records.reserveCapacity(bytes.count / 150)
        var lineNumber = 0
        var start = 0
        let count = bytes.count
        while start < count {
            var end = start
            while end < count && bytes[end] != 0x0a { end += 1 }
            lineNumber += 1
            if lineNumber > 1 && end > start {  // line 1 is the column header
                if let record = parseLine(bytes, start, end, proto: proto, family: family, byteOrder: byteOrder) {
                    records.append(record)
                } else {
                    let shown = UntrustedText.escape(bytes[start..<min(end, start + 80)])
                    diagnostics.append(Diagnostic(.warning, "\(name):\(lineNumber): malformed socket line skipped: \(shown)"))
                }
            }
            start = end + 1
        }
        if !bytes.isEmpty && !hasHeader(bytes) {
            diagnostics.insert(Diagnostic(.warning, "\(name): no column header: not a kernel socket table, or truncated"), at: 0)
        }
        return Result(records: records, diagnostics: diagnostics)
    }

    /// The kernel's header line starts with "  sl  local_address".
    static func hasHeader(_ b: [UInt8]) -> Bool {
        var i = 0
        while i < b.count && b[i] == 0x20 { i += 1 }
        return i + 1 < b.count && b[i] == 0x73 && b[i + 1] == 0x6c  // "sl"
    }

    /// One table row: `sl: local rem st tx:rx tr:when retrnsmt uid timeout inode ...`
    static func parseLine(
        _ b: [UInt8], _ start: Int, _ end: Int, proto: TransportProtocol, family: AddressFamily,
        byteOrder: ByteOrder
    ) -> SocketRecord? {
        var fields: [Range<Int>] = []
        fields.reserveCapacity(12)
        var i = start
        while i < end && fields.count < 10 {
            while i < end && b[i] == 0x20 { i += 1 }
            let s = i
            while i < end && b[i] != 0x20 { i += 1 }
            if i > s { fields.append(s..<i) }
        }
        guard fields.count >= 10 else { return nil }
        // fields: 0 "sl:", 1 local, 2 remote, 3 st, 4 tx:rx, 5 tr:when, 6 retrnsmt, 7 uid, 8 timeout, 9 inode
        guard b[fields[0].upperBound - 1] == 0x3a,
            let local = endpoint(b, fields[1], family: family, byteOrder: byteOrder),
            let remote = endpoint(b, fields[2], family: family, byteOrder: byteOrder),
            let state = hex(b, fields[3]), state <= 0xff,
            let queues = split(b, fields[4], on: 0x3a),
            let tx = hex(b, queues.0), let rx = hex(b, queues.1),
            let uid = decimal(b, fields[7]), uid <= UInt64(UInt32.max),
            let inode = decimal(b, fields[9])
        else { return nil }
        return SocketRecord(
            proto: proto, family: family,
            localAddress: local.0, localPort: local.1,
            remoteAddress: remote.0, remotePort: remote.1,
            stateCode: UInt8(state), inode: inode, uid: UInt32(uid),
            v6only: nil, interfaceIndex: 0,
            rawProtocol: proto == .raw ? UInt8(truncatingIfNeeded: local.1) : nil,
            receiveQueue: UInt32(truncatingIfNeeded: rx), sendQueue: UInt32(truncatingIfNeeded: tx))
    }

    static func endpoint(_ b: [UInt8], _ r: Range<Int>, family: AddressFamily, byteOrder: ByteOrder) -> (IPAddress, UInt16)? {
        guard let parts = split(b, r, on: 0x3a) else { return nil }
        let words = family == .ipv4 ? 1 : 4
        guard parts.0.count == words * 8, parts.1.count == 4, let port = hex(b, parts.1) else { return nil }
        // Each word is printed as a native-endian u32; turn it back into network order.
        var networkWords: [UInt64] = [0, 0, 0, 0]
        for w in 0..<words {
            let s = parts.0.lowerBound + w * 8
            guard let word = hex(b, s..<(s + 8)) else { return nil }
            let v = UInt32(truncatingIfNeeded: word)
            networkWords[w] = UInt64(byteOrder == .little ? v.byteSwapped : v)
        }
        let address =
            family == .ipv4
            ? IPAddress(v4Word: UInt32(networkWords[0]))
            : IPAddress(v6High: networkWords[0] << 32 | networkWords[1], low: networkWords[2] << 32 | networkWords[3])
        return (address, UInt16(port))
    }

    static func split(_ b: [UInt8], _ r: Range<Int>, on separator: UInt8) -> (Range<Int>, Range<Int>)? {
        guard let colon = b[r].firstIndex(of: separator) else { return nil }
        return (r.lowerBound..<colon, (colon + 1)..<r.upperBound)
    }

    static func hex(_ b: [UInt8], _ r: Range<Int>) -> UInt64? {
        guard !r.isEmpty, r.count <= 16 else { return nil }
        var v: UInt64 = 0
        for i in r {
            let c = b[i]
            let d: UInt8
            switch c {
            case 0x30...0x39: d = c - 0x30
            case 0x41...0x46: d = c - 0x41 + 10
            case 0x61...0x66: d = c - 0x61 + 10
            default: return nil
            }
            v = v << 4 | UInt64(d)
        }
        return v
    }

    static func decimal(_ b: [UInt8], _ r: Range<Int>) -> UInt64? {
        guard !r.isEmpty, r.count <= 19 else { return nil }
        var v: UInt64 = 0
        for i in r {
            let c = b[i]
            guard c >= 0x30 && c <= 0x39 else { return nil }
            v = v * 10 + UInt64(c - 0x30)
        }
        return v
    }
}
