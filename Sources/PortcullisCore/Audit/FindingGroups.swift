/// Finding ids: stable across runs, so a baseline, a diff or a policy can
/// name a finding without its pids or inodes.
public enum FindingID {
    /// `RULE@PROGRAM:ENDPOINT` (see `Finding.id`); `RULE@ENDPOINT` when no
    /// process holds the socket, `RULE@host` for a host-wide finding.
    public static func make(rule: RuleID, owners: [SocketOwner], subject: FindingSubject?) -> String {
        guard let subject else { return "\(rule.rawValue)@host" }
        let endpoint = endpointKey(subject)
        guard let program = program(owners) else { return "\(rule.rawValue)@\(endpoint)" }
        return "\(rule.rawValue)@\(program):\(endpoint)"
    }

    /// The program instance's name: the first holder's (by pid) service unit,
    /// else its container, else its process name; nil without holders.
    /// Characters other than letters, digits and `._+-@` become `_`, so an id
    /// is one word whatever a process calls itself.
    static func program(_ owners: [SocketOwner]) -> String? {
        let sorted = owners.sorted { $0.pid < $1.pid }
        let name =
            sorted.lazy.compactMap(\.unit).first ?? sorted.lazy.compactMap(\.container).first ?? sorted.first.map(\.name)
        guard let name else { return nil }
        guard !name.isEmpty else { return "unnamed" }
        return String(
            String.UnicodeScalarView(
                name.unicodeScalars.prefix(64).map { c in
                    c.isASCII && (c.properties.isAlphabetic || ("0"..."9").contains(c) || "._+-@".unicodeScalars.contains(c)) ? c : "_"
                }))
    }

    /// `0.0.0.0:137/udp`, `[::]:111/tcp`, `0.0.0.0/raw`, `packet:every-interface`.
    static func endpointKey(_ subject: FindingSubject) -> String {
        switch subject.proto {
        case .packet: return "packet:" + String(subject.localAddress.map { $0 == " " ? "-" : $0 })
        case .transport, .other:
            let address = subject.family == .ipv6 ? "[\(subject.localAddress)]" : subject.localAddress
            guard let port = subject.port else { return "\(address)/\(subject.proto.jsonName)" }
            return "\(address):\(port)/\(subject.proto.jsonName)"
        }
    }
}

/// Merges the audit's per-socket findings into one finding per problem: the
/// same rule about the same program instance (the processes that share the
/// sockets) and the same service. nmbd's three sockets on 137/udp are one
/// amplification finding listing three sockets, not three findings.
public enum FindingGroups {
    /// How many "listens on" lines a merged finding keeps; the JSON's
    /// `sockets` always lists every socket.
    static let locationLinesShown = 6

    /// One finding per rule, program instance and problem (the title with
    /// the socket's endpoint taken out), in the order the first of each
    /// appeared. A finding that does not say where its endpoint is in the
    /// title (`Finding.location`), and a host-wide one, stays as it is.
    public static func merge(_ findings: [Finding]) -> [Finding] {
        var order: [GroupKey] = []
        var members: [GroupKey: [Finding]] = [:]
        var alone: [Int: Finding] = [:]
        for (index, finding) in findings.enumerated() {
            guard let key = GroupKey(finding) else {
                alone[order.count] = finding
                order.append(GroupKey(alone: index))
                continue
            }
            if members[key] == nil { order.append(key) }
            members[key, default: []].append(finding)
        }
        var merged = order.enumerated().map { position, key in
            if let finding = alone[position] { return finding }
            return combine(members[key] ?? [])
        }
        // Two instances of one program on the same first socket (SO_REUSEPORT)
        // would share an id: the later ones, by pid, get `#2`, `#3`.
        var counts: [String: Int] = [:]
        for finding in merged { counts[finding.id, default: 0] += 1 }
        if counts.values.contains(where: { $0 > 1 }) {
            var seen: [String: Int] = [:]
            let byPID = merged.indices.sorted { (merged[$0].owners.map(\.pid).min() ?? 0) < (merged[$1].owners.map(\.pid).min() ?? 0) }
            for i in byPID where counts[merged[i].id, default: 0] > 1 {
                let id = merged[i].id
                seen[id, default: 0] += 1
                if let n = seen[id], n > 1 { merged[i].id = "\(id)#\(n)" }
            }
        }
        return merged
    }

    /// What makes two per-socket findings one problem.
    struct GroupKey: Hashable {
        var rule: String
        /// The holders' pids, sorted; for a socket nobody holds, its port and protocol.
        var instance: String
        /// The title with the endpoint taken out.
        var headline: String

        init?(_ finding: Finding) {
            guard let subject = finding.subject, let location = finding.location, finding.title.contains(location) else { return nil }
            rule = finding.rule.rawValue
            instance =
                finding.instance
                ?? (finding.owners.isEmpty
                    ? "\(subject.proto.jsonName)/\(subject.port.map(String.init) ?? "-")"
                    : finding.owners.map(\.pid).sorted().map(String.init).joined(separator: ","))
            headline = finding.title.replacingFirst(location, with: "\u{0}")
        }

        init(alone index: Int) {
            rule = ""
            instance = "#\(index)"
            headline = ""
        }
    }

    static func combine(_ group: [Finding]) -> Finding {
        guard group.count > 1, let first = group.first else { return group[0] }
        let sorted = group.sorted { precedes($0.subject, $1.subject) }
        let worst = sorted.max { $0.severity < $1.severity } ?? first
        let lead = sorted[0]
        let locations = sorted.compactMap(\.location)
        var title = lead.title
        if let location = lead.location { title = title.replacingFirst(location, with: list(locations)) }
        // Each member's first line says where its socket listens; the rest
        // is about the program and merges.
        var evidence: [String] = []
        var seen = Set<String>()
        for member in sorted.prefix(locationLinesShown) {
            if let line = member.evidence.first, seen.insert(line).inserted { evidence.append(line) }
        }
        if sorted.count > locationLinesShown {
            evidence.append("and \(sorted.count - locationLinesShown) more sockets (all listed in the JSON's sockets)")
        }
        for member in sorted {
            for line in member.evidence.dropFirst() where seen.insert(line).inserted { evidence.append(line) }
        }
        var owners: [SocketOwner] = []
        var pids = Set<Int32>()
        for member in sorted { for owner in member.owners where pids.insert(owner.pid).inserted { owners.append(owner) } }
        var merged = Finding(
            rule: lead.rule, severity: worst.severity, title: title, subject: lead.subject, owners: owners, evidence: evidence,
            remediation: worst.remediation, sockets: sorted.compactMap(\.subject), id: lead.id)
        merged.location = lead.location
        merged.instance = lead.instance
        return merged
    }

    /// Rules whose fix is to stop listening beyond loopback (or to stop the
    /// service): when the program's own configuration shows nothing needs
    /// it, removing it is the fix for these too.
    static let foldedIntoUnneeded: Set<RuleID> = [
        .udpAmplification, .cleartextRemoteAccess, .exposedDatastore, .exposedAdminAPI,
    ]

    /// A listener nothing needs is one problem, whatever else it is: an
    /// amplifier (rpcbind, nmbd) or a cleartext service. Those findings,
    /// when every socket they cover is in an `unneeded-listener` finding,
    /// join it: their title becomes an evidence line, their evidence and
    /// worse severity are kept, and the fix (stop it) covers both.
    public static func foldIntoUnneeded(_ findings: [Finding]) -> [Finding] {
        let unneeded = findings.indices.filter { findings[$0].rule == .unneededListener }
        guard !unneeded.isEmpty else { return findings }
        var out = findings
        var absorbed = Set<Int>()
        for u in unneeded {
            let inodes = Set(out[u].sockets.map(\.inode))
            for i in out.indices where foldedIntoUnneeded.contains(out[i].rule) && !absorbed.contains(i) {
                let other = out[i]
                guard !other.sockets.isEmpty, other.sockets.allSatisfy({ inodes.contains($0.inode) }) else { continue }
                absorb(other, into: &out[u])
                absorbed.insert(i)
            }
        }
        return out.indices.filter { !absorbed.contains($0) }.map { out[$0] }
    }

    /// One service exposed on the same sockets is one problem, however
    /// many risks it carries: an SNMP agent with community `public` is both
    /// cleartext remote access and an amplifier; memcached on UDP both an
    /// exposed datastore and an amplifier. Exposure findings about the same
    /// program instance and exactly the same sockets join the worst of them
    /// (ties: datastore, admin API, cleartext, amplification), whose fix
    /// (bind it to loopback, or the program's own setting) ends them all.
    public static func foldSameSockets(_ findings: [Finding]) -> [Finding] {
        let order: [RuleID] = [.exposedDatastore, .exposedAdminAPI, .cleartextRemoteAccess, .udpAmplification]
        struct Key: Hashable {
            var inodes: [UInt64]
            var pids: [Int32]
        }
        var groups: [Key: [Int]] = [:]
        for (i, finding) in findings.enumerated() where order.contains(finding.rule) && !finding.sockets.isEmpty {
            let key = Key(inodes: finding.sockets.map(\.inode).sorted(), pids: finding.owners.map(\.pid).sorted())
            guard !key.inodes.contains(0) else { continue }  // published ports share inode 0
            groups[key, default: []].append(i)
        }
        var out = findings
        var absorbed = Set<Int>()
        for members in groups.values where members.count > 1 {
            guard
                let lead = members.min(by: { a, b in
                    let (fa, fb) = (out[a], out[b])
                    if fa.severity != fb.severity { return fa.severity > fb.severity }
                    return (order.firstIndex(of: fa.rule) ?? 0) < (order.firstIndex(of: fb.rule) ?? 0)
                })
            else { continue }
            for i in members where i != lead {
                absorb(out[i], into: &out[lead])
                absorbed.insert(i)
            }
        }
        return out.indices.filter { !absorbed.contains($0) }.map { out[$0] }
    }

    /// `other` joins `finding`: a line naming its rule, severity and title,
    /// its evidence about the program (not the per-socket lines, which
    /// `finding` has), and its severity when worse.
    static func absorb(_ other: Finding, into finding: inout Finding) {
        let about = other.evidence.filter { !$0.hasPrefix("listens on ") && !$0.hasPrefix("held by ") && !$0.hasPrefix("firewall: ") }
        finding.take(other, evidence: ["also \(other.rule.rawValue) (\(other.severity.rawValue)): \(other.title)"] + about)
    }

    /// "A", "A and B", "A, B and C", "A, B, C and 4 more".
    static func list(_ items: [String]) -> String {
        switch items.count {
        case 0: return ""
        case 1: return items[0]
        case 2...4: return items.dropLast().joined(separator: ", ") + " and " + items[items.count - 1]
        default: return items.prefix(3).joined(separator: ", ") + " and \(items.count - 3) more"
        }
    }

    /// Sockets in report order: port, protocol, IPv4 before IPv6, the
    /// wildcard first, then the address.
    static func precedes(_ a: FindingSubject?, _ b: FindingSubject?) -> Bool {
        guard let a, let b else { return a == nil && b != nil }
        if a.port != b.port { return (a.port ?? 0) < (b.port ?? 0) }
        if a.proto != b.proto { return a.proto.jsonName < b.proto.jsonName }
        if a.family != b.family { return a.family == .ipv4 }
        let aWild = a.localAddress == "0.0.0.0" || a.localAddress == "::"
        let bWild = b.localAddress == "0.0.0.0" || b.localAddress == "::"
        if aWild != bWild { return aWild }
        let aAddress = IPAddress(parsing: a.localAddress)
        let bAddress = IPAddress(parsing: b.localAddress)
        if let aAddress, let bAddress, aAddress != bAddress { return aAddress < bAddress }
        return a.localAddress < b.localAddress
    }
}

extension Finding {
    /// Takes in what `other` adds: its severity when worse, and the given
    /// evidence lines it does not have yet.
    mutating func take(_ other: Finding, evidence lines: [String]) {
        severity = max(severity, other.severity)
        for line in lines where !evidence.contains(line) { evidence.append(line) }
    }
}

extension String {
    /// The text with the first occurrence of `target` replaced.
    func replacingFirst(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        return replacing(target, with: replacement, maxReplacements: 1)
    }
}
