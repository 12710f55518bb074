/// Renders an inventory in every output format. The JSON field names here
/// are the documented, stable contract (README "JSON fields").
public enum InventoryRenderer {
    /// `127.0.0.1:22`, `[::1]:631`, `0.0.0.0:*` for an unset port. RAW
    /// sockets have no port (the kernel puts the IP protocol there), so `*`.
    public static func address(_ address: IPAddress, port: UInt16, proto: TransportProtocol) -> String {
        let host = address.kind == .v6 ? "[\(address)]" : address.description
        return "\(host):\(port == 0 || proto == .raw ? "*" : String(port))"
    }

    /// IANA names of the IP protocols raw sockets commonly carry.
    public static func ipProtocolName(_ number: UInt8) -> String {
        let names: [UInt8: String] = [
            1: "icmp", 2: "igmp", 6: "tcp", 17: "udp", 41: "ipv6", 47: "gre", 50: "esp",
            58: "ipv6-icmp", 89: "ospf", 112: "vrrp", 132: "sctp", 255: "raw",
        ]
        return names[number].map { "\($0) (\(number))" } ?? "protocol \(number)"
    }

    /// The socket object (README "JSON fields").
    public static func json(_ entry: InventoryEntry) -> JSONValue { json(entry, extra: []) }

    /// The socket object, with `extra` fields (such as a verdict) appended.
    public static func json(_ entry: InventoryEntry, extra: [(String, JSONValue)]) -> JSONValue {
        let s = entry.socket
        var fields: [(String, JSONValue)] = [
            ("proto", .string(s.proto.rawValue)),
            ("family", .string(s.family.rawValue)),
            ("local_address", .string(s.localAddress.description)),
            ("local_port", .int(Int64(s.localPort))),
            ("remote_address", .string(s.remoteAddress.description)),
            ("remote_port", .int(Int64(s.remotePort))),
            ("state", .string(s.stateName)),
            ("listening", .bool(s.isListening)),
            ("v6only", .optional(s.v6only)),
            ("inode", .int(Int64(s.inode))),
            ("uid", .int(Int64(s.uid))),
            ("user", .optional(entry.user)),
            ("port_class", .string(entry.portClass.rawValue)),
            ("in_ephemeral_range", .bool(entry.inEphemeralRange)),
            ("service", .optional(entry.service)),
            ("exposure", .string(entry.exposure.rawValue)),
            ("interface_index", .int(Int64(s.interfaceIndex))),
            ("raw_protocol", .optional(s.rawProtocol)),
            ("receive_queue", .int(Int64(s.receiveQueue))),
            ("send_queue", .int(Int64(s.sendQueue))),
            ("owners", .array(entry.owners.map(json))),
        ]
        fields.append(("unowned_reason", .optional(entry.unownedReason?.rawValue)))
        fields.append(("netns", entry.namespace.map(json) ?? .null))
        return .object(fields + extra)
    }

    /// An owner object: the process, its executable, user, unit and container.
    public static func json(_ owner: SocketOwner) -> JSONValue {
        .object([
            ("pid", .int(Int64(owner.pid))),
            ("ppid", .int(Int64(owner.ppid))),
            ("name", .string(owner.name)),
            ("cmdline", .string(owner.cmdline)),
            ("exe", .optional(owner.exe)),
            ("exe_deleted", .bool(owner.exeDeleted)),
            ("exe_replaced", .bool(owner.exeReplaced)),
            ("exe_directory_world_writable", .bool(owner.exeDirectoryWorldWritable)),
            ("uid", .optional(owner.uid)),
            ("user", .optional(owner.user)),
            ("start_time", .optional(owner.startTime.map(Timestamp.iso8601))),
            ("unit", .optional(owner.unit)),
            ("container", .optional(owner.container)),
            ("container_info", owner.containerReference.map(json) ?? .null),
            ("netns", .optional(owner.netnsInode)),
            ("fds", .array(owner.fds.map { .int(Int64($0)) })),
        ])
    }

    /// `{"runtime", "id", "name", "image", "rootless_uid", "pod", "published_ports"}`: the container an owner runs in.
    public static func json(_ container: ContainerReference) -> JSONValue {
        .object([
            ("runtime", .string(container.runtime.rawValue)),
            ("id", .optional(container.id)),
            ("name", .optional(container.name)),
            ("image", .optional(container.image)),
            ("rootless_uid", .optional(container.rootlessUID)),
            (
                "pod",
                container.pod.map {
                    .object([("uid", .string($0.uid)), ("namespace", .optional($0.namespace)), ("name", .optional($0.name))])
                }
                    ?? .null
            ),
            (
                "published_ports",
                .array(
                    container.publishedPorts.map { port in
                        .object([
                            ("container_port", .int(Int64(port.containerPort))), ("protocol", .string(port.portProtocol.rawValue)),
                            ("host_address", .optional(port.hostAddress)), ("host_port", .optional(port.hostPorts?.lowerBound)),
                            ("host_port_end", .optional(port.hostPorts?.upperBound)),
                        ])
                    })
            ),
        ])
    }

    /// `{"inode", "name", "kind"}`: a socket's network namespace.
    public static func json(_ namespace: NetworkNamespace) -> JSONValue {
        .object([
            ("inode", .int(Int64(bitPattern: namespace.inode))), ("name", .optional(namespace.name)),
            ("kind", .string(namespace.kind.rawValue)),
        ])
    }

    /// `{"severity", "message"}`.
    public static func json(_ diagnostic: Diagnostic) -> JSONValue {
        .object([("severity", .string(diagnostic.severity.rawValue)), ("message", .string(diagnostic.message))])
    }

    /// `{"source": ..., "sockets": [...], "diagnostics": [...]}`, written
    /// entry by entry, so a draining sink keeps memory flat however many
    /// sockets there are. `extra` appends fields to each socket (the
    /// overview's verdict).
    public static func writeJSON(
        _ inventory: Inventory, entries: [InventoryEntry],
        extra: (InventoryEntry) -> [(String, JSONValue)] = { _ in [] },
        to out: inout OutputSink
    ) {
        out.write("{\n  \"source\": ")
        out.writeJSONString(inventory.source)
        out.write(",\n  \"sockets\": [")
        for (k, entry) in entries.enumerated() {
            if k > 0 { out.write(byte: 0x2c) }
            out.writeJSONNewline(indent: 2)
            out.write(json(entry, extra: extra(entry)), pretty: true, indent: 2)
        }
        if !entries.isEmpty { out.writeJSONNewline(indent: 1) }
        out.write("],\n  \"diagnostics\": ")
        out.write(JSONValue.array(inventory.diagnostics.map(json)), pretty: true, indent: 1)
        out.write("\n}\n")
    }

    /// One socket object per line.
    public static func writeNDJSON(
        _ entries: [InventoryEntry], extra: (InventoryEntry) -> [(String, JSONValue)] = { _ in [] },
        to out: inout OutputSink
    ) {
        for entry in entries { out.writeLine(json(entry, extra: extra(entry))) }
    }

    /// The CSV columns, in order: the first line of `writeCSV`.
    public static let csvHeader = [
        "proto", "family", "local_address", "local_port", "remote_address", "remote_port", "state",
        "v6only", "inode", "uid", "user", "port_class", "in_ephemeral_range", "service", "exposure",
        "unowned_reason", "owner_pids", "owner_names", "owner_users", "owner_exes", "owner_units",
        "owner_containers", "owner_cmdlines", "netns_inode", "netns_name",
    ]

    /// Flat rows; several owners are joined with ";". With `verdict`, two
    /// more columns: verdict and verdict_reason.
    public static func writeCSV(
        _ entries: [InventoryEntry], verdict: ((InventoryEntry) -> (verdict: String, reason: String))? = nil, to out: inout OutputSink
    ) {
        out.write(CSV.row(csvHeader + (verdict == nil ? [] : ["verdict", "verdict_reason"])))
        for e in entries {
            let judged = verdict.map { $0(e) }
            let verdictCells = judged.map { [$0.verdict, $0.reason] } ?? []
            let s = e.socket
            let o = e.owners
            out.write(
                CSV.row(
                    [
                        s.proto.rawValue, s.family.rawValue, s.localAddress.description, String(s.localPort),
                        s.remoteAddress.description, String(s.remotePort), s.stateName,
                        s.v6only.map { String($0) } ?? "", String(s.inode), String(s.uid), e.user ?? "",
                        e.portClass.rawValue, String(e.inEphemeralRange), e.service ?? "", e.exposure.rawValue,
                        e.unownedReason?.rawValue ?? "",
                        o.map { String($0.pid) }.joined(separator: ";"),
                        o.map(\.name).joined(separator: ";"),
                        o.map { $0.user ?? "" }.joined(separator: ";"),
                        o.map { $0.exe ?? "" }.joined(separator: ";"),
                        o.map { $0.unit ?? "" }.joined(separator: ";"),
                        o.map { $0.container ?? "" }.joined(separator: ";"),
                        o.map(\.cmdline).joined(separator: ";"),
                        e.namespace.map { String($0.inode) } ?? "", e.namespace?.name ?? "",
                    ] + verdictCells))
        }
    }

    /// Owners in a few words: `nginx[100,101,+3] nginx.service`.
    public static func ownerSummary(_ entry: InventoryEntry) -> String {
        guard !entry.owners.isEmpty else {
            return "- (\(entry.unownedReason.map(shortReason) ?? "no owner"))"
        }
        var groups: [(name: String, pids: [Int32])] = []
        for owner in entry.owners {
            if let i = groups.firstIndex(where: { $0.name == owner.name }) {
                groups[i].pids.append(owner.pid)
            } else {
                groups.append((owner.name, [owner.pid]))
            }
        }
        var text = groups.map { group -> String in
            let shown = group.pids.prefix(3).map(String.init)
            let more = group.pids.count > 3 ? ",+\(group.pids.count - 3)" : ""
            return "\(group.name)[\(shown.joined(separator: ","))\(more)]"
        }.joined(separator: " ")
        if let first = entry.owners.first {
            if first.exeDeleted { text += " (exe deleted)" } else if first.exeReplaced { text += " (exe replaced)" }
        }
        return text
    }

    static func shortReason(_ reason: UnownedReason) -> String {
        switch reason {
        case .notPermitted: return "not permitted"
        case .kernelSocket: return "kernel socket"
        case .otherPIDNamespace: return "other PID namespace"
        case .gone: return "gone"
        case .noProcessState: return "no process"
        case .notCollected: return "not collected"
        }
    }

    /// The aligned terminal table. `allStates` adds REMOTE and STATE columns;
    /// `verdict`, when given, adds a VERDICT column.
    public static func writeTable(
        _ entries: [InventoryEntry], allStates: Bool, style: TableStyle,
        verdict: ((InventoryEntry) -> (text: String, color: String?))? = nil, to out: inout OutputSink
    ) {
        // Namespaces get a column when the sockets span more than one, or
        // are in another than portcullis's own (a container's).
        let firstNamespace = entries.first?.namespace?.inode
        let namespaced = entries.contains { $0.namespace?.inode != firstNamespace || $0.isInOtherNamespace }
        var headers = namespaced ? ["NETNS", "PROTO", "LOCAL"] : ["PROTO", "LOCAL"]
        if allStates { headers += ["REMOTE", "STATE"] }
        headers += ["SERVICE", "EXPOSURE", "CLASS", "USER", "OWNER", "UNIT"]
        if verdict != nil { headers.append("VERDICT") }
        var table = TextTable(headers: headers)
        table.rows.reserveCapacity(entries.count)
        for e in entries {
            let s = e.socket
            let proto = s.proto.rawValue + (s.family == .ipv6 ? "6" : "")
            var row: [String] = []
            row.reserveCapacity(headers.count)  // one allocation per row, not one per += and append
            if namespaced { row.append(e.namespace?.label ?? "-") }
            row += [proto, address(s.localAddress, port: s.localPort, proto: s.proto)]
            if allStates { row += [address(s.remoteAddress, port: s.remotePort, proto: s.proto), s.stateName] }
            let units = Set(e.owners.compactMap(\.unit))
            var unit = units.sorted().joined(separator: ",")
            if let container = e.owners.lazy.compactMap(\.containerReference).first {
                unit += (unit.isEmpty ? "" : " ") + "ctr:" + container.displayName
            } else if let container = e.owners.lazy.compactMap(\.container).first {
                unit += (unit.isEmpty ? "" : " ") + "ctr:" + container.prefix(12)
            }
            row += [
                s.proto == .raw ? ipProtocolName(s.rawProtocol ?? 0) : (e.service ?? "-"),
                e.exposure.shortLabel, classLabel(e), e.user ?? String(s.uid), ownerSummary(e), unit.isEmpty ? "-" : unit,
            ]
            var color: String? = nil
            if let verdict {
                let v = verdict(e)
                row.append(v.text)
                color = v.color
            } else if e.owners.isEmpty && e.unownedReason != .noProcessState {
                color = "2"
            }
            table.append(row, color: color)
        }
        table.write(style, to: &out)
    }

    /// The overview's table: each audited listener's entry with a VERDICT
    /// column (`high: exposed-datastore`) painted in the verdict's colour.
    /// The `overview` command prints exactly this.
    public static func writeOverviewTable(_ listeners: [AuditedListener], style: TableStyle, to out: inout OutputSink) {
        let byInode = Dictionary(listeners.map { ($0.entry.socket.inode, $0) }, uniquingKeysWith: { first, _ in first })
        writeTable(
            listeners.map(\.entry), allStates: false, style: style,
            verdict: { entry in
                guard let listener = byInode[entry.socket.inode] else { return ("-", nil) }
                return ("\(listener.verdict.jsonName): \(listener.verdictReason)", listener.verdict.colorCode)
            }, to: &out)
    }

    static func classLabel(_ e: InventoryEntry) -> String {
        let base: String
        switch e.portClass {
        case .system: base = "system"
        case .registered: base = "registered"
        case .dynamic: base = "dynamic"
        }
        return e.inEphemeralRange ? base + "*" : base
    }
}

/// Times as RFC 3339 UTC text, computed without Foundation.
public enum Timestamp {
    /// `2026-11-27T07:30:00Z` for seconds since the epoch.
    public static func iso8601(_ seconds: Int64) -> String {
        let t = CivilTime(seconds)
        return "\(t.year)-\(two(t.month))-\(two(t.day))T\(two(t.hour)):\(two(t.minute)):\(two(t.second))Z"
    }

    /// The IMF-fixdate of HTTP's Date header (RFC 9110 §5.6.7): `Sun, 06 Nov 1994 08:49:37 GMT`.
    public static func httpDate(_ seconds: Int64) -> String {
        let t = CivilTime(seconds)
        let weekdays = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]  // 1970-01-01 was a Thursday
        let weekday = weekdays[Int(((t.days % 7) + 7) % 7)]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        return "\(weekday), \(two(t.day)) \(months[Int(t.month) - 1]) \(t.year) \(two(t.hour)):\(two(t.minute)):\(two(t.second)) GMT"
    }

    static func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }

    /// A UTC calendar date and time of day.
    struct CivilTime {
        var days, year, month, day, hour, minute, second: Int64

        init(_ seconds: Int64) {
            days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400
            let secondsOfDay = seconds - days * 86400
            // Civil-from-days (Howard Hinnant's algorithm).
            let z = days + 719468
            let era = (z >= 0 ? z : z - 146096) / 146097
            let doe = z - era * 146097
            let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
            let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
            let mp = (5 * doy + 2) / 153
            day = doy - (153 * mp + 2) / 5 + 1
            month = mp < 10 ? mp + 3 : mp - 9
            year = yoe + era * 400 + (month <= 2 ? 1 : 0)
            hour = secondsOfDay / 3600
            minute = secondsOfDay % 3600 / 60
            second = secondsOfDay % 60
        }
    }
}

extension Timestamp {
    /// RFC 3339 UTC with milliseconds: `2026-11-27T07:30:00.123Z`.
    public static func iso8601Milliseconds(_ milliseconds: Int64) -> String {
        let seconds = milliseconds >= 0 ? milliseconds / 1000 : (milliseconds - 999) / 1000
        let ms = milliseconds - seconds * 1000
        let base = iso8601(seconds)
        let digits = String(ms)
        return String(base.dropLast()) + "." + String(repeating: "0", count: 3 - digits.count) + digits + "Z"
    }

    /// Parses what `iso8601(_:)` writes (`YYYY-MM-DDTHH:MM:SSZ`), or nil.
    public static func parseISO8601(_ text: String) -> Int64? {
        let b = Array(text.utf8)
        guard b.count == 20, b[4] == 0x2d, b[7] == 0x2d, b[10] == 0x54, b[13] == 0x3a, b[16] == 0x3a, b[19] == 0x5a else { return nil }
        func number(_ range: Range<Int>) -> Int64? {
            var v: Int64 = 0
            for i in range {
                guard b[i] >= 0x30 && b[i] <= 0x39 else { return nil }
                v = v * 10 + Int64(b[i] - 0x30)
            }
            return v
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        // Days-from-civil (Howard Hinnant's algorithm).
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146097 + doe - 719468
        return days * 86400 + hour * 3600 + minute * 60 + second
    }
}
