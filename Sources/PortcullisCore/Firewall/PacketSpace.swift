/// A 128-bit unsigned integer: big enough for an IPv6 address, and every
/// other header field the firewall evaluator tracks. (Not the standard
/// library's `UInt128`, which needs macOS 15 where this package builds for 13.)
struct U128: Hashable, Comparable, Sendable, CustomStringConvertible {
    var hi: UInt64
    var lo: UInt64

    init(hi: UInt64, lo: UInt64) {
        self.hi = hi
        self.lo = lo
    }

    init(_ value: UInt64) { self.init(hi: 0, lo: value) }

    static let zero = U128(0)
    static let max = U128(hi: .max, lo: .max)

    /// The largest value of a `bits`-wide field (1...128).
    static func maxValue(bits: Int) -> U128 {
        if bits >= 128 { return .max }
        if bits >= 64 { return U128(hi: bits == 64 ? 0 : (UInt64.max >> (128 - bits)), lo: .max) }
        return U128(hi: 0, lo: bits <= 0 ? 0 : UInt64.max >> (64 - bits))
    }

    static func < (a: U128, b: U128) -> Bool { (a.hi, a.lo) < (b.hi, b.lo) }

    var successor: U128? {
        if self == .max { return nil }
        return lo == .max ? U128(hi: hi + 1, lo: 0) : U128(hi: hi, lo: lo + 1)
    }

    var predecessor: U128? {
        if self == .zero { return nil }
        return lo == 0 ? U128(hi: hi - 1, lo: .max) : U128(hi: hi, lo: lo - 1)
    }

    /// a - b, and whether it wrapped.
    func subtracting(_ b: U128) -> (U128, Bool) {
        let (low, borrow) = lo.subtractingReportingOverflow(b.lo)
        let (high1, o1) = hi.subtractingReportingOverflow(b.hi)
        let (high2, o2) = high1.subtractingReportingOverflow(borrow ? 1 : 0)
        return (U128(hi: high2, lo: low), o1 || o2)
    }

    /// a + b, and whether it overflowed.
    func adding(_ b: U128) -> (U128, Bool) {
        let (low, carry) = lo.addingReportingOverflow(b.lo)
        let (high1, o1) = hi.addingReportingOverflow(b.hi)
        let (high2, o2) = high1.addingReportingOverflow(carry ? 1 : 0)
        return (U128(hi: high2, lo: low), o1 || o2)
    }

    static func & (a: U128, b: U128) -> U128 { U128(hi: a.hi & b.hi, lo: a.lo & b.lo) }
    static func | (a: U128, b: U128) -> U128 { U128(hi: a.hi | b.hi, lo: a.lo | b.lo) }
    static prefix func ~ (a: U128) -> U128 { U128(hi: ~a.hi, lo: ~a.lo) }

    /// The network mask of a `length`-bit prefix in a `bits`-wide field.
    static func prefixMask(length: Int, bits: Int) -> U128 {
        let hostBits = Swift.max(0, bits - Swift.max(0, Swift.min(length, bits)))
        let host = hostBits == 0 ? U128.zero : maxValue(bits: hostBits)
        return maxValue(bits: bits) & ~host
    }

    var description: String { hi == 0 ? String(lo) : "0x\(String(hi, radix: 16))\(String(lo, radix: 16))" }
}

/// A set of field values as sorted, disjoint, non-adjacent closed ranges.
/// The evaluator keeps one per header field it tracks (source address,
/// source port, TCP flags, ...): the values a packet on the current path can
/// still have. A rule that matches part of the set splits the path in two.
struct IntervalSet: Hashable, Sendable {
    private(set) var ranges: [ClosedRange<U128>]

    /// Normalizes any list of ranges.
    init(_ input: [ClosedRange<U128>]) {
        let sorted = input.sorted { $0.lowerBound < $1.lowerBound }
        var merged: [ClosedRange<U128>] = []
        merged.reserveCapacity(sorted.count)
        for r in sorted {
            if let last = merged.last {
                // Overlapping or adjacent: extend.
                if r.lowerBound <= last.upperBound || last.upperBound.successor == r.lowerBound {
                    if r.upperBound > last.upperBound {
                        merged[merged.count - 1] = last.lowerBound...r.upperBound
                    }
                    continue
                }
            }
            merged.append(r)
        }
        ranges = merged
    }

    private init(normalized: [ClosedRange<U128>]) { ranges = normalized }

    static let empty = IntervalSet(normalized: [])
    static func single(_ v: U128) -> IntervalSet { IntervalSet(normalized: [v...v]) }
    static func single(_ v: UInt64) -> IntervalSet { single(U128(v)) }
    static func all(bits: Int) -> IntervalSet { IntervalSet(normalized: [U128.zero...U128.maxValue(bits: bits)]) }
    static func values(_ vs: [UInt64]) -> IntervalSet { IntervalSet(vs.map { U128($0)...U128($0) }) }

    var isEmpty: Bool { ranges.isEmpty }

    func contains(_ v: U128) -> Bool {
        // Binary search: sets from large blocklists hold many ranges.
        var low = 0
        var high = ranges.count - 1
        while low <= high {
            let mid = (low + high) / 2
            if v < ranges[mid].lowerBound { high = mid - 1 } else if v > ranges[mid].upperBound { low = mid + 1 } else { return true }
        }
        return false
    }

    func union(_ other: IntervalSet) -> IntervalSet { IntervalSet(ranges + other.ranges) }

    func intersection(_ other: IntervalSet) -> IntervalSet {
        var out: [ClosedRange<U128>] = []
        var i = 0
        var j = 0
        while i < ranges.count && j < other.ranges.count {
            let a = ranges[i]
            let b = other.ranges[j]
            let low = Swift.max(a.lowerBound, b.lowerBound)
            let high = Swift.min(a.upperBound, b.upperBound)
            if low <= high { out.append(low...high) }
            if a.upperBound < b.upperBound { i += 1 } else { j += 1 }
        }
        return IntervalSet(normalized: out)
    }

    /// Every value of 0...U128.max not in the set.
    var complement: IntervalSet {
        var out: [ClosedRange<U128>] = []
        var next: U128? = .zero
        for r in ranges {
            if let start = next, start < r.lowerBound, let end = r.lowerBound.predecessor { out.append(start...end) }
            next = r.upperBound.successor
        }
        if let start = next { out.append(start...U128.max) }
        return IntervalSet(normalized: out)
    }

    func subtracting(_ other: IntervalSet) -> IntervalSet { intersection(other.complement) }

    func isSubset(of other: IntervalSet) -> Bool { subtracting(other).isEmpty }

    /// The values, when there are at most `limit` of them.
    func values(limit: Int) -> [U128]? {
        var out: [U128] = []
        for r in ranges {
            var v = r.lowerBound
            while true {
                if out.count >= limit { return nil }
                out.append(v)
                if v == r.upperBound { break }
                guard let n = v.successor else { break }
                v = n
            }
        }
        return out
    }

    /// The single value, when the set holds exactly one.
    var onlyValue: U128? { ranges.count == 1 && ranges[0].lowerBound == ranges[0].upperBound ? ranges[0].lowerBound : nil }
}

/// An interface name pattern as nftables writes it: `"eth0"` is one name,
/// `"eth*"` every name starting with `eth`.
struct NamePattern: Hashable, Sendable {
    var text: String
    var isPrefix: Bool

    init(nft: String) {
        if nft.hasSuffix("\\*") {
            // An escaped star is a literal star.
            text = String(nft.dropLast(2)) + "*"
            isPrefix = false
        } else if nft.hasSuffix("*") {
            text = String(nft.dropLast())
            isPrefix = true
        } else {
            text = nft
            isPrefix = false
        }
    }

    func matches(_ name: String) -> Bool { isPrefix ? name.hasPrefix(text) : name == text }
}

/// What is known about the input interface of the packet on a path: its
/// exact name, or names it cannot have and prefixes it must or must not
/// have. Only constraints that can be represented exactly are kept; a path
/// restricted to one of several names keeps the wider domain (a superset,
/// which can only make a verdict less certain, never wrong).
struct NameDomain: Hashable, Sendable {
    var exact: String?
    var excludedNames: Set<String> = []
    var excludedPrefixes: [String] = []
    var requiredPrefixes: [String] = []

    /// Any interface but the loopback device: the packet comes from another host.
    static let notLoopback = NameDomain(exact: nil, excludedNames: ["lo"])

    enum Answer { case always, never, sometimes }

    func test(_ p: NamePattern) -> Answer {
        if let exact { return p.matches(exact) ? .always : .never }
        if p.isPrefix {
            if excludedPrefixes.contains(where: { p.text.hasPrefix($0) }) { return .never }
            if p.text.isEmpty || requiredPrefixes.contains(where: { $0.hasPrefix(p.text) }) { return .always }
            return .sometimes
        }
        if excludedNames.contains(p.text) || excludedPrefixes.contains(where: { p.text.hasPrefix($0) }) { return .never }
        if requiredPrefixes.contains(where: { !p.text.hasPrefix($0) }) { return .never }
        return .sometimes
    }

    /// Whether the name matches any of `patterns`.
    func test(anyOf patterns: [NamePattern]) -> Answer {
        var sometimes = false
        for p in patterns {
            switch test(p) {
            case .always: return .always
            case .sometimes: sometimes = true
            case .never: break
            }
        }
        return sometimes ? .sometimes : .never
    }

    /// The domain on the path where the name matched one of `patterns`.
    func restricted(toAnyOf patterns: [NamePattern]) -> NameDomain {
        let possible = patterns.filter { test($0) != .never }
        guard possible.count == 1, let p = possible.first else { return self }
        var copy = self
        if p.isPrefix { copy.requiredPrefixes.append(p.text) } else { copy.exact = p.text }
        return copy
    }

    /// The domain on the path where the name matched none of `patterns`.
    func excluding(_ patterns: [NamePattern]) -> NameDomain {
        var copy = self
        for p in patterns {
            if p.isPrefix { copy.excludedPrefixes.append(p.text) } else { copy.excludedNames.insert(p.text) }
        }
        return copy
    }
}
