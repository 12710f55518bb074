import ArgumentParser
import PortcullisCore
import PortcullisLinux
import PortcullisStore

extension Severity: ExpressibleByArgument {}

/// Output formats of `audit`.
enum AuditFormat: String, ExpressibleByArgument, CaseIterable {
    case table, json, ndjson, junit
}

/// Options shared by `audit` and the overview.
struct AuditOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Policy file (default: \(AuditOptions.defaultPolicy) when it exists).", valueName: "FILE"))
    var policy: String?
    @Flag(name: .customLong("no-policy"), help: "Ignore the default policy file.")
    var noPolicy = false
    @Flag(name: .customLong("no-firewall"), help: "Do not consult nftables; judge exposure from addresses alone.")
    var noFirewall = false

    static let defaultPolicy = "/etc/portcullis/policy.yaml"

    func validate() throws {
        if policy != nil && noPolicy { throw ValidationError("--policy and --no-policy contradict each other; pick one") }
    }

    /// The policy to apply: a usage error (exit 2) when it cannot be read or parsed.
    func loadPolicy() throws -> Policy? {
        let path: String
        if let policy { path = policy } else if noPolicy || !HostFiles.exists(Self.defaultPolicy) { return nil } else { path = Self.defaultPolicy }
        let bytes: [UInt8]
        do { bytes = try HostFiles.readFile(path) } catch {
            Console.error("portcullis: error: cannot read the policy \(path): \(error)")
            throw ExitCode(ExitStatus.usage)
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            Console.error("portcullis: error: \(path): not UTF-8 text")
            throw ExitCode(ExitStatus.usage)
        }
        do { return try Policy.parse(text, file: path) } catch {
            Console.error("portcullis: error: \(error)")
            throw ExitCode(ExitStatus.usage)
        }
    }

    /// Gathers and judges. Diagnostics are returned, not printed.
    func run(sourceOptions: SourceOptions, baseline: BaselineListeners? = nil) throws -> (AuditReport, Inventory, [Diagnostic]) {
        let policy = try loadPolicy()
        var collector = InventoryCollector(options: sourceOptions.collectorOptions(query: SocketQuery()))
        var diagnostics: [Diagnostic] = []
        let firewall = noFirewall || sourceOptions.procRoot != nil ? nil : FirewallJudge.current(&diagnostics)
        var input: AuditInput
        let inventory: Inventory
        do { (input, inventory) = try collector.auditInput(firewall: firewall, policy: policy, now: Clock.now()) } catch {
            throw RuntimeFailure(error.description)
        }
        input.baseline = baseline
        let report = Auditor.run(input)
        // The caller adds the unattributed notice for the sockets it shows.
        return (report, inventory, inventory.diagnostics + diagnostics + report.notes)
    }
}

extension Portcullis {
    struct Audit: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A verdict for every listening port: findings with evidence and fixes.",
            discussion: "Exit codes: 0 no finding at or above --fail-on, 1 at least one, 2 usage or policy error (or --baseline without a baseline), 3 runtime error.")

        @OptionGroup var auditOptions: AuditOptions
        @Option(name: .customLong("fail-on"), help: "Exit 1 when a finding is at or above this severity: info, low, medium, high, critical.")
        var failOn: Severity = .high
        @Option(help: "Output format: table (text report), json, ndjson (one finding per line) or junit (JUnit XML).")
        var format: AuditFormat = .table
        @OptionGroup var sourceOptions: SourceOptions
        @Flag(help: "Add a not-in-baseline finding for every listener the baseline snapshot does not have.")
        var baseline = false
        @OptionGroup var storeOptions: StoreOptions

        func run() throws {
            var reference: BaselineListeners?
            if baseline {
                let store = try storeOptions.open(.readOnly)
                let current = try store.requireBaseline()
                let content = try store.content(of: current.snapshot.id)
                reference = BaselineListeners(snapshotID: current.snapshot.id, time: current.snapshot.time,
                                              keys: Set(content.entries.map { ListenerKey($0.socket) }))
            }
            let (report, inventory, auditDiagnostics) = try auditOptions.run(sourceOptions: sourceOptions, baseline: reference)
            var diagnostics = auditDiagnostics
            if let notice = InventoryBuilder.unattributedNotice(inventory.entries, asRoot: Console.effectiveUID == 0) { diagnostics.append(notice) }
            reportDiagnostics(diagnostics)
            switch format {
            case .table: Console.write(AuditRenderer.renderText(report, failOn: failOn, style: TableStyle(color: Console.wantsColor())))
            case .json: Console.write(AuditRenderer.renderJSON(report, failOn: failOn, diagnostics: diagnostics))
            case .ndjson: Console.write(AuditRenderer.renderNDJSON(report))
            case .junit: Console.write(AuditRenderer.renderJUnit(report, failOn: failOn))
            }
            if report.count(atLeast: failOn) > 0 { throw ExitCode(ExitStatus.findings) }
        }
    }
}
