import PortcullisCore
import PortcullisLinux
import Synchronization

/// Service detection over every open port of a finished scan: each port's
/// probe conversation (ServiceDetector) runs on one of `parallelism`
/// threads of its own, since a conversation mostly waits on the service.
public enum ServiceScan {
    /// How many conversations run at once and how long each step may wait.
    public struct Options: Sendable {
        /// Conversations at once.
        public var parallelism = 64
        /// TCP connect timeout, and how long each probe waits for its answer; UDP waits at most 2000 ms.
        public var timeoutMilliseconds = 3000
        /// Called with (done, total) as conversations finish.
        public var onProgress: (@Sendable (Int, Int) -> Void)?
        /// The defaults: 64 conversations at once, 3000 ms timeouts, no progress callback.
        public init() {}
    }

    /// The hosts with a probed `service` on each open TCP port and each open
    /// UDP port that answered something it recognises; `tableName` gives the
    /// conventional name to fall back on.
    public static func detect(
        _ hosts: [ScanHostResult], tableName: @escaping @Sendable (UInt16, TransportProtocol) -> String?,
        options: Options = Options()
    ) -> [ScanHostResult] {
        var work: [(host: Int, port: Int)] = []
        for (h, host) in hosts.enumerated() {
            for (p, port) in host.ports.enumerated() where port.state == .open { work.append((h, p)) }
        }
        guard !work.isEmpty else { return hosts }
        let jobs = work
        let next = Atomic<Int>(0)
        let done = Atomic<Int>(0)
        let found = Locked<[Int: ScanService]>([:])
        let now = PortcullisLinux.Clock.now()
        Sys.onThreads(max(1, min(options.parallelism, jobs.count))) { _ in
            while true {
                let index = next.add(1, ordering: .relaxed).oldValue
                guard index < jobs.count else { break }
                let host = hosts[jobs[index].host]
                let port = host.ports[jobs[index].port]
                let name = tableName(port.port, port.proto)
                let service: ScanService? =
                    port.proto == .tcp
                    ? ServiceDetector.detect(
                        address: host.address, port: port.port, hostname: host.hostname, tableName: name,
                        timeoutMilliseconds: options.timeoutMilliseconds, now: now, scopeID: host.zone?.index ?? 0)
                    : ServiceDetector.detectUDP(
                        address: host.address, port: port.port, tableName: name,
                        timeoutMilliseconds: min(2000, options.timeoutMilliseconds), scopeID: host.zone?.index ?? 0)
                if let service { found.withLock { $0[index] = service } }
                let count = done.add(1, ordering: .relaxed).newValue
                options.onProgress?(count, jobs.count)
            }
        }
        var result = hosts
        for (index, service) in found.withLock({ $0 }) { result[jobs[index].host].ports[jobs[index].port].service = service }
        return result
    }
}
