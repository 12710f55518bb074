import PortcullisCore
import PortcullisLinux
import PortcullisScan

/// `portcullis scan`: which ports of other hosts answer. `plan` turns the
/// request into hosts and ports (targets parsed, names resolved without
/// NSS, exclusions applied, size checked, ports chosen); `run` scans them.
public enum ScanJob {
    /// What to scan, as the user wrote it.
    public struct Request: Sendable {
        /// Addresses, CIDR blocks, last-octet ranges and host names.
        public var targets: [String] = []
        /// A file of more targets (nmap's -iL).
        public var inputFile: String?
        /// Targets to leave out (comma-separated forms allowed).
        public var excludes: [String] = []
        /// A file of targets to leave out (nmap's --excludefile).
        public var excludeFile: String?
        /// Allow more than 65,536 addresses.
        public var allowLarge = false
        /// A port list ("22,80,8000-8100", "-", "T:53,U:53"); nil means `topPorts`.
        public var ports: String?
        /// The N ports most often open; nil with `ports` nil means nmap's 1000.
        public var topPorts: Int?
        /// TCP is scanned unless only `udp` is asked for.
        public var tcp = false
        /// Scan UDP (nmap's -sU); with `tcp`, both.
        public var udp = false

        /// An empty request: name targets before planning.
        public init() {}

        /// The targets as typed, with `-iL`, `--exclude` and `--excludefile` when used: what `history --scans` shows.
        public var givenTargets: String {
            var words = targets
            if let inputFile { words.append("-iL " + inputFile) }
            if !excludes.isEmpty { words.append("--exclude " + excludes.joined(separator: ",")) }
            if let excludeFile { words.append("--excludefile " + excludeFile) }
            return words.joined(separator: " ")
        }
    }

    /// The hosts and ports a scan probes, and what planning noticed.
    public struct Plan: Sendable {
        /// Every address to probe, exclusions removed, in scan order.
        public var hosts: [ScanTarget]
        /// TCP ports to probe on each host (empty when TCP is not scanned).
        public var tcpPorts: [UInt16]
        /// UDP ports to probe on each host (empty when UDP is not scanned).
        public var udpPorts: [UInt16]
        /// What planning noticed: names that did not resolve, ports named for a protocol not scanned.
        public var diagnostics: [Diagnostic]
        /// The targets and ports as asked for, and normalised (what `scan --diff-last` matches on).
        public var scope = ScanScope()
    }

    /// How to scan, beyond the plan.
    public struct Options: Sendable {
        /// The probe engine: concurrency, rate, retries, timeouts, payloads, callbacks.
        public var engine = ScanEngine.Options()
        /// Identify services: banners, versions, TLS certificates (nmap's -sV).
        public var detectServices = false
        /// Service detection's parallelism, timeout and progress callback.
        public var serviceOptions = ServiceScan.Options()
        /// The command line, for the XML `args` attribute.
        public var arguments: [String] = []
        /// The scanner's directly connected networks for the scan rules; nil
        /// reads this host's own (`ScanJob.localNetworks()`) when the scan runs.
        public var localNetworks: LocalNetworks?
        /// Host discovery before the port scan (on by default); nil skips it
        /// (nmap's -Pn): every target is probed, with status reason `user-set`.
        /// Its MAC vendor list is read from the installed OUI file when left empty.
        public var discovery: HostDiscovery.Options? = HostDiscovery.Options()
        /// Discover hosts and probe no port (nmap's -sn).
        public var discoverOnly = false

        /// The engine's defaults with nmap's UDP payloads (a UDP service that
        /// answers only a well-formed request is otherwise open|filtered), no service detection.
        public init() { engine.udpPayload = { port in UDPPayloads.payload(for: port) } }

        /// Hands every open port to `emit` as the engine finds it, with its
        /// verdict: without service detection a verdict rests on the port
        /// alone, so it is final at once. Reads the scanner's networks now
        /// (`localNetworks`) so each port is judged without asking the kernel.
        public mutating func streamJudgedOpenPorts(_ emit: @escaping @Sendable (ScanTarget, ScanPortResult) -> Void) {
            localNetworks = localNetworks ?? ScanJob.localNetworks()
            let context = ScanJob.ruleContext(self)
            engine.onResult = { host, port in
                guard port.state == .open else { return }
                var judged = port
                judged.verdict = ScanRules.verdict(port, findings: ScanRules.findings(address: host.address, port: port, context: context))
                emit(host, judged)
            }
        }

        /// The longest wait for one answer; the first waits start at up to 1 s
        /// and adapt to the round-trip times measured (nmap's --max-rtt-timeout).
        public mutating func limitAnswerWait(milliseconds: Int) {
            engine.maxTimeoutMilliseconds = milliseconds
            engine.initialTimeoutMilliseconds = min(1000, milliseconds)
        }
    }

    /// nmap's default when neither a port list nor a top-ports count is given.
    public static let defaultTopPorts = 1000

    /// Parses targets (and -iL/--excludefile files), resolves names and
    /// zones, refuses what a port scan must not send to (`TargetRefusal`),
    /// applies exclusions and the size limit, and chooses ports. Bad input
    /// (a refused target or unknown interface included) is `.invalidInput`;
    /// names that all fail to resolve are `.nothingToScan`.
    public static func plan(_ request: Request, services: ServiceTable) throws(JobError) -> Plan {
        var diagnostics: [Diagnostic] = []
        func read(_ file: String?, _ flag: String) throws(JobError) -> String? {
            guard let file else { return nil }
            do throws(Errno) { return String(decoding: try HostFiles.readFile(file), as: UTF8.self) } catch {
                throw .invalidInput("\(flag) \(file): cannot read it: \(error)")
            }
        }
        let inputText = try read(request.inputFile, "-iL")
        let excludeText = try read(request.excludeFile, "--excludefile")
        var targets: [TargetSpec] = []
        var excludes: [TargetSpec] = []
        do throws(TargetError) {
            targets = try TargetSpec.parseList(request.targets)
            if let file = request.inputFile, let inputText { targets += try TargetSpec.parseFile(inputText, path: file) }
            excludes = try TargetSpec.parseList(request.excludes, origin: .exclude)
            if let file = request.excludeFile, let excludeText {
                excludes += try TargetSpec.parseFile(excludeText, path: file, excluding: true)
            }
        } catch {
            throw .invalidInput(error.description)
        }
        if targets.isEmpty { throw .invalidInput("no target: \(request.inputFile ?? "the target list") names no host") }

        // Like nmap, a name is scanned at its first IPv4 address (its first
        // address when it has none); failures are reported, the rest goes on.
        var resolved: [String: [IPAddress]] = [:]
        let names = TargetSpec.hostnames(in: targets + excludes)
        if !names.isEmpty {
            let resolver = Resolver.system()
            diagnostics += resolver.diagnostics
            for (name, result) in resolver.resolveEach(names) {
                switch result {
                case .success(let host):
                    let first = host.addresses.first { $0.kind == .v4 } ?? host.addresses.first
                    resolved[name] = first.map { [$0] } ?? []
                case .failure(let error):
                    resolved[name] = []
                    diagnostics.append(Diagnostic(.warning, error.description))
                }
            }
        }
        // The interfaces resolve zones (fe80::1%eth0) and name the broadcast
        // addresses of the directly connected subnets, which are refused.
        var interfaces: [NetworkInterface] = []
        do throws(Errno) {
            interfaces = try LocalInterfaces.read()
        } catch {
            if (targets + excludes).contains(where: { if case .scoped = $0 { return true } else { return false } }) {
                throw .system("read this host's interfaces (to resolve the zone of a link-local target)", error)
            }
            diagnostics.append(
                Diagnostic(
                    .warning,
                    "cannot read this host's interfaces (\(error)): broadcast addresses of directly connected subnets are not refused"))
        }
        let set: TargetSet
        do throws(TargetError) {
            set = try TargetSet(
                targets: targets, excluding: excludes, resolved: resolved, interfaces: interfaces, screening: true,
                allowLarge: request.allowLarge)
        } catch {
            throw .invalidInput(error.description)
        }
        diagnostics += set.diagnostics
        let hosts = Array(set)
        if hosts.isEmpty {
            let unresolved = names.filter { resolved[$0]?.isEmpty ?? true }
            if !unresolved.isEmpty {
                throw .nothingToScan(
                    "nothing to scan: " + diagnostics.filter { $0.severity == .warning }.map(\.message).joined(separator: "; "))
            }
            throw .invalidInput("nothing to scan: every target is excluded")
        }

        let ports: PortList
        do throws(PortListError) {
            if let text = request.ports {
                ports = try PortList.parse(text)
            } else {
                ports = try PortList.top(request.topPorts ?? defaultTopPorts, table: services)
            }
        } catch {
            throw .invalidInput(error.description)
        }
        let scanUDP = request.udp
        let scanTCP = request.tcp || !request.udp
        if !scanTCP && ports.namesTCPOnly { diagnostics.append(Diagnostic(.notice, "T: ports are not scanned without --tcp (-sT)")) }
        if !scanUDP && ports.namesUDPOnly { diagnostics.append(Diagnostic(.notice, "U: ports are not scanned without --udp (-sU)")) }
        let tcp = scanTCP ? ports.tcp : []
        let udp = scanUDP ? ports.udp : []
        if tcp.isEmpty && udp.isEmpty { throw .invalidInput("no port to scan for the protocols chosen") }
        let scope = ScanScope(
            given: request.givenTargets, targets: targets, excludes: excludes,
            portsGiven: request.ports ?? "top \(request.topPorts ?? defaultTopPorts)", tcpPorts: tcp, udpPorts: udp)
        return Plan(hosts: hosts, tcpPorts: tcp, udpPorts: udp, diagnostics: diagnostics, scope: scope)
    }

    /// Scans the plan: connect and UDP probes, then service detection when
    /// asked, then the conventional name of every port still unnamed, then
    /// the scan rules (`ScanRules`): findings and a verdict per open port.
    public static func run(_ plan: Plan, services: ServiceTable, options: Options) -> ScanReport {
        let startTime = Clock.now()
        let started = Clock.monotonicMilliseconds()
        var diagnostics = plan.diagnostics
        var statuses: [HostStatus]
        if var discovery = options.discovery {
            if discovery.rate == nil { discovery.rate = options.engine.rate }
            let outcome = HostDiscovery.run(plan.hosts, options: discovery)
            statuses = outcome.statuses
            // The vendor list is read only when some host has a MAC to look up.
            if discovery.vendors.count == 0, statuses.contains(where: { $0.macAddress != nil && $0.vendor == nil }) {
                let vendors = HostFiles.macVendors()
                for i in statuses.indices {
                    if let mac = statuses[i].macAddress.flatMap(MACAddress.init(parsing:)) { statuses[i].vendor = vendors.vendor(of: mac) }
                }
            }
            diagnostics += outcome.diagnostics
        } else {
            statuses = Array(repeating: HostStatus(up: true, reason: .userSet), count: plan.hosts.count)
        }
        // Only hosts found up are port-scanned; down hosts keep no ports.
        let upIndices = plan.hosts.indices.filter { statuses[$0].up }
        var hosts = plan.hosts.indices.map { ScanHostResult(address: plan.hosts[$0].address, hostname: plan.hosts[$0].hostname) }
        if !options.discoverOnly && !upIndices.isEmpty {
            let scanned = ScanEngine.run(
                hosts: upIndices.map { plan.hosts[$0] }, tcpPorts: plan.tcpPorts, udpPorts: plan.udpPorts, options: options.engine)
            for (n, i) in upIndices.enumerated() { hosts[i] = scanned[n] }
        }
        for i in hosts.indices { hosts[i].status = statuses[i] }
        if options.detectServices {
            hosts = ServiceScan.detect(
                hosts, tableName: { port, proto in services.name(port: port, proto: proto) }, options: options.serviceOptions)
        }
        nameServices(&hosts, services: services)
        var report = ScanReport(
            hosts: hosts, startTime: startTime, endTime: Clock.now(),
            durationMilliseconds: Clock.monotonicMilliseconds() - started, arguments: options.arguments,
            diagnostics: diagnostics)
        let context = ruleContext(options)
        if !context.localNetworks.known {
            report.diagnostics.append(
                Diagnostic(
                    .warning,
                    "this host's interface addresses could not be read (NETLINK_ROUTE): findings that depend on whether a target is on the scanner's LAN say so"
                ))
        }
        ScanRules.apply(to: &report, context: context)
        return report
    }

    /// What the scan rules are told: the scanner's networks (`options.localNetworks`,
    /// else read now) and whether service detection runs.
    public static func ruleContext(_ options: Options) -> ScanRules.Context {
        ScanRules.Context(
            localNetworks: options.localNetworks ?? localNetworks(), serviceDetection: options.detectServices)
    }

    /// This host's directly connected networks, read over NETLINK_ROUTE.
    public static func localNetworks() -> LocalNetworks { NamespaceDiscovery.localNetworks() }

    /// Writes the nmap-compatible XML to `path`: a new file, or with
    /// `overwrite` one written beside it and renamed over it. A failure is `.output`.
    public static func writeXML(
        _ report: ScanReport, plan: Plan, services: ServiceTable, version: String, to path: String, overwrite: Bool
    ) throws(JobError) {
        let xml = Array(xml(report, plan: plan, services: services, version: version).utf8)
        do throws(Errno) {
            if overwrite {
                try HostFiles.replaceFile(path, contents: xml)
            } else {
                try HostFiles.createFile(path, contents: xml)
            }
        } catch {
            throw .output(path: path, error)
        }
    }

    /// nmap-compatible XML of a finished scan.
    public static func xml(_ report: ScanReport, plan: Plan, services: ServiceTable, version: String) -> String {
        let tcpNames = services.nmapNames(proto: .tcp)
        let udpNames = services.nmapNames(proto: .udp)
        return ScanXML.document(report, tcpPorts: plan.tcpPorts, udpPorts: plan.udpPorts, version: version) { port, proto in
            proto == .tcp ? tcpNames[port] : udpNames[port]
        }
    }

    /// The conventional name of every port that service detection did not name.
    static func nameServices(_ hosts: inout [ScanHostResult], services: ServiceTable) {
        for h in hosts.indices {
            for p in hosts[h].ports.indices where hosts[h].ports[p].service == nil {
                let port = hosts[h].ports[p]
                if let name = services.name(port: port.port, proto: port.proto) {
                    hosts[h].ports[p].service = ScanService(name: name, method: .table)
                }
            }
        }
    }
}
