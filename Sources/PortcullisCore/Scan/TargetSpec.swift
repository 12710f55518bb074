/// One scan target as the user wrote it on the command line, after
/// `--exclude`, or in an `-iL` file.
///
/// Accepted forms:
/// - an IPv4 address in strict dotted-quad form (`192.0.2.1`);
/// - an IPv6 address (`2001:db8::1`, `::ffff:192.0.2.1`);
/// - an IPv6 link-local address with its zone, the interface it is reached
///   through (`fe80::1%eth0`, or by interface index `fe80::1%2`); a zone is
///   accepted only on fe80::/10 and on interface- and link-local multicast
///   (ff01::/16, ff02::/16), and is resolved against the interfaces when the
///   `TargetSet` is built;
/// - a CIDR block (`10.0.0.0/24`, `fd00::/120`). Host bits may be set
///   (`10.0.0.7/24`): as with nmap, the whole network is the target. Every
///   address of the block counts, network and broadcast addresses included,
///   as nmap scans them;
/// - a range in the last octet of an IPv4 address (`10.0.0.1-20`), start not
///   above end;
/// - a hostname of RFC 1123 labels (`db-1.example.com`, `localhost`), resolved
///   later by the caller.
///
/// Refused, each with a message saying why: inet_aton shorthand (`127.1`,
/// `0x7f.1`, `2130706433`), leading zeros (`017.0.0.1`, which inet_aton reads
/// as octal), out-of-range octets, prefixes beyond the family's width,
/// reversed ranges, a zone on any other address or on a CIDR block,
/// `ADDRESS:PORT`, empty text.
public enum TargetSpec: Sendable, Hashable, CustomStringConvertible {
    /// A single IPv4 or IPv6 address.
    case address(IPAddress)
    /// A single IPv6 address with a zone (`fe80::1%eth0`): the zone as
    /// written, an interface name or index, not yet checked against the interfaces.
    case scoped(IPAddress, zone: String)
    /// A CIDR block: the address as written (host bits possibly set) and the prefix length.
    case network(IPAddress, prefixLength: Int)
    /// An IPv4 last-octet range `first-last` (same first three octets).
    case range(first: IPAddress, last: IPAddress)
    /// A name to resolve before scanning; kept as written (a trailing dot included).
    case hostname(String)

    /// The addresses the spec stands for; nil for a hostname, which needs resolving first.
    public var addresses: AddressRange? {
        switch self {
        case .address(let address), .scoped(let address, _): return AddressRange(address)
        case .network(let address, let prefixLength): return AddressRange(network: address, prefixLength: prefixLength)
        case .range(let first, let last): return AddressRange(first: first, last: last)
        case .hostname: return nil
        }
    }

    /// The name to resolve, for a hostname spec.
    public var hostname: String? {
        if case .hostname(let name) = self { return name }
        return nil
    }

    /// The spec in the syntax it was parsed from (a range as `10.0.0.1-20`).
    public var description: String {
        switch self {
        case .address(let address): return address.description
        case .scoped(let address, let zone): return "\(address)%\(zone)"
        case .network(let address, let prefixLength): return "\(address)/\(prefixLength)"
        case .range(let first, let last): return "\(first)-\(last.bytes[3])"
        case .hostname(let name): return name
        }
    }

    /// Every distinct hostname among `specs`, in first-seen order: what the
    /// caller must resolve before building a `TargetSet`.
    public static func hostnames(in specs: [TargetSpec]) -> [String] {
        var seen = Set<String>()
        return specs.compactMap(\.hostname).filter { seen.insert($0).inserted }
    }
}

/// Where a target item came from, for error messages.
public enum TargetOrigin: Sendable, Hashable {
    /// A command-line target argument.
    case argument
    /// An `--exclude` argument.
    case exclude
    /// A line of an `-iL` file.
    case file(path: String, line: Int)
    /// A line of an `--excludefile` file.
    case excludeFile(path: String, line: Int)
}

/// Why targets could not be used. `description` is the message for the user.
public enum TargetError: Error, Sendable, Hashable, CustomStringConvertible {
    /// An item that is not an accepted target form; `reason` says what is wrong and what is accepted.
    case invalid(item: String, origin: TargetOrigin, reason: String)
    /// The targets add up to more addresses than `limit` and `allowLarge` was not set.
    case tooLarge(count: AddressCount, limit: Int)
    /// A hostname spec with no entry in the `resolved` table given to `TargetSet`
    /// (a caller's mistake: every name of `TargetSpec.hostnames(in:)` must be resolved).
    case unresolvedHostname(String)
    /// A zone (`fe80::1%eth9`) that names no interface of this host;
    /// `available` lists the interfaces there are, `origin` is "target" or "--exclude".
    case unknownInterface(target: String, zone: String, available: String, origin: String)
    /// A target a port scan does not send to (multicast, a broadcast
    /// address, the unspecified address, link-local without a zone); `reason` says which and why.
    case refused(target: String, reason: String)

    /// The message for the user, naming where the item came from (`--exclude`, `FILE:LINE:`) with the item escaped.
    public var description: String {
        switch self {
        case .invalid(let item, let origin, let reason):
            let shown = "\"\(UntrustedText.escape(item))\""
            switch origin {
            case .argument: return "target \(shown): \(reason)"
            case .exclude: return "--exclude \(shown): \(reason)"
            case .file(let path, let line): return "\(UntrustedText.escape(path)):\(line): target \(shown): \(reason)"
            case .excludeFile(let path, let line): return "\(UntrustedText.escape(path)):\(line): excluded target \(shown): \(reason)"
            }
        case .tooLarge(let count, let limit):
            return "the targets come to \(count) addresses, more than \(limit) (a /16 of IPv4 or a /112 of IPv6); "
                + "narrow them, leave some out with --exclude, or pass --allow-large to scan them all"
        case .unresolvedHostname(let name):
            return "hostname \"\(UntrustedText.escape(name))\" was not resolved before the target set was built"
        case .unknownInterface(let target, let zone, let available, let origin):
            let zoneText = UntrustedText.escape(zone)
            let what =
                zone.utf8.allSatisfy({ (48...57).contains($0) })
                ? "no interface named \(zoneText) or with index \(zoneText)" : "no interface \(zoneText)"
            return "\(origin) \"\(UntrustedText.escape(target))\": \(what); interfaces: \(available)"
        case .refused(let target, let reason):
            return "target \"\(UntrustedText.escape(target))\": \(reason)"
        }
    }
}

// MARK: - Parsing

extension TargetSpec {
    /// What every "not a target" message ends with.
    static let acceptedForms =
        "a target is an IPv4 or IPv6 address, a CIDR block such as 10.0.0.0/24 or fd00::/120, "
        + "a last-octet range such as 10.0.0.1-20, or a hostname"

    /// Linux's IFNAMSIZ less the terminating NUL.
    static let longestInterfaceName = 15

    /// Parses one target (no commas).
    public static func parse(_ text: String, origin: TargetOrigin = .argument) throws(TargetError) -> TargetSpec {
        switch classify(text) {
        case .success(let spec): return spec
        case .failure(let failure): throw .invalid(item: text, origin: origin, reason: failure.reason)
        }
    }

    /// Parses command-line arguments (targets, or `--exclude` values), each of
    /// which may be a comma-separated list, as nmap's `--exclude` takes.
    public static func parseList(_ arguments: [String], origin: TargetOrigin = .argument) throws(TargetError) -> [TargetSpec] {
        var specs: [TargetSpec] = []
        for argument in arguments {
            try appendItems(of: Substring(argument), origin: origin, to: &specs)
        }
        return specs
    }

    /// Parses the text of an `-iL` (or, with `excluding`, an `--excludefile`)
    /// file: targets separated by spaces, tabs, newlines or commas; `#` starts
    /// a comment that runs to the end of the line. Errors name `path:line`.
    public static func parseFile(_ text: String, path: String, excluding: Bool = false) throws(TargetError) -> [TargetSpec] {
        var specs: [TargetSpec] = []
        var lineNumber = 0
        for line in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            lineNumber += 1
            let content = line.firstIndex(of: "#").map { line[..<$0] } ?? line
            let origin: TargetOrigin = excluding ? .excludeFile(path: path, line: lineNumber) : .file(path: path, line: lineNumber)
            for word in content.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\u{0B}" || $0 == "\u{0C}" }) {
                try appendItems(of: word, origin: origin, to: &specs)
            }
        }
        return specs
    }

    private static func appendItems(of text: Substring, origin: TargetOrigin, to specs: inout [TargetSpec]) throws(TargetError) {
        let items = text.split(separator: ",", omittingEmptySubsequences: false)
        if items.count == 1 {
            specs.append(try parse(String(text), origin: origin))
            return
        }
        for item in items {
            if item.isEmpty {
                throw .invalid(
                    item: String(text), origin: origin,
                    reason: "empty item in a comma-separated list (two commas in a row, or one at the start or end)")
            }
            // nmap reads `10.0.0.1,5` as an octet list (10.0.0.1 and 10.0.0.5);
            // here commas separate whole targets, so say so rather than
            // calling `5` inet_aton shorthand.
            if item.count <= 3, item.allSatisfy(\.isASCIIDigit) {
                throw .invalid(
                    item: String(text), origin: origin,
                    reason: "\"\(item)\" is not a whole target (nmap's octet lists such as 10.0.0.1,5 are not accepted; "
                        + "write each address, or a range such as 10.0.0.1-5)")
            }
            specs.append(try parse(String(item), origin: origin))
        }
    }

    /// A reason for rejecting a target, carried through `Result`.
    struct Failure: Error {
        var reason: String
        init(_ reason: String) { self.reason = reason }
    }

    static func classify(_ text: String) -> Result<TargetSpec, Failure> {
        if text.isEmpty { return .failure(Failure("empty (\(acceptedForms))")) }
        if let percent = text.firstIndex(of: "%") {
            return classifyScoped(address: text[..<percent], zone: text[text.index(after: percent)...])
        }
        if let slash = text.firstIndex(of: "/") {
            return classifyNetwork(base: text[..<slash], prefix: text[text.index(after: slash)...])
        }
        if text.contains(":") { return classifyV6(text) }
        if looksNumeric(text) { return classifyV4OrRange(Substring(text)) }
        return classifyHostname(text)
    }

    /// Whether `text` was meant as an IPv4 address (or range) rather than a
    /// hostname. No top-level domain starts with a digit, so a dotted name
    /// whose last label does is taken as an address attempt and explained as
    /// one; a single label only when it is a number inet_aton would accept
    /// (`2130706433`, `0x7f000001`), so single-label hosts such as `3com` stay names.
    static func looksNumeric(_ text: String) -> Bool {
        let body = text.hasSuffix(".") ? text.dropLast() : Substring(text)
        let labels = body.split(separator: ".", omittingEmptySubsequences: false)
        guard let first = body.first, first.isASCIIDigit, let last = labels.last else { return false }
        if labels.count == 1 { return body.allSatisfy(\.isASCIIDigit) || isHexNumber(body) }
        if last.first?.isASCIIDigit == true { return true }
        // `1.2.3.-4`: digits and hyphens only.
        return labels.allSatisfy { $0.allSatisfy { $0.isASCIIDigit || $0 == "-" } }
    }

    static func isHexNumber(_ s: Substring) -> Bool {
        s.count > 2 && (s.hasPrefix("0x") || s.hasPrefix("0X")) && s.dropFirst(2).allSatisfy(\.isHexDigit)
    }

    // MARK: CIDR

    static func classifyNetwork(base: Substring, prefix: Substring) -> Result<TargetSpec, Failure> {
        if prefix.contains("/") { return .failure(Failure("more than one \"/\" (a CIDR block is ADDRESS/PREFIX, such as 10.0.0.0/24)")) }
        if base.isEmpty { return .failure(Failure("no address before \"/\" (a CIDR block is ADDRESS/PREFIX, such as 10.0.0.0/24)")) }
        let address: IPAddress
        if let parsed = IPAddress(parsing: String(base)) {
            address = parsed
        } else if base.contains(":") {
            return .failure(v6Failure(String(base)))
        } else if looksNumeric(String(base)) {
            if base.contains("-") { return .failure(Failure("a range cannot have a CIDR prefix (write 10.0.0.1-20 or 10.0.0.0/24)")) }
            return .failure(Failure(v4Reason(base) ?? "not a valid IPv4 address"))
        } else {
            return .failure(Failure("a CIDR block needs an IP address before \"/\", not a hostname (such as 10.0.0.0/24)"))
        }
        let width = address.bitWidth
        let family = address.kind == .v4 ? "IPv4" : "IPv6"
        let accepted = "\(family) prefixes are /0 to /\(width)"
        if prefix.isEmpty { return .failure(Failure("no prefix length after \"/\" (\(accepted))")) }
        guard prefix.allSatisfy(\.isASCIIDigit) else {
            return .failure(Failure("prefix length \"\(UntrustedText.escape(String(prefix)))\" is not a number (\(accepted))"))
        }
        guard prefix.count <= 3, let length = Int(prefix), length <= width else {
            return .failure(Failure("prefix length /\(prefix) is too long (\(accepted))"))
        }
        return .success(.network(address, prefixLength: length))
    }

    // MARK: IPv6

    static func classifyV6(_ text: String) -> Result<TargetSpec, Failure> {
        if let address = IPAddress(parsing: text) { return .success(.address(address)) }
        return .failure(v6Failure(text))
    }

    /// Why `text`, which has a colon, is not an IPv6 address.
    static func v6Failure(_ text: String) -> Failure {
        // `10.0.0.1:80`, `example.com:8080`: a port written onto the target.
        let colonParts = text.split(separator: ":", omittingEmptySubsequences: false)
        if colonParts.count == 2, let port = colonParts.last, !port.isEmpty, port.allSatisfy(\.isASCIIDigit),
            !colonParts[0].isEmpty, !colonParts[0].allSatisfy(\.isHexDigit)
        {
            return Failure("ports are given with -p, not as ADDRESS:PORT")
        }
        if text.hasPrefix("[") {
            return Failure("not a valid IPv6 address (write it without brackets, such as 2001:db8::1)")
        }
        if text.contains("-") {
            return Failure(
                "not a valid IPv6 address (ranges are accepted only in the last octet of an IPv4 address; "
                    + "for IPv6 use a CIDR block such as fd00::/120)")
        }
        return Failure(
            "not a valid IPv6 address (eight groups of up to four hex digits, \"::\" at most once, "
                + "such as 2001:db8::1)")
    }

    // MARK: Zones

    /// `ADDRESS%ZONE`: an IPv6 link-local address and the interface it is on.
    static func classifyScoped(address text: Substring, zone: Substring) -> Result<TargetSpec, Failure> {
        let example = "such as fe80::1%eth0"
        if text.contains("/") || zone.contains("/") {
            return .failure(
                Failure(
                    "a zone cannot be given with a CIDR block (name link-local hosts one at a time with their interface, \(example))"))
        }
        guard let address = IPAddress(parsing: String(text)) else {
            if text.isEmpty { return .failure(Failure("no address before \"%\" (a zone follows an IPv6 link-local address, \(example))")) }
            if !text.contains(":") && looksNumeric(String(text)) {
                return .failure(Failure("a zone (%INTERFACE) follows only an IPv6 link-local address; IPv4 addresses have none"))
            }
            if !text.contains(":") {
                return .failure(Failure("a zone (%INTERFACE) follows an IPv6 link-local address, not a hostname (\(example))"))
            }
            return .failure(v6Failure(String(text)))
        }
        if address.kind == .v4 {
            return .failure(Failure("a zone (%INTERFACE) follows only an IPv6 link-local address; IPv4 addresses have none"))
        }
        if let reason = zoneReason(zone) { return .failure(Failure(reason)) }
        guard address.acceptsZone else {
            return .failure(
                Failure(
                    "\(address) is not link-local: a zone (%INTERFACE) is given only with an IPv6 link-local address "
                        + "(fe80::/10, or link-scope multicast); write \(address) without it"))
        }
        return .success(.scoped(address, zone: String(zone)))
    }

    /// Why `zone` cannot be an interface name or index; nil when it can.
    static func zoneReason(_ zone: Substring) -> String? {
        let accepted = "a zone is an interface name such as eth0, or an interface index such as 2"
        if zone.isEmpty { return "no zone after \"%\" (\(accepted))" }
        if zone.contains("%") { return "more than one \"%\" (\(accepted))" }
        if zone.utf8.count > longestInterfaceName {
            return "zone \"\(UntrustedText.escape(String(zone.prefix(20))))\" is longer than an interface name can be "
                + "(\(longestInterfaceName) bytes)"
        }
        if zone == "." || zone == ".." { return "zone \"\(zone)\" is not an interface name (\(accepted))" }
        if let bad = zone.unicodeScalars.first(where: { !$0.isASCII || $0.value <= 0x20 || $0.value == 0x7f || $0 == ":" }) {
            return "character \"\(UntrustedText.escape(String(bad)))\" cannot be in an interface name (\(accepted))"
        }
        return nil
    }

    // MARK: IPv4 and last-octet ranges

    static func classifyV4OrRange(_ text: Substring) -> Result<TargetSpec, Failure> {
        guard let dash = text.firstIndex(of: "-") else {
            if let address = IPAddress(parsing: String(text)) { return .success(.address(address)) }
            return .failure(Failure(v4Reason(text) ?? "not a valid IPv4 address"))
        }
        let start = text[..<dash]
        let end = text[text.index(after: dash)...]
        let example = "a range is written as 10.0.0.1-20"
        if end.contains("-") { return .failure(Failure("not a valid range (more than one \"-\"; \(example))")) }
        if end.contains(".") {
            return .failure(
                Failure("not a valid range (only the last octet can be a range, and full addresses cannot end one; \(example))"))
        }
        guard let first = IPAddress(parsing: String(start)), first.kind == .v4 else {
            if start.isEmpty || start.hasSuffix(".") { return .failure(Failure("not a valid range (no start before \"-\"; \(example))")) }
            return .failure(Failure(v4Reason(start) ?? "not a valid IPv4 address"))
        }
        if end.isEmpty { return .failure(Failure("not a valid range (no end after \"-\"; \(example))")) }
        guard end.allSatisfy(\.isASCIIDigit), !(end.count > 1 && end.first == "0"), end.count <= 3, let last = UInt8(end) else {
            return .failure(Failure("not a valid range (end \"\(UntrustedText.escape(String(end)))\" is not an octet 0-255; \(example))"))
        }
        let bytes = first.bytes
        guard bytes[3] <= last else {
            return .failure(
                Failure("range \(bytes[3])-\(last) is reversed (write \(bytes[0]).\(bytes[1]).\(bytes[2]).\(last)-\(bytes[3]))"))
        }
        return .success(.range(first: first, last: IPAddress(v4: bytes[0], bytes[1], bytes[2], last)))
    }

    /// Why `text` is not a strict dotted quad, in the user's terms; nil when it is one.
    static func v4Reason(_ text: Substring) -> String? {
        let prefix = "not a valid IPv4 address"
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        if parts.contains(where: \.isEmpty) { return "\(prefix) (an octet is empty; write four octets such as 192.0.2.1)" }
        if parts.count > 4 { return "\(prefix) (an IPv4 address has four octets; this has \(parts.count))" }
        let isDecimal: (Substring) -> Bool = { $0.allSatisfy(\.isASCIIDigit) }
        if let bad = parts.first(where: { !isDecimal($0) && !isHexNumber($0) }) {
            return "\(prefix) (octet \"\(UntrustedText.escape(String(bad)))\" is not a decimal number)"
        }
        let hasLeadingZero: (Substring) -> Bool = { isDecimal($0) && $0.count > 1 && $0.first == "0" }
        // Decimal reading of each part, ignoring leading zeros; nil above 255.
        let decimal: [UInt8?] = parts.map { part in
            guard isDecimal(part) else { return nil }
            let significant = part.drop { $0 == "0" }
            return significant.isEmpty ? 0 : UInt8(significant)
        }
        if parts.count == 4, let big = parts.first(where: { isDecimal($0) && !hasLeadingZero($0) && UInt8($0) == nil }) {
            return "\(prefix) (octet \(big) is out of range 0-255)"
        }
        let atonReading = inetAton(parts).map { IPAddress(v4Word: $0).description }
        if parts.count == 4, parts.contains(where: hasLeadingZero), !parts.contains(where: { isHexNumber($0) }) {
            let octets = decimal.compactMap { $0 }
            let decimalReading = octets.count == decimal.count ? octets.map(String.init).joined(separator: ".") : nil
            switch (atonReading, decimalReading) {
            case (let aton?, let plain?) where aton != plain:
                return "\(prefix) (leading zeros are not accepted: inet_aton reads \(text) as \(aton), "
                    + "most other tools as \(plain); write the one you mean)"
            case (_, let plain?):
                return "\(prefix) (leading zeros are not accepted; write \(plain))"
            case (let aton?, nil):
                return "\(prefix) (leading zeros are not accepted: inet_aton reads \(text) as octal, \(aton); write that if it is meant)"
            case (nil, nil):
                let zeroed = parts.first(where: hasLeadingZero).map(String.init) ?? ""
                return "\(prefix) (octet \"\(zeroed)\" has a leading zero, and leading zeros are not accepted)"
            }
        }
        if let aton = atonReading {
            if aton == String(text) { return nil }
            return "\(prefix) (inet_aton shorthand such as \(text) is not accepted; write \(aton))"
        }
        if let big = parts.first(where: { isDecimal($0) && UInt32($0).map { $0 > 255 } ?? true }) {
            return "\(prefix) (octet \(big) is out of range 0-255; write four octets such as 192.0.2.1)"
        }
        return "\(prefix) (write four decimal octets such as 192.0.2.1)"
    }

    /// What glibc's inet_aton makes of `parts`: each part decimal, octal
    /// (leading 0) or hex (0x); the last part fills the remaining bytes.
    /// Used only to tell the user what their shorthand would have meant.
    static func inetAton(_ parts: [Substring]) -> UInt32? {
        guard (1...4).contains(parts.count) else { return nil }
        var values: [UInt64] = []
        for part in parts {
            let digits: Substring
            let radix: Int
            if isHexNumber(part) {
                (digits, radix) = (part.dropFirst(2), 16)
            } else if part.count > 1 && part.first == "0" {
                (digits, radix) = (part.dropFirst(), 8)
            } else {
                (digits, radix) = (part, 10)
            }
            guard digits.count <= 12, let value = UInt64(digits, radix: radix) else { return nil }
            values.append(value)
        }
        var word: UInt64 = 0
        for (i, value) in values.enumerated() {
            if i < values.count - 1 {
                guard value <= 255 else { return nil }
                word |= value << UInt64(24 - 8 * i)
            } else {
                let remainingBits = UInt64(32 - 8 * i)
                guard value < (1 << remainingBits) else { return nil }
                word |= value
            }
        }
        return UInt32(word)
    }

    // MARK: Hostnames

    static func classifyHostname(_ text: String) -> Result<TargetSpec, Failure> {
        let prefix = "not a valid hostname"
        let body = text.hasSuffix(".") ? text.dropLast() : Substring(text)
        if body.isEmpty { return .failure(Failure("\(prefix) (it has no labels; \(acceptedForms))")) }
        if body.unicodeScalars.contains(where: { !$0.isASCII }) {
            return .failure(
                Failure(
                    "\(prefix) (non-ASCII characters are not accepted; "
                        + "write an internationalised name in its xn-- form)"))
        }
        if let bad = body.first(where: { !($0.isASCIILetter || $0.isASCIIDigit || $0 == "-" || $0 == ".") }) {
            return .failure(
                Failure(
                    "\(prefix) (character \"\(UntrustedText.escape(String(bad)))\" is not allowed: "
                        + "hostnames are letters, digits, hyphens and dots; \(acceptedForms))"))
        }
        if body.utf8.count > 253 {
            return .failure(Failure("\(prefix) (a hostname is at most 253 characters; this has \(body.utf8.count))"))
        }
        for label in body.split(separator: ".", omittingEmptySubsequences: false) {
            if label.isEmpty { return .failure(Failure("\(prefix) (empty label: two dots in a row, or a leading dot)")) }
            if label.utf8.count > 63 {
                return .failure(Failure("\(prefix) (label \"\(label.prefix(20))...\" is \(label.utf8.count) characters; the limit is 63)"))
            }
            if label.first == "-" { return .failure(Failure("\(prefix) (label \"\(label)\" begins with a hyphen)")) }
            if label.last == "-" { return .failure(Failure("\(prefix) (label \"\(label)\" ends with a hyphen)")) }
        }
        return .success(.hostname(text))
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
    var isASCIILetter: Bool { isASCII && isLetter }
}
