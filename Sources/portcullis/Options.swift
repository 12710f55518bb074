import ArgumentParser
import PortcullisCore
import PortcullisLinux

extension OutputFormat: ExpressibleByArgument {}
extension PortClass: ExpressibleByArgument {}
extension SocketSource: ExpressibleByArgument {}

/// Where the socket table and process information come from.
struct SourceOptions: ParsableArguments {
    @Option(name: .customLong("proc-root"), help: ArgumentHelp(
        "Read a procfs tree at DIR (e.g. a copy of another machine's /proc) instead of the live kernel.",
        valueName: "DIR"))
    var procRoot: String?

    @Option(help: "Socket table source: auto (netlink, /proc/net as fallback), netlink, or procfs.")
    var source: SocketSource = .auto

    func collectorOptions(query: SocketQuery) -> InventoryCollector.Options {
        var options = InventoryCollector.Options()
        options.query = query
        options.source = procRoot == nil ? source : (source == .auto ? .procfs : source)
        // "/copy/proc/" and "/copy/proc" are the same tree.
        var root = procRoot ?? "/proc"
        while root.count > 1 && root.hasSuffix("/") { root.removeLast() }
        options.procRoot = root
        return options
    }

    func validate() throws {
        if procRoot != nil && source == .netlink {
            throw ValidationError("--proc-root reads the /proc/net tables of a copy; it cannot be combined with --source netlink")
        }
        if let procRoot, procRoot.isEmpty { throw ValidationError("--proc-root needs a directory") }
    }
}

/// Socket selection shared by list and the overview, named as in ss/netstat.
struct SocketSelection: ParsableArguments {
    @Flag(name: [.customShort("t"), .long], help: "TCP sockets.") var tcp = false
    @Flag(name: [.customShort("u"), .long], help: "UDP sockets.") var udp = false
    @Flag(name: [.customShort("w"), .long], help: "RAW sockets.") var raw = false
    @Flag(name: [.customShort("4"), .customLong("ipv4")], help: "IPv4 only.") var ipv4 = false
    @Flag(name: [.customShort("6"), .customLong("ipv6")], help: "IPv6 only.") var ipv6 = false

    @Option(help: ArgumentHelp("Local port, range or list: 22, 8000-8100, 22,80,443.", valueName: "PORTS"))
    var port: String?
    @Option(help: ArgumentHelp("Sockets held by this process (repeatable).", valueName: "PID"))
    var pid: [Int32] = []
    @Option(help: ArgumentHelp("Sockets of this user: a name or a numeric uid.", valueName: "NAME|UID"))
    var user: String?
    @Option(help: ArgumentHelp("Sockets held by a process of this name (comm or executable base name).", valueName: "NAME"))
    var process: String?
    @Option(name: .customLong("class"), help: "Port class: system (0-1023), registered (1024-49151) or dynamic (49152-65535).")
    var portClass: PortClass?
    @Flag(help: "Only sockets reachable beyond loopback.") var exposed = false

    @Flag(name: [.customShort("l"), .long], help: "Listening sockets only (the default).")
    var listening = false
    @Flag(name: [.customShort("n"), .long], help: "Numeric output (always the case; accepted for ss muscle memory).")
    var numeric = false
    @Flag(name: [.customShort("p"), .long], help: "Show processes (always the case; accepted for ss muscle memory).")
    var processes = false

    func query(listeningOnly: Bool) -> SocketQuery {
        var protocols = Set<TransportProtocol>()
        if tcp { protocols.insert(.tcp) }
        if udp { protocols.insert(.udp) }
        if raw { protocols.insert(.raw) }
        if protocols.isEmpty { protocols = Set(TransportProtocol.allCases) }
        var families = Set<AddressFamily>()
        if ipv4 { families.insert(.ipv4) }
        if ipv6 { families.insert(.ipv6) }
        if families.isEmpty { families = Set(AddressFamily.allCases) }
        return SocketQuery(protocols: protocols, families: families, listeningOnly: listeningOnly)
    }

    func filter() throws -> SocketFilter {
        var filter = SocketFilter()
        if let port {
            do { filter.ports = try PortSpec(parsing: port) } catch { throw ValidationError(error.description) }
        }
        filter.pids = Set(pid)
        filter.user = user
        filter.process = process
        filter.portClass = portClass
        filter.exposedOnly = exposed
        return filter
    }

    func validate() throws {
        _ = try filter()
        if let bad = pid.first(where: { $0 <= 0 }) {
            throw ValidationError("invalid value '\(bad)' for --pid: a process id is a positive number")
        }
        if let user, user.isEmpty { throw ValidationError("--user needs a user name or a numeric uid") }
        if let process, process.isEmpty { throw ValidationError("--process needs a process name") }
    }
}

struct FormatOption: ParsableArguments {
    @Option(help: "Output format: table, json, ndjson or csv.")
    var format: OutputFormat = .table
}

/// Collects an inventory, turning a collection failure into exit 3.
func collectInventory(_ options: InventoryCollector.Options) throws -> Inventory {
    var collector = InventoryCollector(options: options)
    do { return try collector.collect() } catch { throw RuntimeFailure(error.description) }
}

/// Collects, filters, and adds the notice about sockets shown without an
/// owner (counted over what is shown, not the whole host). Diagnostics go to
/// stderr, one line each, and stay in the inventory for the JSON output.
func shownInventory(_ options: InventoryCollector.Options, filter: SocketFilter) throws -> (Inventory, [InventoryEntry]) {
    var inventory = try collectInventory(options)
    let entries = inventory.entries.filter(filter.matches)
    if let notice = InventoryBuilder.unattributedNotice(entries, asRoot: Console.effectiveUID == 0) { inventory.diagnostics.append(notice) }
    reportDiagnostics(inventory.diagnostics)
    return (inventory, entries)
}

func reportDiagnostics(_ diagnostics: [Diagnostic]) {
    for diagnostic in diagnostics { Console.error("portcullis: \(diagnostic)") }
}

func renderInventory(
    _ inventory: Inventory, entries: [InventoryEntry], format: OutputFormat, allStates: Bool,
    verdict: ((InventoryEntry) -> (verdict: String, reason: String))? = nil
) {
    // Machine formats carry a verdict as two extra fields.
    let extra: (InventoryEntry) -> [(String, JSONValue)] = { entry in
        guard let v = verdict?(entry) else { return [] }
        return [("verdict", .string(v.verdict)), ("verdict_reason", .string(v.reason))]
    }
    switch format {
    case .table:
        Console.write(InventoryRenderer.renderTable(entries, allStates: allStates, style: TableStyle(color: Console.wantsColor())))
    case .json: InventoryRenderer.renderJSON(inventory, entries: entries, extra: extra) { Console.write($0) }
    case .ndjson: InventoryRenderer.renderNDJSON(entries, extra: extra) { Console.write($0) }
    case .csv: Console.write(InventoryRenderer.renderCSV(entries, verdict: verdict))
    }
}
