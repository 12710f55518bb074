/// The NETLINK_SOCK_DIAG wire format for inet sockets (linux/inet_diag.h),
/// encoded and decoded field by field so a malformed reply names the struct
/// and field at fault. Netlink headers and most inet_diag fields are in host
/// byte order; ports and addresses in `inet_diag_sockid` are network order.
public enum SockDiagWire {
    /// Size of `struct nlmsghdr` in bytes: length, type, flags, sequence, port id.
    public static let nlmsgHeaderSize = 16
    /// Size of a dump request in bytes: `nlmsghdr` (16) + `inet_diag_req_v2` (56).
    public static let requestSize = 16 + 56  // nlmsghdr + inet_diag_req_v2
    /// Size of `struct inet_diag_msg` in bytes, the fixed part of each socket in a reply; attributes follow it.
    public static let messageSize = 72  // inet_diag_msg

    /// NLMSG_NOOP: a message to skip.
    public static let nlmsgNoop: UInt16 = 1
    /// NLMSG_ERROR: carries a negative errno (or 0 for an acknowledgement) and ends the dump.
    public static let nlmsgError: UInt16 = 2
    /// NLMSG_DONE: the end of a multipart dump, possibly with a negative errno.
    public static let nlmsgDone: UInt16 = 3
    /// SOCK_DIAG_BY_FAMILY: the message type of the request and of each socket in the reply.
    public static let sockDiagByFamily: UInt16 = 20

    /// NLM_F_REQUEST: set on every request to the kernel.
    public static let flagRequest: UInt16 = 0x01
    /// NLM_F_MULTI: part of a multipart reply, ended by NLMSG_DONE.
    public static let flagMulti: UInt16 = 0x02
    /// NLM_F_DUMP_INTR: the table changed while the kernel dumped it, so the dump may be inconsistent.
    public static let flagDumpInterrupted: UInt16 = 0x10
    /// NLM_F_DUMP: return every matching socket rather than one.
    public static let flagDump: UInt16 = 0x300  // NLM_F_ROOT | NLM_F_MATCH

    static let attrShutdown: UInt16 = 8  // unused; listed for reference
    static let attrSKV6Only: UInt16 = 11

    /// The `sdiag_family` byte for `family`: AF_INET (2) or AF_INET6 (10).
    public static func familyCode(_ family: AddressFamily) -> UInt8 { family == .ipv4 ? 2 : 10 }
    /// The `sdiag_protocol` byte for `proto`: IPPROTO_TCP (6), IPPROTO_UDP (17), IPPROTO_RAW (255).
    public static func protocolCode(_ proto: TransportProtocol) -> UInt8 {
        switch proto {
        case .tcp: return 6
        case .udp: return 17
        case .raw: return 255
        }
    }

    /// A dump request: nlmsghdr + inet_diag_req_v2 with an all-zero socket id.
    /// For RAW the `pad` byte is raw_diag's `sdiag_raw_protocol`; IPPROTO_RAW
    /// there means "every raw protocol".
    /// With `localPorts`, an `INET_DIAG_REQ_BYTECODE` attribute makes the
    /// kernel send only the sockets whose local port is one of them.
    public static func dumpRequest(
        family: AddressFamily, proto: TransportProtocol, states: UInt32, sequence: UInt32, localPorts: [UInt16] = []
    ) -> [UInt8] {
        let bytecode = localPortFilter(localPorts)
        // nlattr header (4) plus the bytecode, whose length is a multiple of 4.
        let attribute = bytecode.isEmpty ? 0 : 4 + bytecode.count
        var out: [UInt8] = []
        out.reserveCapacity(requestSize + attribute)
        appendNative(&out, UInt32(requestSize + attribute))
        appendNative(&out, sockDiagByFamily)
        appendNative(&out, flagRequest | flagDump)
        appendNative(&out, sequence)
        appendNative(&out, UInt32(0))  // nlmsg_pid: the kernel fills it in
        out.append(familyCode(family))  // sdiag_family
        out.append(protocolCode(proto))  // sdiag_protocol
        out.append(0)  // idiag_ext: no optional extensions needed
        out.append(proto == .raw ? 255 : 0)  // pad / sdiag_raw_protocol
        appendNative(&out, states)  // idiag_states
        out.append(contentsOf: [UInt8](repeating: 0, count: 48))  // inet_diag_sockid
        if !bytecode.isEmpty {
            appendNative(&out, UInt16(attribute))  // nla_len
            appendNative(&out, UInt16(1))  // nla_type: INET_DIAG_REQ_BYTECODE
            out += bytecode
        }
        return out
    }

    /// inet_diag bytecode accepting a socket whose local port is any of
    /// `ports` (nothing for none), shaped as `ss` compiles `sport = A or
    /// sport = B`: per port an `INET_DIAG_BC_S_EQ` test (yes: go on, no: skip
    /// 4 bytes past it) with the port in a second op, joined by
    /// `INET_DIAG_BC_JMP` ops that carry a match past the remaining tests.
    /// Reaching the end exactly accepts; jumping 4 past it rejects. The
    /// kernel's audit accepts only jumps that land on ops it can reach this way.
    public static func localPortFilter(_ ports: [UInt16]) -> [UInt8] {
        func op(_ code: UInt8, yes: UInt8, no: UInt16) -> [UInt8] {
            var out: [UInt8] = [code, yes]
            appendNative(&out, no)
            return out
        }
        var unique: [UInt16] = []
        for port in ports where !unique.contains(port) { unique.append(port) }
        var code: [UInt8] = []
        for port in unique.reversed() {
            let test = op(11, yes: 8, no: 12) + op(0, yes: 0, no: port)  // INET_DIAG_BC_S_EQ, then the port
            // JMP is never "yes": its no jumps over the tests after it.
            code = code.isEmpty ? test : test + op(1, yes: 4, no: UInt16(code.count + 4)) + code
        }
        return code
    }

    /// What one received datagram held.
    public struct Batch: Sendable {
        /// The sockets decoded from the datagram, in order; empty for `digest`.
        public var records: [SocketRecord] = []
        /// NLMSG_DONE seen: the dump is complete.
        public var done = false
        /// Negative errno carried by NLMSG_DONE or NLMSG_ERROR, if any.
        public var errorCode: Int32?
        /// NLM_F_DUMP_INTR: the table changed during the dump; retry it.
        public var interrupted = false
        /// An empty batch: no records, not done, no error, not interrupted.
        public init() {}
    }

    /// A reply that does not match the wire format: which struct and field, where, and how it is wrong.
    public struct DecodeError: Error, Sendable, CustomStringConvertible, Equatable {
        /// The C struct at fault, e.g. "nlmsghdr", "inet_diag_msg" or "rtattr".
        public var structure: String
        /// The field at fault, e.g. "nlmsg_len", or "(size)" when the struct itself is too short.
        public var field: String
        /// Byte offset in the datagram of the struct (or field) at fault.
        public var offset: Int
        /// What is wrong with the value, e.g. "12 is shorter than the header".
        public var detail: String
        /// "malformed sock_diag reply: STRUCT.FIELD at byte N: DETAIL".
        public var description: String {
            "malformed sock_diag reply: \(structure).\(field) at byte \(offset): \(detail)"
        }
    }

    /// Which sockets a dump holds, in 24 bytes: their number and two
    /// order-independent sums of their mixed inodes. Equal digests mean the
    /// same set of sockets (a collision needs two 64-bit sums to agree).
    public struct InodeDigest: Hashable, Sendable {
        /// How many inodes were added.
        public var count = 0
        /// Wrapping sum of the mixed inodes.
        public var sum: UInt64 = 0
        /// XOR of the mixed inodes, each multiplied again, so it is independent of `sum`.
        public var xor: UInt64 = 0
        /// The digest of no sockets.
        public init() {}

        /// Adds one socket inode; the order of additions does not matter.
        public mutating func add(_ inode: UInt64) {
            // splitmix64's finaliser: neighbouring inodes land far apart.
            var z = inode &+ 0x9E37_79B9_7F4A_7C15
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            count += 1
            sum &+= z
            xor ^= z &* 0xFF51_AFD7_ED55_8CCD
        }

        /// Adds every inode of `other`, as if they had been added here (for dumps of several tables).
        public mutating func merge(_ other: InodeDigest) {
            count += other.count
            sum &+= other.sum
            xor ^= other.xor
        }
    }

    /// Adds the inodes of one datagram to `digest`, without decoding the
    /// sockets: what `watch` does on every poll to learn whether anything
    /// changed. The batch's `records` stay empty.
    public static func digest(_ buffer: [UInt8], into digest: inout InodeDigest) throws(DecodeError) -> Batch {
        try walk(buffer) { (start, end) throws(DecodeError) in
            guard end - start >= messageSize else {
                throw DecodeError(
                    structure: "inet_diag_msg", field: "(size)", offset: start, detail: "\(end - start) bytes, need \(messageSize)")
            }
            digest.add(UInt64(readNative(buffer, start + 68, as: UInt32.self)))
        }
    }

    /// Decodes one datagram of a dump reply for `proto`.
    public static func decode(_ buffer: [UInt8], proto: TransportProtocol) throws(DecodeError) -> Batch {
        var records: [SocketRecord] = []
        var batch = try walk(buffer) { (start, end) throws(DecodeError) in
            records.append(try decodeMessage(buffer, start, end: end, proto: proto))
        }
        batch.records = records
        return batch
    }

    /// The netlink messages of one datagram: checks each header, notes
    /// NLM_F_DUMP_INTR, stops at NLMSG_DONE or NLMSG_ERROR (keeping its
    /// code), skips NLMSG_NOOP and unknown types, and hands each
    /// SOCK_DIAG_BY_FAMILY message's payload (start, end) to `message`.
    static func walk(_ buffer: [UInt8], _ message: (Int, Int) throws(DecodeError) -> Void) throws(DecodeError) -> Batch {
        var batch = Batch()
        var offset = 0
        while offset + nlmsgHeaderSize <= buffer.count {
            let length = Int(readNative(buffer, offset, as: UInt32.self))
            let type = readNative(buffer, offset + 4, as: UInt16.self)
            let flags = readNative(buffer, offset + 6, as: UInt16.self)
            guard length >= nlmsgHeaderSize else {
                throw DecodeError(structure: "nlmsghdr", field: "nlmsg_len", offset: offset, detail: "\(length) is shorter than the header")
            }
            guard offset + length <= buffer.count else {
                throw DecodeError(
                    structure: "nlmsghdr", field: "nlmsg_len", offset: offset,
                    detail: "\(length) runs past the end of the \(buffer.count)-byte datagram")
            }
            if flags & flagDumpInterrupted != 0 { batch.interrupted = true }
            let payload = offset + nlmsgHeaderSize
            switch type {
            case nlmsgDone:
                batch.done = true
                if length >= nlmsgHeaderSize + 4 {
                    let code = Int32(bitPattern: readNative(buffer, payload, as: UInt32.self))
                    if code != 0 { batch.errorCode = code }
                }
                return batch
            case nlmsgError:
                guard length >= nlmsgHeaderSize + 4 else {
                    throw DecodeError(structure: "nlmsgerr", field: "error", offset: payload, detail: "missing")
                }
                let code = Int32(bitPattern: readNative(buffer, payload, as: UInt32.self))
                batch.done = true
                batch.errorCode = code == 0 ? nil : code
                return batch
            case sockDiagByFamily:
                try message(payload, offset + length)
            default:
                break  // NLMSG_NOOP and anything unknown carry no sockets
            }
            offset += (length + 3) & ~3
        }
        if offset != buffer.count && offset < buffer.count {
            throw DecodeError(
                structure: "nlmsghdr", field: "nlmsg_len", offset: offset,
                detail: "\(buffer.count - offset) trailing bytes, too short for a header")
        }
        return batch
    }

    static func decodeMessage(_ b: [UInt8], _ start: Int, end: Int, proto: TransportProtocol) throws(DecodeError) -> SocketRecord {
        guard end - start >= messageSize else {
            throw DecodeError(
                structure: "inet_diag_msg", field: "(size)", offset: start,
                detail: "\(end - start) bytes, need \(messageSize)")
        }
        let familyCode = b[start]
        let family: AddressFamily
        switch familyCode {
        case 2: family = .ipv4
        case 10: family = .ipv6
        default:
            throw DecodeError(structure: "inet_diag_msg", field: "idiag_family", offset: start, detail: "unknown family \(familyCode)")
        }
        let state = b[start + 1]
        let id = start + 4
        let sport = UInt16(b[id]) << 8 | UInt16(b[id + 1])
        let dport = UInt16(b[id + 2]) << 8 | UInt16(b[id + 3])
        func address(at offset: Int) -> IPAddress {
            family == .ipv4
                ? IPAddress(v4Word: UInt32(truncatingIfNeeded: readBigEndian(b, offset, count: 4)))
                : IPAddress(v6High: readBigEndian(b, offset, count: 8), low: readBigEndian(b, offset + 8, count: 8))
        }
        let src = address(at: id + 4)
        let dst = address(at: id + 20)
        let interfaceIndex = readNative(b, id + 36, as: UInt32.self)
        let cookie = UInt64(readNative(b, id + 44, as: UInt32.self)) << 32 | UInt64(readNative(b, id + 40, as: UInt32.self))
        let rqueue = readNative(b, start + 56, as: UInt32.self)
        let wqueue = readNative(b, start + 60, as: UInt32.self)
        let uid = readNative(b, start + 64, as: UInt32.self)
        let inode = readNative(b, start + 68, as: UInt32.self)

        var v6only: Bool? = nil
        var a = start + messageSize
        while a + 4 <= end {
            let attrLength = Int(readNative(b, a, as: UInt16.self))
            let attrType = readNative(b, a + 2, as: UInt16.self) & 0x3fff
            guard attrLength >= 4, a + attrLength <= end else {
                throw DecodeError(structure: "rtattr", field: "rta_len", offset: a, detail: "\(attrLength) does not fit the message")
            }
            if attrType == attrSKV6Only && attrLength >= 5 { v6only = b[a + 4] != 0 }
            a += (attrLength + 3) & ~3
        }
        if family == .ipv4 { v6only = nil }
        var record = SocketRecord(
            proto: proto, family: family, localAddress: src, localPort: sport,
            remoteAddress: dst, remotePort: dport, stateCode: state, inode: UInt64(inode), uid: uid,
            v6only: v6only, interfaceIndex: interfaceIndex,
            rawProtocol: proto == .raw ? UInt8(truncatingIfNeeded: sport) : nil,
            receiveQueue: rqueue, sendQueue: wqueue)
        record.cookie = cookie
        return record
    }

    static func readBigEndian(_ b: [UInt8], _ offset: Int, count: Int) -> UInt64 {
        var v: UInt64 = 0
        for k in 0..<count { v = v << 8 | UInt64(b[offset + k]) }
        return v
    }

    static func readNative<T: FixedWidthInteger>(_ b: [UInt8], _ offset: Int, as: T.Type) -> T {
        var v: T = 0
        for k in 0..<MemoryLayout<T>.size { v |= T(b[offset + k]) << (8 * k) }
        return T(littleEndian: v)
    }

    static func appendNative<T: FixedWidthInteger>(_ out: inout [UInt8], _ value: T) {
        let le = value.littleEndian
        for k in 0..<MemoryLayout<T>.size { out.append(UInt8(truncatingIfNeeded: le >> (8 * k))) }
    }
}
