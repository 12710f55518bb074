/// A usage error in a filter value: what was wrong, and what is accepted.
public struct FilterError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The option the value was given for (`--port`), for the message.
    public var option: String
    /// The value as given.
    public var value: String
    /// What is wrong, and what would be accepted.
    public var reason: String
    /// `invalid value 'VALUE' for OPTION: REASON`, the usage message.
    public var description: String { "invalid value '\(value)' for \(option): \(reason)" }
}

/// Port lists as users type them: `22`, `8000-8100`, `22,80,443`.
public struct PortSpec: Sendable, Equatable {
    /// The ports as closed ranges, in the order given; a single port is a one-port range.
    public var ranges: [ClosedRange<UInt16>]

    /// A spec of these ranges, taken as they are.
    public init(ranges: [ClosedRange<UInt16>]) { self.ranges = ranges }

    /// - Parameters:
    ///   - allowZero: port 0 is a real value in a socket table (an unbound
    ///     raw socket) but never a scan target.
    public init(parsing text: String, option: String = "--port", allowZero: Bool = true) throws(FilterError) {
        func fail(_ reason: String) -> FilterError { FilterError(option: option, value: text, reason: reason) }
        let lowest: UInt32 = allowZero ? 0 : 1
        let accepted = "use a port (\(lowest)-65535), a range such as 8000-8100, or a comma-separated list of them"
        var ranges: [ClosedRange<UInt16>] = []
        guard !text.isEmpty else { throw fail("empty; \(accepted)") }
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard !part.isEmpty else { throw fail("empty item in the list; \(accepted)") }
            let bounds = part.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
            var numbers: [UInt16] = []
            for b in bounds {
                guard !b.isEmpty, b.count <= 5, b.allSatisfy({ $0.isASCII && $0.isNumber }), let v = UInt32(b) else {
                    throw fail("'\(part)' is not a number or a range; \(accepted)")
                }
                guard v >= lowest && v <= 65535 else { throw fail("port \(v) is out of range; \(accepted)") }
                numbers.append(UInt16(v))
            }
            if numbers.count == 2 {
                guard numbers[0] <= numbers[1] else {
                    throw fail("range \(part) is reversed; write it low-high, e.g. \(numbers[1])-\(numbers[0])")
                }
                ranges.append(numbers[0]...numbers[1])
            } else {
                ranges.append(numbers[0]...numbers[0])
            }
        }
        self.ranges = ranges
    }

    /// Whether `port` lies in any of the ranges.
    public func contains(_ port: UInt16) -> Bool { ranges.contains { $0.contains(port) } }
}

/// Which inventory entries to show. Every set criterion must match.
public struct SocketFilter: Sendable {
    /// Only sockets whose local port is in these (`--port`); nil: any.
    public var ports: PortSpec?
    /// Only sockets held by one of these pids (`--pid`); empty: any.
    public var pids: Set<Int32> = []
    /// A user name or numeric uid, matched against the socket's uid and its owners'.
    public var user: String?
    /// Matches an owner's name or the base name of its executable.
    public var process: String?
    /// Only sockets whose local port is in this IANA class (`--class`); never a RAW socket. nil: any.
    public var portClass: PortClass?
    /// Only sockets reachable beyond loopback, judged from the address alone (`--exposed`).
    public var exposedOnly = false

    /// A filter with no criterion: it matches everything.
    public init() {}

    /// No criterion set: everything matches.
    public var isEmpty: Bool {
        ports == nil && pids.isEmpty && user == nil && process == nil && portClass == nil && !exposedOnly
    }

    /// Whether `entry` meets every criterion set.
    public func matches(_ entry: InventoryEntry) -> Bool {
        let socket = entry.socket
        if let ports, !ports.contains(socket.localPort) { return false }
        if !pids.isEmpty && !entry.owners.contains(where: { pids.contains($0.pid) }) { return false }
        if let user {
            let byUID = UInt32(user)
            let socketMatches = byUID.map { $0 == socket.uid } ?? (entry.user == user)
            let ownerMatches = entry.owners.contains { o in byUID.map { o.uid == $0 } ?? (o.user == user) }
            if !socketMatches && !ownerMatches { return false }
        }
        if let process {
            let matched = entry.owners.contains { o in
                o.name == process || (o.exe.map { $0.split(separator: "/").last.map(String.init) == process } ?? false)
            }
            if !matched { return false }
        }
        if let portClass, entry.portClass != portClass || socket.proto == .raw { return false }
        if exposedOnly && entry.exposure.isLoopbackOnly { return false }
        return true
    }
}
