/// An inclusive run of addresses of one family: a single address, a CIDR
/// block or a last-octet range. Iterating it produces the addresses lazily,
/// so a /8 costs nothing until it is walked.
public struct AddressRange: Sendable, Hashable, Sequence, CustomStringConvertible {
    /// The lowest address of the range.
    public let first: IPAddress
    /// The highest address of the range, of the same family as `first` and not below it.
    public let last: IPAddress

    /// Nil when the two addresses are of different families or `first` is above `last`.
    public init?(first: IPAddress, last: IPAddress) {
        guard first.kind == last.kind, !(last < first) else { return nil }
        self.first = first
        self.last = last
    }

    /// One address.
    public init(_ address: IPAddress) {
        first = address
        last = address
    }

    /// Every address of the `prefixLength`-bit network holding `address`
    /// (host bits of `address` are ignored, as nmap ignores them).
    public init(network address: IPAddress, prefixLength: Int) {
        first = address.masked(toPrefix: prefixLength)
        last = address.lastAddress(inPrefix: prefixLength)
    }

    /// The family of both ends.
    public var kind: IPAddress.Kind { first.kind }

    /// How many addresses the range holds (up to 2^128, hence not an Int).
    public var count: AddressCount {
        // last - first fits in 128 bits; the + 1 may carry into a third word.
        let (low, borrow) = last.low.subtractingReportingOverflow(first.low)
        let high = last.high &- first.high &- (borrow ? 1 : 0)
        return AddressCount(high: high, low: low) + AddressCount(1)
    }

    /// Whether `address` is of the range's family and lies between `first` and `last` inclusive.
    public func contains(_ address: IPAddress) -> Bool {
        address.kind == kind && !(address < first) && !(last < address)
    }

    /// `a` for one address, `a-b` otherwise.
    public var description: String { first == last ? first.description : "\(first)-\(last)" }

    /// Iterates from `first` to `last` in ascending order, one address at a time.
    public func makeIterator() -> Iterator { Iterator(upcoming: first, last: last) }

    /// The addresses of a range, computed one at a time.
    public struct Iterator: IteratorProtocol, Sendable {
        var upcoming: IPAddress?
        let last: IPAddress

        /// The next address, or nil after `last`.
        public mutating func next() -> IPAddress? {
            guard let current = upcoming else { return nil }
            upcoming = current == last ? nil : current.successor
            return current
        }
    }
}

/// A number of addresses. A target set can hold every IPv6 address (2^128)
/// plus every IPv4 address, more than any built-in integer, so the count is
/// kept in three 64-bit words and printed exactly.
public struct AddressCount: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Bits 128 and up, 64-127, 0-63.
    var top: UInt64 = 0
    var high: UInt64 = 0
    var low: UInt64 = 0

    /// A count that fits in 64 bits.
    public init(_ value: UInt64) { low = value }

    init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// No address.
    public static let zero = AddressCount(0)

    /// The count as a UInt64, or nil when it is larger.
    public var exactValue: UInt64? { top == 0 && high == 0 ? low : nil }

    /// The exact sum; it cannot overflow for any number of addresses a target set can hold.
    public static func + (a: AddressCount, b: AddressCount) -> AddressCount {
        var sum = AddressCount(0)
        let (low, carryLow) = a.low.addingReportingOverflow(b.low)
        let (high1, carryHigh1) = a.high.addingReportingOverflow(b.high)
        let (high, carryHigh2) = high1.addingReportingOverflow(carryLow ? 1 : 0)
        sum.low = low
        sum.high = high
        sum.top = a.top &+ b.top &+ (carryHigh1 ? 1 : 0) &+ (carryHigh2 ? 1 : 0)
        return sum
    }

    /// Numeric order.
    public static func < (a: AddressCount, b: AddressCount) -> Bool { (a.top, a.high, a.low) < (b.top, b.high, b.low) }

    /// Decimal digits, exact.
    public var description: String {
        var words = [top, high, low]
        var digits: [UInt8] = []
        repeat {
            // Long division of the three words by 10, most significant first.
            var remainder: UInt64 = 0
            for i in words.indices {
                let (quotient, rest) = (10 as UInt64).dividingFullWidth((remainder, words[i]))
                words[i] = quotient
                remainder = rest
            }
            digits.append(UInt8(ascii: "0") + UInt8(remainder))
        } while words.contains { $0 != 0 }
        return String(decoding: digits.reversed(), as: UTF8.self)
    }
}
