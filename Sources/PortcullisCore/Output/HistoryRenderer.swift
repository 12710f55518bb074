/// Renders history: snapshot lists, diffs and watch events. The JSON field
/// names are the documented contract (README "History and watch").
public enum HistoryRenderer {
    // MARK: listeners and events

    /// `{"proto", "family", "local_address", "local_port", "exposure",
    /// "service", "inodes", "owners", "unowned_reason"}`.
    public static func json(_ listener: ListenerView) -> JSONValue {
        .object(
            listener.key.jsonFields + [
                ("exposure", .string(listener.exposure.rawValue)),
                ("service", .optional(listener.service)),
                ("inodes", .array(listener.inodes.map { .int(Int64($0)) })),
                ("owners", .array(listener.owners.map(InventoryRenderer.json))),
                ("unowned_reason", .optional(listener.unownedReason?.rawValue)),
            ])
    }

    /// One watch event: `{"event", "time", ...listener fields, "previous_owners"}`.
    public static func json(_ event: WatchEvent) -> JSONValue {
        guard case .object(let fields) = json(event.listener) else { return .null }
        return .object(
            [("event", .string(event.kind.rawValue)), ("time", .string(Timestamp.iso8601Milliseconds(event.timeMilliseconds)))]
                + fields + [("previous_owners", event.previousOwners.map { .array($0.map(InventoryRenderer.json)) } ?? .null)])
    }

    /// `python3[1234] /usr/bin/python3.11 user root unit foo.service`, or
    /// `no owner (reason)`.
    public static func ownersText(_ owners: [SocketOwner], unowned: UnownedReason?) -> String {
        guard !owners.isEmpty else { return "no owner (\(unowned.map(InventoryRenderer.shortReason) ?? "unknown"))" }
        return owners.map { o in
            var text = "\(o.name)[\(o.pid)]"
            if let exe = o.exe { text += " \(exe)" }
            text += " user \(o.user ?? o.uid.map(String.init) ?? "?")"
            if let unit = o.unit { text += " unit \(unit)" }
            if let container = o.container { text += " container \(container.prefix(12))" }
            return text
        }.joined(separator: ", ")
    }

    /// One line: `2026-11-27T07:30:00.123Z opened tcp 0.0.0.0:8080 (all-v4, http-alt) by python3[1234] ...`.
    public static func text(_ event: WatchEvent) -> String {
        let l = event.listener
        var line =
            "\(Timestamp.iso8601Milliseconds(event.timeMilliseconds)) \(event.kind.rawValue) \(l.key) (\(l.exposure.shortLabel)\(l.service.map { ", " + $0 } ?? ""))"
        switch event.kind {
        case .opened: line += " by " + ownersText(l.owners, unowned: l.unownedReason)
        case .closed: line += " was held by " + ownersText(l.owners, unowned: l.unownedReason)
        case .ownerChanged:
            line +=
                " from " + ownersText(event.previousOwners ?? [], unowned: nil) + " to " + ownersText(l.owners, unowned: l.unownedReason)
        }
        if let cmdline = l.owners.first?.cmdline, !cmdline.isEmpty, event.kind != .closed { line += " cmdline: \(cmdline)" }
        return line + "\n"
    }

    /// Watch events as they are printed: one NDJSON object per line with
    /// `json`, else one line of text each.
    public static func writeEvents(_ events: [WatchEvent], json asJSON: Bool, to out: inout OutputSink) {
        for event in events {
            if asJSON { out.writeLine(json(event)) } else { out.write(text(event)) }
        }
    }

    // MARK: snapshots

    /// A snapshot's summary as a JSON object; `baseline` marks the baseline.
    public static func json(_ info: SnapshotInfo, baseline: Int64? = nil) -> JSONValue {
        .object([
            ("id", .int(info.id)),
            ("time", .string(Timestamp.iso8601(info.time))),
            ("label", .optional(info.label)),
            ("hostname", .optional(info.hostname)),
            ("source", .string(info.source)),
            ("listeners", .int(Int64(info.listenerCount))),
            ("findings", .int(Int64(info.findingCount))),
            ("severities", .object(Severity.allCases.reversed().map { ($0.rawValue, .int(Int64(info.severities[$0] ?? 0))) })),
            ("baseline", .bool(baseline == info.id)),
        ])
    }

    /// `{"baseline": id or null, "snapshots": [...]}`, oldest first.
    public static func writeHistoryJSON(_ snapshots: [SnapshotInfo], baseline: Int64?, to out: inout OutputSink) {
        out.writeDocument(
            .object([
                ("baseline", .optional(baseline)),
                ("snapshots", .array(snapshots.map { json($0, baseline: baseline) })),
            ]))
    }

    /// The snapshots as a table, oldest first, the baseline marked `*`.
    public static func writeHistoryTable(_ snapshots: [SnapshotInfo], baseline: Int64?, style: TableStyle, to out: inout OutputSink) {
        var table = TextTable(headers: ["ID", "TIME", "LABEL", "LISTENERS", "FINDINGS", "BASELINE"])
        for s in snapshots {
            let worst = Severity.allCases.reversed().compactMap { sev in
                (s.severities[sev] ?? 0) > 0 ? "\(s.severities[sev] ?? 0) \(sev.rawValue)" : nil
            }
            let findings = s.findingCount == 0 ? "0" : "\(s.findingCount) (\(worst.joined(separator: ", ")))"
            table.append([
                String(s.id), Timestamp.iso8601(s.time), s.label ?? "-", String(s.listenerCount), findings, baseline == s.id ? "*" : "",
            ])
        }
        table.write(style, to: &out)
    }

    /// Stored events as NDJSON, each with its `id` first.
    public static func writeEventsJSON(_ events: [StoredEvent], to out: inout OutputSink) {
        for e in events {
            out.write("{\"id\":\(e.id),")
            out.write(bytes: e.json.utf8.dropFirst())
            out.write("\n")
        }
    }

    // MARK: diffs

    /// One side of a diff: the snapshot (or live), its time and label.
    public static func json(_ side: DiffSide) -> JSONValue {
        .object([
            ("snapshot", .optional(side.snapshot?.id)),
            ("time", .string(Timestamp.iso8601(side.time))),
            ("label", .optional(side.snapshot?.label)),
            ("baseline", .bool(side.isBaseline)),
            ("live", .bool(side.snapshot == nil)),
        ])
    }

    /// The diff as one JSON document: both sides, a summary, then each kind of change.
    public static func writeDiffJSON(_ diff: HistoryDiff, from: DiffSide, to: DiffSide, to out: inout OutputSink) {
        out.writeDocument(diffDocument(diff, from: from, to: to))
    }

    static func diffDocument(_ diff: HistoryDiff, from: DiffSide, to: DiffSide) -> JSONValue {
        JSONValue.object([
            ("from", json(from)),
            ("to", json(to)),
            ("differs", .bool(!diff.isEmpty)),
            (
                "summary",
                .object([
                    ("added", .int(Int64(diff.added.count))),
                    ("removed", .int(Int64(diff.removed.count))),
                    ("owner_changed", .int(Int64(diff.ownerChanged.count))),
                    ("exposure_changed", .int(Int64(diff.exposureChanged.count))),
                    ("findings_new", .int(Int64(diff.newFindings.count))),
                    ("findings_resolved", .int(Int64(diff.resolvedFindings.count))),
                ])
            ),
            ("added", .array(diff.added.map(json))),
            ("removed", .array(diff.removed.map(json))),
            (
                "owner_changed",
                .array(
                    diff.ownerChanged.map { change in
                        .object(
                            change.key.jsonFields + [
                                ("exposure", .string(change.after.exposure.rawValue)),
                                ("from_owners", .array(change.before.owners.map(InventoryRenderer.json))),
                                ("to_owners", .array(change.after.owners.map(InventoryRenderer.json))),
                            ])
                    })
            ),
            (
                "exposure_changed",
                .array(
                    diff.exposureChanged.map { change in
                        .object(
                            change.key.jsonFields + [
                                ("from", .string(change.before.exposure.rawValue)),
                                ("to", .string(change.after.exposure.rawValue)),
                                ("owners", .array(change.after.owners.map(InventoryRenderer.json))),
                            ])
                    })
            ),
            ("findings_new", .array(diff.newFindings.map(AuditRenderer.json))),
            ("findings_resolved", .array(diff.resolvedFindings.map(AuditRenderer.json))),
        ])
    }

    /// The diff for people: listeners added, removed and changed, then findings new and resolved.
    public static func writeDiffText(_ diff: HistoryDiff, from: DiffSide, to: DiffSide, style: TableStyle, to sink: inout OutputSink) {
        var out = "\(from.name) at \(Timestamp.iso8601(from.time)) -> \(to.name) at \(Timestamp.iso8601(to.time))\n"
        if diff.isEmpty {
            sink.write(out + "no differences\n")
            return
        }
        func line(_ mark: String, _ color: String, _ text: String) { out += style.paint("\(mark) \(text)", color) + "\n" }
        func describe(_ l: ListenerView) -> String {
            "\(l.key) (\(l.exposure.shortLabel)\(l.service.map { ", " + $0 } ?? "")) " + ownersText(l.owners, unowned: l.unownedReason)
        }
        if !diff.added.isEmpty || !diff.removed.isEmpty || !diff.ownerChanged.isEmpty || !diff.exposureChanged.isEmpty {
            out += "\nListeners\n"
            for l in diff.added { line("+", "32", "added    " + describe(l)) }
            for l in diff.removed { line("-", "31", "removed  " + describe(l)) }
            for c in diff.ownerChanged {
                line(
                    "~", "33",
                    "owner    \(c.key): " + ownersText(c.before.owners, unowned: c.before.unownedReason)
                        + " -> " + ownersText(c.after.owners, unowned: c.after.unownedReason))
            }
            for c in diff.exposureChanged {
                line("~", "33", "exposure \(c.key): \(c.before.exposure.rawValue) -> \(c.after.exposure.rawValue)")
            }
        }
        if !diff.newFindings.isEmpty || !diff.resolvedFindings.isEmpty {
            out += "\nFindings\n"
            for f in diff.newFindings { line("+", "31", "new      [\(f.severity.rawValue)] \(f.rule.rawValue): \(f.title)") }
            for f in diff.resolvedFindings { line("-", "32", "resolved [\(f.severity.rawValue)] \(f.rule.rawValue): \(f.title)") }
        }
        out +=
            "\n\(diff.added.count) added, \(diff.removed.count) removed, \(diff.ownerChanged.count) owner changed, "
            + "\(diff.exposureChanged.count) exposure changed; \(diff.newFindings.count) new findings, \(diff.resolvedFindings.count) resolved\n"
        sink.write(out)
    }

    // MARK: baseline

    /// `baseline set`: the one line saying which snapshot is the baseline now.
    public static func baselineSetLine(_ baseline: BaselineInfo) -> String {
        let s = baseline.snapshot
        return "baseline: snapshot \(s.id) taken \(Timestamp.iso8601(s.time)) (\(s.listenerCount) listeners, \(s.findingCount) findings)\n"
    }

    /// `baseline show --format json`: `{"baseline", "listeners", "findings"}`.
    public static func writeBaselineJSON(_ baseline: BaselineInfo, content: SnapshotContent, to out: inout OutputSink) {
        guard case .object(var header) = json(baseline.snapshot, baseline: baseline.snapshot.id) else { return }
        header.append(("set_at", .string(Timestamp.iso8601(baseline.setAt))))
        out.writeDocument(
            .object([
                ("baseline", .object(header)),
                ("listeners", .array(content.entries.map(InventoryRenderer.json))),
                ("findings", .array(content.findings.map(AuditRenderer.json))),
            ]))
    }

    /// `baseline show`: the header, the listeners' table, then the findings.
    public static func writeBaselineText(_ baseline: BaselineInfo, content: SnapshotContent, style: TableStyle, to out: inout OutputSink) {
        let s = baseline.snapshot
        out.write("baseline: snapshot \(s.id) taken \(Timestamp.iso8601(s.time))\(s.label.map { " \"\($0)\"" } ?? "")")
        out.write("\(s.hostname.map { " on \($0)" } ?? ""), set \(Timestamp.iso8601(baseline.setAt))\n\n")
        InventoryRenderer.writeTable(content.entries, allStates: false, style: style, to: &out)
        out.write("\n\(content.findings.count) finding\(content.findings.count == 1 ? "" : "s")\n")
        for f in content.findings { out.write("  [\(f.severity.rawValue)] \(f.rule.rawValue): \(f.title)\n") }
    }
}
