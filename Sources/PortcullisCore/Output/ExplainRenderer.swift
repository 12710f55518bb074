/// Renders `portcullis explain` reports.
public enum ExplainRenderer {
    /// One fact from the knowledge table as a JSON object.
    public static func json(_ fact: PortFact) -> JSONValue {
        .object([
            ("service", .string(fact.service)),
            ("title", .string(fact.title)),
            ("category", .string(fact.category.rawValue)),
            ("also_categories", .array(fact.alsoCategories.map(\.rawValue).sorted().map(JSONValue.string))),
            ("protocols", .array(TransportProtocol.allCases.filter(fact.protocols.contains).map { .string($0.rawValue) })),
            ("ports", .array(fact.ports.map { .string($0.count == 1 ? "\($0.lowerBound)" : "\($0.lowerBound)-\($0.upperBound)") })),
            ("commonly_runs_here", .string(fact.commonlyRunsHere)),
            ("security_notes", .array(fact.securityNotes.map(JSONValue.string))),
            ("remediation", .optional(fact.remediation)),
            ("executables", .array(fact.executables.map(JSONValue.string))),
            ("severity_hint", .string(fact.severityHint.rawValue)),
            ("confidence", .string(fact.confidence.rawValue)),
        ])
    }

    /// One port's report as a JSON object.
    public static func json(_ report: ExplainReport) -> JSONValue {
        .object([
            ("port", .int(Int64(report.port))),
            ("port_class", .string(report.portClass.rawValue)),
            ("tcp_service", .optional(report.tcpService)),
            ("udp_service", .optional(report.udpService)),
            ("in_ephemeral_range", .optional(report.inEphemeralRange)),
            ("facts", .array(report.facts.map(json))),
        ])
    }

    /// The reports as a JSON array, one object per port.
    public static func writeJSON(_ reports: [ExplainReport], to out: inout OutputSink) {
        out.writeDocument(.array(reports.map(json)))
    }

    /// The reports for people: each port's class, names and what is known about it.
    public static func writeText(
        _ reports: [ExplainReport], ephemeralRange: ClosedRange<UInt16>?, style: TableStyle, to sink: inout OutputSink
    ) {
        var out = ""
        for (k, report) in reports.enumerated() {
            if k > 0 { out += "\n" }
            let range = report.portClass.range
            out += style.paint("Port \(report.port)", "1")
            out += "  \(report.portClass.rawValue) port (\(range.lowerBound)-\(range.upperBound))\n"
            out += "  tcp service: \(report.tcpService ?? "-")    udp service: \(report.udpService ?? "-")\n"
            if let ephemeralRange, let inside = report.inEphemeralRange {
                out += "  this host's ephemeral range \(ephemeralRange.lowerBound)-\(ephemeralRange.upperBound): "
                out += inside ? "inside — the kernel may hand this port to outgoing connections\n" : "outside\n"
            }
            if report.facts.isEmpty {
                out += "  portcullis knows nothing specific about this port.\n"
            }
            for fact in report.facts {
                let protos = TransportProtocol.allCases.filter(fact.protocols.contains).map(\.rawValue).joined(separator: "/")
                out += "\n  " + style.paint(fact.title, "1") + " (\(protos), \(fact.category.rawValue)"
                out += fact.confidence == .low ? ", a convention, not a registration)\n" : ")\n"
                out += "    \(fact.commonlyRunsHere)\n"
                for note in fact.securityNotes { out += "    - \(note)\n" }
                if let remediation = fact.remediation { out += "    fix: \(remediation)\n" }
            }
        }
        sink.write(out)
    }
}
