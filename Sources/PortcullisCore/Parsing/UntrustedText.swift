/// Turns bytes an untrusted party controls (process names, command lines,
/// paths, banners) into text that is safe to show: every output format gets
/// the same escaped string, so a newline cannot forge a table row and an ANSI
/// sequence cannot repaint the terminal.
///
/// Escapes: `\\` → `\\\\`, `\n` `\r` `\t` → `\\n` `\\r` `\\t`, other C0
/// controls, DEL and C1 controls → `\\xNN` / `\\u{NN}`, invalid UTF-8 bytes →
/// `\\xNN`. Valid printable UTF-8 (any script) is kept as it is.
public enum UntrustedText {
    /// Escapes raw bytes (any encoding) as described above; the result is safe to print in every format.
    public static func escape<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        // Fast path: plain printable ASCII with no backslash needs no work.
        if bytes.allSatisfy({ $0 >= 0x20 && $0 < 0x7f && $0 != 0x5c }) {
            return String(decoding: bytes, as: UTF8.self)
        }
        var out = ""
        out.reserveCapacity(bytes.count + 8)
        let array = Array(bytes)
        var i = 0
        while i < array.count {
            let b = array[i]
            if b < 0x80 {
                switch b {
                case 0x5c: out += "\\\\"
                case 0x0a: out += "\\n"
                case 0x0d: out += "\\r"
                case 0x09: out += "\\t"
                case 0..<0x20, 0x7f: out += hexEscape(b)
                default: out.unicodeScalars.append(Unicode.Scalar(b))
                }
                i += 1
                continue
            }
            if let (scalar, length) = decodeScalar(array, at: i) {
                // C1 controls (U+0080–U+009F) include CSI, an ANSI introducer.
                if scalar.value >= 0x80 && scalar.value < 0xa0 {
                    out += "\\u{\(String(scalar.value, radix: 16))}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
                i += length
            } else {
                out += hexEscape(b)
                i += 1
            }
        }
        return out
    }

    /// Escapes a Swift string's UTF-8 the same way (its controls and backslashes; it is valid UTF-8 already).
    public static func escape(_ text: String) -> String { escape(Array(text.utf8)) }

    private static func hexEscape(_ b: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return "\\x" + String(digits[Int(b >> 4)]) + String(digits[Int(b & 0xf)])
    }

    /// Strict UTF-8 decoding of one scalar (no overlongs, no surrogates).
    private static func decodeScalar(_ a: [UInt8], at i: Int) -> (Unicode.Scalar, Int)? {
        let b0 = a[i]
        let length: Int
        let minimum: UInt32
        var value: UInt32
        switch b0 {
        case 0xc2...0xdf:
            length = 2
            minimum = 0x80
            value = UInt32(b0 & 0x1f)
        case 0xe0...0xef:
            length = 3
            minimum = 0x800
            value = UInt32(b0 & 0x0f)
        case 0xf0...0xf4:
            length = 4
            minimum = 0x10000
            value = UInt32(b0 & 0x07)
        default: return nil
        }
        guard i + length <= a.count else { return nil }
        for k in 1..<length {
            let b = a[i + k]
            guard b & 0xc0 == 0x80 else { return nil }
            value = value << 6 | UInt32(b & 0x3f)
        }
        guard value >= minimum, let scalar = Unicode.Scalar(value) else { return nil }
        return (scalar, length)
    }
}
