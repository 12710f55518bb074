import PortcullisCore

/// A netlink conversation: send one request, receive datagrams. A protocol
/// so tests can replay recorded kernel replies and check the request bytes.
public protocol NetlinkTransport {
    /// Sends one complete netlink request datagram to the kernel.
    mutating func send(_ request: [UInt8]) throws(Errno)
    /// The next datagram from the kernel.
    mutating func receive() throws(Errno) -> [UInt8]
}

/// A real NETLINK_SOCK_DIAG socket.
public final class SockDiagSocket: NetlinkTransport {
    private let fd: Int32
    private var buffer: [UInt8]

    /// Opens a NETLINK_SOCK_DIAG socket (close-on-exec) with a 32 KiB receive buffer.
    public init() throws(Errno) {
        fd = try Sys.netlinkSocket(protocol: 4)  // NETLINK_SOCK_DIAG
        // The kernel sizes dump chunks after the reader's buffer, up to 32 KiB.
        buffer = [UInt8](repeating: 0, count: 32768)
    }

    /// Takes over `fd`, a NETLINK_SOCK_DIAG socket opened elsewhere (in
    /// another network namespace, whose sockets it will dump); closes it on deinit.
    public init(adopting fd: Int32) {
        self.fd = fd
        buffer = [UInt8](repeating: 0, count: 32768)
    }

    deinit { Sys.close(fd) }

    /// Sends `request` to the kernel (port id 0); a short send is an EIO error.
    public func send(_ request: [UInt8]) throws(Errno) { try Sys.sendToKernel(fd, request) }

    /// The next datagram from the kernel, at most 32 KiB.
    public func receive() throws(Errno) -> [UInt8] {
        let n = try Sys.receive(fd, into: &buffer)
        return Array(buffer[0..<n])
    }
}

/// Errors from sock_diag: a dump (the source of truth, so a failure is an
/// error, never an empty table), or the lookup and destruction of one
/// socket (`SocketDestroyer`), which name their `target`.
public struct SockDiagError: Error, Sendable, CustomStringConvertible {
    /// Which step failed: `socket` (opening the netlink socket), `send` (the request), `receive` (reading the reply),
    /// `kernel` (the kernel ended the dump with an error, in `underlying`), `malformed` (a reply that does not decode, or
    /// no NLMSG_DONE), `interrupted` (NLM_F_DUMP_INTR on every one of `maxAttempts` tries), `overrun` (ENOBUFS:
    /// the kernel dropped replies because the receive buffer overflowed, on every one of `maxAttempts` tries,
    /// or on every receive of one try).
    /// For one socket's lookup or destruction also: `unsupported` (EOPNOTSUPP: the kernel was built without
    /// CONFIG_INET_DIAG_DESTROY), `gone` (ENOENT, or the kernel's lookup found only another socket such as the
    /// port's listener: the socket closed meanwhile), `ambiguous` (another socket answers for the same exact
    /// tuple, as in an SO_REUSEPORT group: nothing was destroyed), `denied` (EPERM: destroying needs CAP_NET_ADMIN).
    public enum Code: Sendable {
        case socket, send, receive, kernel, malformed, interrupted, overrun, unsupported, gone, ambiguous, denied
    }
    /// What was being done when it failed.
    public enum Operation: String, Sendable {
        /// Dumping a table (`SockDiagClient`).
        case dump
        /// The get-exact lookup of one socket by its tuple.
        case lookup
        /// SOCK_DESTROY of one socket.
        case destroy
    }
    /// The step that failed.
    public var code: Code
    /// The protocol whose table was being dumped, or the target's.
    public var proto: TransportProtocol
    /// The address family whose table was being dumped, or the target's.
    public var family: AddressFamily
    /// The errno behind the failure: of the system call, or the kernel's NLMSG_ERROR code; nil for
    /// `malformed` and `interrupted`, ENOBUFS for `overrun`, and nil for `gone` or `ambiguous` found by comparing a lookup's reply.
    public var underlying: Errno?
    /// What went wrong, in words, for the message.
    public var detail: String
    /// A dump, or one socket's lookup or destruction.
    public var operation: Operation = .dump
    /// The socket being looked up or destroyed, for the message; nil for dumps.
    public var target: SocketRecord? = nil

    /// The socket is no longer there (it closed, or was destroyed, after it
    /// was listed): for a caller that wanted it gone, nothing is left to do.
    public var meansSocketGone: Bool { code == .gone }

    /// "sock_diag dump of PROTO/FAMILY: DETAIL", or "sock_diag destroy of tcp
    /// 127.0.0.1:80 -> 10.0.0.2:5000 (established): DETAIL", with the errno's
    /// text and number when there is one.
    public var description: String {
        let what: String
        if let target {
            what = "sock_diag \(operation.rawValue) of \(Self.describe(target))"
        } else if operation == .dump {
            what = "sock_diag dump of \(proto.rawValue)/\(family.rawValue)"
        } else {
            what = "sock_diag \(operation.rawValue)"
        }
        if let underlying { return "\(what): \(detail): \(underlying) (errno \(underlying.rawValue))" }
        return "\(what): \(detail)"
    }

    /// "tcp 127.0.0.1:80 -> [::1]:5000 (established)", the remote part left out for a listener.
    static func describe(_ socket: SocketRecord) -> String {
        func endpoint(_ address: IPAddress, _ port: UInt16) -> String {
            address.kind == .v6 ? "[\(address)]:\(port)" : "\(address):\(port)"
        }
        let local = endpoint(socket.localAddress, socket.localPort)
        let unconnected = socket.remotePort == 0 && socket.remoteAddress.isUnspecified
        let remote = unconnected ? "" : " -> " + endpoint(socket.remoteAddress, socket.remotePort)
        return "\(socket.proto.rawValue) \(local)\(remote) (\(socket.stateName))"
    }
}

/// Dumps inet sockets over NETLINK_SOCK_DIAG, filtering states in the kernel.
public struct SockDiagClient {
    /// Tries of one dump: it is done again while the kernel flags it
    /// NLM_F_DUMP_INTR, or while replies are lost (ENOBUFS).
    public var maxAttempts = 5
    /// ENOBUFS errors in a row within one try before it is abandoned: the
    /// error is reported once and the queued replies are still there, so
    /// reading on drains the dump; a transport that only ever fails must not
    /// be read forever.
    static let overrunsInARow = 4
    private var sequence: UInt32 = 1
    private let makeTransport: () throws(Errno) -> any NetlinkTransport

    /// `transport` opens a fresh conversation for each dump; the default opens a real `SockDiagSocket`,
    /// tests pass recorded replies.
    public init(transport: @escaping () throws(Errno) -> any NetlinkTransport = { () throws(Errno) in try SockDiagSocket() }) {
        makeTransport = transport
    }

    /// A client whose every dump goes over `fd`, a NETLINK_SOCK_DIAG socket
    /// made elsewhere (inside another network namespace); closed with the client.
    public init(adopting fd: Int32) {
        let socket = SockDiagSocket(adopting: fd)
        self.init(transport: { () throws(Errno) in socket })
    }

    /// Every socket matching `query`: one dump per protocol and family it selects, states filtered in the kernel.
    public mutating func dump(_ query: SocketQuery) throws(SockDiagError) -> [SocketRecord] {
        var all: [SocketRecord] = []
        for proto in TransportProtocol.allCases where query.protocols.contains(proto) {
            for family in AddressFamily.allCases where query.families.contains(family) {
                all += try dump(proto: proto, family: family, states: query.stateMask(for: proto))
            }
        }
        return all
    }

    /// One dump of one protocol and family, with `localPorts` only the sockets whose local port is one of them,
    /// filtered by the kernel (inet_diag bytecode): an established dump for
    /// a few listeners' clients does not copy every connection of the host.
    /// A kernel that refuses the filter (EINVAL) gets the unfiltered dump,
    /// filtered here.
    public mutating func dump(
        proto: TransportProtocol, family: AddressFamily, states: UInt32, localPorts: [UInt16] = []
    ) throws(SockDiagError) -> [SocketRecord] {
        guard !localPorts.isEmpty else { return try dump(proto: proto, family: family, states: states) }
        do {
            return try dumpRecords(proto: proto, family: family, states: states, localPorts: localPorts)
        } catch let error where error.code == .kernel && error.underlying == Errno(22) {
            let wanted = Set(localPorts)
            return try dump(proto: proto, family: family, states: states).filter { wanted.contains($0.localPort) }
        }
    }

    /// One dump of one protocol and family; `states` is a bit mask of kernel TCP_* state numbers (bit N for state N).
    public mutating func dump(proto: TransportProtocol, family: AddressFamily, states: UInt32) throws(SockDiagError) -> [SocketRecord] {
        try dumpRecords(proto: proto, family: family, states: states, localPorts: [])
    }

    mutating func dumpRecords(
        proto: TransportProtocol, family: AddressFamily, states: UInt32, localPorts: [UInt16]
    ) throws(SockDiagError) -> [SocketRecord] {
        try dump(proto: proto, family: family, states: states, localPorts: localPorts, into: []) {
            (records, datagram) throws(SockDiagWire.DecodeError) in
            let batch = try SockDiagWire.decode(datagram, proto: proto)
            records += batch.records
            return batch
        }
    }

    /// A dump kept as the kernel sent it, with the digest of its inodes:
    /// `watch` compares digests on every poll and decodes only when they differ.
    public struct CapturedDump: Sendable {
        /// The protocol dumped, needed to decode the datagrams.
        public var proto: TransportProtocol
        /// Digest of the inodes in every datagram, compared between polls.
        public var digest = SockDiagWire.InodeDigest()
        /// The reply datagrams, undecoded, in the order received.
        public var datagrams: [[UInt8]] = []

        /// The sockets of the dump (its datagrams were already walked once, so
        /// an error here means the bytes changed under us: reported, not hidden).
        public func records() throws(SockDiagWire.DecodeError) -> [SocketRecord] {
            var records: [SocketRecord] = []
            records.reserveCapacity(digest.count)
            for datagram in datagrams { records += try SockDiagWire.decode(datagram, proto: proto).records }
            return records
        }
    }

    /// One dump, digested (inodes only) and kept undecoded.
    public mutating func capture(proto: TransportProtocol, family: AddressFamily, states: UInt32) throws(SockDiagError) -> CapturedDump {
        try dump(proto: proto, family: family, states: states, localPorts: [], into: CapturedDump(proto: proto)) {
            (dump, datagram) throws(SockDiagWire.DecodeError) in
            dump.datagrams.append(datagram)
            return try SockDiagWire.digest(datagram, into: &dump.digest)
        }
    }

    /// One dump, each datagram folded into `result` (which starts `empty`),
    /// done again from `empty` while the kernel flags it interrupted
    /// (NLM_F_DUMP_INTR) or replies were lost (ENOBUFS), up to `maxAttempts`
    /// times: a table that may miss sockets is never returned.
    private mutating func dump<Result>(
        proto: TransportProtocol, family: AddressFamily, states: UInt32, localPorts: [UInt16], into empty: Result,
        _ fold: (inout Result, [UInt8]) throws(SockDiagWire.DecodeError) -> SockDiagWire.Batch
    ) throws(SockDiagError) -> Result {
        var attempt = 0
        var interruptions = 0
        var overruns = 0
        while true {
            attempt += 1
            var result = empty
            let outcome = try exchange(proto: proto, family: family, states: states, localPorts: localPorts) {
                (datagram) throws(SockDiagWire.DecodeError) in
                try fold(&result, datagram)
            }
            if outcome.overrun {
                overruns += 1
            } else if outcome.interrupted {
                interruptions += 1
            } else {
                return result
            }
            if attempt >= max(1, maxAttempts) {
                let tries = attempt == 1 ? "1 try" : "\(attempt) tries"
                if overruns > 0 {
                    let also = interruptions > 0 ? ", and NLM_F_DUMP_INTR \(interruptions) times" : ""
                    throw SockDiagError(
                        code: .overrun, proto: proto, family: family, underlying: Errno.noBufferSpace,
                        detail:
                            "the kernel dropped part of the reply (the receive buffer overflowed) in \(overruns) of \(tries)\(also); no partial table is used"
                    )
                }
                throw SockDiagError(
                    code: .interrupted, proto: proto, family: family, underlying: nil,
                    detail: "the socket table kept changing during the dump (NLM_F_DUMP_INTR \(attempt) times); no partial table is used")
            }
        }
    }

    /// One request and its reply, each datagram handed to `decode`.
    /// Returns whether the kernel flagged the dump as interrupted, and
    /// whether replies were lost (ENOBUFS) on the way: then the rest of the
    /// dump is still read, to NLMSG_DONE, so that a socket used again (one
    /// adopted from another namespace) starts its next dump clean.
    private mutating func exchange(
        proto: TransportProtocol, family: AddressFamily, states: UInt32, localPorts: [UInt16],
        _ decode: ([UInt8]) throws(SockDiagWire.DecodeError) -> SockDiagWire.Batch
    ) throws(SockDiagError) -> (interrupted: Bool, overrun: Bool) {
        func fail(_ code: SockDiagError.Code, _ errno: Errno?, _ detail: String) -> SockDiagError {
            SockDiagError(code: code, proto: proto, family: family, underlying: errno, detail: detail)
        }
        var transport: any NetlinkTransport
        do { transport = try makeTransport() } catch { throw fail(.socket, error, "cannot open a NETLINK_SOCK_DIAG socket") }
        sequence &+= 1
        let request = SockDiagWire.dumpRequest(
            family: family, proto: proto, states: states, sequence: sequence, localPorts: localPorts)
        do { try transport.send(request) } catch { throw fail(.send, error, "sending the dump request failed") }
        var interrupted = false
        var overrun = false
        var overrunsInARow = 0
        while true {
            let datagram: [UInt8]
            do {
                datagram = try transport.receive()
                overrunsInARow = 0
            } catch  where error == .noBufferSpace {
                overrun = true
                overrunsInARow += 1
                if overrunsInARow >= Self.overrunsInARow {
                    throw fail(
                        .overrun, error,
                        "the kernel dropped part of the reply (the receive buffer overflowed) and kept failing, \(overrunsInARow) receives in a row"
                    )
                }
                continue
            } catch {
                throw fail(.receive, error, "receiving the dump failed")
            }
            if datagram.isEmpty { throw fail(.malformed, nil, "the kernel closed the dump without NLMSG_DONE") }
            let batch: SockDiagWire.Batch
            do { batch = try decode(datagram) } catch { throw fail(.malformed, nil, error.description) }
            interrupted = interrupted || batch.interrupted
            if let code = batch.errorCode {
                throw fail(.kernel, Errno(-code), "the kernel ended the dump with an error")
            }
            if batch.done { return (interrupted, overrun) }
        }
    }
}
