// DNS messages in RFC 1035 wire format: enough to ask a nameserver for the
// A or AAAA records of a name and to read its reply, so the scanner can
// resolve hostnames without NSS (which a static binary cannot load).
//
// Only the header, the question section and the answer section are read;
// authority and additional records are not needed and are left unparsed,
// so a malformed record there cannot fail a usable answer.

/// A record type (RFC 1035 3.2.2, RFC 3596).
public struct DNSRecordType: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    /// The TYPE value as on the wire.
    public let rawValue: UInt16
    /// Any type, known here by name or not.
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// A (1): an IPv4 address.
    public static let a = DNSRecordType(rawValue: 1)
    /// CNAME (5): an alias's canonical name.
    public static let cname = DNSRecordType(rawValue: 5)
    /// AAAA (28): an IPv6 address (RFC 3596).
    public static let aaaa = DNSRecordType(rawValue: 28)

    /// "A", "CNAME", "AAAA", or "TYPE" and the number for another type (RFC 3597 style).
    public var description: String {
        switch self {
        case .a: return "A"
        case .cname: return "CNAME"
        case .aaaa: return "AAAA"
        default: return "TYPE\(rawValue)"
        }
    }
}

/// The RCODE of a reply (RFC 1035 4.1.1), named as dig names it.
public struct DNSResponseCode: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    /// The 4-bit RCODE from the header flags.
    public let rawValue: UInt8
    /// Any RCODE, known here by name or not.
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// NOERROR (0): the query succeeded (possibly with no records of the type asked).
    public static let noError = DNSResponseCode(rawValue: 0)
    /// FORMERR (1): the server could not read the query.
    public static let formatError = DNSResponseCode(rawValue: 1)
    /// SERVFAIL (2): the server failed to answer (often an upstream or DNSSEC failure).
    public static let serverFailure = DNSResponseCode(rawValue: 2)
    /// The name does not exist.
    public static let nameError = DNSResponseCode(rawValue: 3)
    /// NOTIMP (4): the server does not support this kind of query.
    public static let notImplemented = DNSResponseCode(rawValue: 4)
    /// REFUSED (5): the server will not answer this client, by policy.
    public static let refused = DNSResponseCode(rawValue: 5)

    /// dig's name ("NOERROR", "NXDOMAIN", ...), or "RCODE N" for another code.
    public var description: String {
        switch rawValue {
        case 0: return "NOERROR"
        case 1: return "FORMERR"
        case 2: return "SERVFAIL"
        case 3: return "NXDOMAIN"
        case 4: return "NOTIMP"
        case 5: return "REFUSED"
        default: return "RCODE \(rawValue)"
        }
    }
}

/// A DNS message that could not be built or read. `description` names the
/// section, record and field, and the byte offset where reading stopped.
public struct DNSError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, naming the section, record and field and the byte offset where reading stopped.
    public var message: String
    /// An error with this message.
    public init(_ message: String) { self.message = message }
    /// The message as given.
    public var description: String { message }
}

/// One entry of the question section.
public struct DNSQuestion: Sendable, Hashable {
    /// Dotted, without the trailing dot; see `DNSMessage` for how odd bytes are written.
    public var name: String
    /// The record type asked for (A or AAAA when resolving).
    public var type: DNSRecordType
    /// 1 is IN (Internet).
    public var recordClass: UInt16

    /// A question; class IN unless given.
    public init(name: String, type: DNSRecordType, recordClass: UInt16 = 1) {
        self.name = name
        self.type = type
        self.recordClass = recordClass
    }
}

/// One resource record of the answer section.
public struct DNSRecord: Sendable, Hashable {
    /// A record's RDATA as far as it is understood here.
    public enum Data: Sendable, Hashable {
        /// A or AAAA.
        case address(IPAddress)
        /// CNAME: the canonical name.
        case name(String)
        /// Any other type, as received.
        case other([UInt8])
    }

    /// The owner name: dotted, without the trailing dot, odd bytes written as `\DDD` (see `DNSMessage`).
    public var name: String
    /// The record's TYPE.
    public var type: DNSRecordType
    /// The record's CLASS; 1 is IN (Internet).
    public var recordClass: UInt16
    /// How long the record may be cached, in seconds.
    public var ttl: UInt32
    /// The RDATA: an address for A/AAAA, a name for CNAME, else the raw bytes.
    public var data: Data

    /// A record; class IN unless given.
    public init(name: String, type: DNSRecordType, recordClass: UInt16 = 1, ttl: UInt32, data: Data) {
        self.name = name
        self.type = type
        self.recordClass = recordClass
        self.ttl = ttl
        self.data = data
    }
}

/// A DNS message: a query to send (`DNSMessage.query`) or a reply read from
/// the wire (`init(parsing:)`).
///
/// Names read from the wire are untrusted: a label byte that is not a
/// printable ASCII character other than `.` and `\` is written as `\DDD`
/// (RFC 1035 5.1 master-file form), so a name is always safe to print and
/// two different wire names never read the same.
public struct DNSMessage: Sendable, Hashable {
    /// The message ID; a reply echoes the query's, which is how it is matched to it.
    public var id: UInt16
    /// QR: a reply, not a query.
    public var isResponse: Bool
    /// The OPCODE (0 is a standard QUERY).
    public var opcode: UInt8
    /// AA: the answer comes from a server authoritative for the name.
    public var isAuthoritative: Bool
    /// TC: the reply did not fit in the UDP datagram; ask again over TCP.
    public var isTruncated: Bool
    /// RD: the query asked the server to recurse.
    public var recursionDesired: Bool
    /// RA: the server offers recursion.
    public var recursionAvailable: Bool
    /// The reply's RCODE (NOERROR, NXDOMAIN, ...).
    public var responseCode: DNSResponseCode
    /// The question section, as read.
    public var questions: [DNSQuestion]
    /// The answer section, in wire order.
    public var answers: [DNSRecord]

    /// The largest message carried over UDP without EDNS (RFC 1035 4.2.1).
    public static let maximumUDPSize = 512

    // MARK: Building a query

    /// A query for `name`'s records of `type` (class IN unless given;
    /// recursive unless told not to), in wire format. A trailing dot on
    /// `name` is allowed; labels must be 1-63 bytes and the whole name at
    /// most 253 characters (255 bytes on the wire).
    public static func query(
        id: UInt16, name: String, type: DNSRecordType, recordClass: UInt16 = 1,
        recursionDesired: Bool = true
    ) throws(DNSError) -> [UInt8] {
        var bytes: [UInt8] = [
            UInt8(id >> 8), UInt8(id & 0xff),
            recursionDesired ? 0x01 : 0x00, 0x00,  // QR 0, opcode 0 (QUERY), RD
            0x00, 0x01,  // QDCOUNT 1
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // ANCOUNT, NSCOUNT, ARCOUNT
        ]
        bytes += try encodeName(name)
        bytes += [UInt8(type.rawValue >> 8), UInt8(type.rawValue & 0xff), UInt8(recordClass >> 8), UInt8(recordClass & 0xff)]
        return bytes
    }

    static func encodeName(_ name: String) throws(DNSError) -> [UInt8] {
        if let problem = problem(withName: name) { throw DNSError("cannot query \"\(UntrustedText.escape(name))\": \(problem)") }
        var out: [UInt8] = []
        let body = name.hasSuffix(".") ? name.dropLast() : Substring(name)
        for label in body.split(separator: ".") {
            out.append(UInt8(label.utf8.count))
            out += label.utf8
        }
        out.append(0)
        return out
    }

    /// Why `name` cannot be put in a question, or nil when it can: it must
    /// have labels of 1-63 bytes and take at most 255 bytes on the wire
    /// (253 characters, or 254 with a trailing dot).
    public static func problem(withName name: String) -> String? {
        let body = name.hasSuffix(".") ? name.dropLast() : Substring(name)
        guard !body.isEmpty else { return "it is empty" }
        var wireLength = 1
        for label in body.split(separator: ".", omittingEmptySubsequences: false) {
            guard (1...63).contains(label.utf8.count) else { return "a label must be 1 to 63 bytes" }
            wireLength += 1 + label.utf8.count
        }
        return wireLength <= 255 ? nil : "it is longer than 255 bytes on the wire"
    }

    // MARK: Reading a reply

    /// Reads a message. Throws when the header, a question or an answer
    /// record runs past the end, a name is malformed (a label over 63 bytes,
    /// a compression pointer that does not point backwards, a name over 255
    /// bytes), or an A/AAAA record has the wrong data length.
    public init(parsing bytes: [UInt8]) throws(DNSError) {
        var reader = Reader(bytes: bytes)
        guard bytes.count >= 12 else {
            throw DNSError("DNS header: the message is \(bytes.count) bytes, shorter than the 12-byte header")
        }
        id = try reader.u16("header ID")
        let flags = try reader.u16("header flags")
        isResponse = flags & 0x8000 != 0
        opcode = UInt8((flags >> 11) & 0x0f)
        isAuthoritative = flags & 0x0400 != 0
        isTruncated = flags & 0x0200 != 0
        recursionDesired = flags & 0x0100 != 0
        recursionAvailable = flags & 0x0080 != 0
        responseCode = DNSResponseCode(rawValue: UInt8(flags & 0x000f))
        let questionCount = try reader.u16("header QDCOUNT")
        let answerCount = try reader.u16("header ANCOUNT")
        // NSCOUNT and ARCOUNT: those sections are not read.
        _ = try reader.u16("header NSCOUNT")
        _ = try reader.u16("header ARCOUNT")
        questions = []
        answers = []
        for i in 0..<Int(questionCount) {
            let what = "question \(i + 1)"
            let name = try reader.name("\(what) QNAME")
            let type = DNSRecordType(rawValue: try reader.u16("\(what) QTYPE"))
            let recordClass = try reader.u16("\(what) QCLASS")
            questions.append(DNSQuestion(name: name, type: type, recordClass: recordClass))
        }
        // A truncated reply may stop mid-record; what was complete is kept.
        for i in 0..<Int(answerCount) {
            do throws(DNSError) {
                answers.append(try reader.record("answer \(i + 1)"))
            } catch {
                if isTruncated { break }
                throw error
            }
        }
    }

    /// The addresses of `type` that this reply gives for `name`, following
    /// CNAME records within the answer section (at most 16 links; a loop or
    /// a longer chain gives no addresses). Names compare without regard to ASCII case. `canonicalName`
    /// is where the chain ended.
    public func addresses(for name: String, type: DNSRecordType) -> (addresses: [IPAddress], canonicalName: String) {
        var current = Self.canonical(name)
        var visited: Set<String> = [current]
        while let alias = answers.first(where: { $0.type == .cname && $0.recordClass == 1 && Self.canonical($0.name) == current }),
            case .name(let target) = alias.data
        {
            current = Self.canonical(target)
            // A loop, or a chain longer than any resolver follows, answers nothing.
            guard visited.insert(current).inserted, visited.count <= 17 else { return ([], current) }
        }
        var found: [IPAddress] = []
        for record in answers where record.type == type && record.recordClass == 1 && Self.canonical(record.name) == current {
            if case .address(let address) = record.data, !found.contains(address) { found.append(address) }
        }
        return (found, current)
    }

    /// Whether the first question asks for `name` and `type` in class IN: a
    /// reply to some other question is not an answer to ours.
    public func answersQuestion(name: String, type: DNSRecordType) -> Bool {
        guard questions.count == 1, let question = questions.first else { return false }
        return question.type == type && question.recordClass == 1 && Self.canonical(question.name) == Self.canonical(name)
    }

    /// `name` lower-cased (ASCII only) without a trailing dot: the form in
    /// which DNS names are compared, as DNS compares them without regard to case.
    public static func canonical(_ name: String) -> String {
        let body = name.hasSuffix(".") ? String(name.dropLast()) : name
        return String(decoding: body.utf8.map { $0 >= 0x41 && $0 <= 0x5a ? $0 + 0x20 : $0 }, as: UTF8.self)
    }

    // MARK: Wire reader

    struct Reader {
        let bytes: [UInt8]
        var offset = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        mutating func u16(_ field: String) throws(DNSError) -> UInt16 {
            guard offset + 2 <= bytes.count else { throw pastEnd(field) }
            defer { offset += 2 }
            return UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
        }

        mutating func u32(_ field: String) throws(DNSError) -> UInt32 {
            let high = try u16(field)
            let low = try u16(field)
            return UInt32(high) << 16 | UInt32(low)
        }

        func pastEnd(_ field: String) -> DNSError {
            DNSError("\(field) at byte \(offset) runs past the end of the \(bytes.count)-byte message")
        }

        /// A possibly compressed name starting at `offset`; `offset` moves past
        /// it (past the first pointer, for a compressed name).
        mutating func name(_ field: String) throws(DNSError) -> String {
            var labels: [String] = []
            var position = offset
            var resumeAt: Int?
            var wireLength = 1
            while true {
                guard position < bytes.count else {
                    offset = position
                    throw pastEnd(field)
                }
                let length = bytes[position]
                switch length & 0xc0 {
                case 0x00:
                    if length == 0 {
                        offset = resumeAt ?? position + 1
                        return labels.joined(separator: ".")
                    }
                    let end = position + 1 + Int(length)
                    guard end <= bytes.count else {
                        offset = position
                        throw pastEnd(field)
                    }
                    wireLength += 1 + Int(length)
                    guard wireLength <= 255 else {
                        throw DNSError("\(field) at byte \(offset) is longer than 255 bytes")
                    }
                    labels.append(Self.label(bytes[(position + 1)..<end]))
                    position = end
                case 0xc0:
                    guard position + 2 <= bytes.count else {
                        offset = position
                        throw pastEnd(field)
                    }
                    let target = Int(length & 0x3f) << 8 | Int(bytes[position + 1])
                    // Pointers must go backwards (RFC 1035 4.1.4 points to a
                    // prior occurrence), which also makes loops impossible.
                    guard target < position else {
                        throw DNSError(
                            "\(field) at byte \(offset): compression pointer at byte \(position) "
                                + "points to byte \(target), not backwards")
                    }
                    if resumeAt == nil { resumeAt = position + 2 }
                    position = target
                default:
                    throw DNSError(
                        "\(field) at byte \(offset): label type 0x\(String(length >> 6, radix: 16)) at byte \(position) "
                            + "is not a length or a compression pointer")
                }
            }
        }

        /// One label as text, escaping bytes that would make it ambiguous or unsafe.
        static func label(_ bytes: ArraySlice<UInt8>) -> String {
            var out = ""
            for byte in bytes {
                if byte > 0x20 && byte < 0x7f && byte != 0x2e && byte != 0x5c {
                    out.unicodeScalars.append(Unicode.Scalar(byte))
                } else {
                    let digits = String(byte)
                    out += "\\" + String(repeating: "0", count: 3 - digits.count) + digits
                }
            }
            return out
        }

        mutating func record(_ what: String) throws(DNSError) -> DNSRecord {
            let name = try name("\(what) NAME")
            let type = DNSRecordType(rawValue: try u16("\(what) TYPE"))
            let recordClass = try u16("\(what) CLASS")
            let ttl = try u32("\(what) TTL")
            let length = Int(try u16("\(what) RDLENGTH"))
            let start = offset
            guard start + length <= bytes.count else { throw pastEnd("\(what) RDATA (\(length) bytes)") }
            let data: DNSRecord.Data
            if (type == .a || type == .aaaa) && recordClass == 1 {
                let expected = type == .a ? 4 : 16
                guard length == expected else {
                    throw DNSError("\(what) \(type) RDATA at byte \(start) is \(length) bytes; an \(type) record has \(expected)")
                }
                guard let address = IPAddress(bytes: Array(bytes[start..<start + length])) else {
                    throw DNSError("\(what) \(type) RDATA at byte \(start) is not an address")
                }
                data = .address(address)
            } else if type == .cname {
                let target = try self.name("\(what) CNAME RDATA")
                guard offset == start + length else {
                    throw DNSError("\(what) CNAME RDATA at byte \(start) is \(length) bytes, but the name in it is \(offset - start)")
                }
                data = .name(target)
            } else {
                data = .other(Array(bytes[start..<start + length]))
            }
            offset = start + length
            return DNSRecord(name: name, type: type, recordClass: recordClass, ttl: ttl, data: data)
        }
    }
}

// MARK: - Building replies (tests and tools)

extension DNSMessage {
    /// A message to encode with `encoded()` (tests build replies with it).
    public init(
        id: UInt16, isResponse: Bool, isTruncated: Bool = false, responseCode: DNSResponseCode = .noError,
        questions: [DNSQuestion], answers: [DNSRecord] = []
    ) {
        self.id = id
        self.isResponse = isResponse
        opcode = 0
        isAuthoritative = false
        self.isTruncated = isTruncated
        recursionDesired = true
        recursionAvailable = isResponse
        self.responseCode = responseCode
        self.questions = questions
        self.answers = answers
    }

    /// Wire format, without name compression. Names must be plain dotted
    /// names (no `\DDD` escapes).
    public func encoded() throws(DNSError) -> [UInt8] {
        var flags: UInt16 = UInt16(opcode & 0x0f) << 11 | UInt16(responseCode.rawValue & 0x0f)
        if isResponse { flags |= 0x8000 }
        if isAuthoritative { flags |= 0x0400 }
        if isTruncated { flags |= 0x0200 }
        if recursionDesired { flags |= 0x0100 }
        if recursionAvailable { flags |= 0x0080 }
        var out: [UInt8] = []
        func u16(_ value: UInt16) { out += [UInt8(value >> 8), UInt8(value & 0xff)] }
        u16(id)
        u16(flags)
        u16(UInt16(questions.count))
        u16(UInt16(answers.count))
        u16(0)
        u16(0)
        for question in questions {
            out += try Self.encodeName(question.name)
            u16(question.type.rawValue)
            u16(question.recordClass)
        }
        for record in answers {
            out += try Self.encodeName(record.name)
            u16(record.type.rawValue)
            u16(record.recordClass)
            u16(UInt16(record.ttl >> 16))
            u16(UInt16(record.ttl & 0xffff))
            let data: [UInt8]
            switch record.data {
            case .address(let address): data = address.bytes
            case .name(let name): data = try Self.encodeName(name)
            case .other(let bytes): data = bytes
            }
            u16(UInt16(data.count))
            out += data
        }
        return out
    }
}
