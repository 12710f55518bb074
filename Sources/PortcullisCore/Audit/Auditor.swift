/// What a policy tells the audit. `Policy` (the YAML file) conforms; tests
/// can supply their own.
public protocol AuditPolicy: Sendable {
    /// Where it came from, for messages ("/etc/portcullis/policy.yaml").
    var source: String { get }
    /// Whether an allow entry accepts `entry` at `exposure` (the socket's own, or loopback when the firewall filters it).
    func auditDecision(for entry: InventoryEntry, exposure: Exposure) -> PolicyVerdict
    /// The reason of an active ignore covering this rule (and socket), if any.
    func ignoreReason(rule: RuleID, entry: InventoryEntry?, now: Int64) -> String?
    /// The reason of an active ignore naming this finding by id, if any.
    func ignoreReason(rule: RuleID, findingID: String, now: Int64) -> String?
    /// The severity to use, or nil when the rule is disabled.
    func severity(for rule: RuleID, default: Severity) -> Severity?
    /// Notes about ignores that have expired, so nobody relies on them.
    func expiredIgnoreNotes(now: Int64) -> [String]
}

/// What a policy says of one listener: allowed as it is, allowed only less exposed, or not allowed.
public enum PolicyVerdict: Sendable, Equatable {
    /// An allow entry (on `line`) accepts this listener as it is exposed.
    case allowed(line: Int)
    /// Allowed on this port, but only as exposed as `allowed` describes.
    case exposureTooWide(allowed: Policy.AllowedExposure, line: Int)
    /// No allow entry matches the listener's port, protocol, owner and user: a `not-in-policy` finding.
    case notAllowed
}

/// Host-wide signs that programs are being tampered with.
public struct TamperEvidence: Sendable, Equatable {
    /// Contents of /etc/ld.so.preload (escaped) when the file exists.
    public var ldSoPreload: String?
    /// LD_PRELOAD in portcullis's own environment.
    public var ownPreload: String?
    /// LD_PRELOAD in a listener's /proc/PID/environ, by pid.
    public var listenerPreloads: [Int32: String]

    /// Builds the evidence; the defaults are a clean host (no preload anywhere).
    public init(ldSoPreload: String? = nil, ownPreload: String? = nil, listenerPreloads: [Int32: String] = [:]) {
        self.ldSoPreload = ldSoPreload
        self.ownPreload = ownPreload
        self.listenerPreloads = listenerPreloads
    }
}

/// Why a kernel-held socket exists, when the host shows it (NFS, WireGuard).
public struct KernelSocketHints: Sendable, Equatable {
    /// The in-kernel NFS server runs (/proc/fs/nfsd/threads above 0), which explains an ownerless listener on port 2049.
    public var nfsServer: Bool
    /// Ports lockd listens on (fs.nfs.nlm_tcpport / nlm_udpport).
    public var lockdPorts: Set<UInt16>
    /// Names of WireGuard interfaces.
    public var wireguardInterfaces: [String]

    /// Builds the hints; the defaults explain nothing.
    public init(nfsServer: Bool = false, lockdPorts: Set<UInt16> = [], wireguardInterfaces: [String] = []) {
        self.nfsServer = nfsServer
        self.lockdPorts = lockdPorts
        self.wireguardInterfaces = wireguardInterfaces
    }
}

/// Everything the audit judges. Collected by PortcullisLinux; pure here.
public struct AuditInput: Sendable {
    /// Listening sockets (TCP LISTEN, UDP and RAW unconnected).
    public var entries: [InventoryEntry]
    /// AF_PACKET sockets, each reported by the packet-socket rule.
    public var packetSockets: [PacketSocketEntry]
    /// Firewall verdict per non-loopback listener, by inode; absent when not judged.
    public var firewall: [UInt64: FirewallVerdict]
    /// Preloads seen on the host, for the ld-preload rule.
    public var tamper: TamperEvidence
    /// Kernel services that explain sockets no process holds, for the unowned-socket rule.
    public var kernelHints: KernelSocketHints
    /// The policy to apply (overrides, allow entries, ignores); nil: every finding at its rule's severity, none suppressed.
    public var policy: (any AuditPolicy)?
    /// Home directories of ordinary users (uid >= 1000), for the unsafe-location rule.
    public var userHomes: [String]
    /// The walk ran as root, so an unowned socket is really unowned.
    public var ranAsRoot: Bool
    /// Seconds since the epoch, for ignore expiry.
    public var now: Int64
    /// The listeners of the baseline snapshot (`audit --baseline`): every
    /// other listener is a `not-in-baseline` finding.
    public var baseline: BaselineListeners?
    /// Ports published into other namespaces (DNAT rules, userland proxies), judged along the forward path.
    public var publications: [JudgedPublication] = []
    /// The namespaces whose sockets were read, by inode, with their addresses: where publications lead.
    public var targetNamespaces: [UInt64: TargetNamespace] = [:]
    /// The interfaces of each network namespace read, by namespace inode:
    /// what an address a socket is bound to is (an interface's address, a
    /// subnet's broadcast address). Empty when not read.
    public var interfaces: [UInt64: [NetworkInterface]] = [:]
    /// What each listener holder's own configuration says of its need, by
    /// pid (rpcbind, Samba, Postfix, Avahi, CUPS): `unneeded` makes an
    /// `unneeded-listener` finding for its reachable sockets.
    public var needs: [Int32: ServiceNeed] = [:]
    /// Remote (non-loopback) clients connected now, by listener inode; nil when connections were not read.
    public var clientsNow: [UInt64: [ClientSighting]]?
    /// Remote clients the history database recorded over the client window.
    public var clientHistory: ClientHistory = .notConsulted
    /// Each program instance's listeners by port, built by `Auditor.run`
    /// when clients are judged: clients of its IPv4 or IPv6 socket count for both.
    var programSockets: [AuditRules.ProgramPort: [InventoryEntry]] = [:]
    /// What the safe local probes (`AuditProbes`) found, by socket inode: evidence on the
    /// socket's exposure finding, and a raised severity when a probe proved access.
    public var probes: [UInt64: ServiceProbeEvidence] = [:]

    /// Builds the input; the defaults are no packet sockets, no firewall verdicts, no tamper
    /// evidence or hints, no policy, run as root, `now` 0 and no baseline (set `baseline`
    /// afterwards).
    public init(
        entries: [InventoryEntry], packetSockets: [PacketSocketEntry] = [], firewall: [UInt64: FirewallVerdict] = [:],
        tamper: TamperEvidence = TamperEvidence(), kernelHints: KernelSocketHints = KernelSocketHints(),
        policy: (any AuditPolicy)? = nil, userHomes: [String] = [], ranAsRoot: Bool = true, now: Int64 = 0
    ) {
        self.entries = entries
        self.packetSockets = packetSockets
        self.firewall = firewall
        self.tamper = tamper
        self.kernelHints = kernelHints
        self.policy = policy
        self.userHomes = userHomes
        self.ranAsRoot = ranAsRoot
        self.now = now
        self.baseline = nil
    }
}

/// The listener keys of a baseline snapshot, for `audit --baseline`.
public struct BaselineListeners: Sendable {
    /// The baseline snapshot's id in the store, quoted in the evidence of not-in-baseline findings.
    public var snapshotID: Int64
    /// When the snapshot was taken (seconds since the epoch).
    public var time: Int64
    /// Identity of every listener in the baseline; a listener whose key is not here is new.
    public var keys: Set<ListenerKey>

    /// Builds the baseline from a stored snapshot's id, time and listener keys.
    public init(snapshotID: Int64, time: Int64, keys: Set<ListenerKey>) {
        self.snapshotID = snapshotID
        self.time = time
        self.keys = keys
    }
}

/// One listener with its audit outcome, for the overview.
public struct AuditedListener: Sendable {
    /// The listening socket with its owners, as inventoried.
    public var entry: InventoryEntry
    /// The firewall's verdict on inbound traffic to it; nil when it listens on loopback only or the firewall was not judged.
    public var firewall: FirewallVerdict?
    /// Reachable from other hosts: not loopback-only and not filtered.
    public var reachable: Bool
    /// The findings about this listener that survived the policy (not disabled, allowed or ignored), in the order the rules produced them.
    public var findings: [Finding]
    /// Ports the host publishes to it (a container's listener behind a DNAT or proxy).
    public var publishedBy: [PortPublication] = []

    /// The exposure a policy's allow entry is matched against: a listener
    /// the firewall filters counts as loopback only.
    public var judgedExposure: Exposure { reachable ? entry.exposure : .loopback }

    /// The overview's one-word verdict: the worst finding's severity, else
    /// `filtered`, `open` (reachable) or `ok` (loopback only).
    public var verdict: ListenerVerdict {
        if let worst = findings.map(\.severity).max() { return .finding(worst) }
        if firewall?.isFiltered == true && !entry.exposure.isLoopbackOnly { return .filtered }
        return reachable ? .open : .ok
    }

    /// The worst finding's rule (and how many more), or why there is none.
    public var verdictReason: String {
        if let worst = findings.max(by: { $0.severity < $1.severity }) {
            return worst.rule.rawValue + (findings.count > 1 ? " (+\(findings.count - 1) more)" : "")
        }
        if let firewall, firewall.isFiltered, !entry.exposure.isLoopbackOnly { return "firewall: \(firewall.reason)" }
        if reachable, case .unknown = firewall { return "reachable unless the firewall drops it (firewall state unknown)" }
        if entry.isInOtherNamespace, let first = publishedBy.first {
            let ports = publishedBy.map(\.hostEndpoint).joined(separator: ", ")
            return reachable
                ? "published on \(ports) by \(first.tool): reachable from other hosts"
                : "published on \(ports) by \(first.tool), filtered on the way"
        }
        if !reachable, entry.isInOtherNamespace, let namespace = entry.namespace {
            return entry.exposure.isLoopbackOnly
                ? "loopback of network namespace \(namespace.label)"
                : "container network only: network namespace \(namespace.label), not published on the host"
        }
        return reachable ? "reachable from the network" : "loopback only"
    }
}

/// A finding the policy accepted, kept so the report can show what was hidden and why.
public struct SuppressedFinding: Sendable {
    /// The finding, at the severity the policy gives it.
    public var finding: Finding
    /// Why it is hidden: "allowed by SOURCE line N", or "ignored by SOURCE line N: REASON".
    public var reason: String
}

/// What an audit found: findings worst first, what the policy suppressed, every listener's outcome, and notes.
public struct AuditReport: Sendable {
    /// Worst first.
    public var findings: [Finding]
    /// Findings the policy allowed or ignored, in the order the rules produced them.
    public var suppressed: [SuppressedFinding]
    /// Every published port, where it leads and its findings.
    public var publications: [AuditedPublication] = []
    /// Every listening socket of the input, in input order, with its own findings.
    public var listeners: [AuditedListener]
    /// Warnings about the run, such as ignores that have expired.
    public var notes: [Diagnostic]

    /// How many findings are at `severity` or worse; `audit --fail-on` exits 1 when this is above 0.
    public func count(atLeast severity: Severity) -> Int { findings.filter { $0.severity >= severity }.count }
}

/// Applies every audit rule to the input.
public enum Auditor {
    /// Judges every listener, packet socket and the tamper evidence, then applies the policy:
    /// disabled rules are dropped, findings an allow entry or ignore covers move to `suppressed`,
    /// and expired ignores become notes. Pure: no I/O.
    public static func run(_ input: AuditInput) -> AuditReport {
        var input = input
        if input.clientsNow != nil || input.clientHistory != .notConsulted {
            // Only the datastores whose clients were read (or would be).
            for entry in input.entries where entry.socket.isListening && entry.socket.proto == .tcp && !entry.owners.isEmpty {
                let judged =
                    input.clientsNow.map { $0[entry.socket.inode] != nil } ?? RemoteClientEvidence.concerns(entry)
                if judged { input.programSockets[AuditRules.ProgramPort(entry), default: []].append(entry) }
            }
        }
        var listeners: [AuditedListener] = []
        listeners.reserveCapacity(input.entries.count)
        var all: [Finding] = []
        var holders = AuditRules.HolderMemo()
        var publications = placePublications(input)
        var publishedInto: [UInt64: [AuditedPublication]] = [:]
        for placed in publications { if let inode = placed.listener?.socket.inode { publishedInto[inode, default: []].append(placed) } }
        for entry in input.entries where entry.socket.isListening {
            let verdict = entry.exposure.isLoopbackOnly ? nil : input.firewall[entry.socket.inode]
            // A socket in another network namespace (a container's) is reached
            // from the network only through what the host publishes into it.
            let published = publishedInto[entry.socket.inode] ?? []
            let reachable =
                entry.isInOtherNamespace
                ? published.contains { $0.reachable }
                : !entry.exposure.isLoopbackOnly && verdict?.isFiltered != true
            let findings = AuditRules.findings(for: entry, firewall: verdict, reachable: reachable, input: input, memo: &holders)
            var listener = AuditedListener(entry: entry, firewall: verdict, reachable: reachable, findings: findings)
            listener.publishedBy = published.map(\.judged.publication)
            listeners.append(listener)
            all += findings
        }
        let namespaces = Array(input.targetNamespaces.values)
        for i in publications.indices {
            var found = PublishedPortRules.findings(
                for: publications[i].judged.publication, judgement: publications[i].judged.judgement, namespaces: namespaces)
            // The holders of the socket behind it own the problem.
            for j in found.indices {
                found[j].owners = publications[i].listener?.owners ?? []
                found[j].id = FindingID.make(rule: found[j].rule, owners: found[j].owners, subject: found[j].subject)
            }
            publications[i].findings = found
            all += found
        }
        all += input.packetSockets.map { AuditRules.packetFinding($0) }
        all += AuditRules.tamperFindings(input.tamper)

        // Policy: overrides, then what the policy accepts, then ignores.
        var kept: [Finding] = []
        var suppressed: [SuppressedFinding] = []
        var notes: [Diagnostic] = []
        // Only a policy needs the sockets by inode (built once, not per run without one).
        var byInode: [UInt64: InventoryEntry] = [:]
        // The first listener with each inode, by index: one lookup per
        // finding instead of a search of every listener (quadratic when
        // most listeners have a finding).
        var listenerByInode: [UInt64: Int] = [:]
        if input.policy != nil {
            byInode = Dictionary(input.entries.map { ($0.socket.inode, $0) }, uniquingKeysWith: { first, _ in first })
            for (i, listener) in listeners.enumerated() where listenerByInode[listener.entry.socket.inode] == nil {
                listenerByInode[listener.entry.socket.inode] = i
            }
        }
        for var finding in all {
            if let policy = input.policy {
                guard let severity = policy.severity(for: finding.rule, default: finding.severity) else { continue }
                finding.severity = severity
                let entry = finding.subject.flatMap { byInode[$0.inode] }
                if let entry, exposureRules.contains(finding.rule), let index = listenerByInode[entry.socket.inode],
                    case .allowed(let line) = policy.auditDecision(for: entry, exposure: listeners[index].judgedExposure)
                {
                    // The administrator declared this listener needed, as exposed as it is.
                    suppressed.append(SuppressedFinding(finding: finding, reason: "allowed by \(policy.source) line \(line)"))
                    continue
                }
                if let reason = policy.ignoreReason(rule: finding.rule, entry: entry, now: input.now) {
                    suppressed.append(SuppressedFinding(finding: finding, reason: reason))
                    continue
                }
            }
            kept.append(finding)
        }
        if let policy = input.policy {
            notes += policy.expiredIgnoreNotes(now: input.now).map { Diagnostic(.warning, $0) }
        }
        // Keep per-listener findings in step with overrides and ignores: each
        // listener gets the kept findings about its inode, in kept order,
        // grouped in one pass rather than by filtering every kept finding
        // per listener (quadratic when most listeners have a finding).
        var keptByInode: [UInt64: [Finding]] = [:]
        for finding in kept {
            if let inode = finding.subject?.inode { keptByInode[inode, default: []].append(finding) }
        }
        for i in listeners.indices {
            listeners[i].findings = keptByInode[listeners[i].entry.socket.inode] ?? []
        }
        let keptPublished = keptByInode[0] ?? []
        for i in publications.indices {
            publications[i].findings = publications[i].findings.filter { finding in
                keptPublished.contains { $0.title == finding.title && $0.rule == finding.rule }
            }
        }
        // The table keeps a verdict per socket (above); the report keeps
        // one finding per problem.
        var merged = FindingGroups.merge(kept)
        var mergedSuppressed = mergeSuppressed(suppressed)
        if let policy = input.policy {
            // Ignores by id name a merged finding; its sockets' own findings go with it.
            var ignoredSockets: [UInt64: Set<RuleID>] = [:]
            merged.removeAll { finding in
                guard let reason = policy.ignoreReason(rule: finding.rule, findingID: finding.id, now: input.now) else { return false }
                mergedSuppressed.append(SuppressedFinding(finding: finding, reason: reason))
                for socket in finding.sockets { ignoredSockets[socket.inode, default: []].insert(finding.rule) }
                return true
            }
            if !ignoredSockets.isEmpty {
                for i in listeners.indices {
                    if let rules = ignoredSockets[listeners[i].entry.socket.inode] {
                        listeners[i].findings.removeAll { rules.contains($0.rule) }
                    }
                }
            }
        }
        merged = FindingGroups.foldSameSockets(
            FindingGroups.foldIntoUnneeded(absorbPublishedListeners(merged, publications: publications)))
        var report = AuditReport(
            findings: sortWorstFirst(merged), suppressed: mergedSuppressed, listeners: listeners, notes: notes)
        report.publications = publications
        return report
    }

    /// A datastore or admin API in a container that the host publishes on
    /// every address is one problem, not two: the listener's own
    /// exposed-datastore (or exposed-admin-api) finding, reachable only
    /// through that publication, joins the published-datastore (or
    /// published-admin-api) finding, with its sockets, its evidence (probe
    /// answers included) and, when worse, its severity.
    static func absorbPublishedListeners(_ findings: [Finding], publications: [AuditedPublication]) -> [Finding] {
        let pairs: [(exposed: RuleID, published: RuleID)] = [
            (.exposedDatastore, .publishedDatastore), (.exposedAdminAPI, .publishedAdminAPI),
        ]
        // The listener behind each publication that has a published-* finding, by rule.
        var behind: [RuleID: Set<UInt64>] = [:]
        for placed in publications {
            guard let inode = placed.listener?.socket.inode else { continue }
            for rule in placed.findings.map(\.rule) where rule == .publishedDatastore || rule == .publishedAdminAPI {
                behind[rule, default: []].insert(inode)
            }
        }
        guard !behind.isEmpty else { return findings }
        var out = findings
        for (exposed, published) in pairs {
            guard let inodes = behind[published] else { continue }
            for i in out.indices.reversed() where out[i].rule == exposed {
                let absorbed = out[i]
                guard !absorbed.sockets.isEmpty, absorbed.sockets.allSatisfy({ inodes.contains($0.inode) }) else { continue }
                let pids = Set(absorbed.owners.map(\.pid))
                guard
                    let target = out.firstIndex(where: {
                        $0.rule == published && !pids.isEmpty && Set($0.owners.map(\.pid)) == pids
                    })
                else { continue }
                out[target].take(absorbed, evidence: absorbed.evidence)
                out[target].sockets += absorbed.sockets
                out.remove(at: i)
            }
        }
        return out
    }

    /// Suppressed findings merged as kept ones are, among those the policy
    /// suppressed for the same reason.
    static func mergeSuppressed(_ suppressed: [SuppressedFinding]) -> [SuppressedFinding] {
        var reasons: [String] = []
        var byReason: [String: [Finding]] = [:]
        for s in suppressed {
            if byReason[s.reason] == nil { reasons.append(s.reason) }
            byReason[s.reason, default: []].append(s.finding)
        }
        return reasons.flatMap { reason in
            FindingGroups.merge(byReason[reason] ?? []).map { SuppressedFinding(finding: $0, reason: reason) }
        }
    }

    /// Rules about a listener being reachable at all, which an allow entry
    /// in the policy answers. Integrity rules (deleted or unsafe
    /// executables, preloads) are never answered by allowing a port.
    static let exposureRules: Set<RuleID> = [
        .exposedDatastore, .exposedAdminAPI, .cleartextRemoteAccess, .udpAmplification, .backdoorPort, .ephemeralListener,
        .unneededListener,
    ]

    /// Severity, then rule, then port: a stable order for reports and tests.
    public static func sortWorstFirst(_ findings: [Finding]) -> [Finding] {
        findings.sorted { a, b in
            if a.severity != b.severity { return a.severity > b.severity }
            if a.rule != b.rule { return a.rule.rawValue < b.rule.rawValue }
            let pa = a.subject?.port ?? 0
            let pb = b.subject?.port ?? 0
            if pa != pb { return pa < pb }
            return a.title < b.title
        }
    }
}
