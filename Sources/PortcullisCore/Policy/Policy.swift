/// What may listen on a host, and how the audit should treat its findings:
/// the YAML file `portcullis audit --policy FILE` reads (by default
/// /etc/portcullis/policy.yaml when it exists), and that
/// `portcullis policy init` writes from what listens now.
///
/// ```yaml
/// version: 1                  # optional; 1 is the only version
///
/// allow:                      # listeners that may exist; anything else is a
///                             # `not-in-policy` finding
///   - port: 22                # required: a port (22), a range ("8000-8100"),
///                             # a comma-separated list ("22,80,443"), or a
///                             # YAML list of those ([80, 443, "8000-8100"])
///     proto: tcp              # tcp | udp | raw | any (default any = tcp or
///                             # udp; raw sockets, whose "port" is the IP
///                             # protocol number, only match `raw`)
///     process: sshd           # optional: the process name (comm) or the base
///                             # name of the executable of any owner
///     exe: /usr/sbin/sshd     # optional: the exact executable path of an owner
///                             # (with `process`, one owner must match both)
///     user: root              # optional: a user name or numeric uid, matched
///                             # against the socket's uid and its owners'
///     exposure: any           # loopback (default): bound to 127.0.0.0/8 or ::1
///                             #   (or firewalled down to them)
///                             # any: reachable on any address
///                             # [192.0.2.7, "2001:db8::7"] (or one address):
///                             #   bound to one of these addresses, or to
///                             #   loopback; quote IPv6 addresses
///     comment: "SSH for admins"   # optional, for people; ignored by portcullis
///
/// rules:                      # per-rule overrides, keyed by rule id
///   ephemeral-listener: {enabled: false}      # never report this rule
///   udp-amplification: {severity: low}        # info | low | medium | high | critical
///
/// ignore:                     # findings to accept for a reason, for a while
///   - rule: backdoor-port     # required: a rule id
///     port: 4444              # optional filters, all must match the finding's
///     proto: tcp              #   socket: port (same syntax as above),
///     process: nc             #   proto (tcp | udp | raw | any), process name;
///     # id: backdoor-port@nc:0.0.0.0:4444/tcp   # or instead: exactly one finding, by
///                             #   the id the audit prints (RULE@PROGRAM:ENDPOINT)
///     reason: "pentest lab"   # required, not empty: shown in the report
///     expires: 2027-03-01     # optional YYYY-MM-DD: applies through the end of
///                             # that day (UTC); after it the finding returns
///                             # and the audit says the ignore expired
/// ```
///
/// A socket is allowed when one `allow` entry matches its port, proto,
/// process/exe and user, and its exposure fits. An entry that matches
/// everything but the exposure makes the audit say the socket is more exposed
/// than allowed. Exposure is judged after the firewall: a port bound to
/// 0.0.0.0 that the firewall proves unreachable counts as loopback.
///
/// Every section is optional, and so is every key not marked required; an
/// empty file, or one with only comments, is an empty policy. Values may be
/// quoted or not (`port: 22` and `port: "22"` agree); protocols, exposure
/// words and severities may be in any case; `enabled` takes true or false
/// (not yes/no). Unknown keys, wrong types, bad ports, unknown protocols, rule
/// ids or severities, bad dates and addresses, duplicate keys and YAML syntax
/// errors are reported as `FILE:LINE:COLUMN: message` (exit status 2).
/// YAML anchors and aliases are refused: a policy never needs them, and
/// they can make a small file expand without bound.
/// Rule ids: exposed-datastore, exposed-admin-api, cleartext-remote-access,
/// udp-amplification, deleted-executable, replaced-executable,
/// unsafe-executable-location, backdoor-port, raw-socket, packet-socket,
/// ephemeral-listener, unowned-socket, ld-preload, unneeded-listener, not-in-policy.
public struct Policy: Sendable, Equatable {
    /// One listener the administrator accepts.
    public struct Allow: Sendable, Equatable {
        /// Ports the entry allows (the `port:` key): one port, a range or a list; required in the file.
        public var ports: PortSpec
        /// nil: tcp or udp.
        public var proto: TransportProtocol?
        /// comm, or the base name of the executable, of any owner.
        public var process: String?
        /// Exact executable path of an owner.
        public var exe: String?
        /// User name or numeric uid: the socket's or an owner's.
        public var user: String?
        /// How reachable the listener may be (`exposure:`); `.loopback` when the entry does not say.
        public var exposure: AllowedExposure
        /// The entry's `comment:`, kept for people and for `policy init` to write back; never used to match.
        public var comment: String?
        /// Where the entry starts in the file, for messages.
        public var line: Int

        /// Builds an entry as the parser would; the defaults are the file's (any tcp/udp owner,
        /// loopback only). `line` 0 means the entry came from no file.
        public init(
            ports: PortSpec, proto: TransportProtocol? = nil, process: String? = nil, exe: String? = nil,
            user: String? = nil, exposure: AllowedExposure = .loopback, comment: String? = nil, line: Int = 0
        ) {
            self.ports = ports
            self.proto = proto
            self.process = process
            self.exe = exe
            self.user = user
            self.exposure = exposure
            self.comment = comment
            self.line = line
        }
    }

    /// How far a listener may be reachable.
    public enum AllowedExposure: Sendable, Equatable, CustomStringConvertible {
        /// Only from this host.
        case loopback
        /// From anywhere the network lets through.
        case any
        /// Bound to one of these addresses (normalized: IPv4-mapped IPv6 is
        /// stored as IPv4), or to loopback.
        case addresses([IPAddress])

        /// Whether a socket bound to `address`, judged `exposure` (after the
        /// firewall), stays within what is allowed.
        public func permits(_ exposure: Exposure, localAddress address: IPAddress) -> Bool {
            switch self {
            case .any: return true
            case .loopback: return exposure == .loopback
            case .addresses(let list): return exposure == .loopback || list.contains(address.normalized)
            }
        }

        /// The forms the file names with a word.
        public static let named: [AllowedExposure] = [.loopback, .any]

        /// The file's word for it (`loopback`, `any`, as `description`
        /// spells it); nil for a list of addresses. The parser and the
        /// starter file use it, so the words are spelt once.
        public var keyword: String? {
            switch self {
            case .loopback, .any: return description
            case .addresses: return nil
            }
        }

        /// The form the file's word names; nil for any other word.
        public init?(keyword: String) {
            guard let named = Self.named.first(where: { $0.keyword == keyword }) else { return nil }
            self = named
        }

        /// As the file spells it, for messages: "loopback", "any",
        /// "addresses 192.0.2.7, 2001:db8::7".
        public var description: String {
            switch self {
            case .loopback: return "loopback"
            case .any: return "any"
            case .addresses(let list): return "addresses " + list.map(\.description).joined(separator: ", ")
            }
        }
    }

    /// A rule's treatment. An empty override changes nothing.
    public struct RuleOverride: Sendable, Equatable {
        /// false (`enabled: false`): the rule is never reported.
        public var enabled: Bool
        /// nil: the rule's own severity.
        public var severity: Severity?
        /// Where the override is in the file.
        public var line: Int

        /// Builds an override; the defaults (enabled, own severity) change nothing.
        public init(enabled: Bool = true, severity: Severity? = nil, line: Int = 0) {
            self.enabled = enabled
            self.severity = severity
            self.line = line
        }
    }

    /// A finding the administrator accepts, with a reason and maybe an end.
    public struct Ignore: Sendable, Equatable {
        /// The rule whose findings this ignore accepts (`rule:`, required).
        public var rule: RuleID
        /// Only findings whose socket's local port is in these (`port:`); nil: any port.
        public var ports: PortSpec?
        /// nil: any protocol.
        public var proto: TransportProtocol?
        /// Only findings whose socket has an owner with this comm or executable base name (`process:`); nil: any owner.
        public var process: String?
        /// Only the finding with this id (`id:`, as the audit prints it:
        /// `udp-amplification@nmbd:0.0.0.0:137/udp`); nil: any finding of the rule.
        public var id: String?
        /// Why the finding is accepted (`reason:`, required and not empty); the audit report shows it.
        public var reason: String
        /// The last day the ignore applies (UTC), or nil for no end.
        public var expires: PolicyDate?
        /// Where the entry starts in the file (1-based), for messages; 0 when built in code.
        public var line: Int

        /// Builds an ignore as the parser would; nil filters match any socket, and `expires` nil means it never ends.
        public init(
            rule: RuleID, ports: PortSpec? = nil, proto: TransportProtocol? = nil, process: String? = nil,
            reason: String, expires: PolicyDate? = nil, line: Int = 0
        ) {
            self.rule = rule
            self.ports = ports
            self.proto = proto
            self.process = process
            self.reason = reason
            self.expires = expires
            self.line = line
        }

        /// Expired once the last day has passed.
        public func isExpired(now: Int64) -> Bool { expires.map { now >= $0.end } ?? false }

        /// Whether the filters cover `entry`. A finding about no socket
        /// (ld-preload) is only covered by an ignore without filters.
        public func covers(_ entry: InventoryEntry?) -> Bool {
            // An ignore by id is matched against the merged finding, not a socket.
            guard id == nil else { return false }
            guard ports != nil || proto != nil || process != nil else { return true }
            guard let entry else { return false }
            if let ports, !ports.contains(entry.socket.localPort) { return false }
            if let proto, entry.socket.proto != proto { return false }
            if let process, !entry.owners.contains(where: { Policy.ownerIsNamed($0, process) }) { return false }
            return true
        }
    }

    /// Where the policy came from ("/etc/portcullis/policy.yaml"), for messages.
    public var source: String
    /// The `allow:` entries, in file order; the first that permits a listener wins.
    public var allow: [Allow]
    /// The `rules:` overrides, keyed by rule id; a rule not here keeps its default treatment.
    public var rules: [RuleID: RuleOverride]
    /// The `ignore:` entries, in file order, expired ones included (the audit reports those).
    public var ignore: [Ignore]

    /// Builds a policy; the defaults make an empty one, like a file with no sections.
    public init(source: String = "", allow: [Allow] = [], rules: [RuleID: RuleOverride] = [:], ignore: [Ignore] = []) {
        self.source = source
        self.allow = allow
        self.rules = rules
        self.ignore = ignore
    }

    /// No file: nothing is allowed explicitly, nothing is overridden.
    public static let empty = Policy()

    /// The verdict on one listener.
    public enum AllowDecision: Sendable, Equatable {
        case allowed(Allow)
        /// The entry allows this listener, but less exposed than it is.
        case exposureTooWide(Allow)
        case notAllowed
    }

    /// Judges a listener against the allow list. `exposure` is the caller's
    /// (the firewall may have narrowed the socket's own), and an entry that
    /// allows it wins over one that matches but is too narrow.
    public func decision(for entry: InventoryEntry, exposure: Exposure) -> AllowDecision {
        var tooWide: Allow?
        for candidate in allow where Self.matches(candidate, entry) {
            if candidate.exposure.permits(exposure, localAddress: entry.socket.localAddress) {
                return .allowed(candidate)
            }
            if tooWide == nil { tooWide = candidate }
        }
        return tooWide.map(AllowDecision.exposureTooWide) ?? .notAllowed
    }

    /// The first unexpired ignore for `rule` whose filters cover `entry`.
    public func activeIgnore(rule: RuleID, entry: InventoryEntry?, now: Int64) -> Ignore? {
        ignore.first { $0.rule == rule && !$0.isExpired(now: now) && $0.covers(entry) }
    }

    /// The first unexpired ignore for `rule` naming the finding `id`.
    public func activeIgnore(rule: RuleID, findingID: String, now: Int64) -> Ignore? {
        ignore.first { $0.rule == rule && $0.id == findingID && !$0.isExpired(now: now) }
    }

    /// Ignores past their date, so the audit can say they no longer apply.
    public func expiredIgnores(now: Int64) -> [Ignore] {
        ignore.filter { $0.isExpired(now: now) }
    }

    /// The severity to report `rule` at, or nil when the policy disables it.
    public func severity(for rule: RuleID, default fallback: Severity) -> Severity? {
        guard let override = rules[rule] else { return fallback }
        guard override.enabled else { return nil }
        return override.severity ?? fallback
    }

    // MARK: Matching

    static func matches(_ allow: Allow, _ entry: InventoryEntry) -> Bool {
        let socket = entry.socket
        guard allow.ports.contains(socket.localPort) else { return false }
        switch allow.proto {
        case .some(let proto): if socket.proto != proto { return false }
        // "any" means the port-based protocols: a RAW socket's port is an IP
        // protocol number, and allowing one should be a deliberate `raw`.
        case .none: if socket.proto == .raw { return false }
        }
        if allow.process != nil || allow.exe != nil {
            let owned = entry.owners.contains { owner in
                (allow.process.map { ownerIsNamed(owner, $0) } ?? true) && (allow.exe.map { owner.exe == $0 } ?? true)
            }
            if !owned { return false }
        }
        if let user = allow.user, !userMatches(user, entry) { return false }
        return true
    }

    /// comm, or the executable's base name (comm is cut at 15 bytes).
    static func ownerIsNamed(_ owner: SocketOwner, _ name: String) -> Bool {
        if owner.name == name { return true }
        guard let exe = owner.exe, let base = exe.split(separator: "/").last else { return false }
        return base == name
    }

    /// Same rule as `list --user`: a number is a uid, anything else a name;
    /// the socket's own uid or any owner's will do.
    static func userMatches(_ user: String, _ entry: InventoryEntry) -> Bool {
        if let uid = UInt32(user) {
            return entry.socket.uid == uid || entry.owners.contains { $0.uid == uid }
        }
        return entry.user == user || entry.owners.contains { $0.user == user }
    }
}

/// A calendar day from the file (`expires: 2027-03-01`), read as UTC.
public struct PolicyDate: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Full year, as written (2027).
    public var year: Int
    /// Month of the year, 1-12.
    public var month: Int
    /// Day of the month, 1-31 (always a day that exists in that month).
    public var day: Int

    /// nil unless the day exists (2027-02-29 does not).
    public init?(year: Int, month: Int, day: Int) {
        guard (1...12).contains(month), day >= 1, day <= Self.daysIn(month: month, year: year) else { return nil }
        self.year = year
        self.month = month
        self.day = day
    }

    /// Strict `YYYY-MM-DD`.
    public init?(parsing text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
            parts.allSatisfy({ $0.allSatisfy { $0.isASCII && $0.isNumber } }),
            let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2])
        else { return nil }
        self.init(year: y, month: m, day: d)
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 (Howard Hinnant's days-from-civil).
    var daysSinceEpoch: Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let m = Int64(month)
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    /// The first second after this day ends in UTC: an ignore expiring on
    /// this day stops applying at this instant.
    public var end: Int64 { (daysSinceEpoch + 1) * 86400 }

    /// `YYYY-MM-DD`, zero-padded, as the file spells it.
    public var description: String {
        func pad(_ v: Int, _ width: Int) -> String {
            let digits = String(v)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))"
    }

    /// Calendar order: earlier days first.
    public static func < (lhs: PolicyDate, rhs: PolicyDate) -> Bool {
        (lhs.year, lhs.month, lhs.day) < (rhs.year, rhs.month, rhs.day)
    }
}

/// A policy file that cannot be used: where, and what is wrong.
public struct PolicyError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file as named to the parser (the path given on the command line, or the default), for the message prefix.
    public var file: String
    /// 1-based, as editors count.
    public var line: Int
    /// 1-based, in Unicode scalars (as libyaml counts).
    public var column: Int
    /// What is wrong and, where it helps, what to write instead; no location prefix (`description` adds it).
    public var message: String

    /// Builds an error at a 1-based line and column of `file`.
    public init(file: String, line: Int, column: Int, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.message = message
    }

    /// `FILE:LINE:COLUMN: message`, the form editors and CI annotate.
    public var description: String { "\(UntrustedText.escape(file)):\(line):\(column): \(message)" }
}
