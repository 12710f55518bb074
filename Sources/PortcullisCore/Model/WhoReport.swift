/// `portcullis who PORT[/PROTO]`: every socket on a port, its owners, and
/// each owner's parent chain.
public struct WhoReport: Sendable {
    /// Whether the port is the socket's own or its peer's.
    public enum Role: String, Sendable { case local, remote }

    /// One socket on the port, with its owners' ancestry.
    public struct Item: Sendable {
        /// The socket and its owners.
        public var entry: InventoryEntry
        /// `local`: the port is this socket's own; `remote`: an outgoing
        /// connection to that port elsewhere (as `lsof -i :PORT` shows).
        public var role: Role
        /// For each owner pid: its parents, nearest first, up to PID 1.
        public var ancestors: [Int32: [SocketOwner]]

        /// A socket found on the port.
        public init(entry: InventoryEntry, role: Role, ancestors: [Int32: [SocketOwner]]) {
            self.entry = entry
            self.role = role
            self.ancestors = ancestors
        }
    }

    /// The port asked about.
    public var port: UInt16
    /// The protocol asked about, or nil for any.
    public var proto: TransportProtocol?
    /// Every socket on the port, local ones first.
    public var items: [Item]

    /// A report from its parts.
    public init(port: UInt16, proto: TransportProtocol?, items: [Item]) {
        self.port = port
        self.proto = proto
        self.items = items
    }

    /// Something holds the port locally.
    public var isHeld: Bool { items.contains { $0.role == .local } }

    /// `22`, `22/tcp`, `53/udp`.
    public static func parseTarget(_ text: String) throws(FilterError) -> (UInt16, TransportProtocol?) {
        func fail(_ reason: String) -> FilterError { FilterError(option: "PORT", value: text, reason: reason) }
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2 else { throw fail("write PORT or PORT/tcp or PORT/udp, e.g. 22/tcp") }
        var proto: TransportProtocol?
        if parts.count == 2 {
            // RAW sockets have no port to look up.
            guard let named = TransportProtocol(rawValue: parts[1].lowercased()), named != .raw else {
                throw fail("unknown protocol '\(parts[1])'; use tcp or udp, e.g. 53/udp")
            }
            proto = named
        }
        let number = parts[0]
        guard !number.isEmpty, number.count <= 5, number.allSatisfy({ $0.isASCII && $0.isNumber }), let v = UInt32(number) else {
            throw fail("'\(number)' is not a port number; use 1-65535, e.g. 22 or 22/tcp")
        }
        guard v >= 1 && v <= 65535 else { throw fail("port \(v) is out of range; use 1-65535") }
        return (UInt16(v), proto)
    }
}

extension InventoryRenderer {
    static func ancestorJSON(_ a: SocketOwner) -> JSONValue {
        .object([
            ("pid", .int(Int64(a.pid))), ("ppid", .int(Int64(a.ppid))), ("name", .string(a.name)),
            ("cmdline", .string(a.cmdline)), ("user", .optional(a.user)), ("unit", .optional(a.unit)),
        ])
    }

    /// The answer as one JSON document.
    public static func writeJSON(_ report: WhoReport, to out: inout OutputSink) { out.writeDocument(json(report)) }

    /// The answer as one JSON value: the port, whether it is held, and each socket with its owners' ancestry.
    public static func json(_ report: WhoReport) -> JSONValue {
        .object([
            ("port", .int(Int64(report.port))),
            ("proto", .optional(report.proto?.rawValue)),
            ("held", .bool(report.isHeld)),
            (
                "sockets",
                .array(
                    report.items.map { item in
                        guard case .object(var fields) = json(item.entry) else { return .null }
                        fields.insert(("role", .string(item.role.rawValue)), at: 0)
                        if let index = fields.firstIndex(where: { $0.0 == "owners" }) {
                            fields[index].1 = .array(
                                item.entry.owners.map { owner in
                                    guard case .object(var o) = json(owner) else { return .null }
                                    o.append(("ancestors", .array((item.ancestors[owner.pid] ?? []).map(ancestorJSON))))
                                    return .object(o)
                                })
                        }
                        return .object(fields)
                    })
            ),
        ])
    }

    /// The human answer: one block per socket, owners with full detail.
    public static func writeWho(_ report: WhoReport, style: TableStyle, to sink: inout OutputSink) {
        let what = "port \(report.port)" + (report.proto.map { "/\($0.rawValue)" } ?? "")
        guard !report.items.isEmpty else {
            sink.write("Nothing holds \(what).\n")
            return
        }
        var out = ""
        for item in report.items {
            let e = item.entry
            let s = e.socket
            let proto = s.proto.rawValue + (s.family == .ipv6 ? "6" : "")
            let local = address(s.localAddress, port: s.localPort, proto: s.proto)
            var head = "\(proto) \(local)"
            if !s.isListening || s.proto == .tcp && s.state != .listen {
                head += " -> \(address(s.remoteAddress, port: s.remotePort, proto: s.proto))"
            }
            head += "  \(s.stateName)"
            if item.role == .remote { head += "  (outgoing connection to \(what))" }
            out += style.paint(head, "1") + "\n"
            out += "  service: \(e.service ?? "-")   exposure: \(e.exposure.rawValue)   class: \(e.portClass.rawValue)"
            out += e.inEphemeralRange ? " (inside the ephemeral range)" : ""
            out += "   uid: \(s.uid)\(e.user.map { " (\($0))" } ?? "")   inode: \(s.inode)\n"
            if e.owners.isEmpty {
                out += "  owner: none — \(e.unownedReason?.explanation ?? "unknown")\n"
            }
            for owner in e.owners {
                out += "  pid \(owner.pid) \(owner.name)  user \(owner.user ?? owner.uid.map(String.init) ?? "?")"
                out += "  fd \(owner.fds.map(String.init).joined(separator: ","))\n"
                out += "    cmdline: \(owner.cmdline.isEmpty ? "-" : owner.cmdline)\n"
                var exe = owner.exe ?? "- (not readable)"
                if owner.exeDeleted { exe += style.paint("  [deleted from disk]", "31") }
                if owner.exeReplaced { exe += style.paint("  [replaced on disk since start]", "31") }
                out += "    exe: \(exe)\n"
                if let start = owner.startTime { out += "    started: \(Timestamp.iso8601(start))\n" }
                out += "    unit: \(owner.unit ?? "-")"
                if let container = owner.containerReference {
                    out += "   container: \(container.runtime.rawValue) \(container.name ?? "-")"
                    if let id = container.id { out += " (\(id.prefix(12)))" }
                    if let image = container.image { out += " image \(image)" }
                    if let pod = container.pod { out += " pod \(pod.namespace ?? "?")/\(pod.name ?? pod.uid)" }
                } else if let container = owner.container {
                    out += "   container: \(container)"
                }
                if let netns = owner.netnsInode { out += "   netns: \(netns)" }
                out += "\n"
                let chain = item.ancestors[owner.pid] ?? []
                if !chain.isEmpty {
                    let links = chain.map { "\($0.name)[\($0.pid)]" + ($0.unit.map { " (\($0))" } ?? "") }
                    out += "    parents: " + links.joined(separator: " <- ") + "\n"
                }
            }
        }
        sink.write(out)
    }
}
