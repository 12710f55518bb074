/// Requests about one socket named by its exact tuple — a get-exact lookup
/// (SOCK_DIAG_BY_FAMILY without NLM_F_DUMP) and SOCK_DESTROY — and their
/// one-message replies.
///
/// How the kernel finds the socket (measured on Linux 6.18): an exact
/// request is looked up like an incoming packet — the established table
/// first, then the listeners — so a 4-tuple whose connection no longer
/// exists is answered by the listener on its local port. A request with
/// INET_DIAG_NOCOOKIE accepts whatever socket the lookup lands on: a
/// SOCK_DESTROY for a closed connection's tuple destroys the LISTENER. With
/// a cookie the kernel compares it with the socket it found and answers
/// ENOENT when they differ. Destroy by cookie, with the cookie of a lookup
/// whose reply was checked against the socket meant.
extension SockDiagWire {
    /// SOCK_DESTROY: destroy one socket (`ss -K`); needs CAP_NET_ADMIN and a kernel with CONFIG_INET_DIAG_DESTROY.
    public static let sockDestroy: UInt16 = 21
    /// NLM_F_ACK: the kernel answers with NLMSG_ERROR carrying 0 on success.
    public static let flagAck: UInt16 = 0x04
    /// INET_DIAG_NOCOOKIE ({0xffffffff, 0xffffffff}): accept any socket the tuple's lookup finds.
    public static let noCookie: UInt64 = 0xffff_ffff_ffff_ffff

    /// A SOCK_DESTROY request (NLM_F_REQUEST | NLM_F_ACK) for the socket
    /// with `record`'s exact tuple: family, protocol, the mask of its state,
    /// local and remote address and port, its bound interface (0 for most
    /// sockets; a socket bound to a device is found only with its index),
    /// and `cookie` — nil sends INET_DIAG_NOCOOKIE, which lets the kernel
    /// destroy whatever socket answers for the tuple (see the type's notes):
    /// pass the cookie of a checked lookup.
    public static func destroyRequest(for record: SocketRecord, sequence: UInt32, cookie: UInt64?) -> [UInt8] {
        exactRequest(type: sockDestroy, flags: flagRequest | flagAck, record: record, sequence: sequence, cookie: cookie ?? noCookie)
    }

    /// A get-exact request (SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST only, no
    /// dump) for the socket with `record`'s tuple, with INET_DIAG_NOCOOKIE:
    /// the kernel replies with the one socket its lookup finds (for a gone
    /// connection, possibly the listener on the port) or NLMSG_ERROR.
    public static func lookupRequest(for record: SocketRecord, sequence: UInt32) -> [UInt8] {
        exactRequest(type: sockDiagByFamily, flags: flagRequest, record: record, sequence: sequence, cookie: noCookie)
    }

    static func exactRequest(type: UInt16, flags: UInt16, record: SocketRecord, sequence: UInt32, cookie: UInt64) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(requestSize)
        appendNative(&out, UInt32(requestSize))
        appendNative(&out, type)
        appendNative(&out, flags)
        appendNative(&out, sequence)
        appendNative(&out, UInt32(0))  // nlmsg_pid: the kernel fills it in
        out.append(familyCode(record.family))  // sdiag_family
        out.append(protocolCode(record.proto))  // sdiag_protocol
        out.append(0)  // idiag_ext
        out.append(record.proto == .raw ? (record.rawProtocol ?? 255) : 0)  // pad / sdiag_raw_protocol
        appendNative(&out, record.stateCode < 32 ? UInt32(1) << UInt32(record.stateCode) : UInt32(0))  // idiag_states
        // inet_diag_sockid: ports and addresses in network order.
        out += [UInt8(record.localPort >> 8), UInt8(truncatingIfNeeded: record.localPort)]
        out += [UInt8(record.remotePort >> 8), UInt8(truncatingIfNeeded: record.remotePort)]
        for address in [record.localAddress, record.remoteAddress] {
            let bytes = address.bytes
            out += bytes + [UInt8](repeating: 0, count: 16 - bytes.count)  // idiag_src / idiag_dst: __be32[4]
        }
        appendNative(&out, record.interfaceIndex)  // idiag_if
        appendNative(&out, UInt32(truncatingIfNeeded: cookie))  // idiag_cookie[0]: low half
        appendNative(&out, UInt32(truncatingIfNeeded: cookie >> 32))  // idiag_cookie[1]: high half
        return out
    }

    /// The kernel's answer to a request sent with NLM_F_ACK.
    public enum Ack: Hashable, Sendable {
        /// NLMSG_ERROR with error 0: done.
        case ok
        /// NLMSG_ERROR with a negative errno; `errno` is its positive value (ENOENT is 2).
        case failed(errno: Int32)
    }

    /// The answer to a get-exact lookup.
    public enum LookupReply: Hashable, Sendable {
        /// The one socket the kernel's lookup found, with its cookie.
        case found(SocketRecord)
        /// NLMSG_ERROR -ENOENT: no socket answers for the tuple (or the cookie did not match).
        case notFound
        /// NLMSG_ERROR with another negative errno; `errno` is its positive value.
        case failed(errno: Int32)
    }

    /// The sequence number of the first message in `datagram`, to pair a reply
    /// with its request; nil when the datagram is shorter than a header.
    public static func replySequence(_ datagram: [UInt8]) -> UInt32? {
        datagram.count >= nlmsgHeaderSize ? readNative(datagram, 8, as: UInt32.self) : nil
    }

    /// Decodes the acknowledgement of a SOCK_DESTROY (or any NLM_F_ACK
    /// request): one NLMSG_ERROR, 0 for success or a negative errno.
    /// Anything else — short, a length that does not fit, another message
    /// type, a positive code — is a `DecodeError`.
    public static func decodeAck(_ datagram: [UInt8]) throws(DecodeError) -> Ack {
        let (type, payload, _) = try firstMessage(datagram)
        guard type == nlmsgError else {
            throw DecodeError(structure: "nlmsghdr", field: "nlmsg_type", offset: 4, detail: "\(type) where NLMSG_ERROR (2) was expected")
        }
        return try ackCode(datagram, payload).map { .failed(errno: $0) } ?? .ok
    }

    /// Decodes the reply to a get-exact lookup for `proto`: one
    /// SOCK_DIAG_BY_FAMILY message (the socket found), or NLMSG_ERROR
    /// (-ENOENT: `notFound`; another errno: `failed`). An acknowledgement
    /// without a socket, another message type, or a truncated datagram is a
    /// `DecodeError`.
    public static func decodeLookup(_ datagram: [UInt8], proto: TransportProtocol) throws(DecodeError) -> LookupReply {
        let (type, payload, end) = try firstMessage(datagram)
        switch type {
        case sockDiagByFamily:
            return .found(try decodeMessage(datagram, payload, end: end, proto: proto))
        case nlmsgError:
            guard let code = try ackCode(datagram, payload) else {
                throw DecodeError(
                    structure: "nlmsgerr", field: "error", offset: payload, detail: "0 (an acknowledgement) where a socket was expected")
            }
            return code == 2 ? .notFound : .failed(errno: code)  // ENOENT
        default:
            throw DecodeError(
                structure: "nlmsghdr", field: "nlmsg_type", offset: 4,
                detail: "\(type) where SOCK_DIAG_BY_FAMILY (20) or NLMSG_ERROR (2) was expected")
        }
    }

    /// The first message's type, payload start and end, its header checked.
    static func firstMessage(_ datagram: [UInt8]) throws(DecodeError) -> (type: UInt16, payload: Int, end: Int) {
        guard datagram.count >= nlmsgHeaderSize else {
            throw DecodeError(
                structure: "nlmsghdr", field: "(size)", offset: 0, detail: "\(datagram.count) bytes, need \(nlmsgHeaderSize)")
        }
        let length = Int(readNative(datagram, 0, as: UInt32.self))
        guard length >= nlmsgHeaderSize else {
            throw DecodeError(structure: "nlmsghdr", field: "nlmsg_len", offset: 0, detail: "\(length) is shorter than the header")
        }
        guard length <= datagram.count else {
            throw DecodeError(
                structure: "nlmsghdr", field: "nlmsg_len", offset: 0,
                detail: "\(length) runs past the end of the \(datagram.count)-byte datagram")
        }
        return (readNative(datagram, 4, as: UInt16.self), nlmsgHeaderSize, length)
    }

    /// The errno of an NLMSG_ERROR payload at `payload`, positive; nil for 0 (an acknowledgement).
    static func ackCode(_ datagram: [UInt8], _ payload: Int) throws(DecodeError) -> Int32? {
        let length = Int(readNative(datagram, 0, as: UInt32.self))
        guard length >= payload + 4 else {
            throw DecodeError(structure: "nlmsgerr", field: "error", offset: payload, detail: "missing")
        }
        let code = Int32(bitPattern: readNative(datagram, payload, as: UInt32.self))
        guard code <= 0, code != Int32.min else {
            throw DecodeError(structure: "nlmsgerr", field: "error", offset: payload, detail: "\(code) is not 0 or a negative errno")
        }
        return code == 0 ? nil : -code
    }
}
