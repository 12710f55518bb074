/// A JSON value with object keys kept in the order they were written, so
/// output is stable and reads in a sensible order. Written by hand rather
/// than with Codable: the field names are a documented contract, and the
/// writer is several times faster on large inventories.
public indirect enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int64)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    /// Equal values with equal keys in the same order.
    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.int(let a), .int(let b)): return a == b
        case (.string(let a), .string(let b)): return a == b
        case (.array(let a), .array(let b)): return a == b
        case (.object(let a), .object(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    /// The string, or null.
    public static func optional(_ s: String?) -> JSONValue { s.map(JSONValue.string) ?? .null }
    /// The integer, or null.
    public static func optional<I: BinaryInteger>(_ i: I?) -> JSONValue { i.map { .int(Int64($0)) } ?? .null }
    /// The boolean, or null.
    public static func optional(_ b: Bool?) -> JSONValue { b.map(JSONValue.bool) ?? .null }

    /// Compact (one line) or indented text.
    public func serialized(pretty: Bool = false) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        write(into: &out, pretty: pretty, indent: 0)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends the value to `out`, compact or indented as if nested `indent` levels deep.
    public func write(into out: inout [UInt8], pretty: Bool, indent: Int) {
        switch self {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .int(let i): out.append(contentsOf: String(i).utf8)
        case .string(let s): JSONValue.writeString(s, into: &out)
        case .array(let items):
            if items.isEmpty {
                out.append(contentsOf: "[]".utf8)
                return
            }
            out.append(0x5b)
            for (k, item) in items.enumerated() {
                if k > 0 { out.append(0x2c) }
                if pretty { JSONValue.newline(&out, indent + 1) }
                item.write(into: &out, pretty: pretty, indent: indent + 1)
            }
            if pretty { JSONValue.newline(&out, indent) }
            out.append(0x5d)
        case .object(let fields):
            if fields.isEmpty {
                out.append(contentsOf: "{}".utf8)
                return
            }
            out.append(0x7b)
            for (k, (key, value)) in fields.enumerated() {
                if k > 0 { out.append(0x2c) }
                if pretty { JSONValue.newline(&out, indent + 1) }
                JSONValue.writeString(key, into: &out)
                out.append(0x3a)
                if pretty { out.append(0x20) }
                value.write(into: &out, pretty: pretty, indent: indent + 1)
            }
            if pretty { JSONValue.newline(&out, indent) }
            out.append(0x7d)
        }
    }

    static func newline(_ out: inout [UInt8], _ indent: Int) {
        out.append(0x0a)
        for _ in 0..<(indent * 2) { out.append(0x20) }
    }

    static let hexDigits = Array("0123456789abcdef".utf8)

    /// RFC 8259 string escaping: quotes, backslash and every control character.
    static func writeString(_ s: String, into out: inout [UInt8]) {
        out.append(0x22)
        // Runs of bytes that need no escape are copied whole, not appended
        // one by one: strings are most of every JSON document (a finding's
        // evidence, 10,000 listeners' owners).
        var text = s
        text.withUTF8 { bytes in
            var run = 0
            for i in bytes.indices {
                let byte = bytes[i]
                if byte >= 0x20 && byte != 0x22 && byte != 0x5c && byte != 0x7f { continue }
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[run..<i]))
                run = i + 1
                switch byte {
                case 0x22:
                    out.append(0x5c)
                    out.append(0x22)
                case 0x5c:
                    out.append(0x5c)
                    out.append(0x5c)
                case 0x0a:
                    out.append(0x5c)
                    out.append(0x6e)
                case 0x0d:
                    out.append(0x5c)
                    out.append(0x72)
                case 0x09:
                    out.append(0x5c)
                    out.append(0x74)
                default:
                    out.append(contentsOf: "\\u00".utf8)
                    out.append(hexDigits[Int(byte >> 4)])
                    out.append(hexDigits[Int(byte & 0xf)])
                }
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[run...]))
        }
        out.append(0x22)
    }
}
