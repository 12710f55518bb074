/// Just enough of MongoDB's wire protocol to ask one read-only question:
/// an OP_MSG (opcode 2013) carrying `{listDatabases: 1, nameOnly: true,
/// $db: "admin"}`, and its reply. A server without authentication answers
/// `ok: 1` with the database names; with authentication on, `ok: 0`,
/// `code: 13`, `codeName: "Unauthorized"`. Pure, and bounded on hostile
/// input: every length is checked against the bytes present, documents
/// nest at most `BSON.maxDepth` deep, and a reply is at most
/// `MongoWire.maxReplyBytes` long.
public enum MongoWire {
    /// OP_MSG's opcode.
    public static let opMsg: Int32 = 2013
    /// The largest reply read (a listDatabases answer with names only is a few hundred bytes).
    public static let maxReplyBytes = 65_536

    /// An OP_MSG with one body section (kind 0) holding `command`.
    public static func message(_ command: BSONDocument, requestID: Int32) -> [UInt8] {
        let body = BSON.encode(command)
        let length = 16 + 4 + 1 + body.count
        return le32(Int32(length)) + le32(requestID) + le32(0) + le32(opMsg) + le32(0) + [0] + body
    }

    /// `{listDatabases: 1, nameOnly: true, $db: "admin"}`: read-only, and refused (code 13) when authentication is on.
    /// Built on each use, not kept in a global: LeakSanitizer cannot follow the tagged pointers of
    /// an indirect enum's cases, so a document held for the process's life reads as a leak.
    public static var listDatabases: BSONDocument {
        BSONDocument([
            ("listDatabases", .int32(1)), ("nameOnly", .bool(true)), ("$db", .string("admin")),
        ])
    }

    /// The request id our probe uses; the reply's `responseTo` must echo it.
    public static let probeRequestID: Int32 = 0x7063_6d64

    /// The probe's bytes: `listDatabases` as an OP_MSG.
    public static var listDatabasesRequest: [UInt8] { message(listDatabases, requestID: probeRequestID) }

    /// The total length of the message at the start of `bytes`, once its header has arrived; nil before.
    public static func declaredLength(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        return Int(readLE32(bytes, 0))
    }

    /// Why a reply could not be read.
    public struct WireError: Error, Sendable, Hashable, CustomStringConvertible {
        /// What was wrong.
        public var reason: String
        /// A message naming the problem.
        public var description: String { "MongoDB reply: " + reason }
    }

    /// The body document of an OP_MSG reply to request `requestID`.
    public static func reply(_ bytes: [UInt8], requestID: Int32) throws(WireError) -> BSONDocument {
        guard bytes.count >= 21 else { throw WireError(reason: "shorter than an OP_MSG header (\(bytes.count) bytes)") }
        let length = Int(readLE32(bytes, 0))
        guard length >= 21, length <= maxReplyBytes else { throw WireError(reason: "message length \(length) out of range") }
        guard bytes.count >= length else { throw WireError(reason: "truncated: \(bytes.count) of \(length) bytes") }
        guard readLE32(bytes, 8) == requestID else { throw WireError(reason: "responseTo does not echo our request id") }
        let opcode = readLE32(bytes, 12)
        guard opcode == opMsg else { throw WireError(reason: "opcode \(opcode), not OP_MSG") }
        let flags = UInt32(bitPattern: readLE32(bytes, 16))
        // Bit 0 (checksumPresent) adds a CRC-32C at the end; the body section comes first either way.
        let end = flags & 1 != 0 ? length - 4 : length
        guard bytes[20] == 0 else { throw WireError(reason: "first section is kind \(bytes[20]), not a body") }
        guard end > 21 else { throw WireError(reason: "no body document") }
        do {
            let (document, _) = try BSON.decodeDocument(Array(bytes[21..<end]), at: 0, depth: 0)
            return document
        } catch {
            throw WireError(reason: error.description)
        }
    }

    /// What a listDatabases answer says about authentication.
    public enum Outcome: Sendable, Hashable {
        /// `ok: 1`: the command ran without credentials; the database names (at most 8, escaped).
        case answered(databases: [String], total: Int)
        /// `ok: 0` with code 13 (Unauthorized) or 18 (AuthenticationFailed): authentication is on.
        case authenticationRequired(String)
        /// Another refusal: its code and message (escaped).
        case refused(String)
    }

    /// Reads a listDatabases reply document.
    public static func outcome(_ reply: BSONDocument) -> Outcome {
        let ok = reply["ok"]?.number ?? 0
        if ok == 1 {
            var names: [String] = []
            var total = 0
            if case .array(let list) = reply["databases"] {
                for item in list.fields {
                    guard case .document(let database) = item.value, case .string(let name) = database["name"] else { continue }
                    total += 1
                    if names.count < 8 { names.append(UntrustedText.escape(Array(name.utf8.prefix(64)))) }
                }
            }
            return .answered(databases: names, total: total)
        }
        let code = reply["code"]?.number.map { Int($0) }
        var name = ""
        if case .string(let text) = reply["codeName"] { name = UntrustedText.escape(Array(text.utf8.prefix(64))) }
        var message = ""
        if case .string(let text) = reply["errmsg"] { message = UntrustedText.escape(Array(text.utf8.prefix(120))) }
        let label = [name.isEmpty ? nil : name, code.map { "code \($0)" }].compactMap { $0 }.joined(separator: ", ")
        if code == 13 || code == 18 || name == "Unauthorized" {
            return .authenticationRequired(label.isEmpty ? "Unauthorized" : label)
        }
        return .refused([label, message].filter { !$0.isEmpty }.joined(separator: ": "))
    }

    static func le32(_ value: Int32) -> [UInt8] {
        let v = UInt32(bitPattern: value)
        return [UInt8(v & 0xff), UInt8((v >> 8) & 0xff), UInt8((v >> 16) & 0xff), UInt8(v >> 24)]
    }

    static func readLE32(_ bytes: [UInt8], _ at: Int) -> Int32 {
        Int32(bitPattern: UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24)
    }
}

/// One BSON value, of the types a command reply carries; anything else is read past as `.other`.
public indirect enum BSONValue: Sendable, Hashable {
    /// 0x01 double.
    case double(Double)
    /// 0x02 UTF-8 string (invalid UTF-8 repaired).
    case string(String)
    /// 0x03 embedded document.
    case document(BSONDocument)
    /// 0x04 array (a document keyed "0", "1", ...).
    case array(BSONDocument)
    /// 0x08 boolean.
    case bool(Bool)
    /// 0x0A null.
    case null
    /// 0x10 32-bit integer.
    case int32(Int32)
    /// 0x12 64-bit integer.
    case int64(Int64)
    /// Any other type, skipped: its type byte.
    case other(UInt8)

    /// The value as a number when it is one (`ok` comes as a double, an int32 or an int64).
    public var number: Double? {
        switch self {
        case .double(let value): return value
        case .int32(let value): return Double(value)
        case .int64(let value): return Double(value)
        case .bool(let value): return value ? 1 : 0
        default: return nil
        }
    }
}

/// An ordered BSON document.
public struct BSONDocument: Sendable, Hashable {
    /// One name and value.
    public struct Field: Sendable, Hashable {
        /// The element's name.
        public var name: String
        /// Its value.
        public var value: BSONValue
    }

    /// The fields in wire order.
    public var fields: [Field]

    /// A document of these fields, in order.
    public init(_ fields: [(String, BSONValue)]) { self.fields = fields.map { Field(name: $0.0, value: $0.1) } }

    /// The first field named `name`.
    public subscript(_ name: String) -> BSONValue? { fields.first { $0.name == name }?.value }
}

/// The BSON encoder and decoder for command documents (bsonspec.org, version 1.1).
public enum BSON {
    /// How deep documents may nest before the decoder refuses.
    public static let maxDepth = 16
    /// The most fields read from one document.
    public static let maxFields = 4096

    /// Why a document could not be decoded.
    public struct DecodeError: Error, Sendable, Hashable, CustomStringConvertible {
        /// What was wrong and where.
        public var description: String
    }

    /// The bytes of `document`: int32 total length, elements, a 0 byte.
    public static func encode(_ document: BSONDocument) -> [UInt8] {
        var body: [UInt8] = []
        for field in document.fields {
            let name = Array(field.name.utf8.filter { $0 != 0 }) + [0]
            switch field.value {
            case .double(let value):
                body += [0x01] + name + le64(value.bitPattern)
            case .string(let text):
                let bytes = Array(text.utf8)
                body += [0x02] + name + MongoWire.le32(Int32(bytes.count + 1)) + bytes + [0]
            case .document(let inner):
                body += [0x03] + name + encode(inner)
            case .array(let inner):
                body += [0x04] + name + encode(inner)
            case .bool(let value):
                body += [0x08] + name + [value ? 1 : 0]
            case .null:
                body += [0x0A] + name
            case .int32(let value):
                body += [0x10] + name + MongoWire.le32(value)
            case .int64(let value):
                body += [0x12] + name + le64(UInt64(bitPattern: value))
            case .other:
                continue  // nothing to write for a type we only skip
            }
        }
        return MongoWire.le32(Int32(4 + body.count + 1)) + body + [0]
    }

    /// Decodes the document starting at `at`; returns it and the offset after it.
    public static func decodeDocument(_ bytes: [UInt8], at start: Int, depth: Int) throws(DecodeError) -> (BSONDocument, Int) {
        guard depth <= maxDepth else { throw DecodeError(description: "documents nested deeper than \(maxDepth)") }
        guard start >= 0, bytes.count - start >= 5 else { throw DecodeError(description: "document at \(start) truncated") }
        let length = Int(MongoWire.readLE32(bytes, start))
        guard length >= 5, length <= bytes.count - start else {
            throw DecodeError(description: "document at \(start) declares \(length) bytes, \(bytes.count - start) present")
        }
        let end = start + length - 1  // the terminating 0
        guard bytes[end] == 0 else { throw DecodeError(description: "document at \(start) not terminated") }
        var fields: [BSONDocument.Field] = []
        var i = start + 4
        while i < end {
            guard fields.count < maxFields else { throw DecodeError(description: "more than \(maxFields) fields") }
            let type = bytes[i]
            i += 1
            guard let nameEnd = bytes[i..<end].firstIndex(of: 0) else {
                throw DecodeError(description: "element name at \(i) unterminated")
            }
            let name = String(decoding: bytes[i..<nameEnd], as: UTF8.self)
            i = nameEnd + 1
            func need(_ count: Int) throws(DecodeError) {
                guard count >= 0, end - i >= count else { throw DecodeError(description: "element \"\(name)\" truncated") }
            }
            let value: BSONValue
            switch type {
            case 0x01:
                try need(8)
                value = .double(Double(bitPattern: readLE64(bytes, i)))
                i += 8
            case 0x02, 0x0D, 0x0E:  // string, JavaScript code, symbol: int32 length (with the 0), bytes, 0
                try need(4)
                let count = Int(MongoWire.readLE32(bytes, i))
                i += 4
                try need(count)
                guard count >= 1, bytes[i + count - 1] == 0 else { throw DecodeError(description: "string \"\(name)\" malformed") }
                value = type == 0x02 ? .string(String(decoding: bytes[i..<(i + count - 1)], as: UTF8.self)) : .other(type)
                i += count
            case 0x03, 0x04:
                let (inner, next) = try decodeDocument(Array(bytes[i..<end]), at: 0, depth: depth + 1)
                value = type == 0x03 ? .document(inner) : .array(inner)
                i += next
            case 0x05:  // binary: int32 length, subtype, bytes
                try need(5)
                let count = Int(MongoWire.readLE32(bytes, i))
                try need(5 + max(count, -1))
                guard count >= 0 else { throw DecodeError(description: "binary \"\(name)\" has a negative length") }
                value = .other(type)
                i += 5 + count
            case 0x06, 0x0A, 0x7F, 0xFF:  // undefined, null, max key, min key: no bytes
                value = type == 0x0A ? .null : .other(type)
            case 0x07:  // ObjectId
                try need(12)
                value = .other(type)
                i += 12
            case 0x08:
                try need(1)
                value = .bool(bytes[i] != 0)
                i += 1
            case 0x09, 0x11:  // UTC datetime, timestamp
                try need(8)
                value = .other(type)
                i += 8
            case 0x0B:  // regex: two C strings
                for _ in 0..<2 {
                    guard let stop = bytes[i..<end].firstIndex(of: 0) else {
                        throw DecodeError(description: "regex \"\(name)\" unterminated")
                    }
                    i = stop + 1
                }
                value = .other(type)
            case 0x10:
                try need(4)
                value = .int32(MongoWire.readLE32(bytes, i))
                i += 4
            case 0x12:
                try need(8)
                value = .int64(Int64(bitPattern: readLE64(bytes, i)))
                i += 8
            case 0x13:  // decimal128
                try need(16)
                value = .other(type)
                i += 16
            default:
                throw DecodeError(description: "element \"\(name)\" has unknown type 0x\(DER.hex(type))")
            }
            fields.append(BSONDocument.Field(name: name, value: value))
        }
        guard i == end else { throw DecodeError(description: "document at \(start) overruns its length") }
        var document = BSONDocument([])
        document.fields = fields
        return (document, start + length)
    }

    static func le64(_ value: UInt64) -> [UInt8] { (0..<8).map { UInt8((value >> (8 * UInt64($0))) & 0xff) } }

    static func readLE64(_ bytes: [UInt8], _ at: Int) -> UInt64 {
        (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[at + $1]) << (8 * UInt64($1)) }
    }
}
