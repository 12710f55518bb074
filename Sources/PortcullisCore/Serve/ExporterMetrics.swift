/// What one `/metrics` scrape reports: the audited listeners collected for
/// it, and the exporter's state (the last hidden check, watch counters,
/// first-seen times). Pure data, so the exposition is testable without a kernel.
public struct ExporterView: Sendable {
    /// The outcome of the last hidden-port check.
    public struct HiddenStatus: Sendable {
        /// When it finished, milliseconds since the epoch.
        public var finishedAtMilliseconds: Int64
        /// How long it took.
        public var durationMilliseconds: Int64
        /// The report, or nil when the check failed (`error` says why).
        public var report: HiddenReport?
        /// Why the check could not run.
        public var error: String?

        /// A finished check.
        public init(finishedAtMilliseconds: Int64, durationMilliseconds: Int64, report: HiddenReport?, error: String? = nil) {
            self.finishedAtMilliseconds = finishedAtMilliseconds
            self.durationMilliseconds = durationMilliseconds
            self.report = report
            self.error = error
        }
    }

    /// How one collector did: `audit` (this scrape's), `hidden` (the last check), `watch` (the last poll).
    public struct CollectorStatus: Sendable {
        /// The `collector` label.
        public var name: String
        /// Whether it produced a result.
        public var success: Bool
        /// Seconds it took.
        public var durationSeconds: Double

        /// A collector's outcome.
        public init(name: String, success: Bool, durationSeconds: Double) {
            self.name = name
            self.success = success
            self.durationSeconds = durationSeconds
        }
    }

    /// The listeners audited for this scrape; empty when the audit failed.
    public var listeners: [AuditedListener] = []
    /// The audit's findings (merged, one per problem).
    public var findings: [Finding] = []
    /// The audit's diagnostics.
    public var diagnostics: [Diagnostic] = []
    /// When each listener was first seen, milliseconds since the epoch.
    public var firstSeen: [ListenerKey: Int64] = [:]
    /// The last hidden check; nil before the first one finished.
    public var hidden: HiddenStatus?
    /// Each collector's outcome.
    public var collectors: [CollectorStatus] = []
    /// Audits run since the exporter started (concurrent scrapes share one).
    public var auditRuns = 0
    /// Events the watch poller has seen since the exporter started, by kind.
    public var watchEvents: [WatchEvent.Kind: Int] = [:]
    /// The cap on per-listener series (`--max-series`).
    public var maxSeries: Int = 10_000
    /// `portcullis_build_info`'s labels.
    public var version = ""
    /// The git revision built from, or "unknown".
    public var revision = ""
    /// The exporter process's own figures, when /proc/self could be read.
    public var process: ProcessFigures?

    /// An empty view.
    public init() {}
}

/// The figures of the standard `process_*` metrics every Prometheus exporter exposes.
public struct ProcessFigures: Sendable, Equatable {
    /// Seconds since the epoch.
    public var startTimeSeconds: Double
    /// Resident set size in bytes.
    public var residentBytes: Double
    /// User plus system CPU time in seconds.
    public var cpuSeconds: Double

    /// The three figures.
    public init(startTimeSeconds: Double, residentBytes: Double, cpuSeconds: Double) {
        self.startTimeSeconds = startTimeSeconds
        self.residentBytes = residentBytes
        self.cpuSeconds = cpuSeconds
    }
}

/// Turns an `ExporterView` into metric families. Cardinality is bounded:
/// per-listener series carry no pid, inode or remote address, so a
/// restart or a client does not make new series, and `maxSeries` caps them.
public enum ExporterMetrics {
    /// One listener's identity labels, shared by its info and first-seen series so they join.
    struct ListenerLabels: Hashable {
        var namespace: String
        var container: String
        var proto: String
        var address: String
        var port: String

        var pairs: [(String, String)] {
            [("namespace", namespace), ("container", container), ("proto", proto), ("address", address), ("port", port)]
        }
    }

    /// Every family, in a fixed order. Per-listener series past `maxSeries`
    /// are dropped (worst verdicts kept first) and counted.
    public static func families(_ view: ExporterView) -> [MetricFamily] {
        // One series per listener key: sockets of one SO_REUSEPORT group
        // share a key, and their owners merge. Positions, not copies.
        var grouped: [ListenerKey: [Int]] = [:]
        var order: [ListenerKey] = []
        grouped.reserveCapacity(view.listeners.count)
        for (index, listener) in view.listeners.enumerated() {
            let key = ListenerKey(listener.entry)
            if grouped[key] == nil {
                order.append(key)
                grouped[key] = [index]
            } else {
                grouped[key, default: []].append(index)
            }
        }
        // Over the cap, the worst are kept: a cap drops the harmless ones
        // first. Under it (the usual case) the inventory's order stands, and
        // nothing is sorted.
        var kept = order
        if order.count > max(0, view.maxSeries) {
            // Bucketed by verdict, worst bucket first, inventory order within:
            // linear, where a sort of 10,000 keys by hashed rank was not.
            var buckets = [[ListenerKey]](repeating: [], count: ListenerVerdict.metricRankCount)
            for key in order {
                buckets[worst((grouped[key] ?? []).map { view.listeners[$0] })].append(key)
            }
            kept = Array(buckets.reversed().joined().prefix(max(0, view.maxSeries)))
        }
        let dropped = order.count - kept.count

        var info = MetricFamily(
            "portcullis_listener_info", .gauge,
            help: "A listening socket (one series per protocol, address, port and namespace), with its owner, exposure and verdict.")
        var firstSeen = MetricFamily(
            "portcullis_listener_first_seen_timestamp_seconds", .gauge,
            help: "When the listener was first seen: by the watch poller, else the start of its oldest owning process.")
        for key in kept {
            guard let positions = grouped[key], let firstPosition = positions.first else { continue }
            let first = view.listeners[firstPosition]
            let sockets = positions.count == 1 ? [first] : positions.map { view.listeners[$0] }
            let identity = labels(key, first.entry)
            let owners = sockets.count == 1 ? first.entry.owners : sockets.flatMap(\.entry.owners)
            // One owner (nearly every listener) needs no set.
            let commands = owners.count == 1 ? owners[0].name : Set(owners.map(\.name)).sorted().joined(separator: ",")
            let units = owners.count == 1 ? (owners[0].unit ?? "") : Set(owners.compactMap(\.unit)).sorted().joined(separator: ",")
            let exposure = sockets.map(\.entry.exposure).max(by: { $0.metricRank < $1.metricRank }) ?? first.entry.exposure
            info.samples.append(
                .init(
                    identity.pairs + [
                        ("exposure", exposure.rawValue), ("service", first.entry.service ?? ""), ("command", commands), ("unit", units),
                        ("verdict", worstVerdict(sockets).jsonName),
                    ], 1))
            if let seen = view.firstSeen[key] {
                firstSeen.samples.append(.init(identity.pairs, Double(seen) / 1000))
            }
        }

        var byExposure: [String: [String: Int]] = [:]
        for listener in view.listeners {
            byExposure[listener.entry.exposure.rawValue, default: [:]][listener.verdict.jsonName, default: 0] += 1
        }
        let counts = MetricFamily(
            "portcullis_listeners", .gauge,
            help: "Listening sockets by the addresses they are bound to (exposure) and verdict (filtered: the firewall stops other hosts).",
            samples: byExposure.keys.sorted().flatMap { exposure in
                (byExposure[exposure] ?? [:]).sorted { $0.key < $1.key }.map {
                    .init([("exposure", exposure), ("verdict", $0.key)], Double($0.value))
                }
            })

        var findingCounts: [Severity: [String: Int]] = [:]
        var findingInfo = MetricFamily(
            "portcullis_finding_info", .gauge, help: "An audit finding, by its stable id (RULE@PROGRAM:ENDPOINT).")
        for finding in view.findings {
            findingCounts[finding.severity, default: [:]][finding.rule.rawValue, default: 0] += 1
            findingInfo.samples.append(
                .init([("rule", finding.rule.rawValue), ("severity", finding.severity.rawValue), ("id", finding.id)], 1))
        }
        // Also capped: findings are bounded by listeners, but a cap is a cap.
        let findingsDropped = max(0, findingInfo.samples.count - max(0, view.maxSeries))
        findingInfo.samples = Array(findingInfo.samples.prefix(max(0, view.maxSeries)))
        let findings = MetricFamily(
            "portcullis_findings", .gauge, help: "Audit findings by severity and rule.",
            samples: Severity.allCases.reversed().flatMap { severity in
                (findingCounts[severity] ?? [:]).sorted { $0.key < $1.key }.map {
                    .init([("severity", severity.rawValue), ("rule", $0.key)], Double($0.value))
                }
            })

        var families = [info, firstSeen, counts, findings, findingInfo]
        families += hiddenFamilies(view.hidden)
        families.append(
            MetricFamily(
                "portcullis_diagnostics", .gauge,
                help: "Things the last audit could not read or attribute, by severity (see /api/v1/audit).",
                samples: [Diagnostic.Severity.notice, .warning].map { severity in
                    .init([("severity", severity.rawValue)], Double(view.diagnostics.filter { $0.severity == severity }.count))
                }))
        families.append(
            MetricFamily(
                "portcullis_collector_success", .gauge, help: "Whether the collector's last run succeeded (1) or failed (0).",
                samples: view.collectors.map { .init([("collector", $0.name)], $0.success ? 1 : 0) }))
        families.append(
            MetricFamily(
                "portcullis_collector_duration_seconds", .gauge, help: "How long the collector's last run took.",
                samples: view.collectors.map { .init([("collector", $0.name)], $0.durationSeconds) }))
        families.append(
            MetricFamily(
                "portcullis_audit_runs_total", .counter,
                help: "Audits run for scrapes and API requests since the start; overlapping requests share one.",
                samples: [.init([], Double(view.auditRuns))]))
        families.append(
            MetricFamily(
                "portcullis_watch_events_total", .counter, help: "Listener events the watch poller has seen since the exporter started.",
                samples: WatchEvent.Kind.allCases.map { .init([("kind", $0.rawValue)], Double(view.watchEvents[$0] ?? 0)) }))
        families.append(
            MetricFamily(
                "portcullis_series_limit", .gauge, help: "The cap on per-listener and per-finding series (--max-series).",
                samples: [.init([], Double(view.maxSeries))]))
        families.append(
            MetricFamily(
                "portcullis_series_dropped", .gauge, help: "Per-listener and per-finding series left out of this scrape by --max-series.",
                samples: [.init([], Double(dropped + findingsDropped))]))
        families.append(
            MetricFamily(
                "portcullis_series_truncated", .gauge, help: "1 when this scrape left series out because of --max-series.",
                samples: [.init([], dropped + findingsDropped > 0 ? 1 : 0)]))
        families.append(
            MetricFamily(
                "portcullis_build_info", .gauge, help: "The portcullis version and git revision serving these metrics.",
                samples: [.init([("version", view.version), ("revision", view.revision)], 1)]))
        if let process = view.process { families += processFamilies(process) }
        return families
    }

    static func hiddenFamilies(_ hidden: ExporterView.HiddenStatus?) -> [MetricFamily] {
        let alarms = hidden?.report?.findings.filter(\.alarm) ?? []
        let ports = alarms.filter { $0.kind != .process }.count
        let processes = alarms.filter { $0.kind == .process }.count
        // Before the first check finishes these families have no samples:
        // absent, not zero, so an alert cannot read "none hidden" from "not yet checked".
        func sample(_ value: Double) -> [MetricFamily.Sample] { hidden == nil ? [] : [.init([], value)] }
        return [
            MetricFamily(
                "portcullis_hidden_ports", .gauge,
                help: "Ports (and sockets) in use that a socket table does not show, confirmed by the last hidden check.",
                samples: hidden?.report == nil ? [] : [.init([], Double(ports))]),
            MetricFamily(
                "portcullis_hidden_processes", .gauge, help: "Processes missing from the /proc listing, found by the last hidden check.",
                samples: hidden?.report == nil ? [] : [.init([], Double(processes))]),
            MetricFamily(
                "portcullis_hidden_check_timestamp_seconds", .gauge, help: "When the last hidden check finished.",
                samples: sample(Double(hidden?.finishedAtMilliseconds ?? 0) / 1000)),
            MetricFamily(
                "portcullis_hidden_check_success", .gauge, help: "Whether the last hidden check ran (1) or failed (0).",
                samples: sample(hidden?.report == nil ? 0 : 1)),
            MetricFamily(
                "portcullis_hidden_check_duration_seconds", .gauge, help: "How long the last hidden check took.",
                samples: sample(Double(hidden?.durationMilliseconds ?? 0) / 1000)),
        ]
    }

    static func processFamilies(_ process: ProcessFigures) -> [MetricFamily] {
        [
            MetricFamily(
                "process_start_time_seconds", .gauge, help: "Start time of the process since unix epoch in seconds.",
                samples: [.init([], process.startTimeSeconds)]),
            MetricFamily(
                "process_resident_memory_bytes", .gauge, help: "Resident memory size in bytes.", samples: [.init([], process.residentBytes)]
            ),
            MetricFamily(
                "process_cpu_seconds_total", .counter, help: "Total user and system CPU time spent in seconds.",
                samples: [.init([], process.cpuSeconds)]),
        ]
    }

    /// The identity labels of a listener key: "host" or the container (else namespace) it lives in.
    static func labels(_ key: ListenerKey, _ entry: InventoryEntry) -> ListenerLabels {
        let container = entry.owners.lazy.compactMap(\.containerReference).first?.displayName ?? ""
        return ListenerLabels(
            namespace: key.scope ?? "host", container: container, proto: key.proto.rawValue + (key.family == .ipv6 ? "6" : ""),
            address: key.localAddress.description, port: String(key.localPort))
    }

    static func worstVerdict(_ sockets: [AuditedListener]) -> ListenerVerdict {
        sockets.map(\.verdict).max { $0.metricRank < $1.metricRank } ?? .ok
    }

    static func worst(_ sockets: [AuditedListener]) -> Int { worstVerdict(sockets).metricRank }
}

extension ListenerVerdict {
    /// How many ranks there are (`metricRank` is below it).
    static let metricRankCount = 3 + Severity.allCases.count

    /// ok < filtered < open < info < … < critical: the order a cap keeps series in.
    var metricRank: Int {
        switch self {
        case .ok: return 0
        case .filtered: return 1
        case .open: return 2
        case .finding(let severity): return 3 + severity.rank
        }
    }
}

extension Exposure {
    /// Loopback below a specific address below every address: the widest wins for a merged series.
    var metricRank: Int {
        switch self {
        case .loopback: return 0
        case .linkLocal: return 1
        case .specificAddress: return 2
        case .allInterfacesIPv4, .allInterfacesIPv6: return 3
        case .allInterfacesDualStack: return 4
        }
    }
}
