/// Renderings of a scan: the text report, JSON, NDJSON lines, and
/// nmap-compatible XML (accepted by nmap's ndiff).
///
/// As nmap does, a host's ports in one state other than open (or unknown)
/// are summarised rather than listed when there are more than 25 of them.
public enum ScanRenderer {
    /// Ports of one state summarised instead of listed.
    public struct NotShown: Sendable, Equatable {
        /// The state summarised.
        public var state: ScanPortState
        /// How many ports are in it.
        public var count: Int
        /// Per (proto, reason): how many.
        public var reasons: [Reason]
        /// How many ports of one protocol gave one reason.
        public struct Reason: Sendable, Equatable {
            /// The protocol.
            public var proto: TransportProtocol
            /// Why the ports are in that state.
            public var reason: ScanReason
            /// How many.
            public var count: Int
        }
    }

    /// nmap prints at most this many ports of one uninteresting state.
    public static let listLimit = 25

    /// The ports to list and the states to summarise for a host.
    public static func split(_ host: ScanHostResult) -> (shown: [ScanPortResult], notShown: [NotShown]) {
        var counts: [ScanPortState: Int] = [:]
        for port in host.ports { counts[port.state, default: 0] += 1 }
        let collapsed = Set(counts.filter { $0.key != .open && $0.key != .unknown && $0.value > listLimit }.map(\.key))
        var notShown: [NotShown] = []
        for state in ScanPortState.allCases where collapsed.contains(state) {
            var reasons: [String: NotShown.Reason] = [:]
            for port in host.ports where port.state == state {
                let key = port.proto.rawValue + "/" + port.reason.rawValue
                reasons[key, default: .init(proto: port.proto, reason: port.reason, count: 0)].count += 1
            }
            notShown.append(
                NotShown(
                    state: state, count: counts[state] ?? 0,
                    reasons: reasons.values.sorted { ($0.proto.rawValue, $0.reason.rawValue) < ($1.proto.rawValue, $1.reason.rawValue) }))
        }
        return (host.ports.filter { !collapsed.contains($0.state) }, notShown)
    }

    // MARK: JSON

    /// A port's JSON fields (README "scan: JSON fields").
    public static func json(_ port: ScanPortResult) -> [(String, JSONValue)] {
        [
            ("proto", .string(port.proto.rawValue)),
            ("port", .int(Int64(port.port))),
            ("state", .string(port.state.rawValue)),
            ("reason", .string(port.reason.rawValue)),
            ("detail", .optional(port.detail)),
            ("rtt_us", .optional(port.rttMicroseconds)),
            ("service", port.service.map(json) ?? .null),
            ("verdict", .optional(port.verdict?.jsonName)),
        ]
    }

    /// What service detection learned, as a JSON object.
    public static func json(_ service: ScanService) -> JSONValue {
        .object([
            ("name", .string(service.name)),
            ("product", .optional(service.product)),
            ("version", .optional(service.version)),
            ("extra_info", .optional(service.extraInfo)),
            ("banner", .optional(service.banner)),
            ("method", .string(service.method.rawValue)),
            (
                "tls",
                service.tls.map { tls in
                    .object([
                        ("version", .string(tls.version)), ("cipher", .string(tls.cipher)),
                        ("subject", .optional(tls.subject)), ("issuer", .optional(tls.issuer)),
                        ("not_before", .optional(tls.notBefore.map(Timestamp.iso8601))),
                        ("not_after", .optional(tls.notAfter.map(Timestamp.iso8601))),
                        ("self_signed", .bool(tls.selfSigned)), ("expired", .bool(tls.expired)),
                    ])
                } ?? .null
            ),
            (
                "unauthenticated",
                service.unauthenticated.map { access in
                    .object([("request", .string(access.request)), ("answer", .string(access.answer))])
                } ?? .null
            ),
        ])
    }

    /// In the table's VERSION column, each piece of text the service sent
    /// (banner, product, version, extra information, certificate subject, the
    /// answer without credentials) is cut to this many characters, the last
    /// one `…`. The JSON keeps each whole.
    public static let versionPartWidth = 60

    /// The VERSION column: product, version and (extra info) as nmap prints
    /// them, TLS notes, and what the service answered without credentials;
    /// the banner when the service named nothing. With `partWidth` (the
    /// table passes `versionPartWidth`), each piece the service sent is cut
    /// to that many characters by `cut(_:width:)`.
    public static func versionText(_ service: ScanService?, partWidth: Int? = nil) -> String {
        guard let service else { return "" }
        func part(_ text: String) -> String { partWidth.map { cut(text, width: $0) } ?? text }
        var version = [service.product, service.version].compactMap { $0 }.map(part).joined(separator: " ")
        if let extra = service.extraInfo { version += (version.isEmpty ? "" : " ") + "(" + part(extra) + ")" }
        if let tls = service.tls {
            var notes = [tls.version, tls.cipher]
            if let subject = tls.subject { notes.append("subject " + part(subject)) }
            if let notAfter = tls.notAfter { notes.append("expires " + Timestamp.iso8601(notAfter)) }
            if tls.expired { notes.append("EXPIRED") }
            if tls.selfSigned { notes.append("self-signed") }
            version += (version.isEmpty ? "" : "; ") + notes.joined(separator: ", ")
        }
        if version.isEmpty, let banner = service.banner { version = part(banner) }
        if let access = service.unauthenticated {
            version += (version.isEmpty ? "" : "; ") + "no authentication: \(access.request) -> \(part(access.answer))"
        }
        return version
    }

    /// `text` (already escaped, as `UntrustedText.escape` writes it) cut to
    /// at most `width` Unicode scalars, the last one `…` when anything was
    /// dropped. An escape (`\x1b`, `\u{85}`, `\n`, `\\`) is kept whole or
    /// dropped whole, never cut in two.
    public static func cut(_ text: String, width: Int) -> String {
        let scalars = Array(text.unicodeScalars)
        guard scalars.count > width else { return text }
        guard width > 1 else { return width == 1 ? "…" : "" }
        var out = String.UnicodeScalarView()
        var i = 0
        while i < scalars.count {
            // The length of the unit starting at i: an escape, or one scalar.
            var length = 1
            if scalars[i] == "\\", i + 1 < scalars.count {
                switch scalars[i + 1] {
                case "x": length = min(4, scalars.count - i)
                case "u":
                    var end = i + 2
                    while end < scalars.count && scalars[end] != "}" && end - i < 12 { end += 1 }
                    length = min(end + 1, scalars.count) - i
                default: length = 2
                }
            }
            guard i + length <= width - 1 else { break }
            out.append(contentsOf: scalars[i..<(i + length)])
            i += length
        }
        out.append("…")
        return String(out)
    }

    /// What host discovery found, as a JSON object: up, reason, mac, vendor, rtt_us.
    public static func json(_ status: HostStatus) -> JSONValue {
        .object([
            ("up", .bool(status.up)), ("reason", .string(status.reason.rawValue)), ("mac", .optional(status.macAddress)),
            ("vendor", .optional(status.vendor)), ("rtt_us", .optional(status.rttMicroseconds)),
        ])
    }

    /// Found down by host discovery (not merely silent on every port): such hosts have no ports.
    public static func isDiscoveredDown(_ host: ScanHostResult) -> Bool { host.status.map { !$0.up } ?? false }

    /// "Host is up (arp-response, 0.00021s latency), MAC 52:54:00:12:34:56 (QEMU)"; nil when discovery did not run or found it down.
    public static func hostLine(_ status: HostStatus?) -> String? {
        guard let status, status.up, status.reason != .userSet else { return nil }
        var line = "Host is up (" + status.reason.rawValue
        if let rtt = status.rttMicroseconds, status.reason != .localhostResponse { line += ", " + latency(rtt) + " latency" }
        line += ")"
        if let mac = status.macAddress { line += ", MAC " + mac.uppercased() + (status.vendor.map { " (\($0))" } ?? "") }
        return line
    }

    /// Seconds to two significant digits, as nmap prints latency: "0.00021s", "0.012s", "1.5s".
    static func latency(_ microseconds: Int64) -> String {
        let value = max(1, microseconds)
        var digits = String(value)
        let exponent = digits.count - 6  // seconds = 0.digits × 10^exponent
        digits += String(repeating: "0", count: max(0, 3 - digits.count))
        let rounded = (Int(digits.prefix(3)) ?? 0) + 5
        digits = String(rounded / 10)
        var magnitude = exponent
        if digits.count > 2 {  // 995 rounds up to 100
            digits = String(digits.prefix(2))
            magnitude += 1
        }
        // The value is 0.DD × 10^magnitude seconds.
        if magnitude <= 0 { return "0." + String(repeating: "0", count: -magnitude) + digits + "s" }
        if magnitude == 1 { return String(digits.prefix(1)) + "." + String(digits.dropFirst().prefix(1)) + "s" }
        return digits + String(repeating: "0", count: magnitude - 2) + "s"
    }

    static func counts(_ count: (ScanPortState) -> Int) -> JSONValue {
        .object(ScanPortState.allCases.map { ($0.rawValue, .int(Int64(count($0)))) })
    }

    /// A host's JSON fields: its address, counts, the ports listed and those summarised.
    public static func json(_ host: ScanHostResult) -> [(String, JSONValue)] {
        let (shown, notShown) = split(host)
        return [
            ("address", .string(host.address.description)),
            ("zone", .optional(host.zone?.name)),
            ("family", .string(AddressFamily(host.address.kind).rawValue)),
            ("hostname", .optional(host.hostname)),
            ("up", .bool(host.isUp)),
            ("status", host.status.map(json) ?? .null),
            ("counts", counts(host.count)),
            ("ports", .array(shown.map { .object(json($0)) })),
            (
                "not_shown",
                .array(
                    notShown.map { summary in
                        .object([
                            ("state", .string(summary.state.rawValue)), ("count", .int(Int64(summary.count))),
                            (
                                "reasons",
                                .array(
                                    summary.reasons.map {
                                        .object([
                                            ("proto", .string($0.proto.rawValue)), ("reason", .string($0.reason.rawValue)),
                                            ("count", .int(Int64($0.count))),
                                        ])
                                    })
                            ),
                        ])
                    })
            ),
        ]
    }

    static func summaryFields(_ report: ScanReport) -> [(String, JSONValue)] {
        [
            ("hosts", .int(Int64(report.hosts.count))),
            ("hosts_up", .int(Int64(report.hostsUp))),
            ("ports", counts(report.count)),
            ("start", .string(Timestamp.iso8601(report.startTime))),
            ("duration_ms", .int(report.durationMilliseconds)),
            (
                "findings",
                .object(
                    Severity.allCases.reversed().map { s in
                        (s.rawValue, .int(Int64(report.findings.filter { $0.severity == s }.count)))
                    })
            ),
        ]
    }

    /// The report as one JSON document.
    public static func writeJSON(_ report: ScanReport, to out: inout OutputSink) { out.writeDocument(json(report)) }

    /// One JSON value: the summary, every host, the findings (as `audit`'s), the diagnostics.
    public static func json(_ report: ScanReport) -> JSONValue {
        .object([
            ("summary", .object(summaryFields(report))),
            ("hosts", .array(report.hosts.map { .object(json($0)) })),
            ("findings", .array(report.findings.map(AuditRenderer.json))),
            ("diagnostics", .array(report.diagnostics.map(InventoryRenderer.json))),
        ])
    }

    /// The NDJSON line for an open port, written as soon as it is found;
    /// `zone` is the interface of a link-local host.
    public static func writeNDJSONPort(
        host: IPAddress, hostname: String?, zone: String? = nil, _ port: ScanPortResult, to out: inout OutputSink
    ) {
        out.writeLine(
            .object(
                [
                    ("type", .string("port")), ("address", .string(host.description)), ("zone", .optional(zone)),
                    ("hostname", .optional(hostname)),
                ] + json(port)))
    }

    /// The NDJSON lines after the scan: with `openPorts`, first a `port`
    /// line per open port (for a scan that could not stream them: with
    /// `--service` a port's verdict waits for its service); then one
    /// `finding` line per finding (the fields of `audit`'s findings), one
    /// `host` line per host (its fields as in JSON; `ports` lists the shown
    /// ports in every state, including the open ones, now with their
    /// services and verdicts), then the `summary` line, always last.
    public static func writeNDJSONTail(_ report: ScanReport, openPorts: Bool = false, to out: inout OutputSink) {
        if openPorts {
            for host in report.hosts {
                for port in host.ports where port.state == .open {
                    writeNDJSONPort(host: host.address, hostname: host.hostname, port, to: &out)
                }
            }
        }
        for finding in report.findings {
            guard case .object(let fields) = AuditRenderer.json(finding) else { continue }
            out.writeLine(.object([("type", .string("finding"))] + fields))
        }
        for host in report.hosts { out.writeLine(.object([("type", .string("host"))] + json(host))) }
        out.writeLine(
            .object(
                [("type", .string("summary"))] + summaryFields(report)
                    + [("diagnostics", .array(report.diagnostics.map(InventoryRenderer.json)))]))
    }

    // MARK: text

    /// The report for people, as nmap lays it out: per host, the ports
    /// listed (with the rules' VERDICT, painted as the overview paints it)
    /// and the states summarised, hosts found down counted; then the
    /// findings as `audit` prints them, with how many are at or above
    /// `failOn` when given; then the summary line.
    public static func writeText(_ report: ScanReport, failOn: Severity? = nil, style: TableStyle, to out: inout OutputSink) {
        var down = 0
        for host in report.hosts {
            // Hosts discovery found down are counted, not listed (JSON lists them all).
            if isDiscoveredDown(host) {
                down += 1
                continue
            }
            let name = host.hostname.map { "\($0) (\(host.addressText))" } ?? host.addressText
            out.write(
                style.paint("Scan report for \(name)", "1") + (host.isUp ? "" : ": no answer on any port (down or fully filtered)") + "\n")
            if let line = hostLine(host.status) { out.write(line + "\n") }
            let (shown, notShown) = split(host)
            if !notShown.isEmpty {
                out.write(
                    "Not shown: "
                        + notShown.map { summary in
                            "\(summary.count) \(summary.state.rawValue) ("
                                + summary.reasons.map { "\($0.count) \($0.proto.rawValue) \($0.reason.rawValue)" }.joined(separator: ", ")
                                + ")"
                        }.joined(separator: ", ") + "\n")
            }
            guard !shown.isEmpty else {
                out.write("\n")
                continue
            }
            var table = TextTable(headers: ["PORT", "STATE", "SERVICE", "VERSION", "REASON", "VERDICT"])
            for port in shown {
                let service = port.service
                let version = versionText(service, partWidth: versionPartWidth)
                let reason = port.reason.rawValue + (port.detail.map { ": " + $0 } ?? "")
                let color: String? =
                    switch port.state {
                    case .open: "32"
                    case .unknown: "33"
                    default: nil
                    }
                // The last column is never padded, so its own colour codes cannot misalign the table.
                let verdict = port.verdict.map { v in v.colorCode.map { style.paint(v.jsonName, $0) } ?? v.jsonName } ?? ""
                table.append(
                    ["\(port.port)/\(port.proto.rawValue)", port.state.rawValue, service?.name ?? "", version, reason, verdict],
                    color: color)
            }
            table.write(style, to: &out)
            out.write("\n")
        }
        if down > 0 { out.write("\(down) host\(down == 1 ? "" : "s") down (no answer to host discovery; not port-scanned)\n\n") }
        let judged = report.hosts.contains { $0.ports.contains { $0.verdict != nil } }
        if !report.findings.isEmpty {
            out.write(style.paint("Findings", "1") + "\n" + AuditRenderer.findingsText(report.findings, style: style))
            out.write(AuditRenderer.countLine(report.findings, failOn: failOn) + "\n")
        } else if judged {
            out.write("No findings on the open ports" + (failOn.map { "; 0 at or above \($0.rawValue)" } ?? "") + ".\n")
        }
        out.write(summaryLine(report) + "\n")
    }

    /// "2 hosts scanned (1 up), 131070 ports in 1.42 s: 3 open, 131067 closed"
    public static func summaryLine(_ report: ScanReport) -> String {
        let ports = report.hosts.reduce(0) { $0 + $1.ports.count }
        let states = ScanPortState.allCases.compactMap { state -> String? in
            let n = report.count(state)
            return n == 0 ? nil : "\(n) \(state.rawValue)"
        }
        let seconds = Double(report.durationMilliseconds) / 1000
        let duration = seconds < 10 ? String(Double(Int(seconds * 100)) / 100) : String(Int(seconds))
        if ports == 0 && report.hosts.contains(where: { $0.status != nil && $0.status?.reason != .userSet }) {
            return "\(report.hosts.count) host\(report.hosts.count == 1 ? "" : "s") discovered (\(report.hostsUp) up) in \(duration) s"
        }
        return
            "\(report.hosts.count) host\(report.hosts.count == 1 ? "" : "s") scanned (\(report.hostsUp) up), \(ports) port\(ports == 1 ? "" : "s") in \(duration) s"
            + (states.isEmpty ? "" : ": " + states.joined(separator: ", "))
    }
}

extension ScanRenderer {
    /// JUnit XML (suite `portcullis scan`), written by `audit`'s writer: a
    /// failed test case per finding, and a passing case per open port with
    /// none ("10.0.0.5:22/tcp"), so CI lists what was checked as well as what failed.
    public static func writeJUnit(_ report: ScanReport, to sink: inout OutputSink) {
        let judged = Set(report.findings.compactMap { f in f.subject.map { "\($0.localAddress) \($0.proto) \($0.port ?? 0)" } })
        var passed: [String] = []
        for host in report.hosts {
            for port in host.ports where port.state == .open && !judged.contains("\(host.address) \(port.proto.rawValue) \(port.port)") {
                passed.append(ScanRules.endpoint(host.address, port))
            }
        }
        AuditRenderer.writeJUnit(suite: "portcullis scan", findings: report.findings, passed: passed, skipped: [], to: &sink)
    }
}
