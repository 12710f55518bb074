// portcullis scan — which ports of other hosts answer, as an attacker sees them.
//
// Usage: portcullis scan [options] TARGET...
// nmap spellings are accepted and rewritten before parsing (see NmapSpelling):
// -p- -p22,80 -sT -sU -sV -sn -iL FILE -oX FILE -Pn -n.
//
// Exit codes: 0 the scan completed (with --fail-on: and no finding at or
// above it; with --diff-last: and no difference), 1 a finding at or above
// --fail-on, or with --diff-last a difference, 2 usage error (bad target,
// port list or option), 3 runtime error (nothing could be scanned, the XML
// file or the history database could not be written, --diff-last found no
// earlier scan to compare with).
import ArgumentParser
import PortcullisCore
import PortcullisJobs
import PortcullisLinux
import PortcullisScan

extension Portcullis {
    struct Scan: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Scan hosts' TCP and UDP ports (TCP connect, UDP probes), optionally identifying services.",
            discussion: """
                Targets: IPv4 and IPv6 addresses, CIDR blocks (10.0.0.0/24), last-octet ranges \
                (10.0.0.1-20) and host names; -iL FILE reads more, --exclude removes some. nmap \
                spellings work: -p- (every port), -sU (UDP), -sT (TCP, the default), -sV \
                (service detection), -sn (host discovery only), -Pn (no host discovery), -iL, -oX. \
                Scan only hosts you are allowed to scan.

                Host discovery runs first: ARP on directly connected IPv4 subnets (root), ICMP \
                echo, TCP connects to ports 80 and 443. Hosts that answer nothing are reported \
                down and not port-scanned.

                Every open port gets a verdict from the scan rules (the audit's rule ids where \
                they overlap): cleartext remote access, reachable datastores and control planes, \
                UDP amplifiers, file sharing beyond its LAN; with --service, what the service \
                answered without credentials.

                --record stores the scan in the history database (--db); --diff-last \
                compares it with the last recorded scan of the same targets and ports \
                and prints the difference instead of the scan.

                Exit codes: 0 scan completed (with --fail-on: no finding at or above it; with \
                --diff-last: no difference, or nothing recorded yet and --record stored this \
                scan), 1 a finding at or above --fail-on, or with --diff-last a difference, \
                2 usage error, 3 runtime error (with --diff-last and no --record: no earlier \
                scan to compare with).
                """)

        @Argument(help: ArgumentHelp("Hosts to scan: addresses, CIDR blocks, ranges, names.", valueName: "TARGET"))
        var targets: [String] = []

        @Option(name: .customLong("input-file"), help: ArgumentHelp("Read targets from FILE (nmap: -iL).", valueName: "FILE"))
        var inputFile: String?
        @Option(help: ArgumentHelp("Targets to leave out (same forms, comma-separated).", valueName: "TARGETS"))
        var exclude: [String] = []
        @Option(
            name: .customLong("excludefile"),
            help: ArgumentHelp("Read targets to leave out from FILE (as nmap's --excludefile).", valueName: "FILE"))
        var excludeFile: String?
        @Flag(help: "Allow more than 65,536 addresses (a /16, or an IPv6 /112).")
        var allowLarge = false

        @Option(
            name: [.customShort("p"), .long],
            help: ArgumentHelp("Ports: 22,80,8000-8100, or - for 1-65535 (nmap: -p-).", valueName: "PORTS"))
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
        @Option(
            name: [.customLong("max-rate"), .customLong("rate")],
            help: ArgumentHelp(
                "Most packets per second, for host discovery and the port scan (default: no cap; --rate is an alias).", valueName: "N"))
        var rate: Int?
        @Option(
            help: ArgumentHelp(
                "Most retries of a port that does not answer (0-10, default 6; fewer are used while every answer comes first time).",
                valueName: "N"))
        var maxRetries = 6
        @Option(help: ArgumentHelp("Longest wait for one answer, in milliseconds (default 2000).", valueName: "MS"))
        var maxTimeout = 2000

        @Option(help: "Output format: table (text), json, ndjson or junit (JUnit XML: a case per open port, a failure per finding).")
        var format: OutputFormat = .table
        @Option(
            name: .customLong("fail-on"),
            help:
                "Exit 1 when a finding is at or above this severity: info, low, medium, high, critical (default: exit 0 whatever was found)."
        )
        var failOn: Severity?
        @Option(name: .customLong("xml"), help: ArgumentHelp("Also write nmap-compatible XML to FILE (nmap: -oX).", valueName: "FILE"))
        var xmlFile: String?
        @Flag(help: "Replace the --xml file if it exists (otherwise an existing file is never touched).")
        var overwrite = false
        @Flag(name: [.customShort("n"), .long], help: "No reverse DNS (never done; accepted for nmap muscle memory).")
        var numeric = false
        @Flag(name: .customLong("no-ping"), help: "Skip host discovery: take every target as up and probe its ports (nmap: -Pn).")
        var noPing = false
        @Flag(
            name: .customLong("discover-only"),
            help: "Host discovery only: list the hosts that are up, with MAC and vendor; probe no port (nmap: -sn).")
        var discoverOnly = false
        @OptionGroup var history: ScanHistoryFlags

        func validate() throws {
            if targets.isEmpty && inputFile == nil {
                throw ValidationError("no target: name the hosts to scan (e.g. portcullis scan 127.0.0.1), or -iL FILE")
            }
            try format.require([.table, .json, .ndjson, .junit], command: "scan")
            if ports != nil && topPorts != nil { throw ValidationError("-p and --top-ports cannot be combined") }
            if let topPorts, !(1...65535).contains(topPorts) {
                throw ValidationError("--top-ports must be between 1 and 65535, not \(topPorts)")
            }
            guard (1...1_000_000).contains(maxConcurrency) else { throw ValidationError("--max-concurrency must be between 1 and 1000000") }
            if let rate, rate < 1 { throw ValidationError("--max-rate must be at least 1 packet per second") }
            if discoverOnly && noPing {
                throw ValidationError(
                    "--discover-only (-sn) and --no-ping (-Pn) cannot be combined: one only discovers, the other skips discovery")
            }
            if discoverOnly && (ports != nil || topPorts != nil || udp || service) {
                throw ValidationError("--discover-only (-sn) probes no port; drop -p, --top-ports, --udp and --service, or drop -sn")
            }
            guard (0...10).contains(maxRetries) else { throw ValidationError("--max-retries must be between 0 and 10") }
            guard (10...60_000).contains(maxTimeout) else { throw ValidationError("--max-timeout must be between 10 and 60000 ms") }
            if let xmlFile, xmlFile.isEmpty { throw ValidationError("--xml needs a file name") }
            if let xmlFile, !overwrite, HostFiles.exists(xmlFile) {
                throw ValidationError("\(xmlFile) exists; choose another name, or add --overwrite to replace it")
            }
            try history.check(format)
        }

        func run() throws {
            let services = HostFiles.services(etcRoot: "/")
            let plan = try ScanJob.plan(request, services: services)
            // The database is opened, and the earlier scan found, before a scan that may take minutes.
            let recorder = try history.prepare(plan)
            var options = jobOptions
            if format == .ndjson && !service {
                // Open ports stream as they are found, judged on the spot (without
                // --service a verdict rests on the port alone); the rest follows at
                // the end. With --service the port lines wait for their services.
                let lock = Locked(())
                options.streamJudgedOpenPorts { host, port in
                    var line = OutputSink()
                    ScanRenderer.writeNDJSONPort(host: host.address, hostname: host.hostname, zone: host.zone?.name, port, to: &line)
                    lock.withLock { _ in Console.write(line.bytes) }
                }
            }
            let showProgress = Console.isTerminal(2)
            if showProgress {
                let probes = ProgressBar(unit: "probes")
                let conversations = ProgressBar(unit: "services")
                options.engine.onProgress = { done, total in probes.update(done, of: total) }
                options.serviceOptions.onProgress = { done, total in conversations.update(done, of: total) }
            }
            let report = ScanJob.run(plan, services: services, options: options)
            if showProgress { ProgressBar.clear() }
            reportDiagnostics(report.diagnostics)
            // With --diff-last the difference is printed instead of the scan.
            let difference = try recorder?.compare(report, plan: plan, format: format)
            if difference == nil {
                switch format {
                case .json: Console.print { ScanRenderer.writeJSON(report, to: &$0) }
                case .ndjson: Console.print { ScanRenderer.writeNDJSONTail(report, openPorts: service, to: &$0) }
                case .junit: Console.print { ScanRenderer.writeJUnit(report, to: &$0) }
                case .table, .text, .csv: Console.print { ScanRenderer.writeText(report, failOn: failOn, style: terminalStyle, to: &$0) }
                }
                try recorder?.record(report, plan: plan)
            }
            if !format.isText || difference != nil { Console.error(ScanRenderer.summaryLine(report)) }
            if let xmlFile {
                try ScanJob.writeXML(
                    report, plan: plan, services: services, version: Portcullis.version, to: xmlFile, overwrite: overwrite)
            }
            if difference == true { throw ExitStatus.findings.exit }
            if let failOn, report.count(atLeast: failOn) > 0 { throw ExitStatus.findings.exit }
        }

        /// The flags that say how to scan.
        var jobOptions: ScanJob.Options {
            var options = ScanJob.Options()
            options.arguments = ["portcullis"] + CommandLine.arguments.dropFirst()
            options.engine.maxConcurrency = maxConcurrency
            options.engine.rate = rate
            options.engine.maxRetries = maxRetries
            options.limitAnswerWait(milliseconds: maxTimeout)
            options.detectServices = service
            options.discoverOnly = discoverOnly
            if noPing { options.discovery = nil }
            return options
        }

        /// The flags that say what to scan.
        var request: ScanJob.Request {
            var request = ScanJob.Request()
            request.targets = targets
            request.inputFile = inputFile
            request.excludes = exclude
            request.excludeFile = excludeFile
            request.allowLarge = allowLarge
            request.ports = ports
            request.topPorts = topPorts
            request.tcp = tcp
            request.udp = udp
            return request
        }
    }
}
