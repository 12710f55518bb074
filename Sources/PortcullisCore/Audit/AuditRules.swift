/// The rules themselves: each turns what was seen about one socket (or the
/// host) into findings with evidence and a fix. Documented in the README,
/// section "Audit rules".
enum AuditRules {
    static func subject(_ entry: InventoryEntry) -> FindingSubject {
        let s = entry.socket
        return FindingSubject(
            proto: .transport(s.proto), family: s.family, localAddress: s.localAddress.description,
            port: s.proto == .raw ? nil : s.localPort, inode: s.inode, exposure: entry.exposure)
    }

    static func endpoint(_ entry: InventoryEntry) -> String {
        let s = entry.socket
        if s.proto == .raw {
            return
                "\(InventoryRenderer.address(s.localAddress, port: 0, proto: .raw)) (raw, \(InventoryRenderer.ipProtocolName(s.rawProtocol ?? 0)))"
        }
        return "\(InventoryRenderer.address(s.localAddress, port: s.localPort, proto: s.proto))/\(s.proto.rawValue)"
    }

    static func exposureSentence(_ exposure: Exposure) -> String {
        switch exposure {
        case .loopback: return "loopback only"
        case .allInterfacesIPv4: return "every IPv4 address of the host"
        case .allInterfacesIPv6: return "every IPv6 address of the host"
        case .allInterfacesDualStack: return "every IPv4 and IPv6 address of the host"
        case .linkLocal: return "a link-local address (the local network segment)"
        case .specificAddress: return "a specific non-loopback address"
        }
    }

    /// What the address a socket is bound to is, in its own namespace: an
    /// interface's address, the broadcast address of a subnet (only that
    /// subnet's broadcasts reach it), or an address no interface has.
    /// Falls back to the exposure's sentence when the interfaces are unknown.
    static func exposureSentence(_ entry: InventoryEntry, interfaces: [NetworkInterface]?) -> String {
        let address = entry.socket.localAddress.normalized
        guard entry.exposure == .specificAddress || entry.exposure == .linkLocal, let interfaces, !interfaces.isEmpty else {
            let sentence = exposureSentence(entry.exposure)
            // A container's wildcard is its own namespace's addresses, not the host's.
            if entry.isInOtherNamespace, let namespace = entry.namespace, sentence.hasSuffix(" of the host") {
                return String(sentence.dropLast(" of the host".count)) + " of network namespace \(namespace.label)"
            }
            return sentence
        }
        for interface in interfaces {
            if let own = interface.addresses.first(where: { $0.address.normalized == address }) {
                let kind = entry.exposure == .linkLocal ? "the link-local address" : "the address"
                return
                    "\(kind) of \(interface.name) (\(own.address)/\(own.prefixLength)), reachable from its network and whatever routes to it"
            }
        }
        for interface in interfaces {
            if let broadcast = interface.broadcastAddresses.first(where: { $0.address == address }) {
                return
                    "the broadcast address of \(interface.name)'s \(broadcast.network.first)/\(broadcast.prefixLength): it receives only that subnet's broadcasts"
            }
        }
        return "an address no interface of its network namespace has (bound with IP_FREEBIND, or the address was removed)"
    }

    static func ownerSentence(_ owners: [SocketOwner]) -> String? {
        guard !owners.isEmpty else { return nil }
        let shown = owners.prefix(3).map { o in
            "\(o.name)[\(o.pid)]" + (o.exe.map { " \($0)" } ?? "") + (o.user.map { " as \($0)" } ?? "") + (o.unit.map { " (\($0))" } ?? "")
        }
        return "held by " + shown.joined(separator: ", ") + (owners.count > 3 ? " and \(owners.count - 3) more" : "")
    }

    /// Facts that describe what listens: by owning executable (any port) and
    /// by well-known port (high confidence only), without duplicates.
    /// `portFacts`: PortKnowledge's facts for the socket's port (asked once
    /// per socket by the caller, which also looks for backdoors in them).
    static func facts(for entry: InventoryEntry, portFacts: [PortFact]) -> (byExecutable: [PortFact], byPort: [PortFact]) {
        let s = entry.socket
        guard s.proto != .raw else { return ([], []) }
        // A handful of facts at most: a list is cheaper than a set, and this
        // runs for every listener (rules, probes, clients).
        var seen: [String] = []
        var byExecutable: [PortFact] = []
        // By index: the name is all it needs, not a copy of each holder.
        for i in entry.owners.indices {
            let name = entry.owners[i].name
            // A program on one of its own known ports is that port's service:
            // snmpd on 199/tcp is SMUX, not SNMP; nmbd on 138/udp is the
            // datagram service, not the name service.
            let ownPort =
                portFacts.isEmpty
                ? [] : portFacts.filter { fact in fact.executables.contains { PortKnowledge.executable(name, matches: $0) } }
            // Elsewhere, the program's main service for this protocol only:
            // dnsmasq on 5300/udp is DNS on another port, not also its TFTP
            // and DHCP.
            let candidates =
                ownPort.isEmpty
                ? PortKnowledge.facts(executable: name).first { $0.protocols.contains(s.proto) }.map { [$0] } ?? [] : ownPort
            for fact in candidates where fact.protocols.contains(s.proto) && !seen.contains(fact.service) {
                seen.append(fact.service)
                byExecutable.append(fact)
            }
        }
        guard !portFacts.isEmpty else { return (byExecutable, []) }
        var byPort: [PortFact] = []
        for fact in portFacts where fact.confidence == .high && !seen.contains(fact.service) {
            seen.append(fact.service)
            byPort.append(fact)
        }
        return (byExecutable, byPort)
    }

    /// What the rules work out about a holder, kept for its other sockets
    /// during one run: a process often holds thousands of them, and the
    /// unsafe-location test alone (prefix tests, users' homes) was a quarter
    /// of the per-listener rules' time.
    struct HolderMemo {
        struct Judged {
            var exe: String
            var uid: UInt32?
            var directoryWorldWritable: Bool
            var unsafePlace: String?
        }

        /// By pid; used only while the inputs it was judged from are the same.
        var judged: [Int32: Judged] = [:]

        mutating func unsafeLocation(exe: String, owner: SocketOwner, homes: [String]) -> String? {
            if let known = judged[owner.pid], known.exe == exe, known.uid == owner.uid,
                known.directoryWorldWritable == owner.exeDirectoryWorldWritable
            {
                return known.unsafePlace
            }
            let place = AuditRules.unsafeLocation(exe: exe, owner: owner, homes: homes)
            judged[owner.pid] = Judged(
                exe: exe, uid: owner.uid, directoryWorldWritable: owner.exeDirectoryWorldWritable, unsafePlace: place)
            return place
        }
    }

    static func findings(
        for entry: InventoryEntry, firewall: FirewallVerdict?, reachable: Bool, input: AuditInput,
        memo: inout HolderMemo
    ) -> [Finding] {
        let s = entry.socket
        var out: [Finding] = []
        // The evidence every finding about this socket starts with, built at
        // the first finding: most listeners have none, and building these
        // strings for every listener was most of the audit's time.
        var base: [String]?
        func add(_ rule: RuleID, _ severity: Severity, _ title: String, _ evidence: [String] = [], _ fix: String) {
            let common = base ?? baseEvidence(entry, firewall: firewall, interfaces: entry.namespace.flatMap { input.interfaces[$0.inode] })
            base = common
            var finding = Finding(
                rule: rule, severity: severity, title: title, subject: subject(entry), owners: entry.owners,
                evidence: common + evidence, remediation: fix)
            finding.location = endpoint(entry)
            out.append(finding)
        }
        let portFacts = s.proto == .raw ? [] : PortKnowledge.facts(port: s.localPort, proto: s.proto)
        let (byExecutable, byPort) = facts(for: entry, portFacts: portFacts)
        let known = byExecutable + byPort
        // Only in fix texts, so only built for a finding.
        func closeIt() -> String {
            s.proto == .raw ? "" : "bind it to 127.0.0.1/::1, or drop inbound \(s.localPort)/\(s.proto.rawValue) in the firewall"
        }
        // The fix written for the program that holds it (dnsmasq's, not BIND's), when it is a known one.
        func programFix(_ rule: RuleID, _ fact: PortFact) -> String? {
            ProgramFixes.fix(rule: rule, service: fact, owners: entry.owners, port: s.localPort, proto: s.proto)
        }
        func recognised(_ fact: PortFact) -> String {
            byExecutable.contains(fact)
                ? "recognised by its executable as \(fact.title)" : "port \(s.localPort)/\(s.proto.rawValue) is \(fact.title)'s"
        }

        if reachable {
            if let fact = known.first(where: { $0.isIn(.datastore) || $0.isIn(.adminAPI) }) {
                let admin = fact.category == .adminAPI || (!fact.isIn(.datastore) && fact.isIn(.adminAPI))
                let clients: (evidence: [String], noClientFix: String?) =
                    admin
                    ? ([], nil)
                    : RemoteClientEvidence.judge(
                        input.programSockets[ProgramPort(entry)] ?? [entry], now: input.clientsNow, history: input.clientHistory)
                let fix = programFix(admin ? .exposedAdminAPI : .exposedDatastore, fact) ?? fact.remediation ?? closeIt().capitalizedFirst
                let probe = input.probes[s.inode].flatMap { $0.kind == .snmp ? nil : $0 }
                add(
                    admin ? .exposedAdminAPI : .exposedDatastore,
                    probe?.severity(current: fact.severityHint, fact: fact, proto: s.proto) ?? fact.severityHint,
                    probe?.provesAccess == true
                        ? "\(fact.title) answering without authentication on \(endpoint(entry))"
                        : "\(fact.title) reachable beyond loopback on \(endpoint(entry))",
                    [recognised(fact)] + (probe.map { [$0.line] } ?? []) + fact.securityNotes.prefix(1) + clients.evidence,
                    clients.noClientFix.map { "\($0): bind it to loopback (127.0.0.1/::1). \(fix)" } ?? fix)
            }
            if s.proto != .raw, let need = unneeded(entry, input.needs) {
                let lowKinds: Set<NeedProgram> = [.avahi, .cups, .cupsBrowsed]
                add(
                    .unneededListener, lowKinds.contains(need.need.program) ? .low : .medium,
                    "\(need.need.program.title) reachable beyond loopback on \(endpoint(entry)), and nothing on this host uses it",
                    need.need.evidence, need.need.fix ?? closeIt().capitalizedFirst)
                // One program's daemons (smbd and nmbd) are one problem, named
                // after the program whichever daemon started first.
                out[out.count - 1].instance = "need:\(need.need.program.rawValue)"
                out[out.count - 1].id =
                    "\(RuleID.unneededListener.rawValue)@\(need.need.program.rawValue):\(FindingID.endpointKey(subject(entry)))"
            }
            if let fact = known.first(where: { $0.isIn(.cleartextRemoteAccess) }) {
                let probe = input.probes[s.inode].flatMap { $0.kind == .snmp ? $0 : nil }
                add(
                    .cleartextRemoteAccess, probe?.severity(current: fact.severityHint, fact: fact, proto: s.proto) ?? fact.severityHint,
                    "\(fact.title) (cleartext remote access) listening on \(endpoint(entry))",
                    [recognised(fact)] + (probe.map { [$0.line] } ?? []) + fact.securityNotes.prefix(1),
                    programFix(.cleartextRemoteAccess, fact) ?? fact.remediation ?? "Disable it and use SSH; until then, \(closeIt())")
            }
            if s.proto == .udp, let fact = known.first(where: { $0.isIn(.amplification) }) {
                // dnsmasq started with --local-service (Debian's start script
                // adds it) answers only hosts on directly connected subnets:
                // no reflector for the internet, a LAN DNS server to confirm.
                let localOnly = entry.owners.first { $0.name == "dnsmasq" && $0.cmdline.split(separator: " ").contains("--local-service") }
                add(
                    .udpAmplification, localOnly != nil ? .low : fact.severityHint >= .high ? .high : .medium,
                    "\(fact.title) over UDP reachable beyond loopback on \(endpoint(entry)): a reflection/amplification vector",
                    [recognised(fact)]
                        + (localOnly.map { owner in
                            [
                                "dnsmasq[\(owner.pid)] runs with --local-service: it answers only hosts on directly connected subnets, so it reflects nothing to the internet; confirm the LAN needs this DNS server"
                            ]
                        } ?? ["a small spoofed request earns a large reply sent to the victim"]),
                    programFix(.udpAmplification, fact) ?? fact.remediation ?? "Answer only local clients: \(closeIt())")
            }
        }
        // Executables: judged once per distinct file among the holders (a
        // lone holder, the usual case, needs no set).
        var judged = Set<String>()
        for owner in entry.owners {
            if entry.owners.count > 1 {
                guard judged.insert(owner.exe ?? "pid \(owner.pid)").inserted else { continue }
            }
            var name: String { "\(owner.name)[\(owner.pid)]" }
            if owner.exeDeleted {
                add(
                    .deletedExecutable, .high, "\(name) listens on \(endpoint(entry)) from an executable deleted from disk",
                    ["/proc/\(owner.pid)/exe points to \(owner.exe ?? "?") (deleted)"],
                    "Find out why: an upgrade that was not followed by a restart (restart the service), or a dropper that removed itself (copy /proc/\(owner.pid)/exe for analysis before killing it)"
                )
            } else if owner.exeReplaced {
                add(
                    .replacedExecutable, .high,
                    "\(name) listens on \(endpoint(entry)) but \(owner.exe ?? "its executable") is now a different file",
                    ["the running file and the file at that path differ (device/inode)"],
                    "Restart the service if it was upgraded; otherwise compare the running binary (/proc/\(owner.pid)/exe) with the packaged one (debsums/rpm -V)"
                )
            }
            if let exe = owner.exe, let place = memo.unsafeLocation(exe: exe, owner: owner, homes: input.userHomes) {
                add(
                    .unsafeExecutableLocation, .high, "\(name) listens on \(endpoint(entry)) and runs from \(place)",
                    ["executable: \(exe)"],
                    "Servers run from root-owned system paths (/usr, /opt); investigate how this one got there and who can write it")
            }
            if let preload = input.tamper.listenerPreloads[owner.pid] {
                add(
                    .ldPreload, .high, "\(name) listens on \(endpoint(entry)) with LD_PRELOAD set",
                    ["LD_PRELOAD=\(preload) in /proc/\(owner.pid)/environ"],
                    "Check what the preloaded library is and who set it (the unit file, a wrapper script); a preload can hide sockets and processes"
                )
            }
        }
        if s.proto != .raw, byExecutable.isEmpty, let backdoor = portFacts.first(where: { $0.isIn(.backdoor) }) {
            add(
                .backdoorPort, reachable ? .high : .medium,
                "Listener on \(endpoint(entry)), a port commonly abused by backdoors (\(backdoor.title))",
                ["a port number is not proof of compromise: check what the program is"] + backdoor.securityNotes.prefix(1),
                "Identify the program (portcullis who \(s.localPort)/\(s.proto.rawValue)); if it is not yours, isolate the host")
        }
        if s.proto == .raw {
            add(
                .rawSocket, .medium, "Raw socket (\(InventoryRenderer.ipProtocolName(s.rawProtocol ?? 0))) open on \(endpoint(entry))",
                ["a raw socket receives IP packets of its protocol without any port"],
                "Make sure the holder is expected (ping, routing and VRRP daemons use them); a raw socket can carry a portless backdoor")
        }
        if s.proto == .tcp && entry.inEphemeralRange {
            add(
                .ephemeralListener, .low, "Server listening on \(endpoint(entry)), inside the ephemeral port range",
                [
                    "the kernel also hands ports in this range to outgoing connections, so the server can fail to start, and ad-hoc or malicious listeners often land here"
                ],
                "Give the service a fixed port outside net.ipv4.ip_local_port_range, or reserve it in net.ipv4.ip_local_reserved_ports")
        }
        if entry.owners.isEmpty, input.ranAsRoot, let reason = entry.unownedReason, reason == .kernelSocket || reason == .otherPIDNamespace
        {
            let (severity, why) = unownedExplanation(entry, reason: reason, hints: input.kernelHints)
            add(
                .unownedSocket, severity, "No process holds \(endpoint(entry))", [why],
                severity == .info
                    ? "Nothing to do if that service is expected"
                    : "Check kernel services (NFS, WireGuard, iSCSI) and containers in other PID namespaces; a socket no process owns can also be a kernel rootkit's"
            )
        }
        if let baseline = input.baseline, !baseline.keys.contains(ListenerKey(entry)) {
            add(
                .notInBaseline, .medium, "\(endpoint(entry)) was not listening in the baseline",
                ["baseline: snapshot \(baseline.snapshotID) taken \(Timestamp.iso8601(baseline.time))"],
                "If it is expected, take a new baseline (portcullis baseline set); otherwise find out what opened it (portcullis who \(s.localPort)) and stop it"
            )
        }
        if let policy = input.policy {
            let judged: Exposure = reachable ? entry.exposure : .loopback
            switch policy.auditDecision(for: entry, exposure: judged) {
            case .allowed: break
            case .notAllowed:
                add(
                    .notInPolicy, .medium, "\(endpoint(entry)) is not allowed by the policy", ["policy: \(policy.source)"],
                    "If it is expected, add an allow entry for port \(s.localPort) to \(policy.source) (portcullis policy init shows the form); otherwise stop it"
                )
            case .exposureTooWide(let allowed, let line):
                add(
                    .notInPolicy, .high, "\(endpoint(entry)) is more exposed than the policy allows (\(allowed))",
                    ["policy: \(policy.source) line \(line) allows it with exposure \(allowed)"],
                    "Bind it to what the policy allows, or widen the allow entry on line \(line) if the exposure is intended")
            }
        }
        return out
    }

    /// The sockets of one program instance on one port and protocol.
    struct ProgramPort: Hashable {
        var pids: [Int32]
        var proto: TransportProtocol
        var port: UInt16

        init(_ entry: InventoryEntry) {
            pids = entry.owners.map(\.pid).sorted()
            proto = entry.socket.proto
            port = entry.socket.localPort
        }
    }

    /// The first holder whose configuration shows the socket unneeded.
    static func unneeded(_ entry: InventoryEntry, _ needs: [Int32: ServiceNeed]) -> (owner: String, need: ServiceNeed)? {
        guard !needs.isEmpty else { return nil }
        for owner in entry.owners {
            if let need = needs[owner.pid], need.verdict == .unneeded, need.concerns(port: entry.socket.localPort) {
                return (owner.name, need)
            }
        }
        return nil
    }

    /// What every finding about `entry` says first: where it listens (the
    /// first line, which merging keeps per socket), who holds it, what the
    /// firewall does with it.
    static func baseEvidence(_ entry: InventoryEntry, firewall: FirewallVerdict?, interfaces: [NetworkInterface]?) -> [String] {
        var base: [String] = ["listens on \(endpoint(entry)): \(exposureSentence(entry, interfaces: interfaces))"]
        if let owners = ownerSentence(entry.owners) { base.append(owners) }
        if let firewall { base.append("firewall: \(firewall.name) — \(firewall.reason)") }
        return base
    }

    /// Temporary and world-writable places, and users' homes for root.
    static func unsafeLocation(exe: String, owner: SocketOwner, homes: [String]) -> String? {
        for prefix in ["/tmp/", "/var/tmp/", "/dev/shm/", "/run/shm/", "/var/crash/"] where exe.hasPrefix(prefix) {
            return "a temporary, world-writable directory (\(prefix))"
        }
        if owner.exeDirectoryWorldWritable {
            let directory = exe.split(separator: "/").dropLast().joined(separator: "/")
            return "a directory every user can write to (/\(directory))"
        }
        if owner.uid == 0 {
            for home in homes where exe.hasPrefix(home.hasSuffix("/") ? home : home + "/") {
                return "a user's home directory (\(home)) while running as root"
            }
        }
        return nil
    }

    static func unownedExplanation(_ entry: InventoryEntry, reason: UnownedReason, hints: KernelSocketHints) -> (Severity, String) {
        let s = entry.socket
        if reason == .otherPIDNamespace {
            return (.info, "portcullis runs in a child PID namespace; the holder is probably a process outside it")
        }
        if hints.nfsServer && s.localPort == 2049 { return (.info, "kernel socket: the in-kernel NFS server (nfsd) listens on 2049") }
        if hints.lockdPorts.contains(s.localPort) { return (.info, "kernel socket: the NFS lock manager (lockd)") }
        if s.proto == .udp && !hints.wireguardInterfaces.isEmpty {
            return (
                .info,
                "kernel socket: probably WireGuard (interface \(hints.wireguardInterfaces.joined(separator: ", ")) exists); `wg show` lists its listen port"
            )
        }
        return (.medium, "unknown: a full walk of every process as root found no holder, and no kernel service on this host explains it")
    }

    static func packetFinding(_ packet: PacketSocketEntry) -> Finding {
        let p = packet.socket
        let interface = p.interfaceIndex == 0 ? "every interface" : "interface index \(p.interfaceIndex)"
        let common: Set<String> = [
            "dhclient", "dhcpcd", "NetworkManager", "systemd-network", "wpa_supplicant", "lldpd", "keepalived", "udhcpc", "dnsmasq",
        ]
        let expected = !packet.owners.isEmpty && packet.owners.allSatisfy { common.contains($0.name) }
        var evidence = [
            "AF_PACKET socket (\(p.type == 3 ? "SOCK_RAW" : "SOCK_DGRAM")) receiving \(p.ethertypeName) on \(interface), inode \(p.inode)"
        ]
        if let owners = ownerSentence(packet.owners) {
            evidence.append(owners)
        } else if let reason = packet.unownedReason {
            evidence.append("no owner: \(reason.explanation)")
        }
        var finding = Finding(
            rule: .packetSocket, severity: expected ? .info : (p.capturesEveryProtocol ? .high : .medium),
            title: "Packet socket capturing \(p.ethertypeName) on \(interface)"
                + (packet.owners.first.map { " held by \($0.name)[\($0.pid)]" } ?? ""),
            subject: FindingSubject(proto: .packet, family: nil, localAddress: interface, port: nil, inode: p.inode, exposure: nil),
            owners: packet.owners, evidence: evidence,
            remediation: expected
                ? "Expected for DHCP/802.1X/LLDP clients; nothing to do"
                : "Check the holder: a sniffer (tcpdump) or a portless backdoor waiting for a magic packet reads frames before any firewall rule"
        )
        finding.location = interface
        return finding
    }

    static func tamperFindings(_ tamper: TamperEvidence) -> [Finding] {
        var out: [Finding] = []
        if let preload = tamper.ldSoPreload {
            out.append(
                Finding(
                    rule: .ldPreload, severity: .high,
                    title: "/etc/ld.so.preload exists: a library is injected into every dynamically linked program",
                    subject: nil, owners: [], evidence: ["/etc/ld.so.preload: \(preload.isEmpty ? "(empty)" : preload)"],
                    remediation:
                        "Unless you put it there (rare: some security agents do), treat it as a userland rootkit: it can hide ports from ss, netstat and lsof. Compare what the static portcullis binary lists with what ss, netstat and lsof show",
                    sockets: [], id: "ld-preload@host:/etc/ld.so.preload"
                ))
        }
        if let preload = tamper.ownPreload {
            out.append(
                Finding(
                    rule: .ldPreload, severity: .high, title: "LD_PRELOAD is set in portcullis's environment",
                    subject: nil, owners: [], evidence: ["LD_PRELOAD=\(preload)"],
                    remediation:
                        "Find where it is set (shell profile, sudo env_keep, /etc/environment); a static portcullis build is immune to it, dynamically linked tools are not",
                    sockets: [], id: "ld-preload@host:environment"
                ))
        }
        return out
    }
}

extension String {
    var capitalizedFirst: String { prefix(1).uppercased() + dropFirst() }
}
