/// `close` output: the plan, the result and the undo as text and JSON, and
/// the journal document (written before acting, read back by `--undo`).
public enum CloseRenderer {
    // MARK: JSON

    /// The plan as JSON: `target`, `namespace`, `sockets`, `holders`, `leaders`, `common_parent`, `units`,
    /// `containers`, `publications`, `method`, `reason`, `steps`, `comes_back`, `notes`, `refusals`.
    public static func json(_ plan: ClosePlan) -> JSONValue {
        let f = plan.facts
        return .object([
            ("target", .string(f.target)),
            ("namespace", .string(f.namespace)),
            ("sockets", .array(f.sockets.map(json))),
            ("holders", .array(f.holders.map(json))),
            ("leaders", .array(plan.leaders.map { .int(Int64($0.pid)) })),
            ("common_parent", plan.commonParent.map(json) ?? .null),
            ("units", .array(plan.units.map { name in json(f.units[name] ?? UnitState(name: name, loadState: "", activeState: "")) })),
            ("containers", .array(f.containers.map(json))),
            ("publications", .array(f.publications.map { .string($0.summary) })),
            ("method", .optional(plan.method?.rawValue)),
            ("reason", .string(plan.reason)),
            ("grace_ms", .int(Int64(plan.request.graceMilliseconds))),
            ("steps", .array(plan.steps.map { .object([("kind", .string($0.kind)), ("summary", .string($0.summary))]) })),
            ("comes_back", .array(plan.comesBack.map(JSONValue.string))),
            ("notes", .array(plan.notes.map(JSONValue.string))),
            ("refusals", .array(plan.refusals.map(json))),
            ("will_act", .bool(!plan.nothingToClose && plan.method != nil && plan.blockingRefusals.isEmpty)),
        ])
    }

    /// `{"plan": …, "result": …}`: what `close --yes --format json` prints.
    public static func json(_ plan: ClosePlan, _ result: CloseResult?) -> JSONValue {
        .object([("plan", json(plan)), ("result", result.map(json) ?? .null)])
    }

    /// The result: `journal_id`, `steps` (each with `status`, `detail`, `undo`), `verification`, `elapsed_ms`.
    public static func json(_ result: CloseResult) -> JSONValue {
        .object([
            ("journal_id", .optional(result.journalID)),
            ("steps", .array(result.outcomes.map(json))),
            ("verification", result.verification.map(json) ?? .null),
            ("elapsed_ms", .int(result.elapsedMilliseconds)),
        ])
    }

    /// An undo report: `id`, `target`, `namespace`, `undone` (each with `kind`, `summary`, `status`, `detail`).
    public static func json(_ report: CloseUndoReport) -> JSONValue {
        .object([
            ("id", .int(report.id)),
            ("target", .string(report.target)),
            ("namespace", .string(report.namespace)),
            (
                "undone",
                .array(
                    report.outcomes.map {
                        .object([
                            ("kind", .string($0.undo.kind)), ("summary", .string($0.undo.summary)), ("status", .string($0.status.rawValue)),
                            ("detail", .string($0.detail)),
                        ])
                    })
            ),
        ])
    }

    static func json(_ socket: CloseSocket) -> JSONValue {
        let r = socket.record
        return .object([
            ("proto", .string(r.proto.rawValue)),
            ("local", .string(r.localAddress.endpointText(port: r.localPort))),
            ("remote", r.isListening ? .null : .string(r.remoteAddress.endpointText(port: r.remotePort))),
            ("state", .string(r.stateName)),
            ("inode", .int(Int64(r.inode))),
            ("pids", .array(socket.holders.map { .int(Int64($0)) })),
        ])
    }

    static func json(_ p: CloseProcess) -> JSONValue {
        .object([
            ("pid", .int(Int64(p.pid))), ("ppid", .int(Int64(p.ppid))), ("name", .string(p.name)), ("cmdline", .string(p.cmdline)),
            ("user", .optional(p.user)), ("start_ticks", .int(Int64(clamping: p.startTicks))), ("unit", .optional(p.unit)),
            ("container", .optional(p.container)), ("inodes", .array(p.inodes.map { .int(Int64(clamping: $0)) })),
        ])
    }

    static func json(_ u: UnitState) -> JSONValue {
        .object([
            ("name", .string(u.name)), ("load_state", .string(u.loadState)), ("active_state", .string(u.activeState)),
            ("unit_file_state", .string(u.unitFileState)), ("restart", .string(u.restart)),
            ("triggered_by", .array(u.triggeredBy.map(JSONValue.string))),
        ])
    }

    static func json(_ c: CloseContainer) -> JSONValue {
        .object([
            ("id", .string(c.id)), ("name", .optional(c.name)), ("runtime", .string(c.runtime)),
            ("restart_policy", .optional(c.restartPolicy)),
        ])
    }

    static func json(_ r: CloseRefusal) -> JSONValue {
        .object([("kind", .string(r.kind.rawValue)), ("reason", .string(r.reason)), ("overridable", .bool(r.overridable))])
    }

    static func json(_ o: CloseStepOutcome) -> JSONValue {
        .object([
            ("kind", .string(o.kind)), ("summary", .string(o.summary)), ("status", .string(o.status.rawValue)),
            ("detail", .string(o.detail)), ("undo", .array(o.undo.map(json))),
        ])
    }

    static func json(_ v: CloseVerification) -> JSONValue {
        .object([("status", .string(v.status.rawValue)), ("detail", .string(v.detail)), ("still_held_by", .array(v.stillHeldBy.map(json)))])
    }

    static func json(_ u: CloseUndo) -> JSONValue {
        var fields: [(String, JSONValue)] = [("kind", .string(u.kind))]
        switch u {
        case .deleteRules(let rules):
            fields.append(
                ("rules", .array(rules.map { .object([("chain", .string($0.chain)), ("handle", .int(Int64(clamping: $0.handle)))]) })))
        case .startUnits(let units), .enableUnits(let units), .unmaskUnits(let units):
            fields.append(("units", .array(units.map(JSONValue.string))))
        case .restoreRestartPolicy(let c, let policy):
            fields += [("container", json(c)), ("policy", .string(policy))]
        case .startContainer(let c):
            fields.append(("container", json(c)))
        case .irreversible(let why):
            fields.append(("reason", .string(why)))
        }
        return .object(fields)
    }

    // MARK: The journal document

    /// The journal's document for a close: what `--undo` reads back.
    public static func journalDocument(_ record: CloseRecord) -> String {
        JSONValue.object([
            ("format", .int(1)),
            ("target", .string(record.target)),
            ("namespace", .string(record.namespace)),
            ("method", .string(record.method.rawValue)),
            ("steps", .array(record.outcomes.map(json))),
            ("verification", record.verification.map(json) ?? .null),
        ]).serialized()
    }

    /// A journal document that cannot be read back (written by something else, or damaged).
    public struct DocumentError: Error, Sendable, CustomStringConvertible {
        /// What is wrong with it.
        public var description: String
    }

    /// Reads a journal document back: the steps and their undo data.
    public static func record(fromJournal text: String) throws(DocumentError) -> CloseRecord {
        let value: JSONValue
        do { value = try JSONValue.parse(Array(text.utf8)) } catch { throw DocumentError(description: "not JSON: \(error)") }
        guard value.jsonMember("format")?.jsonInt == 1 else { throw DocumentError(description: "not a close journal document of format 1") }
        guard let target = value.jsonMember("target")?.jsonString, let namespace = value.jsonMember("namespace")?.jsonString,
            let method = value.jsonMember("method")?.jsonString.flatMap(CloseMethod.init(rawValue:)),
            case .array(let steps)? = value.jsonMember("steps")
        else { throw DocumentError(description: "target, namespace, method or steps missing") }
        var outcomes: [CloseStepOutcome] = []
        for step in steps {
            guard let kind = step.jsonMember("kind")?.jsonString, let summary = step.jsonMember("summary")?.jsonString,
                let status = step.jsonMember("status")?.jsonString.flatMap(CloseStepOutcome.Status.init(rawValue:)),
                case .array(let undos)? = step.jsonMember("undo")
            else { throw DocumentError(description: "a step without kind, summary, status or undo") }
            var decoded: [CloseUndo] = []
            for undo in undos { decoded.append(try self.undo(undo)) }
            outcomes.append(
                CloseStepOutcome(
                    kind: kind, summary: summary, status: status, detail: step.jsonMember("detail")?.jsonString ?? "", undo: decoded))
        }
        return CloseRecord(target: target, namespace: namespace, method: method, outcomes: outcomes)
    }

    static func undo(_ value: JSONValue) throws(DocumentError) -> CloseUndo {
        func strings(_ key: String) throws(DocumentError) -> [String] {
            guard case .array(let items)? = value.jsonMember(key) else { throw DocumentError(description: "undo without \(key)") }
            let out = items.compactMap(\.jsonString)
            guard out.count == items.count, !out.isEmpty else { throw DocumentError(description: "undo with a bad \(key) list") }
            return out
        }
        func container() throws(DocumentError) -> CloseContainer {
            guard let c = value.jsonMember("container"), let id = c.jsonMember("id")?.jsonString,
                let runtime = c.jsonMember("runtime")?.jsonString
            else { throw DocumentError(description: "undo without a container") }
            return CloseContainer(
                id: id, name: c.jsonMember("name")?.jsonString, runtime: runtime, restartPolicy: c.jsonMember("restart_policy")?.jsonString)
        }
        switch value.jsonMember("kind")?.jsonString {
        case "delete_rules":
            guard case .array(let rules)? = value.jsonMember("rules") else {
                throw DocumentError(description: "delete_rules without rules")
            }
            var handles: [NftRuleHandle] = []
            for rule in rules {
                guard let chain = rule.jsonMember("chain")?.jsonString, let handle = rule.jsonMember("handle")?.jsonInt, handle > 0 else {
                    throw DocumentError(description: "a rule without chain or handle")
                }
                handles.append(NftRuleHandle(chain: chain, handle: UInt64(handle)))
            }
            return .deleteRules(handles)
        case "start_units": return .startUnits(try strings("units"))
        case "enable_units": return .enableUnits(try strings("units"))
        case "unmask_units": return .unmaskUnits(try strings("units"))
        case "restore_restart_policy":
            guard let policy = value.jsonMember("policy")?.jsonString else { throw DocumentError(description: "no policy to restore") }
            return .restoreRestartPolicy(try container(), policy: policy)
        case "start_container": return .startContainer(try container())
        case "irreversible": return .irreversible(value.jsonMember("reason")?.jsonString ?? "")
        case let other: throw DocumentError(description: "unknown undo kind \(other.map { UntrustedText.escape($0) } ?? "(none)")")
        }
    }

    // MARK: Text

    /// The plan, as a reader decides on it.
    public static func writePlan(_ plan: ClosePlan, style: TableStyle, to sink: inout OutputSink) {
        let f = plan.facts
        var out = style.paint("Close \(f.target) in namespace \(f.namespace)", "1") + "\n"
        guard !plan.nothingToClose else {
            sink.write(out + "  \(plan.reason).\n")
            return
        }
        if !f.sockets.isEmpty {
            out += "  sockets:\n"
            for s in f.sockets {
                out += "    \(s.summary)  inode \(s.record.inode)  pids \(s.holders.map(String.init).joined(separator: ","))\n"
            }
        }
        if !f.holders.isEmpty {
            out += "  held by:\n"
            let leaders = Set(plan.leaders.map(\.pid))
            for p in f.holders {
                var line = "    pid \(p.pid) \(p.name)  ppid \(p.ppid)  user \(p.user ?? "?")"
                if leaders.contains(p.pid) { line += "  [leader]" }
                if let unit = p.unit { line += "  unit \(unit)" }
                if let c = p.container { line += "  container \(c.prefix(12))" }
                // The command line in full is in the JSON; the plan keeps each holder to two lines.
                let cmdline = p.cmdline.count > 150 ? p.cmdline.prefix(149) + "…" : Substring(p.cmdline)
                out += line + "\n      \(cmdline.isEmpty ? "-" : cmdline)\n"
            }
            if let parent = plan.commonParent { out += "  common parent: \(parent.label)\n" }
        }
        if !plan.units.isEmpty {
            out +=
                "  units: "
                + plan.units.map { name in
                    let u = f.units[name]
                    return name
                        + (u.map { " (\($0.activeState), \($0.unitFileState.isEmpty ? "-" : $0.unitFileState), Restart=\($0.restart))" }
                            ?? "")
                }.joined(separator: ", ") + "\n"
        }
        for c in f.containers { out += "  container: \(c.runtime) \(c.label) restart policy \(c.restartPolicy ?? "unknown")\n" }
        for p in f.publications { out += "  published: \(p.summary)\n" }
        out += "  method: " + style.paint(plan.method?.rawValue ?? "none", "1") + " — \(plan.reason)\n"
        if !plan.steps.isEmpty {
            out += "  steps:\n"
            for (i, step) in plan.steps.enumerated() { out += "    \(i + 1). \(step.summary)\n" }
        }
        for line in plan.comesBack { out += "  comes back: \(line)\n" }
        for note in plan.notes { out += "  note: \(note)\n" }
        for r in plan.refusals {
            let forced = plan.request.force && r.overridable
            out += style.paint("  \(forced ? "overridden by --force" : "refused"): \(r.reason)", forced ? "33" : "31")
            out += r.overridable && !forced ? " (--force overrides)\n" : "\n"
        }
        sink.write(out)
    }

    /// What acting did, and the verification.
    public static func writeResult(_ result: CloseResult, style: TableStyle, to sink: inout OutputSink) {
        var out = ""
        for (i, o) in result.outcomes.enumerated() {
            let color = o.status == .done ? "32" : o.status == .failed ? "31" : "33"
            out += "  \(i + 1). " + style.paint(o.status.rawValue, color) + ": \(o.summary)\n"
            if !o.detail.isEmpty { out += "     \(o.detail)\n" }
        }
        if let v = result.verification {
            out += "  verified: " + style.paint(v.status.rawValue, v.succeeded ? "32" : "31") + " — \(v.detail)\n"
            for p in v.stillHeldBy { out += "    still held by \(p.label) \(p.cmdline)\n" }
        }
        out += "  took \(result.elapsedMilliseconds) ms"
        out += result.journalID.map { "; journaled as close \($0): undo with `portcullis close --undo \($0)`\n" } ?? "; not journaled\n"
        sink.write(out)
    }

    /// What `--undo` did.
    public static func writeUndo(_ report: CloseUndoReport, style: TableStyle, to sink: inout OutputSink) {
        var out = style.paint("Undo close \(report.id) (\(report.target) in namespace \(report.namespace))", "1") + "\n"
        if report.outcomes.isEmpty { out += "  nothing was changed by it, so nothing is reverted\n" }
        for o in report.outcomes {
            let color = o.status == .reverted ? "32" : o.status == .failed ? "31" : "33"
            out += "  " + style.paint(o.status.rawValue, color) + ": \(o.undo.summary)"
            out += o.detail.isEmpty ? "\n" : "\n    \(o.detail)\n"
        }
        sink.write(out)
    }

    /// One journal entry as `--journal` lists it.
    public struct JournalLine: Sendable {
        /// Its id.
        public var id: Int64
        /// When it acted, ms since the epoch.
        public var time: Int64
        /// `8080/tcp`.
        public var target: String
        /// The namespace.
        public var namespace: String
        /// The method.
        public var method: String
        /// When it was undone, if it was.
        public var undoneTime: Int64?

        /// A line.
        public init(id: Int64, time: Int64, target: String, namespace: String, method: String, undoneTime: Int64?) {
            self.id = id
            self.time = time
            self.target = target
            self.namespace = namespace
            self.method = method
            self.undoneTime = undoneTime
        }
    }

    /// The journal as a table, newest first.
    public static func writeJournal(_ lines: [JournalLine], style: TableStyle, to sink: inout OutputSink) {
        guard !lines.isEmpty else {
            sink.write("No close has been journaled.\n")
            return
        }
        var table = TextTable(headers: ["ID", "TIME", "TARGET", "NAMESPACE", "METHOD", "UNDONE"])
        for l in lines {
            table.append([
                String(l.id), Timestamp.iso8601(l.time / 1000), l.target, l.namespace, l.method,
                l.undoneTime.map { Timestamp.iso8601($0 / 1000) } ?? "-",
            ])
        }
        table.write(style, to: &sink)
    }

    /// The journal as JSON.
    public static func json(_ lines: [JournalLine]) -> JSONValue {
        .array(
            lines.map {
                .object([
                    ("id", .int($0.id)), ("time", .string(Timestamp.iso8601($0.time / 1000))), ("target", .string($0.target)),
                    ("namespace", .string($0.namespace)), ("method", .string($0.method)),
                    ("undone", $0.undoneTime.map { .string(Timestamp.iso8601($0 / 1000)) } ?? .null),
                ])
            })
    }
}
