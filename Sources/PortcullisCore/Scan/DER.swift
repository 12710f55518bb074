/// A minimal reader for ASN.1 DER, enough for X.509 certificates and SNMP
/// replies. Every byte it reads came from the network: each read is bounds
/// checked and a failure names the field being read, so a truncated or
/// hostile certificate produces an error, never a trap.

/// Why DER could not be read, and where.
public struct DERError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What was wrong with the bytes.
    public enum Problem: Sendable, Hashable {
        /// The input ended inside the field.
        case truncated
        /// A tag other than the one the structure requires.
        case unexpectedTag(expected: UInt8, found: UInt8)
        /// Indefinite, over-long or non-minimal length (not DER).
        case badLength
        /// High-tag-number form (tag ≥ 31), which nothing read here uses.
        case unsupportedTag
        /// The contents do not hold a valid value of the field's type.
        case badValue(String)
        /// Bytes left over after the last element.
        case trailingBytes
    }

    /// Dotted path of the field, e.g. `tbsCertificate.validity.notAfter`.
    public var field: String
    /// What was wrong with the bytes at `field`.
    public var problem: Problem

    /// An error about `field`.
    public init(field: String, problem: Problem) {
        self.field = field
        self.problem = problem
    }

    /// `FIELD: problem`, e.g. "tbsCertificate.validity: truncated".
    public var description: String {
        switch problem {
        case .truncated: return "\(field): truncated"
        case .unexpectedTag(let expected, let found):
            return "\(field): expected tag 0x\(DER.hex(expected)), found 0x\(DER.hex(found))"
        case .badLength: return "\(field): invalid length"
        case .unsupportedTag: return "\(field): unsupported tag form"
        case .badValue(let why): return "\(field): \(why)"
        case .trailingBytes: return "\(field): unexpected trailing bytes"
        }
    }
}

/// One TLV: its identifier octet and its contents.
public struct DERElement: Sendable, Hashable {
    /// The identifier octet (class, constructed bit, tag number < 31).
    public var tag: UInt8
    /// The contents octets, without the identifier and length.
    public var contents: ArraySlice<UInt8>
    /// The whole encoding, header included (for signatures and comparisons).
    public var encoded: ArraySlice<UInt8>

    /// The constructed bit (0x20) is set: the contents are a series of elements.
    public var isConstructed: Bool { tag & 0x20 != 0 }

    /// A reader over the contents of a constructed element (`acceptsBER`:
    /// long-form lengths need not be minimal, as in SNMP).
    public func children(field: String, acceptsBER: Bool = false) -> DERReader {
        DERReader(contents, field: field, acceptsBER: acceptsBER)
    }
}

/// Tags used here.
public enum DER {
    /// BOOLEAN (universal 1).
    public static let boolean: UInt8 = 0x01
    /// INTEGER (universal 2).
    public static let integer: UInt8 = 0x02
    /// BIT STRING (universal 3).
    public static let bitString: UInt8 = 0x03
    /// OCTET STRING (universal 4).
    public static let octetString: UInt8 = 0x04
    /// NULL (universal 5).
    public static let null: UInt8 = 0x05
    /// OBJECT IDENTIFIER (universal 6).
    public static let objectIdentifier: UInt8 = 0x06
    /// UTF8String (universal 12).
    public static let utf8String: UInt8 = 0x0c
    /// PrintableString (universal 19).
    public static let printableString: UInt8 = 0x13
    /// TeletexString, also T61String (universal 20).
    public static let teletexString: UInt8 = 0x14
    /// IA5String (universal 22).
    public static let ia5String: UInt8 = 0x16
    /// UTCTime (universal 23).
    public static let utcTime: UInt8 = 0x17
    /// GeneralizedTime (universal 24).
    public static let generalizedTime: UInt8 = 0x18
    /// UniversalString (universal 28), UTF-32 big-endian.
    public static let universalString: UInt8 = 0x1c
    /// BMPString (universal 30), UTF-16 big-endian.
    public static let bmpString: UInt8 = 0x1e
    /// SEQUENCE and SEQUENCE OF (universal 16, constructed).
    public static let sequence: UInt8 = 0x30
    /// SET and SET OF (universal 17, constructed).
    public static let set: UInt8 = 0x31

    /// Context-specific tag `[n]`, constructed or primitive.
    public static func context(_ n: UInt8, constructed: Bool) -> UInt8 { 0x80 | (constructed ? 0x20 : 0) | n }

    static func hex(_ b: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return String(digits[Int(b >> 4)]) + String(digits[Int(b & 0xf)])
    }

    /// Lower-case hex of a byte string.
    public static func hex<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        bytes.map { hex($0) }.joined()
    }
}

/// Reads consecutive elements from a byte range.
public struct DERReader: Sendable {
    private let bytes: ArraySlice<UInt8>
    private var position: Int
    /// Path of the enclosing structure, prefixed to field names in errors.
    public let field: String
    /// BER rather than DER: a long-form length need not be minimal (SNMP
    /// agents send `0x82 0x00 0x30`). Definite lengths only, either way.
    public var acceptsBER = false

    /// A reader over `bytes`; `field` prefixes the field names in its errors.
    public init(_ bytes: ArraySlice<UInt8>, field: String = "", acceptsBER: Bool = false) {
        self.bytes = bytes
        self.position = bytes.startIndex
        self.field = field
        self.acceptsBER = acceptsBER
    }

    /// A reader over the whole of `bytes`; `field` prefixes the field names in its errors.
    public init(_ bytes: [UInt8], field: String = "") { self.init(bytes[...], field: field) }

    /// Every byte has been read.
    public var isAtEnd: Bool { position >= bytes.endIndex }

    /// The identifier octet of the next element, nil at the end.
    public var peekTag: UInt8? { isAtEnd ? nil : bytes[position] }

    func path(_ name: String) -> String { field.isEmpty ? name : field + "." + name }

    /// Reads the next element, whatever its tag.
    public mutating func readAny(_ name: String) throws(DERError) -> DERElement {
        let location = path(name)
        let start = position
        guard start < bytes.endIndex else { throw DERError(field: location, problem: .truncated) }
        let tag = bytes[start]
        guard tag & 0x1f != 0x1f else { throw DERError(field: location, problem: .unsupportedTag) }
        var cursor = start + 1
        guard cursor < bytes.endIndex else { throw DERError(field: location, problem: .truncated) }
        let first = bytes[cursor]
        cursor += 1
        var length = 0
        if first < 0x80 {
            length = Int(first)
        } else {
            let count = Int(first & 0x7f)
            // 0x80 is BER's indefinite length; more than 4 octets cannot fit any input we accept.
            guard count >= 1, count <= 4 else { throw DERError(field: location, problem: .badLength) }
            guard bytes.endIndex - cursor >= count else { throw DERError(field: location, problem: .truncated) }
            for _ in 0..<count {
                length = length << 8 | Int(bytes[cursor])
                cursor += 1
            }
            // DER: the short form when it fits, and no leading zero octets.
            guard acceptsBER || (length >= 0x80 && length >> (8 * (count - 1)) != 0) else {
                throw DERError(field: location, problem: .badLength)
            }
        }
        guard bytes.endIndex - cursor >= length else { throw DERError(field: location, problem: .truncated) }
        position = cursor + length
        return DERElement(tag: tag, contents: bytes[cursor..<position], encoded: bytes[start..<position])
    }

    /// Reads the next element and checks its tag.
    public mutating func read(_ tag: UInt8, _ name: String) throws(DERError) -> DERElement {
        guard let found = peekTag else { throw DERError(field: path(name), problem: .truncated) }
        guard found == tag else { throw DERError(field: path(name), problem: .unexpectedTag(expected: tag, found: found)) }
        return try readAny(name)
    }

    /// Reads the next element only when it carries `tag` (OPTIONAL fields).
    public mutating func readOptional(_ tag: UInt8, _ name: String) throws(DERError) -> DERElement? {
        guard peekTag == tag else { return nil }
        return try readAny(name)
    }

    /// Throws unless every byte has been read.
    public func expectEnd(_ name: String) throws(DERError) {
        guard isAtEnd else { throw DERError(field: path(name), problem: .trailingBytes) }
    }
}

extension DERElement {
    /// A non-negative INTEGER that fits in 64 bits (SNMP request ids, versions).
    public func unsignedInteger(field: String) throws(DERError) -> UInt64 {
        guard tag == DER.integer else { throw DERError(field: field, problem: .unexpectedTag(expected: DER.integer, found: tag)) }
        guard let first = contents.first else { throw DERError(field: field, problem: .badValue("empty integer")) }
        guard first & 0x80 == 0 else { throw DERError(field: field, problem: .badValue("negative integer")) }
        let significant = contents.drop { $0 == 0 }
        guard significant.count <= 8 else { throw DERError(field: field, problem: .badValue("integer too large")) }
        return significant.reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// Dotted text of an OBJECT IDENTIFIER ("2.5.4.3").
    public func objectIdentifier(field: String) throws(DERError) -> String {
        guard tag == DER.objectIdentifier else {
            throw DERError(field: field, problem: .unexpectedTag(expected: DER.objectIdentifier, found: tag))
        }
        guard let last = contents.last, last & 0x80 == 0 else {
            throw DERError(field: field, problem: .badValue("malformed object identifier"))
        }
        var arcs: [UInt64] = []
        var value: UInt64 = 0
        var digits = 0
        for byte in contents {
            // A sub-identifier longer than 9 groups of 7 bits would overflow; no real OID has one.
            guard digits < 9 else { throw DERError(field: field, problem: .badValue("object identifier arc too large")) }
            value = value << 7 | UInt64(byte & 0x7f)
            digits += 1
            if byte & 0x80 == 0 {
                arcs.append(value)
                value = 0
                digits = 0
            }
        }
        let first = arcs.removeFirst()
        let head: [UInt64] = first < 40 ? [0, first] : first < 80 ? [1, first - 40] : [2, first - 80]
        return (head + arcs).map(String.init).joined(separator: ".")
    }

    /// The text of a directory string or other ASN.1 string type, decoded
    /// (not yet escaped for display). nil for tags that are not strings.
    public func stringValue() -> [UInt8]? {
        switch tag {
        case DER.utf8String, DER.printableString, DER.ia5String, 0x12, 0x1a:  // 0x12 NumericString, 0x1a VisibleString
            return Array(contents)
        case DER.teletexString:
            // T.61 in theory, Latin-1 in practice: map each byte to its code point.
            var out: [UInt8] = []
            for b in contents { out.append(contentsOf: Array(String(Unicode.Scalar(b)).utf8)) }
            return out
        case DER.bmpString:
            guard contents.count % 2 == 0 else { return nil }
            var units: [UInt16] = []
            var i = contents.startIndex
            while i < contents.endIndex {
                units.append(UInt16(contents[i]) << 8 | UInt16(contents[i + 1]))
                i += 2
            }
            return Array(String(decoding: units, as: UTF16.self).utf8)
        case DER.universalString:
            guard contents.count % 4 == 0 else { return nil }
            var out = ""
            var i = contents.startIndex
            while i < contents.endIndex {
                let value = contents[i..<(i + 4)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
                out.unicodeScalars.append(Unicode.Scalar(value) ?? "\u{fffd}")
                i += 4
            }
            return Array(out.utf8)
        default:
            return nil
        }
    }
}
