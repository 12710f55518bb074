import Testing

@testable import PortcullisCore

/// `JSONValue.writeString` copies unescaped runs whole; it must write what
/// escaping byte by byte does.
@Suite struct JSONEscapeTests {
    static func escapedByteByByte(_ s: String) -> [UInt8] {
        var out: [UInt8] = [0x22]
        for byte in s.utf8 {
            switch byte {
            case 0x22: out += [0x5c, 0x22]
            case 0x5c: out += [0x5c, 0x5c]
            case 0x0a: out += [0x5c, 0x6e]
            case 0x0d: out += [0x5c, 0x72]
            case 0x09: out += [0x5c, 0x74]
            case 0..<0x20, 0x7f:
                out += Array("\\u00".utf8) + [JSONValue.hexDigits[Int(byte >> 4)], JSONValue.hexDigits[Int(byte & 0xf)]]
            default: out.append(byte)
            }
        }
        return out + [0x22]
    }

    @Test func runsAndEscapesAsByteByByte() {
        var strings = [
            "", "a", "\"", "\\", "plain text long enough not to be a small string, with no escapes at all",
            "firewall: reachable — IPv4 reachable; ünïcödé \u{1F600}", "\"quoted\" at both ends\"", "\\\\\\",
            "tab\tnewline\ncr\r\u{7f}del", "\u{0}\u{1}\u{1f}",
        ]
        // Every byte below 0x80 alone, at the start, in the middle and at the end of a longer string.
        for b in 0..<0x80 {
            let c = String(UnicodeScalar(UInt8(b)))
            strings += [c, c + "tail of the string", "head of the string" + c, "a" + c + "b" + c + c + "c"]
        }
        for s in strings {
            var out: [UInt8] = [0x41]
            JSONValue.writeString(s, into: &out)
            #expect(out == [0x41] + Self.escapedByteByByte(s), "\(s.debugDescription)")
        }
    }
}
