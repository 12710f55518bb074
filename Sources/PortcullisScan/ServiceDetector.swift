import PortcullisCore
import PortcullisLinux

/// Runs service detection over real sockets, one port at a time, blocking
/// the calling thread: `ServiceProbeSession` driven by a socket with
/// deadlines. `ServiceScan` runs many at once, each on its own thread.
public enum ServiceDetector {
    /// Connects to `address`:`port` and runs the probes the port's plan
    /// calls for. nil when the port could not be reached or said nothing useful.
    /// - Parameters:
    ///   - hostname: the name the user gave, for SNI and the HTTP Host header.
    ///   - tableName: the services-table name of the port, which steers the plan.
    ///   - timeoutMilliseconds: connect timeout, and how long each probe waits for its answer.
    ///   - now: seconds since the epoch for the certificate's `expired` (default: the clock).
    ///   - scopeID: the interface index of a link-local IPv6 address (`ScanTarget.zone`), 0 for any other.
    public static func detect(
        address: IPAddress, port: UInt16, hostname: String? = nil, tableName: String? = nil,
        timeoutMilliseconds: Int = 3000, now: Int64? = nil, scopeID: UInt32 = 0
    ) -> ScanService? {
        var random = SystemRandomNumberGenerator()
        let clientRandom = (0..<32).map { _ in UInt8.random(in: 0...255, using: &random) }
        var session = ServiceProbeSession(
            port: port, tableName: tableName, hostname: hostname, address: address,
            now: now ?? PortcullisLinux.Clock.now(),
            limits: ServiceProbeLimits(timeoutMilliseconds: timeoutMilliseconds),
            tlsRandom: clientRandom)
        guard
            var connection = ServiceConnection(
                address: address, port: port, scopeID: scopeID, udp: false, timeoutMilliseconds: timeoutMilliseconds)
        else {
            return nil
        }
        defer { connection.close() }
        return drive(&session, over: &connection) {
            ServiceConnection(address: address, port: port, scopeID: scopeID, udp: false, timeoutMilliseconds: timeoutMilliseconds)
        }
    }

    /// Drives a probe session over a connection until it is done: each
    /// step's payload sent and its answer read within the step's timeout,
    /// and before `deadline` when one is given (the session then ends, nil,
    /// once it has passed); a step whose probe `allows` refuses ends it too.
    /// `reconnect` opens a fresh connection for a step that asks for one.
    static func drive(
        _ session: inout ServiceProbeSession, over connection: inout ServiceConnection, deadline: Int64? = nil,
        allows: (ServiceProbeKind) -> Bool = { _ in true }, reconnect: () -> ServiceConnection?
    ) -> ScanService? {
        var stepDeadline = deadline ?? 0
        var action = session.start()
        while true {
            switch action {
            case .done(let service):
                return service
            case .step(let step):
                guard allows(step.probe) else { return nil }
                if let deadline, Sys.monotonicMicroseconds() >= deadline { return nil }
                if step.reconnect {
                    connection.close()
                    guard let fresh = reconnect() else {
                        action = session.next(.connectFailed)
                        continue
                    }
                    connection = fresh
                }
                let stepEnd = Sys.monotonicMicroseconds() + Int64(step.timeoutMilliseconds) * 1000
                stepDeadline = deadline.map { min($0, stepEnd) } ?? stepEnd
                if !step.payload.isEmpty && !connection.sendAll(step.payload, deadline: stepDeadline) {
                    action = session.next(.closed)
                    continue
                }
                action = session.next(connection.receive(deadline: stepDeadline))
            case .read:
                action = session.next(connection.receive(deadline: stepDeadline))
            }
        }
    }

    /// Sends the port's UDP probe (`UDPPayloads.payload(for:)`) and names the
    /// service from the reply. nil when nothing came back (or an ICMP port
    /// unreachable did). A reply no matcher knows is reported with its banner.
    /// - Parameters:
    ///   - payloadPort: probe as if the port were this one (a DNS server on 5353, say); default `port`.
    ///   - scopeID: the interface index of a link-local IPv6 address, 0 for any other.
    public static func detectUDP(
        address: IPAddress, port: UInt16, payloadPort: UInt16? = nil, tableName: String? = nil,
        timeoutMilliseconds: Int = 2000, attempts: Int = 2, scopeID: UInt32 = 0
    ) -> ScanService? {
        guard
            var connection = ServiceConnection(
                address: address, port: port, scopeID: scopeID, udp: true, timeoutMilliseconds: timeoutMilliseconds)
        else {
            return nil
        }
        defer { connection.close() }
        let kind = payloadPort ?? port
        let payload = UDPPayloads.payload(for: kind)
        for _ in 0..<max(1, attempts) {
            let deadline = Sys.monotonicMicroseconds() + Int64(timeoutMilliseconds) * 1000
            guard connection.sendAll(payload, deadline: deadline) else { return nil }
            switch connection.receive(deadline: deadline) {
            case .received(let reply):
                return UDPPayloads.match(port: kind, reply: reply)
                    ?? ScanService(
                        name: tableName ?? "unknown", banner: ServiceMatch.banner(reply),
                        method: tableName == nil ? .probed : .table)
            case .closed, .connectFailed:
                return nil
            case .timedOut:
                continue
            }
        }
        return nil
    }
}

/// One non-blocking socket and an epoll set watching it.
struct ServiceConnection {
    private(set) var fd: Int32 = -1
    private var epoll: Int32 = -1
    private static let readBuffer = 16_384

    /// Connects, waiting up to `timeoutMilliseconds`; nil on any failure.
    /// `scopeID` is the interface of a link-local address (0 for any other).
    init?(address: IPAddress, port: UInt16, scopeID: UInt32 = 0, udp: Bool, timeoutMilliseconds: Int) {
        do {
            fd = try ScanSys.socket(for: address, udp: udp)
            epoll = try Sys.epollCreate()
            try Sys.epollAdd(epoll, fd, events: Sys.epollWritable, token: 0)
            if !udp { ScanSys.abortOnClose(fd) }
            if try !ScanSys.startConnect(fd, to: address, port: port, scopeID: scopeID) {
                let deadline = Sys.monotonicMicroseconds() + Int64(timeoutMilliseconds) * 1000
                guard wait(for: Sys.epollWritable, deadline: deadline), ScanSys.pendingError(fd) == 0 else {
                    close()
                    return nil
                }
            }
            try Sys.epollModify(epoll, fd, events: Sys.epollReadable, token: 0)
        } catch {
            close()
            return nil
        }
    }

    mutating func close() {
        if epoll >= 0 { Sys.close(epoll) }
        if fd >= 0 { Sys.close(fd) }
        epoll = -1
        fd = -1
    }

    /// Waits until `events` (or an error) is signalled or the deadline passes.
    private func wait(for events: UInt32, deadline: Int64) -> Bool {
        var tokens = [UInt64](repeating: 0, count: 1)
        var ready = [UInt32](repeating: 0, count: 1)
        while true {
            let left = deadline - Sys.monotonicMicroseconds()
            guard left > 0 else { return false }
            let milliseconds = Int32(clamping: (left + 999) / 1000)
            guard let count = try? Sys.epollWait(epoll, tokens: &tokens, events: &ready, timeoutMilliseconds: milliseconds) else {
                return false
            }
            if count > 0 { return ready[0] & (events | Sys.epollFailed) != 0 }
        }
    }

    /// Sends every byte before the deadline; false when the peer is gone.
    func sendAll(_ bytes: [UInt8], deadline: Int64) -> Bool {
        var offset = 0
        // A zero-length UDP datagram is still a datagram: send it once.
        repeat {
            do {
                offset += try Sys.send(fd, Array(bytes[offset...]))
            } catch  where error.meansWouldBlock {
                // The payloads are small; a full send buffer means a stalled peer.
                try? Sys.epollModify(epoll, fd, events: Sys.epollWritable, token: 0)
                let ready = wait(for: Sys.epollWritable, deadline: deadline)
                try? Sys.epollModify(epoll, fd, events: Sys.epollReadable, token: 0)
                if !ready { return false }
            } catch {
                return false
            }
        } while offset < bytes.count
        return true
    }

    /// The next event for a probe session: bytes, end of stream, or the deadline.
    func receive(deadline: Int64) -> ServiceProbeEvent {
        var buffer = [UInt8](repeating: 0, count: ServiceConnection.readBuffer)
        while true {
            do {
                let count = try Sys.receive(fd, into: &buffer)
                return count == 0 ? .closed : .received(Array(buffer[..<count]))
            } catch  where error.meansWouldBlock {
                if !wait(for: Sys.epollReadable, deadline: deadline) {
                    // Either the deadline, or an error/hangup the next recv reports.
                    if Sys.monotonicMicroseconds() >= deadline { return .timedOut }
                }
            } catch {
                return .closed
            }
        }
    }
}
