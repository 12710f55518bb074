/// An SNMPv2c GetRequest and the GetResponse it draws (RFC 3416 PDUs in
/// the RFC 1901 community message, BER-encoded): enough to ask one agent
/// for sysDescr.0 with community `public`. The reader accepts BER (long
/// length forms where the short would do, as some agents send), and is
/// bounded: lengths are checked against the bytes present, and nothing
/// nests deeper than the message's own four levels.
public enum SNMPWire {
    /// sysDescr.0.
    public static let sysDescr: [UInt32] = [1, 3, 6, 1, 2, 1, 1, 1, 0]
    /// The request id of the audit's probe; a reply must echo it.
    public static let probeRequestID: Int32 = 0x7063_7376
    /// Message version field: 1 is SNMPv2c (0 is v1).
    public static let versionV2c = 1

    /// A GetRequest for `oid` with `community`.
    public static func getRequest(oid: [UInt32], community: String, requestID: Int32, version: Int = versionV2c) -> [UInt8] {
        let varbind = tlv(0x30, tlv(0x06, encodeOID(oid)) + [0x05, 0x00])
        let pdu = tlv(0xa0, tlv(0x02, integer(Int64(requestID))) + tlv(0x02, [0]) + tlv(0x02, [0]) + tlv(0x30, varbind))
        return tlv(0x30, tlv(0x02, integer(Int64(version))) + tlv(0x04, Array(community.utf8)) + pdu)
    }

    /// The audit's probe: SNMPv2c GetRequest for sysDescr.0, community `public`.
    public static var sysDescrPublicRequest: [UInt8] {
        getRequest(oid: sysDescr, community: "public", requestID: probeRequestID)
    }

    /// What a varbind holds.
    public enum Value: Sendable, Hashable {
        /// OCTET STRING (sysDescr's type).
        case octets([UInt8])
        /// INTEGER.
        case integer(Int64)
        /// OBJECT IDENTIFIER, dotted.
        case oid(String)
        /// The agent has no such object (context tag 0x80).
        case noSuchObject
        /// The agent has no such instance (0x81).
        case noSuchInstance
        /// End of the MIB view (0x82).
        case endOfMibView
        /// Another type: its tag.
        case other(UInt8)
    }

    /// A GetResponse.
    public struct Response: Sendable, Hashable {
        /// 0 for v1, 1 for v2c.
        public var version: Int64
        /// The community echoed.
        public var community: [UInt8]
        /// errorStatus: 0 noError, 2 noSuchName (v1), ...
        public var errorStatus: Int64
        /// The first varbind's value, if any.
        public var value: Value?
    }

    /// Why a reply could not be read.
    public struct WireError: Error, Sendable, Hashable, CustomStringConvertible {
        /// What was wrong.
        public var reason: String
        /// A message naming the problem.
        public var description: String { "SNMP reply: " + reason }
    }

    /// Reads a GetResponse to request `requestID`.
    public static func response(_ bytes: [UInt8], requestID: Int32) throws(WireError) -> Response {
        var top = BERReader(bytes[...])
        var message = BERReader(try top.read(0x30, "message").contents)
        let version = try integer(message.read(0x02, "version").contents, "version")
        let community = Array(try message.read(0x04, "community").contents)
        var pdu = BERReader(try message.read(0xa2, "GetResponse").contents)
        let id = try integer(pdu.read(0x02, "request-id").contents, "request-id")
        guard id == Int64(requestID) else { throw WireError(reason: "request-id \(id) is not ours") }
        let status = try integer(pdu.read(0x02, "error-status").contents, "error-status")
        _ = try pdu.read(0x02, "error-index")
        var bindings = BERReader(try pdu.read(0x30, "variable-bindings").contents)
        var value: Value?
        if !bindings.isAtEnd {
            var pair = BERReader(try bindings.read(0x30, "varbind").contents)
            _ = try pair.read(0x06, "name")
            let element = try pair.readAny("value")
            switch element.tag {
            case 0x04: value = .octets(Array(element.contents))
            case 0x02: value = .integer(try integer(element.contents, "value"))
            case 0x06: value = .oid(decodeOID(element.contents) ?? "?")
            case 0x80: value = .noSuchObject
            case 0x81: value = .noSuchInstance
            case 0x82: value = .endOfMibView
            default: value = .other(element.tag)
            }
        }
        return Response(version: version, community: community, errorStatus: status, value: value)
    }

    // MARK: BER

    /// A BER reader over `bytes` whose errors are this codec's.
    struct BERReader {
        var reader: DERReader
        init(_ bytes: ArraySlice<UInt8>) { reader = DERReader(bytes, acceptsBER: true) }
        var isAtEnd: Bool { reader.isAtEnd }

        mutating func readAny(_ name: String) throws(WireError) -> DERElement {
            do { return try reader.readAny(name) } catch { throw WireError(reason: error.description) }
        }

        mutating func read(_ tag: UInt8, _ name: String) throws(WireError) -> DERElement {
            do { return try reader.read(tag, name) } catch { throw WireError(reason: error.description) }
        }
    }

    static func tlv(_ tag: UInt8, _ body: [UInt8]) -> [UInt8] { [tag] + length(body.count) + body }

    /// BER definite length: short form below 128, else 0x8N and N big-endian octets.
    static func length(_ count: Int) -> [UInt8] {
        guard count >= 0x80 else { return [UInt8(count)] }
        var octets: [UInt8] = []
        var rest = count
        while rest > 0 {
            octets.insert(UInt8(rest & 0xff), at: 0)
            rest >>= 8
        }
        return [0x80 | UInt8(octets.count)] + octets
    }

    /// Two's complement, minimal octets.
    static func integer(_ value: Int64) -> [UInt8] {
        var octets = (0..<8).reversed().map { UInt8(truncatingIfNeeded: value >> (8 * Int64($0))) }
        while octets.count > 1, (octets[0] == 0 && octets[1] & 0x80 == 0) || (octets[0] == 0xff && octets[1] & 0x80 != 0) {
            octets.removeFirst()
        }
        return octets
    }

    static func integer(_ contents: ArraySlice<UInt8>, _ name: String) throws(WireError) -> Int64 {
        guard let first = contents.first, contents.count <= 8 else { throw WireError(reason: "\(name) is not a 64-bit integer") }
        var value: Int64 = first & 0x80 != 0 ? -1 : 0
        for byte in contents { value = value << 8 | Int64(byte) }
        return value
    }

    static func encodeOID(_ arcs: [UInt32]) -> [UInt8] {
        guard arcs.count >= 2 else { return [] }
        var out: [UInt8] = []
        for arc in [arcs[0] * 40 + arcs[1]] + arcs.dropFirst(2) {
            var groups: [UInt8] = [UInt8(arc & 0x7f)]
            var rest = arc >> 7
            while rest > 0 {
                groups.insert(UInt8(rest & 0x7f) | 0x80, at: 0)
                rest >>= 7
            }
            out += groups
        }
        return out
    }

    static func decodeOID(_ contents: ArraySlice<UInt8>) -> String? {
        let element = DERElement(tag: DER.objectIdentifier, contents: contents, encoded: contents)
        return try? element.objectIdentifier(field: "oid")
    }
}
