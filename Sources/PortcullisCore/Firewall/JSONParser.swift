/// Why a JSON document was rejected, and the byte offset where it was noticed.
public struct JSONParseError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What was wrong with the document.
    public enum Kind: Hashable, Sendable {
        /// The input had no bytes at all.
        case emptyInput
        /// The input ended inside a value, or held only whitespace.
        case unexpectedEnd
        /// A byte that cannot start or continue the value being read.
        case unexpectedByte(UInt8)
        /// Something other than whitespace after the complete top-level value.
        case trailingContent
        /// Arrays and objects nested deeper than `limit`, the parser's bound on recursion.
        case tooDeep(limit: Int)
        /// A number not in JSON's grammar, e.g. a leading zero ("01") or a sign without digits.
        case invalidNumber
        /// An integer outside Int64.
        case numberOutOfRange
        /// A number with a fraction or exponent: `JSONValue` has no
        /// floating-point case (see `NonIntegerNumbers`).
        case nonIntegerNumber
        /// A raw control character (below U+0020) inside a string; JSON requires it escaped.
        case controlCharacterInString
        /// A backslash escape JSON does not define, or a `\u` without four hex digits.
        case invalidEscape
        /// A `\u` escape of half a surrogate pair with no other half.
        case loneSurrogate
        /// Bytes that are not valid UTF-8.
        case invalidUTF8
    }

    /// What was wrong.
    public let kind: Kind
    /// Byte offset into the input.
    public let offset: Int

    /// An error of `kind` noticed at byte `offset` of the input.
    public init(_ kind: Kind, at offset: Int) {
        self.kind = kind
        self.offset = offset
    }

    /// "WHAT at byte N", e.g. "unexpected character '}' at byte 17".
    public var description: String {
        let what: String
        switch kind {
        case .emptyInput: what = "empty input"
        case .unexpectedEnd: what = "unexpected end of input"
        case .unexpectedByte(let b):
            what =
                b >= 0x20 && b < 0x7f
                ? "unexpected character '\(Character(Unicode.Scalar(b)))'"
                : "unexpected byte 0x\(String(b, radix: 16))"
        case .trailingContent: what = "content after the end of the document"
        case .tooDeep(let limit): what = "nested deeper than \(limit) arrays/objects"
        case .invalidNumber: what = "malformed number"
        case .numberOutOfRange: what = "integer does not fit in 64 bits"
        case .nonIntegerNumber: what = "number with a fraction or exponent (only integers are supported)"
        case .controlCharacterInString: what = "unescaped control character in a string"
        case .invalidEscape: what = "invalid escape sequence in a string"
        case .loneSurrogate: what = "unpaired UTF-16 surrogate in a \\u escape"
        case .invalidUTF8: what = "invalid UTF-8"
        }
        return "\(what) at byte \(offset)"
    }
}

extension JSONValue {
    /// What to do with a number that has a fraction or an exponent.
    /// `JSONValue` deliberately has no floating-point case (its writer emits
    /// exact integers only), so such a number is either an error or kept as
    /// its literal text.
    public enum NonIntegerNumbers: Sendable {
        /// Fail with `.nonIntegerNumber` (strict; the default).
        case reject
        /// Keep the number's literal text as `.string`, e.g. `"1.5e3"`.
        /// For readers such as the nftables decoder that must not fail on a
        /// field they never look at: a consumer expecting an integer sees a
        /// string and treats the value as unknown.
        case keepAsString
    }

    /// Parses a complete RFC 8259 JSON text.
    ///
    /// Strict: no comments, trailing commas, leading zeros, `NaN`, single
    /// quotes, byte-order mark, invalid UTF-8 or unpaired surrogates; any
    /// value may be the top level. Object keys keep their order; duplicate
    /// keys are kept as they appear. Nesting deeper than `maxDepth` arrays or
    /// objects fails instead of exhausting the stack, so hostile input can
    /// make this throw but never crash.
    public static func parse(
        _ bytes: [UInt8], maxDepth: Int = 512, nonIntegers: NonIntegerNumbers = .reject
    ) throws(JSONParseError) -> JSONValue {
        var parser = JSONByteParser(bytes: bytes, maxDepth: maxDepth, nonIntegers: nonIntegers)
        return try parser.parseDocument()
    }
}

/// A recursive-descent parser over the input bytes. Recursion depth is
/// bounded by `maxDepth`, so the stack use is bounded too.
struct JSONByteParser {
    let bytes: [UInt8]
    let maxDepth: Int
    let nonIntegers: JSONValue.NonIntegerNumbers
    var index = 0

    init(bytes: [UInt8], maxDepth: Int, nonIntegers: JSONValue.NonIntegerNumbers) {
        self.bytes = bytes
        self.maxDepth = maxDepth
        self.nonIntegers = nonIntegers
    }

    mutating func parseDocument() throws(JSONParseError) -> JSONValue {
        skipWhitespace()
        guard index < bytes.count else {
            throw JSONParseError(bytes.isEmpty ? .emptyInput : .unexpectedEnd, at: index)
        }
        let value = try parseValue(depth: 0)
        skipWhitespace()
        guard index == bytes.count else { throw JSONParseError(.trailingContent, at: index) }
        return value
    }

    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0a, 0x0d: index += 1
            default: return
            }
        }
    }

    func peek() throws(JSONParseError) -> UInt8 {
        guard index < bytes.count else { throw JSONParseError(.unexpectedEnd, at: index) }
        return bytes[index]
    }

    mutating func parseValue(depth: Int) throws(JSONParseError) -> JSONValue {
        let byte = try peek()
        switch byte {
        case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
        case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"):
            try expectLiteral("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try expectLiteral("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try expectLiteral("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw JSONParseError(.unexpectedByte(byte), at: index)
        }
    }

    mutating func expectLiteral(_ word: String) throws(JSONParseError) {
        for expected in word.utf8 {
            guard index < bytes.count else { throw JSONParseError(.unexpectedEnd, at: index) }
            guard bytes[index] == expected else { throw JSONParseError(.unexpectedByte(bytes[index]), at: index) }
            index += 1
        }
    }

    mutating func parseObject(depth: Int) throws(JSONParseError) -> JSONValue {
        guard depth <= maxDepth else { throw JSONParseError(.tooDeep(limit: maxDepth), at: index) }
        index += 1  // {
        var fields: [(String, JSONValue)] = []
        skipWhitespace()
        if try peek() == UInt8(ascii: "}") {
            index += 1
            return .object(fields)
        }
        while true {
            skipWhitespace()
            let keyStart = try peek()
            guard keyStart == UInt8(ascii: "\"") else { throw JSONParseError(.unexpectedByte(keyStart), at: index) }
            let key = try parseString()
            skipWhitespace()
            let colon = try peek()
            guard colon == UInt8(ascii: ":") else { throw JSONParseError(.unexpectedByte(colon), at: index) }
            index += 1
            skipWhitespace()
            fields.append((key, try parseValue(depth: depth)))
            skipWhitespace()
            let next = try peek()
            index += 1
            if next == UInt8(ascii: ",") { continue }
            if next == UInt8(ascii: "}") { return .object(fields) }
            throw JSONParseError(.unexpectedByte(next), at: index - 1)
        }
    }

    mutating func parseArray(depth: Int) throws(JSONParseError) -> JSONValue {
        guard depth <= maxDepth else { throw JSONParseError(.tooDeep(limit: maxDepth), at: index) }
        index += 1  // [
        var items: [JSONValue] = []
        skipWhitespace()
        if try peek() == UInt8(ascii: "]") {
            index += 1
            return .array(items)
        }
        while true {
            skipWhitespace()
            items.append(try parseValue(depth: depth))
            skipWhitespace()
            let next = try peek()
            index += 1
            if next == UInt8(ascii: ",") { continue }
            if next == UInt8(ascii: "]") { return .array(items) }
            throw JSONParseError(.unexpectedByte(next), at: index - 1)
        }
    }

    // MARK: numbers

    static func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }

    /// RFC 8259 grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    mutating func parseNumber() throws(JSONParseError) -> JSONValue {
        let start = index
        var negative = false
        if bytes[index] == UInt8(ascii: "-") {
            negative = true
            index += 1
        }
        guard index < bytes.count else { throw JSONParseError(.unexpectedEnd, at: index) }
        guard Self.isDigit(bytes[index]) else { throw JSONParseError(.invalidNumber, at: index) }
        // Accumulate negatively so Int64.min parses without overflow.
        var value: Int64 = 0
        var overflow = false
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
            if index < bytes.count && Self.isDigit(bytes[index]) { throw JSONParseError(.invalidNumber, at: index) }
        } else {
            while index < bytes.count && Self.isDigit(bytes[index]) {
                let digit = Int64(bytes[index] - UInt8(ascii: "0"))
                let (shifted, o1) = value.multipliedReportingOverflow(by: 10)
                let (next, o2) = shifted.subtractingReportingOverflow(digit)
                if o1 || o2 { overflow = true } else { value = next }
                index += 1
            }
        }
        var isInteger = true
        if index < bytes.count && bytes[index] == UInt8(ascii: ".") {
            isInteger = false
            index += 1
            try consumeDigits()
        }
        if index < bytes.count && (bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E")) {
            isInteger = false
            index += 1
            if index < bytes.count && (bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-")) { index += 1 }
            try consumeDigits()
        }
        if !isInteger {
            switch nonIntegers {
            case .reject: throw JSONParseError(.nonIntegerNumber, at: start)
            case .keepAsString: return .string(String(decoding: bytes[start..<index], as: UTF8.self))
            }
        }
        if overflow { throw JSONParseError(.numberOutOfRange, at: start) }
        if negative { return .int(value) }
        guard value != Int64.min else { throw JSONParseError(.numberOutOfRange, at: start) }
        return .int(-value)
    }

    /// One or more digits (after `.` or an exponent).
    mutating func consumeDigits() throws(JSONParseError) {
        guard index < bytes.count else { throw JSONParseError(.unexpectedEnd, at: index) }
        guard Self.isDigit(bytes[index]) else { throw JSONParseError(.invalidNumber, at: index) }
        while index < bytes.count && Self.isDigit(bytes[index]) { index += 1 }
    }

    // MARK: strings

    /// A string starting at the opening quote. Plain runs are validated as
    /// UTF-8 and copied in one piece; escapes are decoded one by one.
    mutating func parseString() throws(JSONParseError) -> String {
        index += 1  // opening quote
        var result = ""
        var runStart = index
        while true {
            guard index < bytes.count else { throw JSONParseError(.unexpectedEnd, at: index) }
            let b = bytes[index]
            switch b {
            case UInt8(ascii: "\""):
                result += String(decoding: bytes[runStart..<index], as: UTF8.self)
                index += 1
                return result
            case UInt8(ascii: "\\"):
                result += String(decoding: bytes[runStart..<index], as: UTF8.self)
                try parseEscape(into: &result)
                runStart = index
            case 0..<0x20:
                throw JSONParseError(.controlCharacterInString, at: index)
            case 0x20..<0x80:
                index += 1
            default:
                index += try utf8SequenceLength(at: index)
            }
        }
    }

    /// Length of the valid UTF-8 sequence at `i` (lead byte >= 0x80), or an
    /// error: no overlong forms, no surrogates, nothing above U+10FFFF.
    func utf8SequenceLength(at i: Int) throws(JSONParseError) -> Int {
        let b0 = bytes[i]
        let length: Int
        var low: UInt8 = 0x80
        var high: UInt8 = 0xbf  // allowed range of the second byte
        switch b0 {
        case 0xc2...0xdf: length = 2
        case 0xe0:
            length = 3
            low = 0xa0
        case 0xe1...0xec, 0xee...0xef: length = 3
        case 0xed:
            length = 3
            high = 0x9f  // excludes UTF-16 surrogates
        case 0xf0:
            length = 4
            low = 0x90
        case 0xf1...0xf3: length = 4
        case 0xf4:
            length = 4
            high = 0x8f
        default: throw JSONParseError(.invalidUTF8, at: i)
        }
        guard i + length <= bytes.count else { throw JSONParseError(.invalidUTF8, at: i) }
        guard bytes[i + 1] >= low && bytes[i + 1] <= high else { throw JSONParseError(.invalidUTF8, at: i + 1) }
        for k in 2..<length where bytes[i + k] & 0xc0 != 0x80 {
            throw JSONParseError(.invalidUTF8, at: i + k)
        }
        return length
    }

    mutating func parseEscape(into result: inout String) throws(JSONParseError) {
        let escapeStart = index
        index += 1  // backslash
        guard index < bytes.count else { throw JSONParseError(.unexpectedEnd, at: index) }
        let c = bytes[index]
        index += 1
        switch c {
        case UInt8(ascii: "\""): result += "\""
        case UInt8(ascii: "\\"): result += "\\"
        case UInt8(ascii: "/"): result += "/"
        case UInt8(ascii: "b"): result += "\u{08}"
        case UInt8(ascii: "f"): result += "\u{0c}"
        case UInt8(ascii: "n"): result += "\n"
        case UInt8(ascii: "r"): result += "\r"
        case UInt8(ascii: "t"): result += "\t"
        case UInt8(ascii: "u"):
            let unit = try parseHex4()
            var scalarValue = UInt32(unit)
            if unit >= 0xd800 && unit <= 0xdbff {
                // A high surrogate must be followed by `\u` and a low one.
                guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                    throw JSONParseError(.loneSurrogate, at: escapeStart)
                }
                index += 2
                let lowUnit = try parseHex4()
                guard lowUnit >= 0xdc00 && lowUnit <= 0xdfff else { throw JSONParseError(.loneSurrogate, at: escapeStart) }
                scalarValue = 0x10000 + ((UInt32(unit) - 0xd800) << 10) + (UInt32(lowUnit) - 0xdc00)
            } else if unit >= 0xdc00 && unit <= 0xdfff {
                throw JSONParseError(.loneSurrogate, at: escapeStart)
            }
            guard let scalar = Unicode.Scalar(scalarValue) else { throw JSONParseError(.invalidEscape, at: escapeStart) }
            result.unicodeScalars.append(scalar)
        default:
            throw JSONParseError(.invalidEscape, at: escapeStart)
        }
    }

    mutating func parseHex4() throws(JSONParseError) -> UInt16 {
        var value: UInt16 = 0
        for _ in 0..<4 {
            guard index < bytes.count else { throw JSONParseError(.unexpectedEnd, at: index) }
            let b = bytes[index]
            let digit: UInt8
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = b - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = b - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = b - UInt8(ascii: "A") + 10
            default: throw JSONParseError(.invalidEscape, at: index)
            }
            value = value << 4 | UInt16(digit)
            index += 1
        }
        return value
    }
}

extension JSONValue {
    // Accessors for readers of parsed documents. Internal, and named so they
    // do not collide with accessors other parts of the module may add.

    /// The value of `key` in an object (the first, if repeated); nil for a
    /// missing key or a non-object.
    func jsonMember(_ key: String) -> JSONValue? {
        guard case .object(let fields) = self else { return nil }
        return fields.first(where: { $0.0 == key })?.1
    }

    var jsonString: String? { if case .string(let s) = self { return s } else { return nil } }
    var jsonInt: Int64? { if case .int(let i) = self { return i } else { return nil } }
    var jsonArray: [JSONValue]? { if case .array(let a) = self { return a } else { return nil } }
    var jsonObject: [(String, JSONValue)]? { if case .object(let o) = self { return o } else { return nil } }
    var jsonIsNull: Bool { if case .null = self { return true } else { return false } }
}
