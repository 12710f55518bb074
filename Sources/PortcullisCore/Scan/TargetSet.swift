/// One address to scan, with the name it was reached by when it came from
/// resolving a hostname, and the interface it is reached through when it
/// is an IPv6 link-local address (`fe80::1%eth0`).
public struct ScanTarget: Sendable, Hashable {
    /// The address to probe (without its zone: `zone` carries that).
    public var address: IPAddress
    /// The hostname whose resolution gave this address (the first such name); nil for a target given as an address or range.
    public var hostname: String?
    /// The interface of a link-local target, for `sin6_scope_id`; nil for every other target.
    public var zone: InterfaceZone?

    /// A target; `hostname` nil when it was not reached through a name, `zone` nil unless it is link-local.
    public init(address: IPAddress, hostname: String? = nil, zone: InterfaceZone? = nil) {
        self.address = address
        self.hostname = hostname
        self.zone = zone
    }

    /// The address as people write it: `fe80::1%eth0` with a zone, else the plain address.
    public var addressText: String { zone.map { "\(address)%\($0.name)" } ?? address.description }
}

/// The addresses a scan covers: the targets, each address once, minus the
/// excluded ones, in ascending order (IPv4 before IPv6). A link-local
/// target with a zone (`fe80::1%eth0`) is one target per interface: the
/// same address on two interfaces is two hosts.
///
/// With `screening` (what `portcullis scan` asks for), addresses a port
/// scan must not send to are refused (`TargetRefusal`): named alone, or as
/// what a hostname resolves to, they are an error; inside a CIDR block or
/// range they are left out with a notice.
///
/// Kept as sorted, disjoint ranges, so building and counting cost nothing
/// per address: `10.0.0.0/8` is one range until it is iterated, and
/// iteration produces one address at a time.
///
/// A set larger than `limit` addresses (65,536: a /16 of IPv4 or a /112 of
/// IPv6) is refused unless `allowLarge` is set, so a mistyped prefix
/// (`/8` for `/28`) does not start a scan of millions of hosts.
public struct TargetSet: Sendable, Sequence {
    /// The largest set accepted without `allowLarge`.
    public static let defaultLimit = 65_536

    /// The addresses without a zone, as sorted, disjoint, non-adjacent ranges.
    public let ranges: [AddressRange]
    /// The targets with a zone, sorted by address then interface, each once.
    public let scoped: [ScanTarget]
    /// How many addresses the set holds.
    public let count: AddressCount
    /// Notices about the targets (a CIDR block written with host bits set, addresses left out by screening).
    public let diagnostics: [Diagnostic]
    /// The hostname each resolved address was reached by (the first that resolved to it).
    let names: [IPAddress: String]

    /// Builds the set.
    ///
    /// - Parameters:
    ///   - targets: what to scan.
    ///   - excludes: what to leave out (`--exclude`, `--excludefile`).
    ///   - resolved: the addresses of every hostname among `targets` and
    ///     `excludes` (see `TargetSpec.hostnames(in:)`): the caller resolves
    ///     them and chooses which addresses to scan (all, or one family).
    ///   - interfaces: this host's interfaces, to resolve zones
    ///     (`fe80::1%eth0`) and, when screening, to know the broadcast
    ///     addresses of the directly connected subnets.
    ///   - screening: apply the port-scan refusals (`TargetRefusal`).
    ///   - allowLarge: accept sets larger than `limit`.
    /// - Throws: `TargetError.tooLarge` above the limit,
    ///   `TargetError.unresolvedHostname` for a hostname missing from `resolved`,
    ///   `TargetError.unknownInterface` for a zone no interface answers to,
    ///   `TargetError.refused` for a target screening refuses.
    public init(
        targets: [TargetSpec], excluding excludes: [TargetSpec] = [], resolved: [String: [IPAddress]] = [:],
        interfaces: [NetworkInterface] = [], screening: Bool = false, allowLarge: Bool = false,
        limit: Int = TargetSet.defaultLimit
    ) throws(TargetError) {
        var notices: [Diagnostic] = []
        for (spec, verb) in targets.map({ ($0, "scanning") }) + excludes.map({ ($0, "excluding") }) {
            if case .network(let address, let prefixLength) = spec, address.masked(toPrefix: prefixLength) != address {
                notices.append(
                    Diagnostic(
                        .notice,
                        "\(spec) has host bits set; \(verb) the whole network "
                            + "\(address.masked(toPrefix: prefixLength))/\(prefixLength)"))
            }
        }
        let refusals = screening ? TargetRefusal(interfaces: interfaces) : nil
        if let refusals { try refusals.check(targets, resolved: resolved) }
        let wanted = Self.merged(try Self.ranges(of: targets, resolved: resolved))
        let unwanted = Self.merged(try Self.ranges(of: excludes, resolved: resolved))
        var remaining = Self.subtracting(unwanted, from: wanted)
        if let refusals {
            let (kept, leftOut) = refusals.leavingOut(from: remaining)
            remaining = kept
            notices += leftOut
        }
        let unwantedScoped = Set(try Self.scopedTargets(of: excludes, interfaces: interfaces, origin: "--exclude"))
        let scoped = Set(try Self.scopedTargets(of: targets, interfaces: interfaces, origin: "target")).filter { target in
            !unwantedScoped.contains(target) && !unwanted.contains { $0.contains(target.address) }
        }.sorted { ($0.address, $0.zone?.name ?? "", $0.zone?.index ?? 0) < ($1.address, $1.zone?.name ?? "", $1.zone?.index ?? 0) }
        let total = remaining.reduce(AddressCount(UInt64(scoped.count))) { $0 + $1.count }
        if !allowLarge && total > AddressCount(UInt64(Swift.max(limit, 0))) {
            throw .tooLarge(count: total, limit: limit)
        }
        var names: [IPAddress: String] = [:]
        for name in TargetSpec.hostnames(in: targets) {
            for address in resolved[name] ?? [] where names[address] == nil { names[address] = name }
        }
        ranges = remaining
        self.scoped = scoped
        count = total
        diagnostics = notices
        self.names = names
    }

    /// No address is left (every target was excluded, or none was given).
    public var isEmpty: Bool { ranges.isEmpty && scoped.isEmpty }

    /// Whether `address` is scanned without a zone (a binary search over the ranges; `scoped` holds the others).
    public func contains(_ address: IPAddress) -> Bool {
        var low = 0
        var high = ranges.count
        while low < high {
            let middle = (low + high) / 2
            if ranges[middle].last < address { low = middle + 1 } else { high = middle }
        }
        return low < ranges.count && ranges[low].contains(address)
    }

    /// The hostname `address` was reached by, if it came from resolving one.
    public func hostname(for address: IPAddress) -> String? { names[address] }

    /// Iterates the targets in ascending order of address, each with the
    /// hostname it was reached by; a scoped target comes in its address's place.
    public func makeIterator() -> Iterator { Iterator(ranges: ranges, scoped: scoped, names: names) }

    /// Walks the ranges one address at a time, the scoped targets merged in.
    public struct Iterator: IteratorProtocol, Sendable {
        let ranges: [AddressRange]
        let scoped: [ScanTarget]
        let names: [IPAddress: String]
        var index = 0
        var current: AddressRange.Iterator?
        var scopedIndex = 0
        /// The next unscoped address, taken from the ranges but not yet returned.
        var pending: IPAddress?

        init(ranges: [AddressRange], scoped: [ScanTarget], names: [IPAddress: String]) {
            self.ranges = ranges
            self.scoped = scoped
            self.names = names
            current = ranges.first?.makeIterator()
        }

        /// The next target, or nil after the last.
        public mutating func next() -> ScanTarget? {
            if pending == nil { pending = nextUnscoped() }
            if scopedIndex < scoped.count, pending.map({ scoped[scopedIndex].address < $0 }) ?? true {
                scopedIndex += 1
                return scoped[scopedIndex - 1]
            }
            guard let address = pending else { return nil }
            pending = nil
            return ScanTarget(address: address, hostname: names[address])
        }

        private mutating func nextUnscoped() -> IPAddress? {
            while current != nil {
                if let address = current?.next() { return address }
                index += 1
                current = index < ranges.count ? ranges[index].makeIterator() : nil
            }
            return nil
        }
    }

    // MARK: - Range arithmetic

    static func ranges(of specs: [TargetSpec], resolved: [String: [IPAddress]]) throws(TargetError) -> [AddressRange] {
        var out: [AddressRange] = []
        for spec in specs {
            if case .scoped = spec { continue }
            if let range = spec.addresses {
                out.append(range)
            } else if let name = spec.hostname {
                guard let addresses = resolved[name] else { throw .unresolvedHostname(name) }
                out += addresses.map { AddressRange($0) }
            }
        }
        return out
    }

    /// The scoped specs as targets, each zone resolved against `interfaces`.
    static func scopedTargets(of specs: [TargetSpec], interfaces: [NetworkInterface], origin: String) throws(TargetError) -> [ScanTarget] {
        var out: [ScanTarget] = []
        for spec in specs {
            guard case .scoped(let address, let zone) = spec else { continue }
            guard let interface = interfaces.interface(forZone: zone) else {
                throw .unknownInterface(target: spec.description, zone: zone, available: interfaces.namesForMessages, origin: origin)
            }
            out.append(ScanTarget(address: address, zone: InterfaceZone(name: interface.name, index: interface.index)))
        }
        return out
    }

    /// Sorted, with overlapping and adjacent ranges joined: duplicates vanish here.
    static func merged(_ ranges: [AddressRange]) -> [AddressRange] {
        var out: [AddressRange] = []
        for range in ranges.sorted(by: { $0.first < $1.first }) {
            if let previous = out.last, previous.kind == range.kind,
                !(previous.last < range.first) || previous.last.successor == range.first
            {
                if previous.last < range.last, let joined = AddressRange(first: previous.first, last: range.last) {
                    out[out.count - 1] = joined
                }
            } else {
                out.append(range)
            }
        }
        return out
    }

    /// `wanted` minus `unwanted`, both sorted and merged. IPAddress's order
    /// puts all of IPv4 before IPv6, so one walk handles both families.
    static func subtracting(_ unwanted: [AddressRange], from wanted: [AddressRange]) -> [AddressRange] {
        var out: [AddressRange] = []
        var skip = 0
        for range in wanted {
            // Exclusions wholly below this range cannot touch later ranges either.
            while skip < unwanted.count && unwanted[skip].last < range.first { skip += 1 }
            var start: IPAddress? = range.first
            var k = skip
            while let from = start, k < unwanted.count, !(range.last < unwanted[k].first) {
                let cut = unwanted[k]
                if from < cut.first, let before = cut.first.predecessor, let piece = AddressRange(first: from, last: before) {
                    out.append(piece)
                }
                start = cut.last < range.last ? cut.last.successor : nil
                k += 1
            }
            if let from = start, let piece = AddressRange(first: from, last: range.last) { out.append(piece) }
        }
        return out
    }
}
