/// A rule, by chain and handle, with its text: what a reason points at.
struct RuleLocation: Hashable, Sendable, CustomStringConvertible {
    var chain: NftChainID
    var handle: Int64?
    var text: String

    var description: String {
        "rule \"\(text)\" (\(NftText.clean(chain.description))\(handle.map { ", handle \($0)" } ?? ""))"
    }
}

/// One fork taken on a path: a match that holds for some packets of the
/// modelled class and not for others, and which way this path went.
struct PathCondition: Hashable, Sendable {
    var text: String
    var holds: Bool
    /// nil when the fork depends on host state this model cannot see.
    var category: FieldCategory?
    var location: RuleLocation
    /// The path's field domains already say what this fork required, so
    /// `restrictions` describes it from them rather than from this text.
    var describedByDomain = false

    /// How to say that the match failed, where "not" would make a double
    /// negative (`meta pkttype != host` failing is `meta pkttype host`).
    var failedText: String?

    var isOpaque: Bool { category == nil }
    var rendered: String { holds ? text : (failedText ?? "not \(text)") }
}

/// What is known about the packet on one path through the ruleset: the
/// values each tracked field can still have, the interface constraints,
/// the untracked conditions taken, and the decisions so far.
struct PacketState: Sendable {
    var domains: [String: IntervalSet] = [:]
    /// The fields behind `domains`, to describe them.
    var specs: [String: FieldSpec] = [:]
    var iifname = NameDomain.notLoopback
    var iif = NameDomain.notLoopback
    /// Conditions that are not modelled but must stay consistent along a
    /// path (the same `meta mark 1` test twice gives the same answer).
    var atoms: [String: Bool] = [:]
    var opaqueAtoms: Set<String> = []
    /// The first forks taken (at most `maximumRecorded`, enough for any
    /// reason; a path through thousands of single-address rules must not
    /// copy thousands of conditions at every step).
    var conditions: [PathCondition] = []
    var forkCount = 0
    var heldCount = 0
    /// The first fork on hidden state, recorded or not.
    var firstOpaque: PathCondition?
    var untracked = false
    /// "accepted by ..." per base chain passed.
    var decisions: [String] = []
    /// The last rule that accepted or dropped the packet on this path (nil
    /// when a chain's policy did).
    var lastRule: RuleLocation?

    func domain(_ spec: FieldSpec) -> IntervalSet { domains[spec.key] ?? spec.initial }

    static let maximumRecorded = 48

    var dependsOnHostState: Bool { firstOpaque != nil }

    mutating func record(_ c: PathCondition) {
        forkCount += 1
        if c.holds { heldCount += 1 }
        if c.isOpaque && firstOpaque == nil { firstOpaque = c }
        if conditions.count < Self.maximumRecorded { conditions.append(c) }
    }

    /// What limits who can send an accepted packet on this path: source or
    /// local addresses narrowed to less than half their space, an input
    /// interface named, a sender-side condition required. Exclusions (a
    /// blocklist, "not 10.0.0.0/8") leave the port open to the rest of the
    /// world and are not restrictions.
    var restrictions: [String] {
        var out: [String] = []
        for key in domains.keys.sorted() {
            guard let spec = specs[key], let domain = domains[key],
                spec.category == .source || spec.category == .destination
            else { continue }
            if domain.isNarrow(bits: spec.bits) { out.append("\(key) \(domain.describe(spec))") }
        }
        if let exact = iifname.exact { out.append("iifname \"\(NftText.clean(exact))\"") }
        out += iifname.requiredPrefixes.map { "iifname \"\(NftText.clean($0))*\"" }
        if let exact = iif.exact { out.append("iif \"\(NftText.clean(exact))\"") }
        out += iif.requiredPrefixes.map { "iif \"\(NftText.clean($0))*\"" }
        // Sender-side conditions that had to hold and that no domain
        // describes (`fib saddr ...`, a dynamic allowlist, one of several
        // interface names).
        for c in conditions where c.holds && !c.describedByDomain && (c.category == .source || c.category == .destination) {
            if !out.contains(c.text) { out.append(c.text) }
        }
        return out
    }
}

extension IntervalSet {
    /// Less than half of a `bits`-wide space: "only 10.0.0.0/8" is narrow,
    /// "anything but 10.0.0.0/8" is not.
    func isNarrow(bits: Int) -> Bool {
        let half = U128.maxValue(bits: max(bits - 1, 0))
        var covered = U128.zero
        for r in ranges {
            let (size, overflow) = r.upperBound.subtracting(r.lowerBound)
            if overflow || size >= half { return false }
            let (sum, carry) = covered.adding(size.successor ?? .max)
            if carry || sum > half { return false }
            covered = sum
        }
        return true
    }

    /// `10.0.0.0/8, 192.0.2.7`, `22, 8000-8100`: at most four items.
    func describe(_ spec: FieldSpec) -> String {
        var items: [String] = []
        for r in ranges {
            switch spec.kind {
            case .ipv4, .ipv6: items += Self.prefixes(r, bits: spec.bits).map { Self.addressText($0, spec) }
            default:
                if r.lowerBound == r.upperBound {
                    items.append(Self.valueName(r.lowerBound, spec.kind))
                } else if let values = IntervalSet([r]).values(limit: 4), !spec.kind.names.isEmpty {
                    items += values.map { Self.valueName($0, spec.kind) }
                } else {
                    items.append("\(r.lowerBound)-\(r.upperBound)")
                }
            }
            if items.count > 4 { break }
        }
        if items.count == 1 { return items[0] }
        let shown = items.prefix(4).joined(separator: ", ")
        return items.count > 4 ? "{ \(shown), … }" : "{ \(shown) }"
    }

    /// A range as the fewest aligned prefixes (at most five are produced).
    static func prefixes(_ r: ClosedRange<U128>, bits: Int) -> [(U128, Int)] {
        var out: [(U128, Int)] = []
        var start = r.lowerBound
        while out.count < 5 {
            // The longest prefix starting at `start` that stays inside the range.
            var length = bits
            while length > 0 {
                let mask = U128.prefixMask(length: length - 1, bits: bits)
                let top = start | (U128.maxValue(bits: bits) & ~mask)
                guard start & mask == start, top <= r.upperBound else { break }
                length -= 1
            }
            out.append((start, length))
            let mask = U128.prefixMask(length: length, bits: bits)
            let end = start | (U128.maxValue(bits: bits) & ~mask)
            guard end < r.upperBound, let next = end.successor else { break }
            start = next
        }
        return out
    }

    /// A value by its nft name where it has one (`dnat`, `tcp`, `host`);
    /// flag sets as their names joined by `|`.
    static func valueName(_ v: U128, _ kind: ValueKind) -> String {
        let names = kind.names
        if kind.isBitmask && v != .zero && v.hi == 0 {
            let flags = names.filter { $0.value != 0 && v.lo & $0.value == $0.value && $0.value & ($0.value - 1) == 0 }
            let covered = flags.reduce(UInt64(0)) { $0 | $1.value }
            if covered == v.lo { return flags.sorted { $0.value < $1.value }.map(\.key).joined(separator: "|") }
        }
        if v.hi == 0, let name = names.filter({ $0.value == v.lo }).map(\.key).min() { return name }
        return v.description
    }

    static func addressText(_ prefix: (U128, Int), _ spec: FieldSpec) -> String {
        let (value, length) = prefix
        let address =
            spec.kind == .ipv4
            ? IPAddress(v4Word: UInt32(truncatingIfNeeded: value.lo))
            : IPAddress(v6High: value.hi, low: value.lo)
        return length == spec.bits ? address.description : "\(address)/\(length)"
    }
}

/// Walks every path the modelled packet can take through the base chains
/// it meets, forking wherever a rule matches some such packets and not
/// others. Paths whose constraints contradict each other are pruned, so a
/// fork on `ip saddr 10.0.0.0/8` followed by `ip saddr 10.1.0.0/16` does not
/// invent a path that cannot exist. What cannot be pruned exactly is kept,
/// which can only make a verdict less certain, never wrong.
struct NftEvaluator {
    let ruleset: NftRuleset
    let reader: ValueReader
    let packet: ListenerPacket
    /// Where to note each test of the listener's port, when the caller
    /// wants to reuse the evaluation for other ports (`FirewallModel.Memo`).
    var portTests: PortTestLog? = nil

    static let maximumSteps = 200_000
    static let maximumPaths = 20_000
    static let maximumJumpDepth = 32
    static let maximumRanges = 512

    var steps = 0
    /// Set when the budget ran out: the reason the verdict is unknown.
    var exhausted: String?

    struct Evaluation {
        var accepted: [PacketState] = []
        var dropped: [(PacketState, String)] = []
        var undecided: [(PacketState, String)] = []
        var chainsConsulted = 0
    }

    enum ChainOutcome {
        case accepted(PacketState)
        case dropped(PacketState, String)
        case undecided(PacketState, String)
    }

    enum Effect {
        case next, accept, `return`
        case drop(String)
        case jump(String)
        case goto(String)
        case undecidable(String)
    }

    struct EntryPoint {
        var chain: NftChain
        var point: HookPoint
        /// Chains that only see packets from some devices.
        var devices: [String]?
        var entryAtom: String?
        var stage: Int
        var order: Int
    }

    // MARK: base chains

    /// The base chains a packet from another host, to a local socket, passes:
    /// ingress, bridge prerouting/input (for bridge ports), prerouting, input.
    func entryPoints() -> [EntryPoint] {
        var out: [EntryPoint] = []
        for (order, id) in ruleset.chainOrder.enumerated() {
            guard let chain = ruleset.chain(id), let base = chain.base else { continue }
            let familyMatches: Bool
            switch id.family {
            case .ip: familyMatches = packet.family == .ipv4
            case .ip6: familyMatches = packet.family == .ipv6
            case .inet, .netdev, .bridge: familyMatches = true
            case .arp, .other: familyMatches = false
            }
            guard familyMatches else { continue }
            switch (id.family, base.hook) {
            case (.netdev, .ingress), (.inet, .ingress):
                let atom = base.devices == nil ? "the packet arrives on the device of ingress chain \(NftText.clean(id.description))" : nil
                out.append(
                    EntryPoint(
                        chain: chain, point: HookPoint(hook: .ingress, priority: base.priority),
                        devices: base.devices, entryAtom: atom, stage: 0, order: order))
            case (.bridge, .prerouting), (.bridge, .input):
                out.append(
                    EntryPoint(
                        chain: chain, point: HookPoint(hook: base.hook, bridged: true, priority: base.priority),
                        devices: nil, entryAtom: "the packet arrives through a bridge port",
                        stage: base.hook == .prerouting ? 1 : 2, order: order))
            case (.ip, .prerouting), (.ip6, .prerouting), (.inet, .prerouting):
                // A published port's DNAT is given (the extraction found
                // it): nat chains are not walked again.
                if base.type == .nat && (packet.forward != nil || packet.ignoresNAT) { continue }
                out.append(
                    EntryPoint(
                        chain: chain, point: HookPoint(hook: .prerouting, priority: base.priority),
                        devices: nil, entryAtom: nil, stage: 3, order: order))
            case (.ip, .input), (.ip6, .input), (.inet, .input):
                if let forward = packet.forward, !forward.isLocal { continue }
                if base.type == .nat && (packet.forward != nil || packet.ignoresNAT) { continue }
                out.append(
                    EntryPoint(
                        chain: chain, point: HookPoint(hook: .input, priority: base.priority),
                        devices: nil, entryAtom: nil, stage: 4, order: order))
            case (.ip, .forward), (.ip6, .forward), (.inet, .forward):
                // Only the packet of a published port, sent on to another address, is forwarded.
                guard let forward = packet.forward, !forward.isLocal else { continue }
                out.append(
                    EntryPoint(
                        chain: chain, point: HookPoint(hook: .forward, priority: base.priority),
                        devices: nil, entryAtom: nil, stage: 4, order: order))
            default:
                continue
            }
        }
        return out.sorted { ($0.stage, $0.point.priority, $0.order) < ($1.stage, $1.point.priority, $1.order) }
    }

    /// Runs the packet through every base chain in hook and priority order.
    /// A path must be accepted by each chain it enters; a drop anywhere is final.
    /// Conditions every modelled packet meets before the first chain (a
    /// published port's DNAT path: its input interface, source, port).
    var seeds: [(NftStatement, NftChainID)] = []

    mutating func evaluate() -> Evaluation {
        var result = Evaluation()
        var live = [PacketState()]
        for (seed, chain) in seeds {
            guard case .match(let op, let left, let right) = seed else { continue }
            let point = HookPoint(hook: .prerouting, priority: ListenerPacket.dnatPriority)
            // Only what the model tracks narrows the packet; a condition
            // on hidden state is the publication's, not a fork to judge.
            switch packet.resolve(left, point: point, untracked: false) {
            case .tracked, .inputInterface, .masked: break
            default: continue
            }
            let location = RuleLocation(chain: chain, handle: nil, text: "published by")
            live = live.flatMap { state in
                match(op: op, left: left, right: right, state, point: point, location).filter(\.1).map(\.0)
            }
        }
        for entry in entryPoints() {
            result.chainsConsulted += 1
            var next: [PacketState] = []
            for state in live {
                for (entered, enters) in enter(entry, state) {
                    guard enters else {
                        next.append(entered)
                        continue
                    }
                    for outcome in run(entry.chain, entered, point: entry.point) {
                        switch outcome {
                        case .accepted(let s): next.append(s)
                        case .dropped(let s, let why): result.dropped.append((s, why))
                        case .undecided(let s, let why): result.undecided.append((s, why))
                        }
                    }
                }
            }
            live = next
            if let exhausted {
                result.undecided.append((PacketState(), exhausted))
                return result
            }
        }
        result.accepted = live
        return result
    }

    /// Whether the packet enters a chain bound to devices (or to bridge ports).
    func enter(_ entry: EntryPoint, _ state: PacketState) -> [(PacketState, Bool)] {
        let location = RuleLocation(chain: entry.chain.id, handle: nil, text: "chain entry")
        if let devices = entry.devices {
            let patterns = devices.map { NamePattern(nft: $0) }
            switch state.iifname.test(anyOf: patterns) {
            case .always: return [(state, true)]
            case .never: return [(state, false)]
            case .sometimes:
                var inside = state
                var outside = state
                inside.iifname = state.iifname.restricted(toAnyOf: patterns)
                outside.iifname = state.iifname.excluding(patterns)
                let text = "iifname { \(devices.map { "\"\(NftText.clean($0))\"" }.joined(separator: ", ")) }"
                inside.record(
                    PathCondition(
                        text: text, holds: true, category: .source, location: location,
                        describedByDomain: inside.iifname != state.iifname))
                outside.record(
                    PathCondition(
                        text: text, holds: false, category: .source, location: location,
                        describedByDomain: true))
                return [(inside, true), (outside, false)]
            }
        }
        if let atom = entry.entryAtom { return self.atom(atom, category: .source, state, location) }
        return [(state, true)]
    }

    /// Explores one base chain (and the chains it jumps to) from `start`.
    mutating func run(_ base: NftChain, _ start: PacketState, point: HookPoint) -> [ChainOutcome] {
        struct Frame {
            var chain: NftChainID
            var next: Int
        }
        struct Thread {
            var state: PacketState
            var chain: NftChainID
            var index: Int
            var stack: [Frame]
        }

        let policy = base.base?.policy ?? .accept
        func endOfBase(_ s: PacketState) -> ChainOutcome {
            let what = "the policy \(NftText.clean(policy.jsonName)) of chain \(NftText.clean(base.id.description))"
            switch policy {
            case .accept:
                var accepted = s
                accepted.decisions.append("accepted by \(what)")
                accepted.lastRule = nil
                return .accepted(accepted)
            case .drop:
                var dropped = s
                dropped.lastRule = nil
                return .dropped(dropped, "dropped by \(what)")
            case .other: return .undecided(s, "cannot judge \(what)")
            }
        }

        var work = [Thread(state: start, chain: base.id, index: 0, stack: [])]
        var outcomes: [ChainOutcome] = []
        while let thread = work.popLast() {
            steps += 1
            if steps > Self.maximumSteps || work.count + outcomes.count > Self.maximumPaths {
                exhausted =
                    "the ruleset is too complex to judge: more than \(Self.maximumSteps) rule evaluations "
                    + "or \(Self.maximumPaths) paths for this listener"
                return outcomes + [.undecided(thread.state, exhausted ?? "")]
            }
            guard let chain = ruleset.chain(thread.chain) else {
                outcomes.append(
                    .undecided(
                        thread.state, "cannot judge a jump to chain \(NftText.clean(thread.chain.description)), which does not exist"))
                continue
            }
            guard thread.index < chain.rules.count else {
                // Falling off the end of a regular chain returns to the caller.
                if let frame = thread.stack.last {
                    work.append(Thread(state: thread.state, chain: frame.chain, index: frame.next, stack: thread.stack.dropLast()))
                } else {
                    outcomes.append(endOfBase(thread.state))
                }
                continue
            }
            let rule = chain.rules[thread.index]
            let location = RuleLocation(chain: chain.id, handle: rule.handle, text: NftText.rule(rule))
            for (state, effect) in evaluateRule(rule, location: location, state: thread.state, point: point) {
                switch effect {
                case .next:
                    work.append(Thread(state: state, chain: thread.chain, index: thread.index + 1, stack: thread.stack))
                case .accept:
                    var accepted = state
                    accepted.decisions.append("accepted by \(location)")
                    accepted.lastRule = location
                    outcomes.append(.accepted(accepted))
                case .drop(let why):
                    var dropped = state
                    dropped.lastRule = location
                    outcomes.append(.dropped(dropped, why))
                case .jump(let target):
                    guard thread.stack.count < Self.maximumJumpDepth else {
                        outcomes.append(.undecided(state, "cannot judge: jumps nest deeper than \(Self.maximumJumpDepth) at \(location)"))
                        continue
                    }
                    let id = NftChainID(family: chain.id.family, table: chain.id.table, name: target)
                    work.append(
                        Thread(
                            state: state, chain: id, index: 0,
                            stack: thread.stack + [Frame(chain: thread.chain, next: thread.index + 1)]))
                case .goto(let target):
                    let id = NftChainID(family: chain.id.family, table: chain.id.table, name: target)
                    work.append(Thread(state: state, chain: id, index: 0, stack: thread.stack))
                case .return:
                    if let frame = thread.stack.last {
                        work.append(Thread(state: state, chain: frame.chain, index: frame.next, stack: thread.stack.dropLast()))
                    } else {
                        outcomes.append(endOfBase(state))
                    }
                case .undecidable(let why):
                    outcomes.append(.undecided(state, why))
                }
            }
        }
        return outcomes
    }

    // MARK: rules

    func effect(of verdict: NftVerdict, _ location: RuleLocation) -> Effect {
        switch verdict {
        case .accept: return .accept
        case .drop: return .drop("dropped by \(location)")
        case .reject: return .drop("rejected by \(location)")
        case .continue: return .next
        case .return: return .return
        case .jump(let target): return .jump(target)
        case .goto(let target): return .goto(target)
        case .queue: return .undecidable("cannot judge queue (userspace decides the verdict): \(location)")
        case .unknown(let what): return .undecidable("cannot judge verdict \(NftText.clean(what)): \(location)")
        }
    }

    /// Every way the rule can go for the packet on `state`: each resulting
    /// path with what the rule does to it.
    mutating func evaluateRule(_ rule: NftRule, location: RuleLocation, state: PacketState, point: HookPoint) -> [(PacketState, Effect)] {
        guard rule.canAffectVerdict else { return [(state, .next)] }
        // A rule is a conjunction: if one of its leading matches fails for
        // every packet on this path, the rule does not apply, and forks on
        // its other parts (`meta mark 1 tcp dport 1000 accept` for port 22)
        // must not leave conditions behind. Only matches before the first
        // statement with a side effect are checked ahead, since those
        // effects happen whether or not later matches hold.
        precheck: for statement in rule.statements {
            switch statement {
            case .match(let op, let left, let right):
                let outcomes = match(op: op, left: left, right: right, state, point: point, location)
                if outcomes.count == 1 && !outcomes[0].1 { return [(state, .next)] }
            case .noEffect, .opaqueCondition:
                continue
            default:
                break precheck
            }
        }
        var live = [state]
        var results: [(PacketState, Effect)] = []
        for statement in rule.statements {
            var nextLive: [PacketState] = []
            for s in live {
                switch statement {
                case .match(let op, let left, let right):
                    for (branch, matched) in match(op: op, left: left, right: right, s, point: point, location) {
                        if matched { nextLive.append(branch) } else { results.append((branch, .next)) }
                    }
                case .noEffect:
                    nextLive.append(s)
                case .opaqueCondition(let text):
                    // Each limit or quota is its own counter: key by rule.
                    let key = "\(location.chain)#\(location.handle ?? -1): \(text)"
                    for (branch, matched) in atom(text, category: nil, s, location, key: key) {
                        if matched { nextLive.append(branch) } else { results.append((branch, .next)) }
                    }
                case .setsMark:
                    var changed = s
                    for key in changed.opaqueAtoms { changed.atoms[key] = nil }
                    changed.opaqueAtoms = []
                    nextLive.append(changed)
                case .notrack:
                    var changed = s
                    changed.untracked = true
                    nextLive.append(changed)
                case .updatesSet(let name, let condition):
                    var changed = s
                    let reference = "@\(NftText.clean(name))"
                    for key in changed.atoms.keys where key.contains(reference) { changed.atoms[key] = nil }
                    if let condition {
                        let key = "\(location.chain)#\(location.handle ?? -1): \(condition)"
                        for (branch, matched) in atom(condition, category: nil, changed, location, key: key) {
                            if matched { nextLive.append(branch) } else { results.append((branch, .next)) }
                        }
                    } else {
                        nextLive.append(changed)
                    }
                case .verdict(let verdict):
                    results.append((s, effect(of: verdict, location)))
                case .vmap(let key, let entries):
                    let (decided, unmatched) = vmap(key: key, entries: entries, s, point: point, location)
                    results += decided
                    nextLive += unmatched
                case .undecidable(let why):
                    results.append((s, .undecidable("cannot judge \(why)\(NftText.explanation(why)): \(location)")))
                case .nat(let nat):
                    results.append((s, .undecidable("cannot judge \(nat.kind.rawValue) (NAT rewrites where the packet goes): \(location)")))
                }
            }
            live = nextLive
            if live.isEmpty { break }
        }
        // Every statement matched and none decided: on to the next rule.
        for s in live { results.append((s, .next)) }
        // A rule that sends every path on to the next rule, and changes no
        // state, did nothing: continue with the path as it was, without the
        // forks it took on the way (fewer paths, no spurious conditions).
        let changesState = rule.statements.contains {
            switch $0 {
            case .setsMark, .notrack, .updatesSet: return true
            default: return false
            }
        }
        if !changesState && results.allSatisfy({ if case .next = $0.1 { return true } else { return false } }) {
            return [(state, .next)]
        }
        return results
    }

    mutating func vmap(
        key: NftExpr, entries: NftMapEntries, _ state: PacketState, point: HookPoint,
        _ location: RuleLocation
    ) -> (decided: [(PacketState, Effect)], unmatched: [PacketState]) {
        let list: [NftMapEntry]
        switch entries {
        case .inline(let items): list = items
        case .named(let name):
            guard let map = ruleset.set(named: name, in: location.chain), let verdicts = map.verdicts else {
                return ([(state, .undecidable("cannot judge vmap @\(NftText.clean(name)) (not a verdict map here): \(location)"))], [])
            }
            guard !map.isDynamic else {
                return (
                    [(state, .undecidable("cannot judge vmap @\(NftText.clean(name)), whose elements change at run time: \(location)"))], []
                )
            }
            list = verdicts
        }
        // Map keys are disjoint, so trying them one after another is the lookup.
        var remaining = [state]
        var decided: [(PacketState, Effect)] = []
        for entry in list {
            var next: [PacketState] = []
            for s in remaining {
                for (branch, matched) in match(op: .equal, left: key, right: entry.key, s, point: point, location) {
                    if matched { decided.append((branch, effect(of: entry.verdict, location))) } else { next.append(branch) }
                }
            }
            remaining = next
            if remaining.isEmpty { break }
        }
        return (decided, remaining)
    }

    // MARK: matches

    /// The paths on which `left op right` holds (true) and fails (false).
    func match(
        op: NftMatchOperator, left: NftExpr, right: NftValue, _ state: PacketState, point: HookPoint,
        _ location: RuleLocation
    ) -> [(PacketState, Bool)] {
        let outcomes = forks(op: op, left: left, right: right, state, point: point, location)
        guard op == .notEqual, outcomes.count == 2 else { return outcomes }
        let failed = NftText.match(op: .equal, left: left, right: right)
        return outcomes.map { branch, matched in
            var branch = branch
            // Only when this fork's condition is the last one recorded.
            if branch.conditions.count == branch.forkCount, !branch.conditions.isEmpty {
                branch.conditions[branch.conditions.count - 1].failedText = failed
            }
            return (branch, matched)
        }
    }

    func forks(
        op: NftMatchOperator, left: NftExpr, right: NftValue, _ state: PacketState, point: HookPoint,
        _ location: RuleLocation
    ) -> [(PacketState, Bool)] {
        let text = NftText.match(op: op, left: left, right: right)
        if let known = knownMarkTest(op: op, left: left, right: right) { return [(state, known)] }
        if case .concat(let parts) = left {
            return concatLookup(op: op, parts: parts, right: right, text: text, state, point: point, location)
        }
        let resolved = packet.resolve(left, point: point, untracked: state.untracked)
        // A header the packet lacks fails nft's implicit protocol dependency:
        // the rule does not match, whatever the operator (`icmp type !=
        // echo-request` does not match TCP).
        if case .absent = resolved { return [(state, false)] }
        // A set whose contents change at run time: a blocklist keyed by
        // source address is the sender's business; one keyed by our own
        // port is host state.
        if case .setReference(let name) = right, let set = ruleset.set(named: name, in: location.chain), set.isDynamic {
            return atom(text, category: Self.category(of: resolved), state, location)
        }
        switch resolved {
        case .absent:
            return [(state, false)]
        case .opaque:
            return atom(text, category: nil, state, location)
        case .untracked(let category):
            return atom(text, category: category == .fixed ? nil : category, state, location)
        case .outputInterface where point.hook == .forward:
            // Routing chose the device: known when the caller (or the
            // DNAT rule's own `iifname != BRIDGE`) names it.
            guard case .meta("oifname") = left, let name = packet.forward?.outputInterface, op.isEquality,
                let patterns = reader.interfacePatterns(right, byName: true, table: location.chain)
            else {
                return atom(text, category: nil, state, location)
            }
            let matches = patterns.contains { $0.matches(name) }
            return [(state, op == .notEqual ? !matches : matches)]
        case .outputInterface:
            // No output device is chosen yet on the way in: a test for a
            // named one cannot match. Anything else varies by kernel.
            if op == .equal, let names = reader.interfacePatterns(right, byName: true, table: location.chain),
                !names.contains(where: { $0.text.isEmpty })
            {
                return [(state, false)]
            }
            return atom(text, category: nil, state, location)
        case .inputInterface(let byName):
            guard op.isEquality,
                let patterns = reader.interfacePatterns(right, byName: byName, table: location.chain)
            else {
                return atom(text, category: .source, state, location)
            }
            let negate = op == .notEqual
            let domain = byName ? state.iifname : state.iif
            switch domain.test(anyOf: patterns) {
            case .always: return [(state, !negate)]
            case .never: return [(state, negate)]
            case .sometimes:
                var inside = state
                var outside = state
                if byName {
                    inside.iifname = domain.restricted(toAnyOf: patterns)
                    outside.iifname = domain.excluding(patterns)
                } else {
                    inside.iif = domain.restricted(toAnyOf: patterns)
                    outside.iif = domain.excluding(patterns)
                }
                // One name or prefix is kept in the domain; several are not.
                let described = inside.iifname != state.iifname || inside.iif != state.iif
                inside.record(
                    PathCondition(
                        text: text, holds: !negate, category: .source, location: location,
                        describedByDomain: described))
                outside.record(
                    PathCondition(
                        text: text, holds: negate, category: .source, location: location,
                        describedByDomain: true))
                return [(inside, !negate), (outside, negate)]
            }
        case .tracked(let spec):
            guard let accepted = predicate(op: op, right: right, spec, domain: state.domain(spec), table: location.chain) else {
                return atom(text, category: spec.category == .fixed ? nil : spec.category, state, location)
            }
            return split(spec, accepted, text: text, state, location)
        case .masked(let spec, let mask):
            guard
                let accepted = maskedPredicate(
                    op: op, mask: mask, right: right, spec, domain: state.domain(spec),
                    table: location.chain)
            else {
                return atom(text, category: spec.category == .fixed ? nil : spec.category, state, location)
            }
            return split(spec, accepted, text: text, state, location)
        }
    }

    /// `meta mark & 0x4000 == 0x4000`, `ct mark & 0x1000 == 0x1000` on the
    /// forward path of a published port whose DNAT path set those bits:
    /// decided; nil for any other test.
    func knownMarkTest(op: NftMatchOperator, left: NftExpr, right: NftValue) -> Bool? {
        guard let forward = packet.forward, op == .equal || op == .notEqual,
            case .binary(.and, let inner, .int(let mask)) = left, mask > 0, case .int(let value) = right
        else { return nil }
        let known: UInt64
        switch inner {
        case .meta("mark"): known = forward.metaMarkBits
        case .ct("mark", nil): known = forward.ctMarkBits
        default: return nil
        }
        // Only when every bit the mask keeps is known set is `mark & mask` known: it is `mask`.
        guard UInt64(mask) & known == UInt64(mask) else { return nil }
        return (value == mask) == (op == .equal)
    }

    static func category(of resolved: ResolvedField) -> FieldCategory? {
        switch resolved {
        case .tracked(let spec), .masked(let spec, _): return spec.category == .fixed ? nil : spec.category
        case .inputInterface: return .source
        case .untracked(let c): return c == .fixed ? nil : c
        case .absent, .outputInterface, .opaque: return nil
        }
    }

    /// Splits `state` on the values of `spec` in `accepted`.
    func split(
        _ spec: FieldSpec, _ accepted: IntervalSet, text: String, _ state: PacketState,
        _ location: RuleLocation
    ) -> [(PacketState, Bool)] {
        let domain = state.domain(spec)
        notePortTest(spec, domain, against: accepted)
        let inside = domain.intersection(accepted)
        if inside.isEmpty { return [(state, false)] }
        let outside = domain.subtracting(accepted)
        if outside.isEmpty { return [(state, true)] }
        // A fork on a fixed field (conntrack state at conntrack's own
        // priority, `ct status dnat` with NAT rules present) depends on
        // things this model does not see.
        let category: FieldCategory? = spec.category == .fixed ? nil : spec.category
        var matched = state
        var unmatched = state
        // A domain cut into very many pieces (thousands of single-address
        // rules) is widened back: a superset only makes verdicts less
        // certain, and keeps every later step cheap.
        matched.domains[spec.key] = inside.ranges.count > Self.maximumRanges ? spec.initial : inside
        unmatched.domains[spec.key] = outside.ranges.count > Self.maximumRanges ? spec.initial : outside
        matched.specs[spec.key] = spec
        unmatched.specs[spec.key] = spec
        matched.record(PathCondition(text: text, holds: true, category: category, location: location, describedByDomain: true))
        unmatched.record(PathCondition(text: text, holds: false, category: category, location: location, describedByDomain: true))
        return [(matched, true), (unmatched, false)]
    }

    /// Notes, for `portTests`, that the path depends on whether the
    /// listener's port is in `accepted`; a use of the port that is not such
    /// a test (nil: its value read bit by bit) makes the evaluation one not
    /// to reuse.
    func notePortTest(_ spec: FieldSpec, _ domain: IntervalSet, against accepted: IntervalSet?) {
        guard let portTests, spec.key == ListenerPacket.portKey else { return }
        if let accepted, domain.onlyValue == portTests.port {
            portTests.record(accepted)
        } else {
            portTests.reusable = false
        }
    }

    /// A condition that is not modelled: both ways are possible, but the
    /// same condition answers the same way again on one path.
    func atom(
        _ text: String, category: FieldCategory?, _ state: PacketState, _ location: RuleLocation,
        key: String? = nil
    ) -> [(PacketState, Bool)] {
        let key = key ?? text
        if let known = state.atoms[key] { return [(state, known)] }
        var yes = state
        var no = state
        yes.atoms[key] = true
        no.atoms[key] = false
        if category == nil {
            yes.opaqueAtoms.insert(key)
            no.opaqueAtoms.insert(key)
        }
        yes.record(PathCondition(text: text, holds: true, category: category, location: location))
        no.record(PathCondition(text: text, holds: false, category: category, location: location))
        return [(yes, true), (no, false)]
    }

    /// The values of a tracked field for which `field op right` holds;
    /// nil when that cannot be said exactly.
    func predicate(op: NftMatchOperator, right: NftValue, _ spec: FieldSpec, domain: IntervalSet, table: NftChainID) -> IntervalSet? {
        let maximum = U128.maxValue(bits: spec.bits)
        if op.isRelational {
            guard let v = reader.intervals(right, spec, table: table)?.onlyValue else { return nil }
            switch op {
            case .less: return v.predecessor.map { IntervalSet([U128.zero...$0]) } ?? .empty
            case .lessOrEqual: return IntervalSet([U128.zero...v])
            case .greater: return v.successor.map { $0 <= maximum ? IntervalSet([$0...maximum]) : .empty } ?? .empty
            default: return v <= maximum ? IntervalSet([v...maximum]) : .empty
            }
        }
        guard op.isEquality, let values = reader.intervals(right, spec, table: table) else { return nil }
        // A set lookup (`{ a, b }`, `@set`) compares whole values.
        var isSetLookup = false
        if case .set = right { isSetLookup = true }
        if case .setReference = right { isSetLookup = true }
        if spec.kind.isBitmask && !isSetLookup {
            notePortTest(spec, domain, against: nil)
            guard let flags = values.onlyValue, let candidates = domain.values(limit: 4096) else { return nil }
            var accepted: [ClosedRange<U128>] = []
            for v in candidates {
                guard let holds = Self.flagTest(op: op, value: v, flags: flags) else { return nil }
                if holds { accepted.append(v...v) }
            }
            return IntervalSet(accepted)
        }
        return op == .notEqual ? values.complement : values
    }

    /// A flag test whose meaning does not depend on how nft spells it:
    /// the implicit match (`ct state established`, op "in") means "any of
    /// these bits" in current nft and "all of them" in some older forms;
    /// `==`/`!=` compare whole values but have been read as bit tests too.
    /// nil when the readings disagree for this value.
    static func flagTest(op: NftMatchOperator, value: U128, flags: U128) -> Bool? {
        let anyBit = value & flags != .zero
        let allBits = value & flags == flags
        switch op {
        case .in: return anyBit == allBits ? anyBit : nil
        case .equal: return value == flags
        case .notEqual:
            let exact = value != flags
            return exact == !anyBit ? exact : nil
        default: return nil
        }
    }

    /// `FIELD & MASK op VALUE`, value by value over a small domain.
    func maskedPredicate(
        op: NftMatchOperator, mask: NftValue, right: NftValue, _ spec: FieldSpec, domain: IntervalSet,
        table: NftChainID
    ) -> IntervalSet? {
        notePortTest(spec, domain, against: nil)
        guard let maskBits = reader.intervals(mask, spec, table: table)?.onlyValue,
            let candidates = domain.values(limit: 65536)
        else { return nil }
        let relational = op.isRelational
        guard let values = reader.intervals(right, spec, table: table) else { return nil }
        var accepted: [ClosedRange<U128>] = []
        for v in candidates {
            let x = v & maskBits
            let holds: Bool
            if relational {
                guard let bound = values.onlyValue else { return nil }
                switch op {
                case .less: holds = x < bound
                case .lessOrEqual: holds = x <= bound
                case .greater: holds = x > bound
                default: holds = x >= bound
                }
            } else if op == .in, spec.kind.isBitmask {
                guard let flags = values.onlyValue, let test = Self.flagTest(op: op, value: x, flags: flags) else { return nil }
                holds = test
            } else if op == .equal || op == .in {
                holds = values.contains(x)
            } else if op == .notEqual {
                holds = !values.contains(x)
            } else {
                return nil
            }
            if holds { accepted.append(v...v) }
        }
        return IntervalSet(accepted)
    }

    /// `a . b @set`: each element is a concatenation; the lookup holds when
    /// every part of some element matches.
    func concatLookup(
        op: NftMatchOperator, parts: [NftExpr], right: NftValue, text: String, _ state: PacketState,
        point: HookPoint, _ location: RuleLocation
    ) -> [(PacketState, Bool)] {
        let negate = op == .notEqual
        let resolved = parts.map { packet.resolve($0, point: point, untracked: state.untracked) }
        if resolved.contains(where: { if case .absent = $0 { return true } else { return false } }) {
            return [(state, false)]
        }
        // The lookup's category for an unmodelled fork: the sender's, if any
        // part is the sender's; opaque if any part is host state.
        let categories = resolved.map(Self.category(of:))
        let category: FieldCategory?
        if categories.contains(where: { $0 == nil }) {
            category = nil
        } else if categories.contains(.source) {
            category = .source
        } else if categories.contains(.destination) {
            category = .destination
        } else {
            category = .shape
        }
        guard op.isEquality else { return atom(text, category: category, state, location) }
        let elements: [NftValue]
        switch right {
        case .set(let items): elements = items
        case .concat: elements = [right]
        case .setReference(let name):
            guard let set = ruleset.set(named: name, in: location.chain), !set.isDynamic else {
                return atom(text, category: category, state, location)
            }
            elements = set.elements
        default:
            return atom(text, category: category, state, location)
        }

        enum PartAnswer {
            case always, never
            case sometimes(IntervalSet?)
        }
        var anySometimes = false
        var preciseIndex: Int?
        var precise = true
        var preciseValues: [ClosedRange<U128>] = []
        for element in elements {
            guard case .concat(let values) = element, values.count == parts.count else {
                return atom(text, category: category, state, location)
            }
            var answers: [PartAnswer] = []
            for (value, field) in zip(values, resolved) {
                switch field {
                case .tracked(let spec):
                    guard let accepted = reader.intervals(value, spec, table: location.chain) else {
                        answers.append(.sometimes(nil))
                        continue
                    }
                    let domain = state.domain(spec)
                    notePortTest(spec, domain, against: accepted)
                    if domain.intersection(accepted).isEmpty {
                        answers.append(.never)
                    } else if domain.isSubset(of: accepted) {
                        answers.append(.always)
                    } else {
                        answers.append(.sometimes(accepted))
                    }
                case .inputInterface(let byName):
                    guard let patterns = reader.interfacePatterns(value, byName: byName, table: location.chain) else {
                        answers.append(.sometimes(nil))
                        continue
                    }
                    switch (byName ? state.iifname : state.iif).test(anyOf: patterns) {
                    case .always: answers.append(.always)
                    case .never: answers.append(.never)
                    case .sometimes: answers.append(.sometimes(nil))
                    }
                default:
                    answers.append(.sometimes(nil))
                }
            }
            if answers.contains(where: { if case .never = $0 { return true } else { return false } }) { continue }
            let open = answers.enumerated().filter { if case .always = $0.element { return false } else { return true } }
            if open.isEmpty { return [(state, !negate)] }  // some element matches every such packet
            anySometimes = true
            // Exact only while every undecided element leaves one tracked part open, the same one.
            if open.count == 1, case .sometimes(let accepted?) = open[0].element, preciseIndex == nil || preciseIndex == open[0].offset {
                preciseIndex = open[0].offset
                preciseValues += accepted.ranges
            } else {
                precise = false
            }
        }
        guard anySometimes else { return [(state, negate)] }
        if precise, let index = preciseIndex, case .tracked(let spec) = resolved[index] {
            let accepted = IntervalSet(preciseValues)
            return split(spec, negate ? accepted.complement : accepted, text: text, state, location)
        }
        return atom(text, category: category, state, location)
    }
}

/// The tests one evaluation made of the listener's port. The port enters an
/// evaluation only as the one-value domain of the destination-port field,
/// and a one-value domain is only ever tested for membership in a set the
/// ruleset gives (`split` and `concatLookup`: it never forks, so it is never
/// narrowed or shown). So another port that answers each of these tests the
/// same way takes the very same path through the ruleset, and gets the same
/// evaluation. Any other use of the port (read bit by bit under a mask)
/// makes the evaluation not reusable.
final class PortTestLog {
    struct Test: Sendable {
        var set: IntervalSet
        var contains: Bool
    }

    let port: U128
    private(set) var tests: [Test] = []
    var reusable = true

    init(port: U128) { self.port = port }

    func record(_ set: IntervalSet) {
        tests.append(Test(set: set, contains: set.contains(port)))
    }
}
