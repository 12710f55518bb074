/// An IPv4 or IPv6 address held as raw network-order bytes.
///
/// Pure Swift (no inet_ntop) so formatting is the same in every build and
/// cannot be influenced by an LD_PRELOAD library.
public struct IPAddress: Hashable, Sendable, Comparable, CustomStringConvertible {
    public enum Kind: Sendable { case v4, v6 }

    /// 4 bytes for IPv4, 16 for IPv6, network byte order.
    public let bytes: [UInt8]

    public var kind: Kind { bytes.count == 4 ? .v4 : .v6 }

    public init?(bytes: [UInt8]) {
        guard bytes.count == 4 || bytes.count == 16 else { return nil }
        self.bytes = bytes
    }

    public init(v4 a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) { bytes = [a, b, c, d] }

    public static let anyV4 = IPAddress(v4: 0, 0, 0, 0)
    public static let anyV6 = IPAddress(bytes: [UInt8](repeating: 0, count: 16))!

    public var isUnspecified: Bool { bytes.allSatisfy { $0 == 0 } }

    /// `::ffff:a.b.c.d` — an IPv4 address carried by an IPv6 socket.
    public var isIPv4Mapped: Bool {
        kind == .v6 && bytes[0..<10].allSatisfy { $0 == 0 } && bytes[10] == 0xff && bytes[11] == 0xff
    }

    /// The address with IPv4-mapped IPv6 addresses turned back into IPv4, so
    /// `::ffff:127.0.0.1` is judged as the loopback address it is.
    public var normalized: IPAddress {
        isIPv4Mapped ? IPAddress(v4: bytes[12], bytes[13], bytes[14], bytes[15]) : self
    }

    public var isLoopback: Bool {
        let n = normalized
        switch n.kind {
        case .v4: return n.bytes[0] == 127
        case .v6: return n.bytes[0..<15].allSatisfy { $0 == 0 } && n.bytes[15] == 1
        }
    }

    public var isLinkLocal: Bool {
        let n = normalized
        switch n.kind {
        case .v4: return n.bytes[0] == 169 && n.bytes[1] == 254
        case .v6: return n.bytes[0] == 0xfe && (n.bytes[1] & 0xc0) == 0x80
        }
    }

    public var isMulticast: Bool {
        let n = normalized
        switch n.kind {
        case .v4: return (n.bytes[0] & 0xf0) == 0xe0
        case .v6: return n.bytes[0] == 0xff
        }
    }

    /// Dotted quad for IPv4; RFC 5952 text for IPv6 (longest zero run
    /// compressed, lower-case hex, mapped addresses as `::ffff:a.b.c.d`).
    public var description: String {
        switch kind {
        case .v4:
            return "\(bytes[0]).\(bytes[1]).\(bytes[2]).\(bytes[3])"
        case .v6:
            if isIPv4Mapped {
                return "::ffff:\(bytes[12]).\(bytes[13]).\(bytes[14]).\(bytes[15])"
            }
            var groups = [UInt16](repeating: 0, count: 8)
            for i in 0..<8 { groups[i] = UInt16(bytes[2 * i]) << 8 | UInt16(bytes[2 * i + 1]) }
            // Longest run of zero groups, at least two long (RFC 5952 4.2.2).
            var bestStart = -1, bestLen = 0, i = 0
            while i < 8 {
                if groups[i] == 0 {
                    var j = i
                    while j < 8 && groups[j] == 0 { j += 1 }
                    if j - i > bestLen { bestStart = i; bestLen = j - i }
                    i = j
                } else { i += 1 }
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

    public static func < (lhs: IPAddress, rhs: IPAddress) -> Bool {
        if lhs.bytes.count != rhs.bytes.count { return lhs.bytes.count < rhs.bytes.count }
        return lhs.bytes.lexicographicallyPrecedes(rhs.bytes)
    }
}

extension IPAddress {
    /// Parses strict dotted-quad IPv4 (no inet_aton shorthand such as `127.1`)
    /// or IPv6 text, including `::` compression and a trailing dotted quad.
    public init?(parsing text: String) {
        if text.contains(":") {
            guard let b = IPAddress.parseV6(Substring(text)) else { return nil }
            self.bytes = b
        } else {
            guard let b = IPAddress.parseV4(Substring(text)) else { return nil }
            self.bytes = b
        }
    }

    static func parseV4(_ s: Substring) -> [UInt8]? {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var out: [UInt8] = []
        for p in parts {
            guard !p.isEmpty, p.count <= 3, p.allSatisfy({ $0.isASCII && $0.isNumber }),
                  !(p.count > 1 && p.first == "0"),  // no octal-looking leading zeros
                  let v = UInt8(p) else { return nil }
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
                halves.append(current); current = ""; k += 2
            } else {
                current.append(chars[k]); k += 1
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
                  head.count + tail.count < groupCount else { return nil }
            all = head + [UInt16](repeating: 0, count: groupCount - head.count - tail.count) + tail
        } else {
            guard let only = groups(halves[0]), only.count == groupCount else { return nil }
            all = only
        }
        var bytes: [UInt8] = []
        for g in all { bytes.append(UInt8(g >> 8)); bytes.append(UInt8(g & 0xff)) }
        return bytes + tailV4
    }
}
