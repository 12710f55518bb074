import PortcullisCore

/// Destroys sockets through SOCK_DESTROY (inet_diag's destroy, what `ss -K`
/// does): the kernel aborts the socket as if the connection had failed, so
/// its holder's next call fails with ECONNABORTED and a TCP peer gets a
/// reset (ECONNRESET). Needs CAP_NET_ADMIN and a kernel with
/// CONFIG_INET_DIAG_DESTROY.
///
/// Each destroy first asks the kernel for the socket with the record's exact
/// tuple, checks that the reply is that socket, and destroys it by the
/// cookie of that reply — never with INET_DIAG_NOCOOKIE: the kernel looks a
/// tuple up like an incoming packet (connections, then listeners), so once
/// a connection has closed its tuple names the port's LISTENER, and a
/// NOCOOKIE destroy kills the listener instead (measured on Linux 6.18).
///
/// What destroying a TCP LISTENER does (measured on Linux 6.18): it leaves
/// LISTEN for CLOSE and is unhashed, so a listen dump no longer shows it
/// and its holder's accept fails, but the descriptor stays open and the
/// port stays bound when it was bound explicitly (bind of the same address
/// and port fails with EADDRINUSE; a dump shows it only with the
/// TCP_BOUND_INACTIVE bit in the state mask, reported in state CLOSE (7)).
/// Its holder may call listen() again and be back. A listener on a port the
/// kernel chose (bind to port 0) loses the port.
///
/// A netlink socket acts in the network namespace it was opened in: to
/// destroy sockets of another namespace, open the NETLINK_SOCK_DIAG socket
/// inside it and hand it to `init(adopting:)`.
public struct SocketDestroyer {
    /// Replies skipped because their sequence number belongs to an earlier request, before giving up.
    static let maxStaleReplies = 16

    private var transport: any NetlinkTransport
    private var sequence: UInt32 = 0

    /// What happened to one socket of a batch.
    public struct Outcome: Sendable {
        /// The socket asked for.
        public var record: SocketRecord
        /// Success, or why it was not destroyed (`meansSocketGone` when it had already gone).
        public var result: Result<Void, SockDiagError>
        /// The kernel destroyed the socket in this call.
        public var destroyed: Bool {
            if case .success = result { return true }
            return false
        }

        /// An outcome for `record`.
        public init(record: SocketRecord, result: Result<Void, SockDiagError>) {
            self.record = record
            self.result = result
        }
    }

    /// A destroyer talking over `transport`, one request at a time (tests pass recorded replies).
    public init(transport: any NetlinkTransport) {
        self.transport = transport
    }

    /// A destroyer over a new NETLINK_SOCK_DIAG socket in this thread's network namespace.
    public init() throws(SockDiagError) {
        do {
            transport = try SockDiagSocket()
        } catch {
            throw SockDiagError(
                code: .socket, proto: .tcp, family: .ipv4, underlying: error, detail: "cannot open a NETLINK_SOCK_DIAG socket",
                operation: .destroy)
        }
    }

    /// A destroyer over `fd`, a NETLINK_SOCK_DIAG socket opened elsewhere
    /// (inside the network namespace whose sockets it will destroy); closed with the destroyer.
    public init(adopting fd: Int32) {
        transport = SockDiagSocket(adopting: fd)
    }

    /// The socket the kernel finds for `record`'s exact tuple, with its
    /// cookie. It may be another socket than `record`: for a closed
    /// connection, the listener on its port. Throws `gone` when no socket
    /// answers (ENOENT).
    public mutating func lookup(_ record: SocketRecord) throws(SockDiagError) -> SocketRecord {
        let datagram = try exchange(SockDiagWire.lookupRequest(for: record, sequence: nextSequence()), .lookup, record)
        let reply: SockDiagWire.LookupReply
        do { reply = try SockDiagWire.decodeLookup(datagram, proto: record.proto) } catch {
            throw SockDiagError(
                code: .malformed, proto: record.proto, family: record.family, underlying: nil, detail: error.description,
                operation: .lookup, target: record)
        }
        switch reply {
        case .found(let live): return live
        case .notFound: throw Self.kernelError(2, .lookup, record)
        case .failed(let errno): throw Self.kernelError(errno, .lookup, record)
        }
    }

    /// Destroys the socket `record` describes: looks its tuple up, checks the
    /// reply is that socket (same tuple; same cookie and inode when `record`
    /// has them), and destroys it by the reply's cookie. Throws `gone` when it
    /// has closed meanwhile (or only another socket, such as the listener,
    /// answers for its tuple), `ambiguous` when another socket answers for
    /// the very same tuple, `unsupported`, `denied`, or a transport error.
    public mutating func destroy(_ record: SocketRecord) throws(SockDiagError) {
        let live = try lookup(record)
        try Self.check(live, isTheSocketOf: record)
        let request = SockDiagWire.destroyRequest(for: live, sequence: nextSequence(), cookie: live.cookie)
        let datagram = try exchange(request, .destroy, record)
        let ack: SockDiagWire.Ack
        do { ack = try SockDiagWire.decodeAck(datagram) } catch {
            throw SockDiagError(
                code: .malformed, proto: record.proto, family: record.family, underlying: nil, detail: error.description,
                operation: .destroy, target: record)
        }
        if case .failed(let errno) = ack { throw Self.kernelError(errno, .destroy, record) }
    }

    /// Destroys each of `records` in turn, going on after a failure: one
    /// outcome per record, in order.
    public mutating func destroy(_ records: [SocketRecord]) -> [Outcome] {
        records.map { record in
            Outcome(record: record, result: Result { () throws(SockDiagError) in try destroy(record) })
        }
    }

    /// Throws unless `live`, the kernel's answer for `record`'s tuple, is the socket `record` describes.
    static func check(_ live: SocketRecord, isTheSocketOf record: SocketRecord) throws(SockDiagError) {
        func fail(_ code: SockDiagError.Code, _ detail: String) -> SockDiagError {
            SockDiagError(
                code: code, proto: record.proto, family: record.family, underlying: nil, detail: detail, operation: .lookup,
                target: record)
        }
        let sameTuple =
            live.localAddress == record.localAddress && live.localPort == record.localPort
            && live.remoteAddress == record.remoteAddress && live.remotePort == record.remotePort
        guard sameTuple else {
            throw fail(
                .gone,
                "the socket is gone: the kernel's lookup of its tuple found only \(SockDiagError.describe(live)) "
                    + "(inode \(live.inode)), which was left alone")
        }
        let otherCookie = record.cookie.map { live.cookie != $0 } ?? false
        let otherInode = record.inode != 0 && live.inode != 0 && live.inode != record.inode
        if otherCookie || otherInode {
            throw fail(
                .ambiguous,
                "another socket (inode \(live.inode)) answers for this exact tuple — an SO_REUSEPORT group, "
                    + "or a socket that replaced it; nothing was destroyed")
        }
    }

    /// The error for the kernel's `errno` (positive) in answer to `operation` on `record`.
    static func kernelError(_ errno: Int32, _ operation: SockDiagError.Operation, _ record: SocketRecord) -> SockDiagError {
        let code: SockDiagError.Code
        let detail: String
        switch Errno(errno) {
        case .noSuchFile:
            code = .gone
            detail = "the socket is gone: it closed, or was destroyed, after it was listed"
        case .operationNotSupported:
            code = .unsupported
            detail =
                "the kernel cannot destroy sockets: it was built without CONFIG_INET_DIAG_DESTROY "
                + "(or the protocol has no destroy handler)"
        case .notPermitted:
            code = .denied
            detail = "destroying a socket needs CAP_NET_ADMIN in its network namespace (run as root)"
        default:
            code = .kernel
            detail = "the kernel refused the request"
        }
        return SockDiagError(
            code: code, proto: record.proto, family: record.family, underlying: Errno(errno), detail: detail, operation: operation,
            target: record)
    }

    private mutating func nextSequence() -> UInt32 {
        sequence &+= 1
        return sequence
    }

    /// Sends `request` and returns the first reply datagram carrying its sequence number.
    private mutating func exchange(
        _ request: [UInt8], _ operation: SockDiagError.Operation, _ record: SocketRecord
    ) throws(SockDiagError) -> [UInt8] {
        func fail(_ code: SockDiagError.Code, _ errno: Errno?, _ detail: String) -> SockDiagError {
            SockDiagError(
                code: code, proto: record.proto, family: record.family, underlying: errno, detail: detail, operation: operation,
                target: record)
        }
        do { try transport.send(request) } catch { throw fail(.send, error, "sending the \(operation.rawValue) request failed") }
        let wanted = SockDiagWire.replySequence(request)
        for _ in 0...Self.maxStaleReplies {
            let datagram: [UInt8]
            do { datagram = try transport.receive() } catch { throw fail(.receive, error, "receiving the reply failed") }
            if datagram.isEmpty { throw fail(.malformed, nil, "the kernel sent no reply") }
            // A reply to an earlier request (one abandoned after an error) is not this one's.
            if let sequence = SockDiagWire.replySequence(datagram), sequence != wanted { continue }
            return datagram
        }
        throw fail(.malformed, nil, "no reply carried the request's sequence number")
    }
}
