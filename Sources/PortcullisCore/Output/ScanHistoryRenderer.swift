/// Renders recorded scans: `history --scans` and the scan diff of
/// `diff --scans` and `scan --diff-last`. The JSON field names are the
/// documented contract (README "Scan history").
public enum ScanHistoryRenderer {
    // MARK: listing

    /// A recorded scan's header: `{"id", "time", "end", "duration_ms",
    /// "targets", "ports", "protocols", "hosts", "hosts_up", "open_ports"}`.
    public static func json(_ info: ScanInfo) -> JSONValue {
        .object([
            ("id", .optional(info.id)),
            ("time", .string(Timestamp.iso8601(info.startTime))),
            ("end", .string(Timestamp.iso8601(info.endTime))),
            ("duration_ms", .int(info.durationMilliseconds)),
            ("targets", .string(info.scope.targets)),
            ("ports", .string(info.scope.ports)),
            ("protocols", .array(info.scope.protocols.map { .string($0.rawValue) })),
            ("hosts", .int(Int64(info.hostCount))),
            ("hosts_up", .int(Int64(info.hostsUp))),
            ("open_ports", .int(Int64(info.openPorts))),
        ])
    }

    /// `{"scans": [...]}`, oldest first.
    public static func writeScansJSON(_ scans: [ScanInfo], to out: inout OutputSink) {
        out.writeDocument(.object([("scans", .array(scans.map(json)))]))
    }

    /// The recorded scans as a table, oldest first.
    public static func writeScansTable(_ scans: [ScanInfo], style: TableStyle, to out: inout OutputSink) {
        var table = TextTable(headers: ["ID", "TIME", "TARGETS", "PORTS", "HOSTS UP", "OPEN PORTS"])
        for s in scans {
            let protocols = s.scope.protocols == [.tcp] ? "" : " (" + s.scope.protocols.map(\.rawValue).joined(separator: "+") + ")"
            table.append([
                s.id.map(String.init) ?? "-", Timestamp.iso8601(s.startTime), shortened(s.scope.targets, 40),
                shortened(s.scope.ports, 24) + protocols, "\(s.hostsUp)/\(s.hostCount)", String(s.openPorts),
            ])
        }
        table.write(style, to: &out)
    }

    static func shortened(_ text: String, _ limit: Int) -> String {
        text.count <= limit ? text : String(text.prefix(limit - 1)) + "…"
    }

    // MARK: diff as JSON

    static func json(_ status: HostStatus?) -> JSONValue {
        guard let status else { return .null }
        return .object([
            ("up", .bool(status.up)), ("reason", .string(status.reason.rawValue)), ("mac", .optional(status.macAddress)),
            ("vendor", .optional(status.vendor)),
        ])
    }

    static func json(_ service: ScanRecord.Service?) -> JSONValue {
        guard let service else { return .null }
        return .object([
            ("name", .string(service.name)), ("product", .optional(service.product)), ("version", .optional(service.version)),
            ("method", .string(service.method.rawValue)),
        ])
    }

    static func json(_ port: ScanDiff.Port) -> JSONValue {
        .object([
            ("proto", .string(port.proto.rawValue)),
            ("port", .int(Int64(port.port))),
            ("change", .string(port.change.rawValue)),
            ("from_state", .optional(port.fromState?.rawValue)),
            ("to_state", .optional(port.toState?.rawValue)),
            ("from_reason", .optional(port.fromReason?.rawValue)),
            ("to_reason", .optional(port.toReason?.rawValue)),
            ("from_service", json(port.fromService)),
            ("to_service", json(port.toService)),
        ])
    }

    static func json(_ host: ScanDiff.Host) -> JSONValue {
        .object([
            ("address", .string(host.address.description)),
            ("zone", .optional(host.zone)),
            ("hostname", .optional(host.hostname)),
            ("change", .string(host.change.rawValue)),
            ("from_up", host.from.map { .bool($0.up) } ?? .null),
            ("to_up", host.to.map { .bool($0.up) } ?? .null),
            ("from_status", json(host.from?.status)),
            ("to_status", json(host.to?.status)),
            ("mac_changed", .bool(host.macChanged)),
            ("ports", .array(host.ports.map(json))),
            (
                "other_ports",
                .array(
                    host.others.map {
                        .object([
                            ("proto", .string($0.proto.rawValue)), ("count", .int(Int64($0.count))),
                            ("from_state", .string($0.fromState.rawValue)), ("to_state", .string($0.toState.rawValue)),
                        ])
                    })
            ),
        ])
    }

    /// The diff as one JSON value: both scans' headers, whether they differ, notes, counts, then each host's changes.
    public static func json(_ diff: ScanDiff) -> JSONValue {
        .object([
            ("from", json(diff.from)),
            ("to", json(diff.to)),
            ("differs", .bool(!diff.isEmpty)),
            ("notes", .array(diff.notes.map(JSONValue.string))),
            (
                "summary",
                .object([
                    ("hosts_appeared", .int(Int64(diff.count(.appeared)))),
                    ("hosts_vanished", .int(Int64(diff.count(.vanished)))),
                    ("hosts_changed", .int(Int64(diff.count(.changed)))),
                    ("ports_opened", .int(Int64(diff.count(.opened)))),
                    ("ports_closed", .int(Int64(diff.count(.closed)))),
                    ("ports_state_changed", .int(Int64(diff.count(.stateChanged)))),
                    ("services_changed", .int(Int64(diff.count(.serviceChanged)))),
                    ("other_ports_changed", .int(Int64(diff.othersChanged))),
                ])
            ),
            ("hosts", .array(diff.hosts.map(json))),
        ])
    }

    /// The diff as one JSON document.
    public static func writeDiffJSON(_ diff: ScanDiff, to out: inout OutputSink) { out.writeDocument(json(diff)) }

    // MARK: diff as text

    /// The diff for people, ndiff-like: a header per host, then `+` for
    /// what is new (a host up, a port open), `-` for what is gone, `~` for
    /// what changed; last a summary line.
    public static func writeDiffText(_ diff: ScanDiff, style: TableStyle, to sink: inout OutputSink) {
        func side(_ info: ScanInfo) -> String { "\(info.name) at \(Timestamp.iso8601(info.startTime))" }
        var out = "\(side(diff.from)) -> \(side(diff.to))\n"
        let ports = diff.to.scope.ports == "-" ? "1-65535" : diff.to.scope.ports
        out += "targets \(diff.to.scope.targets), ports \(ports)\n"
        for note in diff.notes { out += "note: \(note)\n" }
        if diff.isEmpty {
            sink.write(out + "no differences\n")
            return
        }
        func line(_ mark: String, _ color: String, _ text: String) { out += style.paint("\(mark) \(text)", color) + "\n" }
        for host in diff.hosts {
            let address = host.zone.map { "\(host.address)%\($0)" } ?? host.address.description
            let name = host.hostname.map { "\(address) (\($0))" } ?? address
            out += "\n"
            switch host.change {
            case .appeared:
                var why = host.from == nil ? "not scanned before" : "was down"
                if let status = host.to?.status, status.up {
                    why +=
                        "; up: \(status.reason.rawValue)" + (status.macAddress.map { ", \($0)" } ?? "")
                        + (status.vendor.map { " \($0)" } ?? "")
                }
                line("+", "32", "\(name): host appeared (\(why))")
            case .vanished:
                let why = host.to == nil ? "not scanned now" : "now down" + (host.to?.status.map { ": \($0.reason.rawValue)" } ?? "")
                line("-", "31", "\(name): host vanished (\(why))")
            case .changed:
                out += "  \(name):\n"
            }
            if host.macChanged, let before = host.from?.status, let after = host.to?.status {
                line(
                    "~", "33",
                    "  MAC address \(before.macAddress ?? "?")\(before.vendor.map { " (\($0))" } ?? "") -> "
                        + "\(after.macAddress ?? "?")\(after.vendor.map { " (\($0))" } ?? ""): another device answers at this address")
            }
            for port in host.ports {
                let label = "\(port.port)/\(port.proto.rawValue)"
                let before = port.fromState?.rawValue ?? "not probed"
                let after = port.toState?.rawValue ?? "not probed"
                switch port.change {
                case .opened:
                    line("+", "32", "  \(label) \(before) -> open" + (port.toService.map { "  \($0.summary)" } ?? ""))
                case .closed:
                    var text = "  \(label) open -> \(after)"
                    if let state = port.toState, state != .closed {
                        text += state == .unknown ? " (could not be probed)" : " (closed or filtered: no answer now)"
                    }
                    line("-", "31", text + (port.fromService.map { "  was \($0.summary)" } ?? ""))
                case .stateChanged:
                    line("~", "33", "  \(label) \(before) -> \(after)")
                case .serviceChanged:
                    line(
                        "~", "33",
                        "  \(label) service \(port.fromService?.summary ?? "unknown") -> \(port.toService?.summary ?? "unknown")")
                }
            }
            for others in host.others {
                line(
                    "~", "33",
                    "  \(others.count) other \(others.proto.rawValue) port\(others.count == 1 ? "" : "s") "
                        + "\(others.fromState.rawValue) -> \(others.toState.rawValue)")
            }
        }
        out += "\n" + summaryLine(diff) + "\n"
        sink.write(out)
    }

    /// "1 host appeared, 0 vanished, 1 changed; 2 ports opened, 1 closed, 0 other state changes, 1 service changed".
    public static func summaryLine(_ diff: ScanDiff) -> String {
        let appeared = diff.count(.appeared)
        let services = diff.count(.serviceChanged)
        let opened = diff.count(.opened)
        return "\(appeared) host\(appeared == 1 ? "" : "s") appeared, \(diff.count(.vanished)) vanished, "
            + "\(diff.count(.changed)) changed; \(opened) port\(opened == 1 ? "" : "s") opened, \(diff.count(.closed)) closed, "
            + "\(diff.count(.stateChanged) + diff.othersChanged) other state changes, "
            + "\(services) service\(services == 1 ? "" : "s") changed"
    }
}
