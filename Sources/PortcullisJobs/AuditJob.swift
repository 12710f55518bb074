import PortcullisCore
import PortcullisLinux
import PortcullisStore

/// Which policy the audit applies.
public enum PolicyChoice: Sendable, Equatable {
    /// `/etc/portcullis/policy.yaml` when it exists, else none.
    case standard
    /// This file; an error when it cannot be read or parsed.
    case file(String)
    /// No policy at all.
    case none

    /// Where the policy lives when none is named.
    public static let standardPath = "/etc/portcullis/policy.yaml"

    /// Reads and parses the chosen policy; nil for `.none`, or for
    /// `.standard` when the file does not exist.
    public func load() throws(JobError) -> Policy? {
        let path: String
        switch self {
        case .none: return nil
        case .standard:
            guard HostFiles.exists(Self.standardPath) else { return nil }
            path = Self.standardPath
        case .file(let file): path = file
        }
        return try PolicyFile.load(path)
    }
}

/// The policy file on disk.
public enum PolicyFile {
    /// Reads and parses `path`; `.policy` says whether it was unreadable, not UTF-8, or invalid (with file, line and column).
    public static func load(_ path: String) throws(JobError) -> Policy {
        let bytes: [UInt8]
        do { bytes = try HostFiles.readFile(path) } catch { throw .policy(PolicyFileError(path: path, reason: .unreadable(error))) }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw .policy(PolicyFileError(path: path, reason: .notUTF8))
        }
        do { return try Policy.parse(text, file: path) } catch { throw .policy(PolicyFileError(path: path, reason: .invalid(error))) }
    }
}

/// The host firewall's verdict per listener, from one read of the nftables
/// ruleset per run.
public enum FirewallJudge {
    /// Reads the ruleset once; its diagnostics are appended to `diagnostics`.
    public static func current(_ diagnostics: inout [Diagnostic]) -> @Sendable (InventoryEntry) -> FirewallVerdict {
        let snapshot = FirewallReader.read()
        diagnostics += snapshot.diagnostics
        return judge(snapshot)
    }

    /// The verdict per listener from a ruleset already read.
    public static func judge(_ snapshot: FirewallSnapshot) -> @Sendable (InventoryEntry) -> FirewallVerdict {
        // One memo for the run: listeners the ruleset cannot tell apart share one evaluation.
        let memo = Locked(FirewallModel.Memo())
        return { entry in memo.withLock { snapshot.verdict(for: entry, memo: &$0) } }
    }
}

/// `portcullis audit`: a verdict for every listening socket, with findings,
/// evidence and fixes; the firewall, the policy and a baseline taken into account.
public enum AuditJob {
    /// What the audit reads and how it judges.
    public struct Options: Sendable {
        /// Where the sockets and processes are read.
        public var source: HostSource
        /// The policy applied (allow entries, rule overrides, ignores).
        public var policy: PolicyChoice
        /// Ask nftables whether each listener beyond loopback is reachable.
        /// Never done for a copied /proc: the live firewall is not its host's.
        public var judgeFirewall: Bool
        /// Listeners this snapshot does not have become `not-in-baseline` findings.
        public var baseline: BaselineListeners?
        /// Days of snapshots the exposed-datastore rule looks back over for
        /// remote clients (`--client-window`); 0 does not open the history database.
        public var clientWindowDays: Int = 0
        /// The history database consulted for remote clients; nil: the default location.
        public var historyPath: String?
        /// Run the safe local probes (README "Probes") on the live host's datastores, admin APIs and SNMP agents.
        public var probe: Bool

        /// Options with the CLI's defaults: the live host, the standard policy, the firewall consulted, no baseline,
        /// probes as root (`probesByDefault`).
        public init(
            source: HostSource = HostSource(), policy: PolicyChoice = .standard, judgeFirewall: Bool = true,
            baseline: BaselineListeners? = nil, probe: Bool = AuditJob.probesByDefault
        ) {
            self.source = source
            self.policy = policy
            self.judgeFirewall = judgeFirewall
            self.baseline = baseline
            self.probe = probe
        }
    }

    /// The audit and what it was made from.
    public struct Report: Sendable {
        /// Findings (worst first), suppressed findings and every listener's verdict.
        public var audit: AuditReport
        /// The listening sockets judged, and AF_PACKET sockets.
        public var inventory: Inventory
        /// Collection, firewall and policy diagnostics, then the
        /// unattributed-socket notice over every listener.
        public var diagnostics: [Diagnostic]
        /// Remote (non-loopback) peers connected now to TCP listeners beyond
        /// loopback, as `snapshot` records them; nil when not read (a copied /proc).
        public var clients: [ClientSighting]? = nil
    }

    /// Collects the listening sockets with owners, reads the firewall and the policy, and judges every listener.
    public static func run(_ options: Options) throws(JobError) -> Report {
        let judged = try judge(options)
        return Report(
            audit: judged.audit, inventory: judged.inventory,
            diagnostics: withUnattributedNotice(judged.diagnostics, shown: judged.inventory.entries), clients: judged.clients)
    }

    /// The audit without the unattributed notice: the overview counts it
    /// over the listeners it shows instead.
    static func judge(_ options: Options) throws(JobError) -> Report {
        let policy = try options.policy.load()
        var collector = InventoryCollector(options: options.source.collectorOptions(query: SocketQuery()))
        var diagnostics: [Diagnostic] = []
        let snapshot = options.judgeFirewall && options.source.isLive ? FirewallReader.read() : nil
        diagnostics += snapshot?.diagnostics ?? []
        var input: AuditInput
        let inventory: Inventory
        do {
            (input, inventory) = try collector.auditInput(firewall: snapshot.map(FirewallJudge.judge), policy: policy, now: Clock.now())
        } catch {
            throw .collection(error)
        }
        input.baseline = options.baseline
        // What a specific address a listener is bound to is (an
        // interface's, a subnet's broadcast address): asked only when one is.
        // The probes ask a wildcard bind at a non-loopback address of its namespace.
        let probesWildcard =
            options.probe && options.source.isLive
            && inventory.entries.contains { $0.exposure.isWildcard && AuditProbePlan.kind(for: $0) != nil }
        if let discovery = collector.lastDiscovery,
            probesWildcard || inventory.entries.contains(where: { $0.exposure == .specificAddress || $0.exposure == .linkLocal })
        {
            var read = discovery
            let namespaces = Set(inventory.namespacesRead.map(\.inode))
            read.found = read.found.filter { namespaces.contains($0.namespace.inode) }
            input.interfaces = read.interfaces(procRoot: options.source.procRootPath)
        }
        // Ports published into containers: open although no host socket holds them.
        if options.source.isLive {
            let published = PublishedPortCollection.collect(firewall: snapshot, inventory: inventory, discovery: collector.lastDiscovery)
            input.publications = published.publications
            input.targetNamespaces = published.namespaces
            diagnostics += published.diagnostics
        }
        var clients: [ClientSighting]?
        if options.source.isLive {
            // Listeners the host firewall drops are not exposed: no need to read, no clients to count.
            let exposed = inventory.entries.filter { input.firewall[$0.socket.inode]?.isFiltered != true }
            let evidence = NeedEvidence.collect(exposed, options: options)
            input.needs = evidence.needs
            input.clientsNow = evidence.clientsNow
            input.clientHistory = evidence.history
            diagnostics += evidence.diagnostics
            clients = evidence.clientsNow.map { now in inventory.entries.flatMap { now[$0.socket.inode] ?? [] } }
        }
        if options.probe && options.source.isLive {
            diagnostics += probe(&input, discovery: collector.lastDiscovery, procRoot: options.source.procRootPath)
        }
        let report = Auditor.run(input)
        return Report(
            audit: report, inventory: inventory, diagnostics: inventory.diagnostics + diagnostics + report.notes, clients: clients)
    }
}
