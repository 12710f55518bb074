/// What portcullis could learn about the host firewall at one moment: the
/// nftables model, or why there is none, plus the legacy iptables tables
/// the kernel has loaded (which portcullis does not read).
///
/// Callers ask about listeners that are not loopback-only; a loopback
/// listener gets `.reachable("listener is loopback only; firewall not
/// consulted")`, never `.filtered`: it is simply not exposed, and that is
/// the socket's exposure's business, not the firewall's.
public struct FirewallSnapshot: Sendable {
    /// Where the verdicts come from: a parsed nftables ruleset, or the reason there is none.
    public enum Source: Sendable {
        /// The ruleset `nft -j list ruleset` printed, parsed into a model.
        case nftables(FirewallModel)
        /// No model: why (nft missing, not permitted, nft failed, bad JSON).
        case unavailable(String)
    }

    /// The nftables model, or why it could not be read.
    public var source: Source
    /// /proc/net/ip_tables_names: legacy (x_tables) IPv4 tables in use.
    public var legacyIPv4Tables: [String]
    /// /proc/net/ip6_tables_names.
    public var legacyIPv6Tables: [String]

    /// A snapshot; the legacy table lists default to empty (none loaded, or not looked for).
    public init(source: Source, legacyIPv4Tables: [String] = [], legacyIPv6Tables: [String] = []) {
        self.source = source
        self.legacyIPv4Tables = legacyIPv4Tables
        self.legacyIPv6Tables = legacyIPv6Tables
    }

    /// The nftables model, or nil when the ruleset could not be read (see `unavailableReason`).
    public var model: FirewallModel? {
        if case .nftables(let m) = source { return m }
        return nil
    }

    /// Why the firewall could not be read, if it could not.
    public var unavailableReason: String? {
        if case .unavailable(let why) = source { return why }
        return nil
    }

    /// What a user should be told about the firewall reading itself, to
    /// show beside the results (never silently dropped).
    public var diagnostics: [Diagnostic] {
        var out: [Diagnostic] = []
        switch source {
        case .unavailable(let why):
            out.append(Diagnostic(.warning, "firewall not read: \(why); firewall verdicts are unknown"))
        case .nftables(let model):
            out += model.notes.map { Diagnostic(.notice, "firewall: \($0)") }
        }
        for (family, tables) in [("IPv4", legacyIPv4Tables), ("IPv6", legacyIPv6Tables)] where !tables.isEmpty {
            out.append(
                Diagnostic(
                    .notice,
                    "firewall: iptables (legacy) \(family) tables are loaded "
                        + "(\(tables.map { NftText.clean($0) }.joined(separator: ", "))); portcullis reads nftables only, "
                        + "so no \(family) port is judged reachable through them"))
        }
        return out
    }

    /// The verdict for an inventory entry (both families for a dual-stack socket); loaded legacy iptables tables
    /// turn an nftables accept into `.unknown`, since a legacy rule may still drop.
    public func verdict(for entry: InventoryEntry) -> FirewallVerdict {
        FirewallVerdict.judging(entry) { family, address in
            verdict(proto: entry.socket.proto, family: family, port: entry.socket.localPort, localAddress: address)
        }
    }

    /// The same verdict, reusing (and adding to) the evaluations `memo`
    /// holds: for judging every listener of a host against one snapshot.
    public func verdict(for entry: InventoryEntry, memo: inout FirewallModel.Memo) -> FirewallVerdict {
        FirewallVerdict.judging(
            entry,
            perFamily: { family, address in
                verdict(proto: entry.socket.proto, family: family, port: entry.socket.localPort, localAddress: address) { model in
                    model.verdict(
                        proto: entry.socket.proto, family: family, port: entry.socket.localPort, localAddress: address, memo: &memo)
                }
            }, combining: { memo.combine(v4: $0, v6: $1) })
    }

    /// Whether NEW inbound traffic from another host reaches `localAddress`:`port`: loopback is reachable without
    /// asking, no model gives `.unknown`, and legacy iptables tables weaken an accept to `.unknown`.
    public func verdict(proto: TransportProtocol, family: AddressFamily, port: UInt16, localAddress: IPAddress) -> FirewallVerdict {
        verdict(proto: proto, family: family, port: port, localAddress: localAddress) { model in
            model.verdict(proto: proto, family: family, port: port, localAddress: localAddress)
        }
    }

    /// `judge` asks the model, when there is one.
    func verdict(
        proto: TransportProtocol, family: AddressFamily, port: UInt16, localAddress: IPAddress,
        judge: (FirewallModel) -> FirewallVerdict
    ) -> FirewallVerdict {
        if localAddress.normalized.isLoopback {
            return .reachable("listener is loopback only; firewall not consulted")
        }
        let legacy = family == .ipv4 ? legacyIPv4Tables : legacyIPv6Tables
        let legacyNote =
            legacy.isEmpty
            ? nil
            : "iptables (legacy) tables are loaded (\(legacy.map { NftText.clean($0) }.joined(separator: ", "))); portcullis reads nftables only"
        switch source {
        case .unavailable(let why):
            return .unknown(legacyNote.map { "\(why); \($0)" } ?? why)
        case .nftables(let model):
            let verdict = judge(model)
            guard let legacyNote else { return verdict }
            switch verdict {
            // A drop in nftables is final whatever iptables would say.
            case .filtered: return verdict
            // An accept is not: a legacy iptables rule may still drop it.
            case .reachable(let why): return .unknown("nftables accepts (\(why)), but \(legacyNote)")
            case .unknown(let why): return .unknown("\(why); \(legacyNote)")
            }
        }
    }
}
