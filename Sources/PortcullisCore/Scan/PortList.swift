/// The ports a scan probes, per protocol, ascending and each once.
///
/// From `-p` text (`PortList.parse`) or from `--top-ports N` (`PortList.top`).
/// A port list says which ports to probe *if* that protocol is scanned: the
/// caller probes `tcp` for a TCP scan and `udp` for a UDP scan.
public struct PortList: Sendable, Hashable {
    /// Ports to probe over TCP.
    public private(set) var tcp: [UInt16]
    /// Ports to probe over UDP.
    public private(set) var udp: [UInt16]
    /// The text named ports for TCP only (`T:`), so a caller that was not
    /// asked for a TCP scan can warn that they will not be probed.
    public private(set) var namesTCPOnly: Bool = false
    /// The text named ports for UDP only (`U:`); see `namesTCPOnly`.
    public private(set) var namesUDPOnly: Bool = false

    /// Sorts and de-duplicates both lists.
    public init(tcp: [UInt16], udp: [UInt16]) {
        self.tcp = Array(Set(tcp)).sorted()
        self.udp = Array(Set(udp)).sorted()
    }

    /// The ports for `proto` (none for RAW).
    public func ports(for proto: TransportProtocol) -> [UInt16] {
        switch proto {
        case .tcp: return tcp
        case .udp: return udp
        case .raw: return []
        }
    }
}

/// A `-p` or `--top-ports` value that cannot be used. `description` is the
/// message for the user: the option, the whole value, and what is wrong.
public struct PortListError: Error, Sendable, Hashable, CustomStringConvertible {
    /// `-p`, `--top-ports`, ... as the user typed it.
    public var option: String
    /// The whole value given to the option.
    public var value: String
    /// What is wrong and what is accepted.
    public var reason: String

    /// An error about `value` given to `option`.
    public init(option: String, value: String, reason: String) {
        self.option = option
        self.value = value
        self.reason = reason
    }

    /// `OPTION "VALUE": reason`, with the value escaped.
    public var description: String { "\(option) \"\(UntrustedText.escape(value))\": \(reason)" }
}

extension PortList {
    static let example = "give ports such as 22,80,8000-8100, or - for all"

    /// Parses nmap's `-p` syntax.
    ///
    /// - `22,80,8000-8100`: ports and inclusive ranges, comma-separated;
    /// - `-` alone is 1-65535 (`-p-`); `-1024` starts at 1; `60000-` ends at 65535;
    /// - `T:` and `U:` prefixes (`T:22,80,U:53`) make the following items
    ///   TCP-only or UDP-only, until the next prefix; items before any prefix
    ///   apply to both protocols;
    /// - spaces around items are ignored.
    ///
    /// Refused with a reason: port 0 (cannot be probed), numbers above
    /// 65535, reversed ranges, empty items, service names, other prefixes.
    public static func parse(_ text: String, option: String = "-p") throws(PortListError) -> PortList {
        func fail(_ reason: String) -> PortListError { PortListError(option: option, value: text, reason: reason) }
        if text.allSatisfy({ $0 == " " }) { throw fail("empty port list (\(example))") }
        enum Scope { case both, tcp, udp }
        var scope = Scope.both
        var tcp: [ClosedRange<UInt16>] = []
        var udp: [ClosedRange<UInt16>] = []
        var namesTCPOnly = false
        var namesUDPOnly = false
        for rawItem in text.split(separator: ",", omittingEmptySubsequences: false) {
            var item = rawItem.drop { $0 == " " }
            while item.last == " " { item = item.dropLast() }
            if item.isEmpty { throw fail("empty item (two commas in a row, or one at the start or end; \(example))") }
            if let colon = item.firstIndex(of: ":") {
                let prefix = item[..<colon]
                switch prefix {
                case "T", "t":
                    scope = .tcp
                    namesTCPOnly = true
                case "U", "u":
                    scope = .udp
                    namesUDPOnly = true
                default:
                    throw fail("\"\(UntrustedText.escape(String(item[...colon])))\" is not a protocol prefix (T: for TCP, U: for UDP)")
                }
                item = item[item.index(after: colon)...].drop { $0 == " " }
                if item.isEmpty { throw fail("\"\(prefix):\" has no ports after it (such as \(prefix):22,80)") }
            }
            let range = try portRange(item, fail: fail)
            switch scope {
            case .both:
                tcp.append(range)
                udp.append(range)
            case .tcp: tcp.append(range)
            case .udp: udp.append(range)
            }
        }
        var list = PortList(tcp: expand(tcp), udp: expand(udp))
        list.namesTCPOnly = namesTCPOnly
        list.namesUDPOnly = namesUDPOnly
        return list
    }

    /// `N`, `N-M`, `-M`, `N-` or `-`.
    private static func portRange(_ item: Substring, fail: (String) -> PortListError) throws(PortListError) -> ClosedRange<UInt16> {
        let notAPort = "\"\(UntrustedText.escape(String(item)))\" is not a port or range (\(example); service names are not accepted)"
        func port(_ digits: Substring, default value: UInt16) throws(PortListError) -> UInt16 {
            if digits.isEmpty { return value }
            guard digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { throw fail(notAPort) }
            let significant = digits.drop { $0 == "0" }
            guard significant.count <= 5, let number = Int(significant.isEmpty ? "0" : significant), number <= 65535 else {
                throw fail("port \(digits) is out of range (ports are 1-65535)")
            }
            guard number != 0 else { throw fail("port 0 is not accepted (ports are 1-65535)") }
            return UInt16(number)
        }
        let parts = item.split(separator: "-", omittingEmptySubsequences: false)
        switch parts.count {
        case 1:
            let single = try port(parts[0], default: 0)
            return single...single
        case 2:
            let low = try port(parts[0], default: 1)
            let high = try port(parts[1], default: 65535)
            guard low <= high else { throw fail("range \(low)-\(high) is reversed (write \(high)-\(low))") }
            return low...high
        default:
            throw fail(notAPort)
        }
    }

    private static func expand(_ ranges: [ClosedRange<UInt16>]) -> [UInt16] {
        var seen = [Bool](repeating: false, count: 65536)
        for range in ranges { for port in range { seen[Int(port)] = true } }
        return (1...65535).compactMap { seen[$0] ? UInt16($0) : nil }
    }

    /// `--top-ports N`: the `n` ports of each protocol most likely to be open.
    ///
    /// The ranking is nmap-services' open frequency when it was loaded into
    /// `table`; without it, `CommonPorts` (nmap's top 100 per protocol) and
    /// then /etc/services' ports in ascending order. When those run out, the
    /// remaining ports follow in ascending order, so exactly `n` ports are
    /// always chosen.
    public static func top(_ n: Int, table: ServiceTable, option: String = "--top-ports") throws(PortListError) -> PortList {
        guard (1...65535).contains(n) else {
            throw PortListError(option: option, value: String(n), reason: "give a number of ports from 1 to 65535")
        }
        return PortList(tcp: rankedPorts(n, proto: .tcp, table: table), udp: rankedPorts(n, proto: .udp, table: table))
    }

    /// The `n` ports of `proto` most likely to be open, most likely first
    /// (the ranking `top` uses). Port 0 is never included.
    public static func rankedPorts(_ n: Int, proto: TransportProtocol, table: ServiceTable) -> [UInt16] {
        guard n > 0, proto != .raw else { return [] }
        var chosen = [Bool](repeating: false, count: 65536)
        chosen[0] = true
        var out: [UInt16] = []
        out.reserveCapacity(min(n, 65535))
        func take<S: Sequence<UInt16>>(_ ports: S) {
            for port in ports {
                if out.count >= n { return }
                if !chosen[Int(port)] {
                    chosen[Int(port)] = true
                    out.append(port)
                }
            }
        }
        // ServiceTable.topPorts follows nmap's frequencies and, past them,
        // /etc/services in ascending order; without nmap data the built-in
        // list must come before that ascending order.
        if !table.hasNmapData { take(CommonPorts.ranked(proto)) }
        take(table.topPorts(n, proto: proto))
        take(1...UInt16.max)
        return out
    }
}
