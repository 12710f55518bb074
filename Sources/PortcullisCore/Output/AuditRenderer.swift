/// Renders audit reports: text (worst first, grouped by severity), JSON,
/// NDJSON (one finding per line) and JUnit XML (one failed case per finding).
public enum AuditRenderer {
    /// A finding as a JSON object (README "audit: JSON fields").
    public static func json(_ finding: Finding) -> JSONValue {
        .object([
            ("id", .string(finding.id)),
            ("rule", .string(finding.rule.rawValue)),
            ("severity", .string(finding.severity.rawValue)),
            ("title", .string(finding.title)),
            ("subject", finding.subject.map(json) ?? .null),
            ("sockets", .array(finding.sockets.map(json))),
            (
                "owners",
                .array(
                    finding.owners.map { o in
                        .object([
                            ("pid", .int(Int64(o.pid))), ("name", .string(o.name)), ("exe", .optional(o.exe)),
                            ("user", .optional(o.user)), ("unit", .optional(o.unit)), ("container", .optional(o.container)),
                        ])
                    })
            ),
            ("evidence", .array(finding.evidence.map(JSONValue.string))),
            ("remediation", .string(finding.remediation)),
        ])
    }

    static func json(_ subject: FindingSubject) -> JSONValue {
        .object([
            ("proto", .string(subject.proto.jsonName)), ("family", .optional(subject.family?.rawValue)),
            ("local_address", .string(subject.localAddress)), ("local_port", .optional(subject.port)),
            ("inode", .int(Int64(subject.inode))), ("exposure", .optional(subject.exposure?.rawValue)),
        ])
    }

    /// A listener with its firewall judgement, verdict and findings.
    public static func json(_ listener: AuditedListener) -> JSONValue {
        guard case .object(var fields) = InventoryRenderer.json(listener.entry) else { return .null }
        fields.append(
            ("firewall", listener.firewall.map { .object([("verdict", .string($0.name)), ("reason", .string($0.reason))]) } ?? .null))
        fields.append(("reachable", .bool(listener.reachable)))
        fields.append(("verdict", .string(listener.verdict.jsonName)))
        fields.append(("verdict_reason", .string(listener.verdictReason)))
        fields.append(("findings", .array(listener.findings.map { .string($0.rule.rawValue) })))
        return .object(fields)
    }

    /// Counts per severity, the threshold, and whether the audit failed it.
    public static func summary(_ report: AuditReport, failOn: Severity) -> JSONValue {
        .object(
            Severity.allCases.reversed().map { s in (s.rawValue, .int(Int64(report.findings.filter { $0.severity == s }.count))) }
                + [
                    ("suppressed", .int(Int64(report.suppressed.count))), ("fail_on", .string(failOn.rawValue)),
                    ("failed", .bool(report.count(atLeast: failOn) > 0)),
                ])
    }

    /// `{"summary", "findings", "suppressed", "listeners", "diagnostics"}`
    public static func writeJSON(_ report: AuditReport, failOn: Severity, diagnostics: [Diagnostic], to out: inout OutputSink) {
        out.writeDocument(document(report, failOn: failOn, diagnostics: diagnostics))
    }

    /// The audit as one JSON value (what `writeJSON` prints).
    public static func document(_ report: AuditReport, failOn: Severity, diagnostics: [Diagnostic]) -> JSONValue {
        JSONValue.object([
            ("summary", summary(report, failOn: failOn)),
            ("findings", .array(report.findings.map(json))),
            (
                "suppressed",
                .array(
                    report.suppressed.map { s in
                        guard case .object(var fields) = json(s.finding) else { return .null }
                        fields.append(("suppressed_because", .string(s.reason)))
                        return .object(fields)
                    })
            ),
            ("listeners", .array(report.listeners.map(json))),
            ("published_ports", .array(report.publications.map(json))),
            ("diagnostics", .array(diagnostics.map(InventoryRenderer.json))),
        ])
    }

    /// A published port: where it is published and by what, where it leads,
    /// its judgement along prerouting and forward, the listener behind it.
    public static func json(_ placed: AuditedPublication) -> JSONValue {
        let p = placed.judged.publication
        func range(_ r: ClosedRange<UInt16>) -> JSONValue {
            .object([("from", .int(Int64(r.lowerBound))), ("to", .int(Int64(r.upperBound)))])
        }
        let interfaces: JSONValue
        switch p.inputInterfaces {
        case .any: interfaces = .object([("kind", .string("any")), ("names", .array([]))])
        case .only(let names): interfaces = .object([("kind", .string("only")), ("names", .array(names.map(JSONValue.string)))])
        case .except(let names): interfaces = .object([("kind", .string("except")), ("names", .array(names.map(JSONValue.string)))])
        }
        let judgement = placed.judged.judgement
        return .object([
            ("tool", .string(p.tool.rawValue)),
            ("proto", .string(p.proto.rawValue)),
            ("family", .string(p.family.rawValue)),
            ("host_address", .optional(p.hostAddress?.description)),
            ("host_ports", range(p.hostPorts)),
            (
                "target",
                p.target.map { t in
                    .object([("address", .optional(t.address?.description)), ("ports", range(t.ports)), ("this_host", .bool(t.isThisHost))])
                } ?? .null
            ),
            ("target_unreadable", .optional(p.targetUnreadable)),
            (
                "rule",
                p.rule.map { r in
                    .object([
                        ("family", .string(r.family)), ("table", .string(r.table)), ("chain", .string(r.chain)),
                        ("handle", .optional(r.handle)), ("text", .string(r.text)), ("path", .array(r.path.map(JSONValue.string))),
                    ])
                } ?? .null
            ),
            ("pid", .optional(p.pid)),
            ("input_interfaces", interfaces),
            ("conditions", .array(p.conditions.map(JSONValue.string))),
            ("exposure", .string(p.exposure.rawValue)),
            ("verdict", .optional(judgement?.verdict.name)),
            ("reason", .optional(judgement?.verdict.reason)),
            ("input_verdict", .optional(judgement?.inputChain.verdict.name)),
            ("input_reason", .optional(judgement?.inputChain.verdict.reason)),
            ("bypasses_input", .bool(judgement?.bypassesInput ?? false)),
            ("reachable_from_other_hosts", .bool(placed.reachable)),
            ("target_netns", .optional(placed.targetNamespace.map { Int64(bitPattern: $0) })),
            ("target_netns_name", .optional(placed.targetName)),
            ("listener_inode", .optional(placed.listener.map { Int64(bitPattern: $0.socket.inode) })),
            ("owners", .array((placed.listener?.owners ?? []).map(InventoryRenderer.json))),
            ("findings", .array(placed.findings.map { .string($0.rule.rawValue) })),
        ])
    }

    /// One finding per line.
    public static func writeNDJSON(_ report: AuditReport, to out: inout OutputSink) {
        for finding in report.findings { out.writeLine(json(finding)) }
    }

    static func color(_ severity: Severity) -> String {
        switch severity {
        case .critical: return "1;31"
        case .high: return "31"
        case .medium: return "33"
        case .low: return "36"
        case .info: return "2"
        }
    }

    /// The findings, worst first, grouped under a heading per severity.
    public static func writeText(_ report: AuditReport, failOn: Severity, style: TableStyle, to sink: inout OutputSink) {
        var out = ""
        if report.findings.isEmpty {
            out += "No findings.\n"
        }
        out += findingsText(report.findings, style: style)
        if !report.publications.isEmpty {
            out += "Published ports (\(report.publications.count)): open on the host with no host socket\n"
            for placed in report.publications { out += "  \(placed.summary)\n" }
            out += "\n"
        }
        if !report.suppressed.isEmpty {
            out += "Suppressed by the policy (\(report.suppressed.count)):\n"
            for s in report.suppressed { out += "  [\(s.finding.rule.rawValue)] \(s.finding.title) — \(s.reason)\n" }
            out += "\n"
        }
        out += countLine(report.findings, failOn: failOn) + "\n"
        sink.write(out)
    }

    /// Findings grouped under a heading per severity, worst first, each with
    /// its rule, title, evidence and fix (`audit`'s text, and `scan`'s Findings section).
    public static func findingsText(_ findings: [Finding], style: TableStyle) -> String {
        var out = ""
        for severity in Severity.allCases.reversed() {
            let group = findings.filter { $0.severity == severity }
            guard !group.isEmpty else { continue }
            out += style.paint("\(severity.rawValue.uppercased()) (\(group.count))", color(severity) + ";1") + "\n"
            for f in group {
                out += "  " + style.paint("[\(f.rule.rawValue)]", color(severity)) + " \(f.title)\n"
                for line in f.evidence { out += "      \(line)\n" }
                out += "      fix: \(f.remediation)\n"
                out += style.paint("      id: \(f.id)", "2") + "\n"
            }
            out += "\n"
        }
        return out
    }

    /// "3 findings (1 critical, 2 high); 1 at or above high"; without a
    /// threshold, the counts alone.
    public static func countLine(_ findings: [Finding], failOn: Severity?) -> String {
        let counts = Severity.allCases.reversed().compactMap { s -> String? in
            let n = findings.filter { $0.severity == s }.count
            return n > 0 ? "\(n) \(s.rawValue)" : nil
        }
        var out = "\(findings.count) finding\(findings.count == 1 ? "" : "s")"
        out += counts.isEmpty ? "" : " (\(counts.joined(separator: ", ")))"
        if let failOn { out += "; \(findings.filter { $0.severity >= failOn }.count) at or above \(failOn.rawValue)" }
        return out
    }

    /// JUnit XML: a test case per finding (failed), so CI systems list each one.
    public static func writeJUnit(_ report: AuditReport, failOn: Severity, to sink: inout OutputSink) {
        writeJUnit(
            suite: "portcullis audit", findings: report.findings, passed: [],
            skipped: report.suppressed.map { ($0.finding, $0.reason) }, to: &sink)
    }

    /// A JUnit suite: one failed test case per finding (classname
    /// `portcullis.RULE`), one passing case per name in `passed` (classname
    /// `portcullis.ok`), one skipped case per suppressed finding; a suite
    /// with no case at all gets one passing "no findings" case.
    public static func writeJUnit(
        suite: String, findings: [Finding], passed: [String], skipped: [(finding: Finding, reason: String)],
        to sink: inout OutputSink
    ) {
        let failures = findings.count
        let tests = max(1, failures + passed.count)
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        out += "<testsuites name=\"portcullis\" tests=\"\(tests)\" failures=\"\(failures)\">\n"
        out +=
            "  <testsuite name=\"\(xml(suite))\" tests=\"\(tests)\" failures=\"\(failures)\" errors=\"0\" skipped=\"\(skipped.count)\">\n"
        if findings.isEmpty && passed.isEmpty {
            out += "    <testcase classname=\"\(xml(suite.replacingSpaces))\" name=\"no findings\"/>\n"
        }
        for name in passed {
            out += "    <testcase classname=\"portcullis.ok\" name=\"\(xml(name))\"/>\n"
        }
        for f in findings {
            let location = f.subject.map { s in "\(s.proto.jsonName) \(s.localAddress)" + (s.port.map { ":\($0)" } ?? "") } ?? "host"
            out +=
                "    <testcase classname=\"portcullis.\(xml(f.rule.rawValue))\" name=\"\(xml(f.severity.rawValue)): \(xml(location))\">\n"
            out += "      <failure type=\"\(xml(f.rule.rawValue))\" message=\"\(xml(f.title))\">"
            out += xml((f.evidence + ["fix: " + f.remediation]).joined(separator: "\n"))
            out += "</failure>\n    </testcase>\n"
        }
        for s in skipped {
            out += "    <testcase classname=\"portcullis.\(xml(s.finding.rule.rawValue))\" name=\"\(xml(s.finding.title))\">\n"
            out += "      <skipped message=\"\(xml(s.reason))\"/>\n    </testcase>\n"
        }
        out += "  </testsuite>\n</testsuites>\n"
        sink.write(out)
    }

    static func xml(_ text: String) -> String { XMLText.escape(text) }
}

extension String {
    /// "portcullis audit" → "portcullis.audit": a suite name as a JUnit classname.
    fileprivate var replacingSpaces: String { String(map { $0 == " " ? "." : $0 }) }
}
