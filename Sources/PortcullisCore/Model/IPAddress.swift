/// An IPv4 or IPv6 address, stored inline (no heap allocation: an inventory
/// holds two per socket, tens of thousands of them).
///
/// Pure Swift (no inet_ntop) so formatting is the same in every build and
/// cannot be influenced by an LD_PRELOAD library.
public struct IPAddress: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The address's version; an IPv4-mapped IPv6 address stays `.v6` until `normalized`.
    public enum Kind: Sendable, Hashable { case v4, v6 }

    /// IPv4 (4 bytes) or IPv6 (16 bytes), as stored.
    public let kind: Kind
    /// Network-order bits: IPv6 bytes 0-7 (zero for IPv4).
    let high: UInt64
    /// Network-order bits: IPv6 bytes 8-15, or the IPv4 address in the low 32 bits.
    let low: UInt64

    init(kind: Kind, high: UInt64, low: UInt64) {
        self.kind = kind
        self.high = high
        self.low = low
    }

    /// 4 bytes for IPv4, 16 for IPv6, network byte order.
    public init?(bytes: [UInt8]) {
        func word(_ range: Range<Int>) -> UInt64 { range.reduce(0) { $0 << 8 | UInt64(bytes[$1]) } }
        switch bytes.count {
        case 4: self.init(kind: .v4, high: 0, low: word(0..<4))
        case 16: self.init(kind: .v6, high: word(0..<8), low: word(8..<16))
        default: return nil
        }
    }

    /// From the four octets of a dotted quad: `IPAddress(v4: 192, 0, 2, 7)` is 192.0.2.7.
    public init(v4 a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        self.init(kind: .v4, high: 0, low: UInt64(a) << 24 | UInt64(b) << 16 | UInt64(c) << 8 | UInt64(d))
    }

    /// From a big-endian IPv4 word.
    public init(v4Word: UInt32) { self.init(kind: .v4, high: 0, low: UInt64(v4Word)) }

    /// From big-endian IPv6 halves.
    public init(v6High: UInt64, low: UInt64) { self.init(kind: .v6, high: v6High, low: low) }

    /// 0.0.0.0, the IPv4 wildcard (INADDR_ANY).
    public static let anyV4 = IPAddress(kind: .v4, high: 0, low: 0)
    /// `::`, the IPv6 wildcard (in6addr_any).
    public static let anyV6 = IPAddress(kind: .v6, high: 0, low: 0)

    /// Network-order bytes.
    public var bytes: [UInt8] {
        switch kind {
        case .v4: return (0..<4).map { UInt8(truncatingIfNeeded: low >> (24 - 8 * $0)) }
        case .v6:
            return (0..<8).map { UInt8(truncatingIfNeeded: high >> (56 - 8 * $0)) }
                + (0..<8).map { UInt8(truncatingIfNeeded: low >> (56 - 8 * $0)) }
        }
    }

    /// All bits zero: 0.0.0.0 or `::`, the wildcard a socket binds to listen on every address.
    public var isUnspecified: Bool { high == 0 && low == 0 }

    /// `::ffff:a.b.c.d` — an IPv4 address carried by an IPv6 socket.
    public var isIPv4Mapped: Bool { kind == .v6 && high == 0 && low >> 32 == 0xffff }

    /// The address with IPv4-mapped IPv6 addresses turned back into IPv4, so
    /// `::ffff:127.0.0.1` is judged as the loopback address it is.
    public var normalized: IPAddress {
        isIPv4Mapped ? IPAddress(kind: .v4, high: 0, low: low & 0xffff_ffff) : self
    }

    /// In 127.0.0.0/8 or equal to ::1 (IPv4-mapped forms included).
    public var isLoopback: Bool {
        let n = normalized
        switch n.kind {
        case .v4: return n.low >> 24 == 127
        case .v6: return n.high == 0 && n.low == 1
        }
    }

    /// In 169.254.0.0/16 or fe80::/10 (IPv4-mapped forms included).
    public var isLinkLocal: Bool {
        let n = normalized
        switch n.kind {
        case .v4: return n.low >> 16 == 0xa9fe
        case .v6: return n.high >> 54 == 0x3fa  // fe80::/10
        }
    }

    /// In 224.0.0.0/4 or ff00::/8 (IPv4-mapped forms included).
    public var isMulticast: Bool {
        let n = normalized
        switch n.kind {
        case .v4: return n.low >> 28 == 0xe
        case .v6: return n.high >> 56 == 0xff
        }
    }

    /// Dotted quad for IPv4; RFC 5952 text for IPv6 (longest zero run
    /// compressed, lower-case hex, mapped addresses as `::ffff:a.b.c.d`).
    public var description: String {
        // Every listener's remote address, and many a local one: no digits to work out.
        if high == 0 && low == 0 { return kind == .v4 ? "0.0.0.0" : "::" }
        switch kind {
        case .v4:
            return "\(low >> 24).\((low >> 16) & 0xff).\((low >> 8) & 0xff).\(low & 0xff)"
        case .v6:
            let bytes = self.bytes
            if isIPv4Mapped {
                return "::ffff:\(bytes[12]).\(bytes[13]).\(bytes[14]).\(bytes[15])"
            }
            var groups = [UInt16](repeating: 0, count: 8)
            for i in 0..<8 { groups[i] = UInt16(bytes[2 * i]) << 8 | UInt16(bytes[2 * i + 1]) }
            // Longest run of zero groups, at least two long (RFC 5952 4.2.2).
            var bestStart = -1
            var bestLen = 0
            var i = 0
            while i < 8 {
                if groups[i] == 0 {
                    var j = i
                    while j < 8 && groups[j] == 0 { j += 1 }
                    if j - i > bestLen {
                        bestStart = i
                        bestLen = j - i
                    }
                    i = j
                } else {
                    i += 1
                }
            }
            if bestLen < 2 { bestStart = -1 }
            var out = ""
            var k = 0
            while k < 8 {
                if k == bestStart {
                    out += "::"
                    k += bestLen
                    continue
                }
                if !out.isEmpty && !out.hasSuffix(":") { out += ":" }
                out += String(groups[k], radix: 16)
                k += 1
            }
            return out
        }
    }

    /// IPv4 before IPv6, then numeric order.
    public static func < (lhs: IPAddress, rhs: IPAddress) -> Bool {
        if lhs.kind != rhs.kind { return lhs.kind == .v4 }
        return (lhs.high, lhs.low) < (rhs.high, rhs.low)
    }
}

extension IPAddress {
    /// Parses strict dotted-quad IPv4 (no inet_aton shorthand such as `127.1`)
    /// or IPv6 text, including `::` compression and a trailing dotted quad.
    public init?(parsing text: String) {
        let parsed = text.contains(":") ? IPAddress.parseV6(Substring(text)) : IPAddress.parseV4(Substring(text))
        guard let parsed else { return nil }
        self.init(bytes: parsed)
    }

    static func parseV4(_ s: Substring) -> [UInt8]? {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var out: [UInt8] = []
        for p in parts {
            guard !p.isEmpty, p.count <= 3, p.allSatisfy({ $0.isASCII && $0.isNumber }),
                !(p.count > 1 && p.first == "0"),  // no octal-looking leading zeros
                let v = UInt8(p)
            else { return nil }
            out.append(v)
        }
        return out
    }

    static func parseV6(_ s: Substring) -> [UInt8]? {
        var text = s
        var tailV4: [UInt8] = []
        if let lastColon = text.lastIndex(of: ":"), text[text.index(after: lastColon)...].contains(".") {
            guard let v4 = parseV4(text[text.index(after: lastColon)...]) else { return nil }
            tailV4 = v4
            text = text[...lastColon]
            if text.hasSuffix(":") && !text.hasSuffix("::") { text = text.dropLast() }
        }
        // Split on "::" (at most once); a second "::" is invalid.
        var halves: [String] = []
        let chars = Array(text)
        var current = ""
        var k = 0
        while k < chars.count {
            if chars[k] == ":" && k + 1 < chars.count && chars[k + 1] == ":" {
                halves.append(current)
                current = ""
                k += 2
            } else {
                current.append(chars[k])
                k += 1
            }
        }
        halves.append(current)
        guard halves.count <= 2 else { return nil }
        func groups(_ part: String) -> [UInt16]? {
            if part.isEmpty { return [] }
            var out: [UInt16] = []
            for g in part.split(separator: ":", omittingEmptySubsequences: false) {
                guard !g.isEmpty, g.count <= 4, let v = UInt16(g, radix: 16) else { return nil }
                out.append(v)
            }
            return out
        }
        let groupCount = 8 - tailV4.count / 2
        var all: [UInt16]
        if halves.count == 2 {
            guard let head = groups(halves[0]), let tail = groups(halves[1]),
                head.count + tail.count < groupCount
            else { return nil }
            all = head + [UInt16](repeating: 0, count: groupCount - head.count - tail.count) + tail
        } else {
            guard let only = groups(halves[0]), only.count == groupCount else { return nil }
            all = only
        }
        var bytes: [UInt8] = []
        for g in all {
            bytes.append(UInt8(g >> 8))
            bytes.append(UInt8(g & 0xff))
        }
        return bytes + tailV4
    }
}

// MARK: - Arithmetic for target blocks

extension IPAddress {
    /// 32 for IPv4, 128 for IPv6: the longest prefix length of the family.
    public var bitWidth: Int { kind == .v4 ? 32 : 128 }

    /// The first address of the `prefixLength`-bit network holding this
    /// address (host bits cleared). `prefixLength` is clamped to 0...bitWidth.
    public func masked(toPrefix prefixLength: Int) -> IPAddress {
        let (maskHigh, maskLow) = Self.hostMask(bitWidth - min(max(prefixLength, 0), bitWidth))
        return IPAddress(kind: kind, high: high & ~maskHigh, low: low & ~maskLow)
    }

    /// The last address of the `prefixLength`-bit network holding this
    /// address (host bits set). `prefixLength` is clamped to 0...bitWidth.
    public func lastAddress(inPrefix prefixLength: Int) -> IPAddress {
        let (maskHigh, maskLow) = Self.hostMask(bitWidth - min(max(prefixLength, 0), bitWidth))
        return IPAddress(kind: kind, high: high | maskHigh, low: low | maskLow)
    }

    /// The next address of the same family, or nil after the last one
    /// (255.255.255.255, ffff:…:ffff).
    public var successor: IPAddress? {
        switch kind {
        case .v4: return low == 0xffff_ffff ? nil : IPAddress(kind: .v4, high: 0, low: low + 1)
        case .v6:
            if low != .max { return IPAddress(kind: .v6, high: high, low: low + 1) }
            return high == .max ? nil : IPAddress(kind: .v6, high: high + 1, low: 0)
        }
    }

    /// The previous address of the same family, or nil before 0.0.0.0 / `::`.
    public var predecessor: IPAddress? {
        if low != 0 { return IPAddress(kind: kind, high: high, low: low - 1) }
        if kind == .v4 || high == 0 { return nil }
        return IPAddress(kind: .v6, high: high - 1, low: .max)
    }

    /// The low `bits` bits set, as (high, low) 64-bit halves of a 128-bit value.
    static func hostMask(_ bits: Int) -> (UInt64, UInt64) {
        switch bits {
        case ...0: return (0, 0)
        case 1..<64: return (0, (1 << UInt64(bits)) - 1)
        case 64: return (0, .max)
        case 65..<128: return ((1 << UInt64(bits - 64)) - 1, .max)
        default: return (.max, .max)
        }
    }
}
