/// The user and password of an `Authorization: Basic …` header (RFC 7617).
public struct BasicCredentials: Sendable, Equatable {
    /// The user name: everything before the first colon.
    public var user: String
    /// The password: everything after it (it may contain colons).
    public var password: String

    /// Parses the header's value; nil when it is not Basic, not base64, not UTF-8 or has no colon.
    public init?(authorization: String) {
        let parts = authorization.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "basic", let decoded = Self.base64Decode(parts[1].utf8),
            let text = String(validating: decoded, as: UTF8.self), let colon = text.firstIndex(of: ":")
        else { return nil }
        user = String(text[..<colon])
        password = String(text[text.index(after: colon)...])
    }

    /// Standard base64 with padding (RFC 4648 §4); nil on any other character or a bad length.
    static func base64Decode(_ text: some Collection<UInt8>) -> [UInt8]? {
        guard text.count % 4 == 0 else { return nil }
        func value(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x41...0x5a: return c - 0x41
            case 0x61...0x7a: return c - 0x61 + 26
            case 0x30...0x39: return c - 0x30 + 52
            case 0x2b: return 62
            case 0x2f: return 63
            default: return nil
            }
        }
        let bytes = Array(text)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count / 4 * 3)
        var index = 0
        while index < bytes.count {
            let isLast = index + 4 == bytes.count
            let padding = isLast ? (bytes[index + 3] == 0x3d ? (bytes[index + 2] == 0x3d ? 2 : 1) : 0) : 0
            var word: UInt32 = 0
            for k in 0..<4 {
                let c = bytes[index + k]
                if k >= 4 - padding {
                    word <<= 6
                    continue
                }
                guard let v = value(c) else { return nil }
                word = word << 6 | UInt32(v)
            }
            out.append(UInt8(truncatingIfNeeded: word >> 16))
            if padding < 2 { out.append(UInt8(truncatingIfNeeded: word >> 8)) }
            if padding < 1 { out.append(UInt8(truncatingIfNeeded: word)) }
            index += 4
        }
        return out
    }
}
