import PortcullisCore
import PortcullisLinux

/// The addresses a hostname resolved to.
public struct ResolvedHost: Sendable, Hashable {
    /// Where the addresses came from.
    public enum Source: Sendable, Hashable {
        /// /etc/hosts (or the hosts text given to the resolver).
        case hostsFile
        /// `localhost` or a name under `.localhost`, not in the hosts file:
        /// the loopback addresses, without asking DNS (RFC 6761 6.3).
        case localhost
        /// A DNS reply from this nameserver.
        case dns(Nameserver)
    }

    /// The name as asked.
    public var name: String
    /// IPv4 addresses (A records) first, then IPv6 (AAAA), each once.
    public var addresses: [IPAddress]
    /// The name that held the addresses: the end of the CNAME chain, with
    /// any search domain applied. Equal to `name` (lower-cased) when neither applied.
    public var canonicalName: String
    /// Where the addresses came from: the hosts file, the localhost rule, or which nameserver.
    public var source: Source

    /// A resolved name, as `resolve` builds it (addresses in the order and form described above).
    public init(name: String, addresses: [IPAddress], canonicalName: String, source: Source) {
        self.name = name
        self.addresses = addresses
        self.canonicalName = canonicalName
        self.source = source
    }
}

/// A name that could not be resolved. `description` is the message for the user.
public struct ResolveError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Why the name could not be resolved.
    public enum Reason: Sendable, Hashable {
        /// The name cannot be put in a query; the text says why
        /// (`not a DNS name (a label must be 1 to 63 bytes)`).
        case invalidName(String)
        /// NXDOMAIN: the nameserver says the name does not exist.
        case nameNotFound(Nameserver)
        /// NOERROR without A or AAAA records: the name exists but has no address.
        case noAddresses(Nameserver)
        /// No nameserver gave a usable answer; what happened at each, as text
        /// (`10.0.0.53: timed out after 5000 ms, 2 tries`).
        case noAnswer([String])
    }

    /// The name as asked.
    public var name: String
    /// Why: what the name as given got when it was tried, else the last search-domain name's answer.
    public var reason: Reason
    /// The other names tried through resolv.conf's search domains, in order.
    public var alsoTried: [String]

    /// A failure for `name`; `alsoTried` lists the search-domain names tried besides it.
    public init(name: String, reason: Reason, alsoTried: [String] = []) {
        self.name = name
        self.reason = reason
        self.alsoTried = alsoTried
    }

    /// "cannot resolve "NAME": REASON", plus the other names tried; the names are escaped for the terminal.
    public var description: String {
        var text = "cannot resolve \"\(UntrustedText.escape(name))\": "
        switch reason {
        case .invalidName(let why): text += why
        case .nameNotFound(let server): text += "NXDOMAIN from \(server)"
        case .noAddresses(let server): text += "no A or AAAA records (NOERROR from \(server))"
        case .noAnswer(let details): text += "no answer from any nameserver (\(details.joined(separator: "; ")))"
        }
        if !alsoTried.isEmpty { text += " (also tried \(alsoTried.map { UntrustedText.escape($0) }.joined(separator: ", ")))" }
        return text
    }
}

/// Resolves hostnames without NSS, which a statically linked binary cannot
/// load: the hosts file first, then DNS over UDP (TCP when a reply is
/// truncated) to the nameservers of resolv.conf.
///
/// Each DNS try sends an A and an AAAA query with random 16-bit IDs on a
/// connected UDP socket, and accepts a reply only when it comes from the
/// nameserver's address and port, carries one of those IDs, is a response,
/// and repeats the question asked. Anything else is ignored and the wait
/// goes on, so a spoofed or stray datagram cannot answer for the server.
///
/// NXDOMAIN is final (another nameserver is not asked); SERVFAIL, REFUSED,
/// a timeout or ICMP port unreachable moves on to the next nameserver, for
/// `attempts` rounds, as glibc does.
public struct Resolver: Sendable {
    /// The hosts file entries, consulted before DNS.
    public var hosts: HostsFile
    /// Nameservers, search domains and options (timeout, attempts) from resolv.conf.
    public var configuration: ResolverConfiguration

    /// A resolver over given contents; `system()` reads this machine's files. The default hosts file is empty.
    public init(hosts: HostsFile = HostsFile(), configuration: ResolverConfiguration) {
        self.hosts = hosts
        self.configuration = configuration
    }

    /// The resolver this machine is configured with: /etc/hosts and
    /// /etc/resolv.conf (or the given paths). A missing or unreadable file
    /// counts as empty: no hosts entries; nameserver 127.0.0.1 with glibc's
    /// defaults.
    public static func system(hostsPath: String = "/etc/hosts", resolvConfPath: String = "/etc/resolv.conf") -> Resolver {
        let hostsText = (try? HostFiles.readFile(hostsPath)).map { String(decoding: $0, as: UTF8.self) } ?? ""
        let resolvText = (try? HostFiles.readFile(resolvConfPath)).map { String(decoding: $0, as: UTF8.self) } ?? ""
        return Resolver(
            hosts: HostsFile(hostsText, path: hostsPath),
            configuration: ResolverConfiguration(resolvConf: resolvText, path: resolvConfPath))
    }

    /// Lines of the hosts file and resolv.conf that were skipped.
    public var diagnostics: [Diagnostic] { hosts.diagnostics + configuration.diagnostics }

    /// Resolves every name; one name failing does not stop the others.
    public func resolveEach(_ names: [String]) -> [String: Result<ResolvedHost, ResolveError>] {
        var results: [String: Result<ResolvedHost, ResolveError>] = [:]
        for name in names where results[name] == nil {
            do throws(ResolveError) { results[name] = .success(try resolve(name)) } catch { results[name] = .failure(error) }
        }
        return results
    }

    /// The addresses of `name`: from the hosts file when it lists the name,
    /// the loopback addresses for `localhost`, otherwise from DNS.
    public func resolve(_ name: String) throws(ResolveError) -> ResolvedHost {
        let listed = hosts.addresses(for: name)
        if !listed.isEmpty {
            return ResolvedHost(name: name, addresses: listed, canonicalName: DNSMessage.canonical(name), source: .hostsFile)
        }
        let lowered = DNSMessage.canonical(name)
        if lowered == "localhost" || lowered.hasSuffix(".localhost") {
            return ResolvedHost(
                name: name, addresses: [IPAddress(v4: 127, 0, 0, 1), IPAddress(v6High: 0, low: 1)],
                canonicalName: lowered, source: .localhost)
        }
        if let problem = DNSMessage.problem(withName: name) {
            throw ResolveError(name: name, reason: .invalidName("not a DNS name (\(problem))"))
        }
        let candidates = configuration.candidates(for: name)
        let asGiven = name.hasSuffix(".") ? String(name.dropLast()) : name
        var outcomeAsGiven: ResolveError.Reason?
        var lastOutcome: ResolveError.Reason?
        for candidate in candidates {
            switch lookUp(candidate) {
            case .found(let addresses, let canonical, let server):
                return ResolvedHost(name: name, addresses: addresses, canonicalName: canonical, source: .dns(server))
            case .failed(let reason):
                // Every nameserver failed: the next candidate would fail the
                // same way, only slower.
                throw ResolveError(name: name, reason: reason, alsoTried: candidates.filter { $0 != asGiven && $0 != candidate })
            case .negative(let reason):
                lastOutcome = reason
                if candidate == asGiven { outcomeAsGiven = reason }
            }
        }
        // Report what the name as given got; the search-domain names are listed beside it.
        let reason = outcomeAsGiven ?? lastOutcome ?? .noAnswer([])
        throw ResolveError(name: name, reason: reason, alsoTried: candidates.filter { $0 != asGiven })
    }

    // MARK: - One name over DNS

    enum LookupOutcome {
        case found([IPAddress], canonical: String, from: Nameserver)
        /// NXDOMAIN or no records: the name, as asked, has no address.
        case negative(ResolveError.Reason)
        /// No nameserver answered usably.
        case failed(ResolveError.Reason)
    }

    /// What one nameserver did in one round.
    struct ServerTrouble {
        var text: String
        var tries: Int
    }

    func lookUp(_ name: String) -> LookupOutcome {
        var pending: [DNSRecordType] = [.a, .aaaa]
        var found: [DNSRecordType: [IPAddress]] = [:]
        var canonical = DNSMessage.canonical(name)
        var answeredBy: Nameserver?
        var trouble: [Nameserver: ServerTrouble] = [:]
        let servers = configuration.nameservers
        rounds: for _ in 0..<max(configuration.attempts, 1) {
            for server in servers {
                let exchange = self.exchange(with: server, name: name, types: pending)
                var refusals: [String] = []
                for (type, reply) in exchange.replies {
                    switch reply.responseCode {
                    case .nameError:
                        return .negative(.nameNotFound(server))
                    case .noError:
                        let (addresses, end) = reply.addresses(for: name, type: type)
                        found[type] = addresses
                        if !addresses.isEmpty || answeredBy == nil { canonical = end }
                        answeredBy = answeredBy ?? server
                        pending.removeAll { $0 == type }
                    default:
                        // SERVFAIL, REFUSED, ...: this server cannot help; the next may.
                        if !refusals.contains(reply.responseCode.description) { refusals.append(reply.responseCode.description) }
                    }
                }
                let problems = refusals + (exchange.problem.map { [$0] } ?? [])
                if !problems.isEmpty {
                    trouble[server, default: ServerTrouble(text: "", tries: 0)].text = problems.joined(separator: ", ")
                    trouble[server, default: ServerTrouble(text: "", tries: 0)].tries += 1
                }
                if pending.isEmpty { break rounds }
            }
        }
        let addresses = (found[.a] ?? []) + (found[.aaaa] ?? [])
        if let server = answeredBy, !addresses.isEmpty { return .found(addresses, canonical: canonical, from: server) }
        if let server = answeredBy, pending.isEmpty { return .negative(.noAddresses(server)) }
        let details = servers.compactMap { server -> String? in
            guard let problem = trouble[server] else { return nil }
            return "\(server): \(problem.text)" + (problem.tries > 1 ? ", \(problem.tries) tries" : "")
        }
        return .failed(.noAnswer(details.isEmpty ? ["no nameserver configured"] : details))
    }

    // MARK: - One exchange with one nameserver

    struct Exchange {
        var replies: [(DNSRecordType, DNSMessage)] = []
        /// Why some query got no usable reply (nil when every one did).
        var problem: String?
    }

    /// Sends a query for each of `types` over UDP and waits up to the
    /// timeout for their replies; a truncated reply is asked again over TCP.
    func exchange(with server: Nameserver, name: String, types: [DNSRecordType]) -> Exchange {
        var result = Exchange()
        let timeout = configuration.timeoutMilliseconds
        let fd: Int32
        do throws(Errno) {
            fd = try ScanSys.socket(for: server.address, udp: true)
        } catch {
            result.problem = "cannot open a socket: \(error)"
            return result
        }
        defer { Sys.close(fd) }
        var waiting: [UInt16: DNSRecordType] = [:]
        var ignored: String?
        do throws(Errno) {
            // Connected, so the kernel drops datagrams from other sources and
            // reports ICMP port unreachable as ECONNREFUSED.
            _ = try ScanSys.startConnect(fd, to: server.address, port: server.port)
            for type in types {
                var id = UInt16.random(in: .min ... .max)
                while waiting[id] != nil { id = UInt16.random(in: .min ... .max) }
                guard let query = try? DNSMessage.query(id: id, name: name, type: type) else { continue }
                waiting[id] = type
                _ = try Sys.send(fd, query)
            }
            let deadline = Sys.monotonicMicroseconds() + Int64(timeout) * 1000
            var buffer = [UInt8](repeating: 0, count: 65536)
            while !waiting.isEmpty {
                let remaining = deadline - Sys.monotonicMicroseconds()
                guard remaining > 0 else { break }
                guard try ScanSys.wait(for: fd, timeoutMilliseconds: Int32((remaining + 999) / 1000)) == .ready,
                    let (count, sender) = try ScanSys.receiveDatagram(fd, into: &buffer)
                else { continue }
                guard let sender, sender.address == server.address, sender.port == server.port else {
                    ignored = "a reply from another address"
                    continue
                }
                let reply: DNSMessage
                do throws(DNSError) {
                    reply = try DNSMessage(parsing: Array(buffer[..<count]))
                } catch {
                    ignored = "a malformed reply (\(error))"
                    continue
                }
                guard reply.isResponse, let type = waiting[reply.id], reply.answersQuestion(name: name, type: type) else {
                    ignored = "a reply that matched no query"
                    continue
                }
                waiting[reply.id] = nil
                if reply.isTruncated {
                    switch exchangeOverTCP(with: server, name: name, type: type) {
                    case .success(let full): result.replies.append((type, full))
                    case .failure(let problem): result.problem = "\(type) reply truncated, and over TCP: \(problem)"
                    }
                } else {
                    result.replies.append((type, reply))
                }
            }
        } catch {
            result.problem = error == .connectionRefused ? "connection refused (nothing listening)" : "\(error)"
            return result
        }
        if !waiting.isEmpty {
            let unanswered = waiting.values.sorted { $0.rawValue < $1.rawValue }.map(\.description).joined(separator: " and ")
            let what = waiting.count == types.count ? "timed out" : "no \(unanswered) reply, timed out"
            result.problem = "\(what) after \(timeout) ms" + (ignored.map { " (ignored \($0))" } ?? "")
        }
        return result
    }

    /// Asks once over TCP (RFC 1035 4.2.2: each message preceded by its
    /// two-byte length), within one timeout.
    func exchangeOverTCP(with server: Nameserver, name: String, type: DNSRecordType) -> Result<DNSMessage, TCPProblem> {
        do throws(TCPProblem) {
            return .success(try askOverTCP(server, name: name, type: type))
        } catch {
            return .failure(error)
        }
    }

    private func askOverTCP(_ server: Nameserver, name: String, type: DNSRecordType) throws(TCPProblem) -> DNSMessage {
        let deadline = Sys.monotonicMicroseconds() + Int64(configuration.timeoutMilliseconds) * 1000
        let timedOut = TCPProblem("timed out after \(configuration.timeoutMilliseconds) ms")
        /// Waits, up to the deadline, for `fd` to become readable or writable.
        func waitUntilReady(_ fd: Int32, writable: Bool) throws(TCPProblem) {
            while true {
                let remaining = deadline - Sys.monotonicMicroseconds()
                guard remaining > 0 else { throw timedOut }
                do throws(Errno) {
                    if try ScanSys.wait(for: fd, writable: writable, timeoutMilliseconds: Int32((remaining + 999) / 1000)) == .ready {
                        return
                    }
                } catch {
                    throw TCPProblem("\(error)")
                }
            }
        }
        func problem(_ error: Errno) -> TCPProblem { TCPProblem(error == .connectionRefused ? "connection refused" : "\(error)") }
        /// Runs a socket call, waiting for readiness while it would block.
        func whenReady<T>(_ fd: Int32, writable: Bool, _ call: () throws(Errno) -> T) throws(TCPProblem) -> T {
            while true {
                do throws(Errno) {
                    return try call()
                } catch  where error.meansWouldBlock {
                    try waitUntilReady(fd, writable: writable)
                } catch {
                    throw problem(error)
                }
            }
        }
        let id = UInt16.random(in: .min ... .max)
        guard let query = try? DNSMessage.query(id: id, name: name, type: type) else { throw TCPProblem("cannot build the query") }
        let fd: Int32
        do throws(Errno) { fd = try ScanSys.socket(for: server.address, udp: false) } catch { throw TCPProblem("\(error)") }
        defer { Sys.close(fd) }
        let connectedAtOnce: Bool
        do throws(Errno) { connectedAtOnce = try ScanSys.startConnect(fd, to: server.address, port: server.port) } catch {
            throw problem(error)
        }
        if !connectedAtOnce {
            // In progress: writable once it completes; SO_ERROR says how.
            try waitUntilReady(fd, writable: true)
            let pending = ScanSys.pendingError(fd)
            if pending != 0 { throw problem(Errno(pending)) }
        }
        var outgoing = [UInt8(query.count >> 8), UInt8(query.count & 0xff)] + query
        while !outgoing.isEmpty {
            let sent = try whenReady(fd, writable: true) { () throws(Errno) in try Sys.send(fd, outgoing) }
            outgoing.removeFirst(sent)
        }
        var incoming: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16384)
        while incoming.count < 2 || incoming.count < 2 + (Int(incoming[0]) << 8 | Int(incoming[1])) {
            let count = try whenReady(fd, writable: false) { () throws(Errno) in try Sys.receive(fd, into: &buffer) }
            if count == 0 { throw TCPProblem("the server closed the connection after \(incoming.count) bytes") }
            incoming += buffer[..<count]
        }
        let length = Int(incoming[0]) << 8 | Int(incoming[1])
        let reply: DNSMessage
        do throws(DNSError) { reply = try DNSMessage(parsing: Array(incoming[2..<(2 + length)])) } catch {
            throw TCPProblem("malformed reply (\(error))")
        }
        guard reply.isResponse, reply.id == id, reply.answersQuestion(name: name, type: type) else {
            throw TCPProblem("the reply did not match the query")
        }
        return reply
    }

    struct TCPProblem: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }
}
