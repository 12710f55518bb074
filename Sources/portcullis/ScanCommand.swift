// portcullis scan — which ports of other hosts answer, as an attacker sees them.
//
// Usage: portcullis scan [options] TARGET...
// nmap spellings are accepted and rewritten before parsing (see NmapSpelling):
// -p- -p22,80 -sT -sU -sV -iL FILE -oX FILE -Pn -n.
//
// Exit codes: 0 the scan completed (whatever it found), 2 usage error (bad
// target, port list or option), 3 runtime error (nothing could be scanned,
// the XML file could not be written).
import ArgumentParser
import PortcullisCore
import PortcullisLinux
import PortcullisScan
import Synchronization

extension Portcullis {
    struct Scan: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Scan hosts' TCP and UDP ports (TCP connect, UDP probes), optionally identifying services.",
            discussion: """
                Targets: IPv4 and IPv6 addresses, CIDR blocks (10.0.0.0/24), last-octet ranges \
                (10.0.0.1-20) and host names; -iL FILE reads more, --exclude removes some. nmap \
                spellings work: -p- (every port), -sU (UDP), -sT (TCP, the default), -sV \
                (service detection), -iL, -oX. Scan only hosts you are allowed to scan.

                Exit codes: 0 scan completed, 2 usage error, 3 runtime error.
                """)

        @Argument(help: ArgumentHelp("Hosts to scan: addresses, CIDR blocks, ranges, names.", valueName: "TARGET"))
        var targets: [String] = []

        @Option(name: .customLong("input-file"), help: ArgumentHelp("Read targets from FILE (nmap: -iL).", valueName: "FILE"))
        var inputFile: String?
        @Option(help: ArgumentHelp("Targets to leave out (same forms, comma-separated).", valueName: "TARGETS"))
        var exclude: [String] = []
        @Option(name: .customLong("excludefile"), help: ArgumentHelp("Read targets to leave out from FILE (as nmap's --excludefile).", valueName: "FILE"))
        var excludeFile: String?
        @Flag(help: "Allow more than 65,536 addresses (a /16, or an IPv6 /112).")
        var allowLarge = false

        @Option(name: [.customShort("p"), .long], help: ArgumentHelp("Ports: 22,80,8000-8100, or - for 1-65535 (nmap: -p-).", valueName: "PORTS"))
        var ports: String?
        @Option(help: ArgumentHelp("The N ports most often open (nmap's frequencies).", valueName: "N"))
        var topPorts: Int?
        @Flag(help: "Scan TCP (the default unless --udp is given; nmap: -sT).")
        var tcp = false
        @Flag(help: "Scan UDP (nmap: -sU); with --tcp, both.")
        var udp = false
        @Flag(help: "Identify services: banners, versions, TLS certificates (nmap: -sV).")
        var service = false

        @Option(help: ArgumentHelp("Most probes in flight at once (default 4096; also bounded by the open-file limit).", valueName: "N"))
        var maxConcurrency = 4096
        @Option(help: ArgumentHelp("Most new probes per second (default: no cap).", valueName: "N"))
        var rate: Int?
        @Option(help: ArgumentHelp("Most retries of a port that does not answer (0-10, default 6; fewer are used while every answer comes first time).", valueName: "N"))
        var maxRetries = 6
        @Option(help: ArgumentHelp("Longest wait for one answer, in milliseconds (default 2000).", valueName: "MS"))
        var maxTimeout = 2000

        @Option(help: "Output format: table (text), json or ndjson.")
        var format: OutputFormat = .table
        @Option(name: .customLong("xml"), help: ArgumentHelp("Also write nmap-compatible XML to FILE (nmap: -oX).", valueName: "FILE"))
        var xmlFile: String?
        @Flag(help: "Replace the --xml file if it exists (otherwise an existing file is never touched).")
        var overwrite = false
        @Flag(name: [.customShort("n"), .long], help: "No reverse DNS (never done; accepted for nmap muscle memory).")
        var numeric = false
        @Flag(name: .customLong("no-ping"), help: "Skip host discovery (always the case: every target is probed; nmap: -Pn).")
        var noPing = false

        func validate() throws {
            if targets.isEmpty && inputFile == nil {
                throw ValidationError("no target: name the hosts to scan (e.g. portcullis scan 127.0.0.1), or -iL FILE")
            }
            if format == .csv { throw ValidationError("scan prints text (--format table), json or ndjson") }
            if ports != nil && topPorts != nil { throw ValidationError("-p and --top-ports cannot be combined") }
            if let topPorts, !(1...65535).contains(topPorts) { throw ValidationError("--top-ports must be between 1 and 65535, not \(topPorts)") }
            guard (1...1_000_000).contains(maxConcurrency) else { throw ValidationError("--max-concurrency must be between 1 and 1000000") }
            if let rate, rate < 1 { throw ValidationError("--rate must be at least 1 probe per second") }
            guard (0...10).contains(maxRetries) else { throw ValidationError("--max-retries must be between 0 and 10") }
            guard (10...60_000).contains(maxTimeout) else { throw ValidationError("--max-timeout must be between 10 and 60000 ms") }
            if let xmlFile, xmlFile.isEmpty { throw ValidationError("--xml needs a file name") }
            if let xmlFile, !overwrite, HostFiles.exists(xmlFile) {
                throw ValidationError("\(xmlFile) exists; choose another name, or add --overwrite to replace it")
            }
        }

        func run() throws {
            let arguments = ["portcullis"] + CommandLine.arguments.dropFirst()
            let services = HostFiles.services(etcRoot: "/")
            let plan = try ScanPlanning.plan(self, services: services)
            var options = ScanEngine.Options()
            options.maxConcurrency = maxConcurrency
            options.rate = rate
            options.maxRetries = maxRetries
            options.maxTimeoutMilliseconds = maxTimeout
            options.initialTimeoutMilliseconds = min(1000, maxTimeout)
            options.udpPayload = { port in UDPPayloads.payload(for: port) }
            if format == .ndjson {
                // Open ports stream as they are found; the rest follows at the end.
                let lock = Mutex(())
                options.onResult = { host, port in
                    guard port.state == .open else { return }
                    let line = ScanRenderer.ndjsonPortLine(host: host.address, hostname: host.hostname, port)
                    lock.withLock { _ in Console.write(line) }
                }
            }
            let progress = Console.isTerminal(2) ? ProgressBar(total: plan.hosts.count * (plan.tcpPorts.count + plan.udpPorts.count)) : nil
            if let progress { options.onProgress = { done, _ in progress.update(done) } }

            let startTime = Clock.now()
            let started = Clock.monotonicMilliseconds()
            var hosts = ScanEngine.run(hosts: plan.hosts, tcpPorts: plan.tcpPorts, udpPorts: plan.udpPorts, options: options)
            progress?.finish()
            if service {
                var serviceOptions = ServiceScan.Options()
                let bar = Console.isTerminal(2) ? ProgressBar(total: hosts.reduce(0) { $0 + $1.count(.open) }, unit: "services") : nil
                if let bar { serviceOptions.onProgress = { done, _ in bar.update(done) } }
                let table = services
                hosts = ServiceScan.detect(hosts, tableName: { port, proto in table.name(port: port, proto: proto) }, options: serviceOptions)
                bar?.finish()
            }
            ScanPlanning.nameServices(&hosts, services: services)
            let report = ScanReport(hosts: hosts, startTime: startTime, endTime: Clock.now(),
                                    durationMilliseconds: Clock.monotonicMilliseconds() - started, arguments: arguments,
                                    diagnostics: plan.diagnostics)
            reportDiagnostics(report.diagnostics)
            switch format {
            case .json: Console.write(ScanRenderer.json(report).serialized(pretty: true) + "\n")
            case .ndjson: Console.write(ScanRenderer.ndjsonTail(report))
            case .table, .csv: Console.write(ScanRenderer.text(report, style: TableStyle(color: Console.wantsColor())))
            }
            if format != .table { Console.error(ScanRenderer.summaryLine(report)) }
            if let xmlFile {
                let tcpNames = services.nmapNames(proto: .tcp), udpNames = services.nmapNames(proto: .udp)
                let xml = ScanXML.document(report, tcpPorts: plan.tcpPorts, udpPorts: plan.udpPorts, version: Portcullis.configuration.version) {
                    port, proto in proto == .tcp ? tcpNames[port] : udpNames[port]
                }
                do {
                    if overwrite { try HostFiles.replaceFile(xmlFile, contents: Array(xml.utf8)) } else {
                        try HostFiles.createFile(xmlFile, contents: Array(xml.utf8))
                    }
                } catch {
                    throw RuntimeFailure("cannot write \(xmlFile): \(error)")
                }
            }
        }
    }
}

/// A one-line progress bar on stderr: percentage, work done, rate and ETA.
final class ProgressBar: Sendable {
    let total: Int
    let unit: String
    let started = Clock.monotonicMilliseconds()
    private let lastDrawn = Mutex<Int64>(0)

    init(total: Int, unit: String = "probes") {
        self.total = total
        self.unit = unit
    }

    func update(_ done: Int) {
        let now = Clock.monotonicMilliseconds()
        guard lastDrawn.withLock({ last in
            guard now - last >= 100 || done == total else { return false }
            last = now
            return true
        }) else { return }
        let elapsed = max(1, now - started)
        let rate = Int64(done) * 1000 / elapsed
        let eta = rate > 0 ? Int64(total - done) / rate : 0
        let width = 30
        let filled = total > 0 ? done * width / total : width
        let bar = String(repeating: "=", count: filled) + String(repeating: " ", count: width - filled)
        Console.write("\r\u{1b}[2K[\(bar)] \(done * 100 / max(1, total))% \(done)/\(total) \(unit), \(rate)/s, ETA \(eta) s", to: 2)
    }

    func finish() { Console.write("\r\u{1b}[2K", to: 2) }
}

/// From the command line to what the engine scans: targets parsed, names
/// resolved (without NSS: /etc/hosts, then the nameservers of
/// /etc/resolv.conf), exclusions applied, size checked, ports chosen.
enum ScanPlanning {
    struct Plan {
        var hosts: [ScanTarget]
        var tcpPorts: [UInt16]
        var udpPorts: [UInt16]
        var diagnostics: [Diagnostic]
    }

    /// nmap's default when neither -p nor --top-ports is given.
    static let defaultTopPorts = 1000

    static func plan(_ command: Portcullis.Scan, services: ServiceTable) throws -> Plan {
        var diagnostics: [Diagnostic] = []
        func read(_ file: String?, _ flag: String) throws -> String? {
            guard let file else { return nil }
            do throws(Errno) { return String(decoding: try HostFiles.readFile(file), as: UTF8.self) } catch {
                throw UsageFailure("\(flag) \(file): cannot read it: \(error)")
            }
        }
        let inputText = try read(command.inputFile, "-iL")
        let excludeText = try read(command.excludeFile, "--excludefile")
        var targets: [TargetSpec] = []
        var excludes: [TargetSpec] = []
        do throws(TargetError) {
            targets = try TargetSpec.parseList(command.targets)
            if let file = command.inputFile, let inputText { targets += try TargetSpec.parseFile(inputText, path: file) }
            excludes = try TargetSpec.parseList(command.exclude, origin: .exclude)
            if let file = command.excludeFile, let excludeText { excludes += try TargetSpec.parseFile(excludeText, path: file, excluding: true) }
        } catch {
            throw UsageFailure(error.description)
        }
        if targets.isEmpty { throw UsageFailure("no target: \(command.inputFile ?? "the target list") names no host") }

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
        let set: TargetSet
        do throws(TargetError) {
            set = try TargetSet(targets: targets, excluding: excludes, resolved: resolved, allowLarge: command.allowLarge)
        } catch {
            throw UsageFailure(error.description)
        }
        diagnostics += set.diagnostics
        let hosts = Array(set)
        if hosts.isEmpty {
            let unresolved = names.filter { resolved[$0]?.isEmpty ?? true }
            if !unresolved.isEmpty {
                throw RuntimeFailure("nothing to scan: " + diagnostics.filter { $0.severity == .warning }.map(\.message).joined(separator: "; "))
            }
            throw UsageFailure("nothing to scan: every target is excluded")
        }

        let ports: PortList
        do throws(PortListError) {
            if let text = command.ports {
                ports = try PortList.parse(text)
            } else {
                ports = try PortList.top(command.topPorts ?? defaultTopPorts, table: services)
            }
        } catch {
            throw UsageFailure(error.description)
        }
        let scanUDP = command.udp, scanTCP = command.tcp || !command.udp
        if !scanTCP && ports.namesTCPOnly { diagnostics.append(Diagnostic(.notice, "T: ports are not scanned without --tcp (-sT)")) }
        if !scanUDP && ports.namesUDPOnly { diagnostics.append(Diagnostic(.notice, "U: ports are not scanned without --udp (-sU)")) }
        let tcp = scanTCP ? ports.tcp : [], udp = scanUDP ? ports.udp : []
        if tcp.isEmpty && udp.isEmpty { throw UsageFailure("no port to scan for the protocols chosen") }
        return Plan(hosts: hosts, tcpPorts: tcp, udpPorts: udp, diagnostics: diagnostics)
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
