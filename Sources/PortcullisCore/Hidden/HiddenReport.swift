/// A sign, beside the findings, that the tools reading the socket tables
/// may be lied to.
public struct TamperHint: Sendable, Hashable {
    /// What was seen; the raw value is the JSON `kind`.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// /etc/ld.so.preload exists.
        case ldSoPreload = "ld_so_preload"
        /// LD_PRELOAD is set in portcullis's own environment.
        case ldPreloadEnv = "ld_preload_env"
        /// A process holding a hidden socket runs with LD_PRELOAD.
        case ownerLdPreload = "owner_ld_preload"
        /// A /proc/net table read through libc lacks rows that raw reads return.
        case libcReadDiffers = "libc_read_differs"
    }

    /// What kind of evidence this is.
    public var kind: Kind
    /// The evidence in a sentence, with the path, variable or pid it concerns.
    public var detail: String

    /// A hint of `kind`, described by `detail`.
    public init(kind: Kind, detail: String) {
        self.kind = kind
        self.detail = detail
    }

    /// Rows that raw system calls returned (twice, around the libc read) but
    /// that the same file read through libc lacked, per /proc/net table.
    public struct LibcDifference: Sendable, Hashable {
        /// The table read both ways, such as `/proc/net/tcp`.
        public var table: String
        /// Its protocol.
        public var proto: TransportProtocol
        /// Its address family.
        public var family: AddressFamily
        /// Local ports in the direct read and missing from the read through libc.
        public var missingPorts: [UInt16]
        /// One table's difference.
        public init(table: String, proto: TransportProtocol, family: AddressFamily, missingPorts: [UInt16]) {
            self.table = table
            self.proto = proto
            self.family = family
            self.missingPorts = missingPorts
        }
    }

    /// The hints worth showing beside a hidden-port report.
    public static func hints(_ evidence: TamperEvidence, libcDifferences: [LibcDifference]) -> [TamperHint] {
        var hints: [TamperHint] = []
        if let preload = evidence.ldSoPreload {
            hints.append(
                TamperHint(
                    kind: .ldSoPreload,
                    detail:
                        "/etc/ld.so.preload exists (\(preload.isEmpty ? "empty" : preload)): a library is injected into every dynamically linked program, which can hide ports from ss, netstat and lsof"
                ))
        }
        if let preload = evidence.ownPreload {
            hints.append(
                TamperHint(
                    kind: .ldPreloadEnv,
                    detail: "LD_PRELOAD=\(preload) is set in portcullis's environment; a static portcullis build is immune to it"))
        }
        for (pid, preload) in evidence.listenerPreloads.sorted(by: { $0.key < $1.key }) {
            hints.append(
                TamperHint(
                    kind: .ownerLdPreload,
                    detail: "pid \(pid), holding a hidden socket, runs with LD_PRELOAD=\(UntrustedText.escape(Array(preload.utf8)))"))
        }
        for difference in libcDifferences where !difference.missingPorts.isEmpty {
            let ports = difference.missingPorts.map(String.init).joined(separator: ", ")
            hints.append(
                TamperHint(
                    kind: .libcReadDiffers,
                    detail:
                        "\(difference.table) read through libc lacks rows that direct system calls return (local port \(ports)): a library interposing libc (LD_PRELOAD) filters what this and other dynamically linked programs see"
                ))
        }
        return hints
    }
}

/// The result of `portcullis hidden`, and its renderings.
public struct HiddenReport: Sendable {
    /// Bind probe counts for one (proto, family).
    public struct Sweep: Sendable, Hashable {
        /// The protocol swept.
        public var proto: TransportProtocol
        /// The address family swept.
        public var family: AddressFamily
        /// Ports a bind probe found in use that no table listed: the candidates.
        public var inUse = 0
        /// Held by a socket the first table dump lists, so not probed.
        public var listed = 0
        /// Ports the bind probe found free.
        public var free = 0
        /// Ports not probed (the sweep was cut short or the port is reserved).
        public var notProbed = 0
        /// Ports whose probe failed with an unexpected error.
        public var errors = 0
        /// An empty tally for one protocol and family.
        public init(proto: TransportProtocol, family: AddressFamily) {
            self.proto = proto
            self.family = family
        }
    }

    /// What was found: alarms (hidden ports and processes) and notices.
    public var findings: [HiddenFinding]
    /// What could not be checked, and why.
    public var diagnostics: [Diagnostic]
    /// The bind-probe tally per protocol and family.
    public var sweeps: [Sweep]
    /// Candidates found in the first pass, before re-verification.
    public var candidates: Int
    /// How many rounds of re-verification ran.
    public var rounds: Int
    /// How long the check took.
    public var durationMilliseconds: Int64
    /// Signs of a userland rootkit seen on the way (preloads, libc reads that differ).
    public var tamperHints: [TamperHint]
    /// Pids up to pid_max looked up directly for the hidden-process check
    /// (0 when it could not run, or when `tasksCounted` made it needless).
    public var pidsChecked: Int
    /// The tasks the kernel counts, when the listed processes' threads were
    /// exactly that many: no process could be hidden from the listing, and
    /// no pid was looked up (0 when that could not be shown; see `TaskCensus`).
    public var tasksCounted: Int
    /// Other network namespaces whose ports were probed from inside (`--all-netns`), by name.
    public var namespacesProbed: [String] = []

    /// A report from its parts.
    public init(
        findings: [HiddenFinding], diagnostics: [Diagnostic], sweeps: [Sweep], candidates: Int, rounds: Int,
        durationMilliseconds: Int64, tamperHints: [TamperHint] = [], pidsChecked: Int = 0, tasksCounted: Int = 0
    ) {
        self.tamperHints = tamperHints
        self.pidsChecked = pidsChecked
        self.tasksCounted = tasksCounted
        self.findings = findings
        self.diagnostics = diagnostics
        self.sweeps = sweeps
        self.candidates = candidates
        self.rounds = rounds
        self.durationMilliseconds = durationMilliseconds
    }

    /// True when some finding is an alarm (a hidden port or process), not only a notice.
    public var foundSomethingHidden: Bool { findings.contains { $0.alarm } }

    /// Counts per swept (proto, family), in a stable order.
    public static func sweeps(of sweep: BindSweep, portCount: Int) -> [Sweep] {
        var out: [Sweep] = []
        for proto in [TransportProtocol.tcp, .udp] {
            for family in AddressFamily.allCases where sweep.pairs.contains(.init(proto, family)) {
                var s = Sweep(proto: proto, family: family)
                for (key, outcome) in sweep.outcomes where key.proto == proto && key.family == family {
                    switch outcome {
                    case .inUse: s.inUse += 1
                    case .listed: s.listed += 1
                    case .notProbed: s.notProbed += 1
                    case .error: s.errors += 1
                    case .free: break
                    }
                }
                s.free = portCount - s.inUse - s.listed - s.notProbed - s.errors
                out.append(s)
            }
        }
        return out
    }
}

/// Renders the hidden check: text for people, JSON and NDJSON.
public enum HiddenRenderer {
    /// One finding as a JSON object (README "hidden: JSON fields").
    public static func json(_ finding: HiddenFinding) -> JSONValue {
        .object([
            ("kind", .string(finding.kind.rawValue)),
            ("proto", .optional(finding.key?.proto.rawValue)),
            ("family", .optional(finding.key?.family.rawValue)),
            ("port", .optional(finding.key?.port)),
            ("inode", .optional(finding.inode)),
            ("technique", .string(finding.technique.rawValue)),
            ("alarm", .bool(finding.alarm)),
            ("seen_by", .array(finding.seenBy.map { .string($0.rawValue) })),
            ("not_seen_by", .array(finding.notSeenBy.map { .string($0.rawValue) })),
            ("owner_pids", .array(finding.ownerPIDs.map { .int(Int64($0)) })),
            ("explanation", .string(finding.explanation)),
        ])
    }

    static func json(_ sweep: HiddenReport.Sweep) -> JSONValue {
        .object([
            ("proto", .string(sweep.proto.rawValue)), ("family", .string(sweep.family.rawValue)),
            ("in_use", .int(Int64(sweep.inUse))), ("listed", .int(Int64(sweep.listed))), ("free", .int(Int64(sweep.free))),
            ("not_probed", .int(Int64(sweep.notProbed))), ("errors", .int(Int64(sweep.errors))),
        ])
    }

    static func summaryFields(_ report: HiddenReport) -> [(String, JSONValue)] {
        [
            ("clean", .bool(!report.foundSomethingHidden)),
            ("rounds", .int(Int64(report.rounds))),
            ("candidates", .int(Int64(report.candidates))),
            ("duration_ms", .int(report.durationMilliseconds)),
            ("bind_probes", .array(report.sweeps.map(json))),
            ("pids_checked", .int(Int64(report.pidsChecked))),
            ("tasks_counted", .int(Int64(report.tasksCounted))),
            ("netns_probed", .array(report.namespacesProbed.map(JSONValue.string))),
            (
                "tamper_hints",
                .array(report.tamperHints.map { .object([("kind", .string($0.kind.rawValue)), ("detail", .string($0.detail))]) })
            ),
        ]
    }

    /// The report as one JSON document.
    public static func writeJSON(_ report: HiddenReport, to out: inout OutputSink) { out.writeDocument(json(report)) }

    /// One JSON value: the summary fields, the findings, the diagnostics.
    public static func json(_ report: HiddenReport) -> JSONValue {
        .object(
            summaryFields(report) + [
                ("findings", .array(report.findings.map(json))),
                ("diagnostics", .array(report.diagnostics.map(InventoryRenderer.json))),
            ])
    }

    /// One line per finding (`"type":"finding"`), then one summary line
    /// (`"type":"summary"`), so a consumer can tell "clean" from "cut short".
    public static func writeNDJSON(_ report: HiddenReport, to out: inout OutputSink) {
        for finding in report.findings {
            guard case .object(let fields) = json(finding) else { continue }
            out.writeLine(.object([("type", .string("finding"))] + fields))
        }
        out.writeLine(
            .object(
                [("type", .string("summary"))] + summaryFields(report)
                    + [("diagnostics", .array(report.diagnostics.map(InventoryRenderer.json)))]))
    }

    /// The human report.
    public static func writeText(_ report: HiddenReport, style: TableStyle, to sink: inout OutputSink) {
        var out = ""
        let ports = report.findings.filter { $0.alarm && $0.key != nil }
        let processes = report.findings.filter { $0.technique == .processHiddenFromListing }
        let notices = report.findings.filter { !$0.alarm }
        if ports.isEmpty {
            let partial = report.sweeps.contains { $0.notProbed > 0 || $0.errors > 0 }
            out +=
                style.paint("No hidden ports", "32")
                + (partial
                    ? " among the ports probed (some could not be: see the warnings).\n"
                    : ": every port in use is listed by netlink and /proc/net.\n")
        } else {
            out += style.paint("\(ports.count) hidden port\(ports.count == 1 ? "" : "s")", "1;31") + "\n"
            var table = TextTable(headers: ["PORT", "PROTO", "FAMILY", "SEEN BY", "NOT SEEN BY", "OWNER PIDS"])
            for f in ports {
                guard let key = f.key else { continue }
                table.append(
                    [
                        String(key.port), key.proto.rawValue, key.family.rawValue,
                        f.seenBy.map(\.label).joined(separator: ", "), f.notSeenBy.map(\.label).joined(separator: ", "),
                        f.ownerPIDs.isEmpty ? "-" : f.ownerPIDs.map(String.init).joined(separator: ","),
                    ], color: "31")
            }
            sink.write(out)
            out = ""
            table.write(style, to: &sink)
            for f in ports { if let key = f.key { out += "  \(key): \(f.explanation)\n" } }
        }
        if !processes.isEmpty {
            out += style.paint("\(processes.count) process\(processes.count == 1 ? "" : "es") hidden from the /proc listing", "1;31") + "\n"
            for f in processes { out += "  \(f.explanation)\n" }
        }
        for hint in report.tamperHints { out += style.paint("tamper hint: ", "33") + hint.detail + "\n" }
        for f in notices { out += "notice: \(f.explanation)\n" }
        let swept = report.sweeps.map { "\($0.proto.rawValue)/\($0.family.rawValue) \($0.listed) listed, \($0.inUse) more in use" }.joined(
            separator: ", ")
        var pids =
            report.pidsChecked > 0
            ? "; looked up \(report.pidsChecked) pids directly for hidden processes"
            : report.tasksCounted > 0 ? "; the listed processes hold all \(report.tasksCounted) tasks the kernel counts" : ""
        if !report.namespacesProbed.isEmpty {
            let count = report.namespacesProbed.count
            pids += "; probed \(count) other network namespace\(count == 1 ? "" : "s") from inside"
        }
        out +=
            "Checked 65535 ports per protocol and family (\(swept))\(pids); \(report.candidates) candidate\(report.candidates == 1 ? "" : "s") re-verified over \(report.rounds) round\(report.rounds == 1 ? "" : "s") in \(report.durationMilliseconds) ms.\n"
        sink.write(out)
    }
}
