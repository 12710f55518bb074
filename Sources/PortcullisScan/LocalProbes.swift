import PortcullisCore
import PortcullisLinux
import Synchronization

/// The audit's safe local probes (README "Probes"): one read-only request
/// to each listener `AuditProbePlan` picked, all at once, within one
/// deadline. Redis, memcached, Elasticsearch and the Docker API go through
/// the scan's own probe sessions (`ServiceProbeSession`, limited to the
/// probes that ask the question: no TLS or fallback probes); MongoDB and
/// SNMP send `MongoWire` and `SNMPWire` requests. A listener in another
/// network namespace is reached from a thread that enters that namespace
/// for the probe and ends with it.
public enum LocalProbes {
    /// The default deadline of the whole probe phase, in milliseconds: a
    /// service on this host answers in well under a millisecond, so only a
    /// silent one (SNMP with another community, a hung daemon) waits this long.
    public static let defaultBudgetMilliseconds = 40

    /// What the probes found, by socket inode, and the probes that could not run.
    public struct Result: Sendable {
        /// Evidence per socket inode: access without credentials, or a refusal asking for them.
        public var evidence: [UInt64: ServiceProbeEvidence] = [:]
        /// Probes that could not run (a namespace that could not be entered).
        public var diagnostics: [Diagnostic] = []
    }

    /// Probes every target concurrently; returns when all have answered or the deadline passed.
    /// - Parameters:
    ///   - namespacePaths: how to enter each other namespace a target lives in (nsfs inode → bind mount or /proc/PID/ns/net).
    ///   - budgetMilliseconds: the deadline of the whole phase, from now.
    public static func run(
        _ targets: [AuditProbeTarget], namespacePaths: [UInt64: String], budgetMilliseconds: Int = defaultBudgetMilliseconds
    ) -> Result {
        guard !targets.isEmpty else { return Result() }
        let deadline = Sys.monotonicMicroseconds() + Int64(max(1, budgetMilliseconds)) * 1000
        let found = Locked(Result())
        let next = Atomic<Int>(0)
        Sys.onThreads(min(targets.count, 32)) { _ in
            while true {
                let index = next.add(1, ordering: .relaxed).oldValue
                guard index < targets.count else { break }
                let target = targets[index]
                var evidence: ServiceProbeEvidence?
                if let namespace = target.namespaceInode {
                    guard let path = namespacePaths[namespace] else {
                        found.withLock {
                            $0.diagnostics.append(
                                Diagnostic(
                                    .warning, "probe of \(describe(target)) not run: no way into network namespace \(namespace) was found"))
                        }
                        continue
                    }
                    switch Sys.inNetworkNamespace(path, { probe(target, deadline: deadline) }) {
                    case .success(let result): evidence = result
                    case .failure(let error):
                        found.withLock {
                            $0.diagnostics.append(
                                Diagnostic(
                                    .warning, "probe of \(describe(target)) not run: cannot enter network namespace \(path): \(error)"))
                        }
                        continue
                    }
                } else {
                    evidence = probe(target, deadline: deadline)
                }
                if let evidence { found.withLock { $0.evidence[target.inode] = evidence } }
            }
        }
        return found.withLock { $0 }
    }

    static func describe(_ target: AuditProbeTarget) -> String {
        "\(InventoryRenderer.address(target.address, port: target.port, proto: target.proto))/\(target.proto.rawValue) (\(target.kind.rawValue))"
    }

    /// One target's probe, on the calling thread; nil when it proved nothing before `deadline`.
    public static func probe(_ target: AuditProbeTarget, deadline: Int64) -> ServiceProbeEvidence? {
        switch (target.kind, target.proto) {
        case (.snmp, _):
            return exchangeUDP(target, SNMPWire.sysDescrPublicRequest, deadline: deadline).flatMap { ServiceProbeEvidence.snmp(reply: $0) }
        case (.memcached, .udp):
            return exchangeUDP(target, UDPPayloads.memcachedStats, deadline: deadline).flatMap {
                ServiceProbeEvidence.from(service: UDPPayloads.match(port: 11211, reply: $0), kind: .memcached)
            }
        case (.mongodb, _):
            return mongo(target, deadline: deadline)
        case (.redis, _):
            return ServiceProbeEvidence.from(
                service: session(target, tableName: "redis", allowed: [.redis], deadline: deadline), kind: .redis)
        case (.memcached, _):
            return ServiceProbeEvidence.from(
                service: session(target, tableName: "memcached", allowed: [.memcached], deadline: deadline), kind: .memcached)
        case (.elasticsearch, _):
            return ServiceProbeEvidence.from(
                service: session(target, tableName: "http", allowed: [.http], deadline: deadline), kind: .elasticsearch)
        case (.dockerAPI, _):
            return ServiceProbeEvidence.from(
                service: session(target, tableName: "http", allowed: [.http, .httpVersion], deadline: deadline), kind: .dockerAPI)
        }
    }

    static func millisecondsLeft(_ deadline: Int64) -> Int {
        Int(max(0, (deadline - Sys.monotonicMicroseconds() + 999) / 1000))
    }

    /// The scan's probe session for the port, driven until it is done, a
    /// probe outside `allowed` comes up (the fallbacks that name an unknown
    /// service), or the deadline passes.
    static func session(_ target: AuditProbeTarget, tableName: String, allowed: Set<ServiceProbeKind>, deadline: Int64)
        -> ScanService?
    {
        let left = millisecondsLeft(deadline)
        guard left > 0 else { return nil }
        var session = ServiceProbeSession(
            port: target.port, tableName: tableName, address: target.address, now: PortcullisLinux.Clock.now(),
            limits: ServiceProbeLimits(timeoutMilliseconds: left))
        guard var connection = ServiceConnection(address: target.address, port: target.port, udp: false, timeoutMilliseconds: left) else {
            return nil
        }
        defer { connection.close() }
        return ServiceDetector.drive(&session, over: &connection, deadline: deadline, allows: allowed.contains) {
            ServiceConnection(address: target.address, port: target.port, udp: false, timeoutMilliseconds: millisecondsLeft(deadline))
        }
    }

    /// MongoDB: the listDatabases OP_MSG, read until the reply's declared length has arrived.
    static func mongo(_ target: AuditProbeTarget, deadline: Int64) -> ServiceProbeEvidence? {
        let left = millisecondsLeft(deadline)
        guard left > 0,
            var connection = ServiceConnection(address: target.address, port: target.port, udp: false, timeoutMilliseconds: left)
        else { return nil }
        defer { connection.close() }
        guard connection.sendAll(MongoWire.listDatabasesRequest, deadline: deadline) else { return nil }
        var reply: [UInt8] = []
        while true {
            guard case .received(let bytes) = connection.receive(deadline: deadline) else { return nil }
            reply += bytes
            if let length = MongoWire.declaredLength(reply), length <= 0 || length > MongoWire.maxReplyBytes || reply.count >= length {
                return ServiceProbeEvidence.mongo(reply: reply)
            }
            if reply.count > MongoWire.maxReplyBytes { return nil }
        }
    }

    /// One datagram out, the first reply back (an ICMP unreachable or the deadline: nil).
    static func exchangeUDP(_ target: AuditProbeTarget, _ payload: [UInt8], deadline: Int64) -> [UInt8]? {
        let left = millisecondsLeft(deadline)
        guard left > 0,
            var connection = ServiceConnection(address: target.address, port: target.port, udp: true, timeoutMilliseconds: left)
        else { return nil }
        defer { connection.close() }
        guard connection.sendAll(payload, deadline: deadline), case .received(let reply) = connection.receive(deadline: deadline) else {
            return nil
        }
        return reply
    }
}
