/// The closed sets of words in `nft -j list ruleset` that the evaluator
/// reasons about: table families, hooks, chain types and policies, match,
/// binary and NAT operators. Each word is spelt once, here.
///
/// A ruleset may use a word this model does not know (a newer nft, a family
/// it does not judge): those enums keep it as `.other`, and the evaluator
/// treats it as it always has (a family or hook it does not model is not
/// entered; a policy or operator it cannot read makes the path undecided).

/// A word from nft's JSON out of a set this model knows, or one it does not,
/// kept as nft wrote it.
protocol NftWord: Hashable, Sendable {
    /// Every case but `.other`, each once: `init(json:)` searches them.
    static var named: [Self] { get }
    /// A word this model does not know, as nft wrote it.
    static func other(_ word: String) -> Self
    /// nft's spelling.
    var jsonName: String { get }
}

extension NftWord {
    /// The case nft's `word` names; never `.other` for a named word, so
    /// values read this way compare equal exactly when nft's words do.
    init(json word: String) {
        self = Self.named.first { $0.jsonName == word } ?? .other(word)
    }
}

/// A table's address family.
enum NftFamily: NftWord {
    case ip, ip6, inet, arp, bridge, netdev
    case other(String)

    static let named: [NftFamily] = [.ip, .ip6, .inet, .arp, .bridge, .netdev]

    var jsonName: String {
        switch self {
        case .ip: return "ip"
        case .ip6: return "ip6"
        case .inet: return "inet"
        case .arp: return "arp"
        case .bridge: return "bridge"
        case .netdev: return "netdev"
        case .other(let word): return word
        }
    }
}

/// The netfilter hook a base chain is attached to.
public enum NftHook: Hashable, Sendable {
    /// The hooks nft names: netdev/inet ingress and egress, and the five
    /// IP hooks a packet passes on its way in, through and out.
    case ingress, prerouting, input, forward, output, postrouting, egress
    /// A hook this model does not know, as nft wrote it.
    case other(String)

    /// nft's spelling: "input", "prerouting", ...
    public var jsonName: String {
        switch self {
        case .ingress: return "ingress"
        case .prerouting: return "prerouting"
        case .input: return "input"
        case .forward: return "forward"
        case .output: return "output"
        case .postrouting: return "postrouting"
        case .egress: return "egress"
        case .other(let word): return word
        }
    }
}

extension NftHook: NftWord {
    static let named: [NftHook] = [.ingress, .prerouting, .input, .forward, .output, .postrouting, .egress]
}

/// A base chain's type.
enum NftChainType: NftWord {
    case filter, nat, route
    case other(String)

    static let named: [NftChainType] = [.filter, .nat, .route]

    var jsonName: String {
        switch self {
        case .filter: return "filter"
        case .nat: return "nat"
        case .route: return "route"
        case .other(let word): return word
        }
    }
}

/// What a base chain does with a packet that reaches its end.
enum NftChainPolicy: NftWord {
    case accept, drop
    case other(String)

    static let named: [NftChainPolicy] = [.accept, .drop]

    var jsonName: String {
        switch self {
        case .accept: return "accept"
        case .drop: return "drop"
        case .other(let word): return word
        }
    }
}

/// A match statement's operator (`"op"` of a `match` object).
enum NftMatchOperator: NftWord {
    case equal, notEqual, less, greater, lessOrEqual, greaterOrEqual
    /// nft's implicit match: set membership, or any of the flags for a flag field.
    case `in`
    case other(String)

    static let named: [NftMatchOperator] = [.equal, .notEqual, .less, .greater, .lessOrEqual, .greaterOrEqual, .in]

    var jsonName: String {
        switch self {
        case .equal: return "=="
        case .notEqual: return "!="
        case .less: return "<"
        case .greater: return ">"
        case .lessOrEqual: return "<="
        case .greaterOrEqual: return ">="
        case .in: return "in"
        case .other(let word): return word
        }
    }

    /// `<`, `<=`, `>`, `>=`: compares one value.
    var isRelational: Bool {
        switch self {
        case .less, .lessOrEqual, .greater, .greaterOrEqual: return true
        default: return false
        }
    }

    /// `==`, `!=`, `in`: compares with a value, a range or a set.
    var isEquality: Bool { self == .equal || self == .notEqual || self == .in }
}

/// A binary operation on a packet field with a constant (`tcp flags & syn`).
/// The decoder only makes one for these keys, so there is no `.other`.
enum NftBinaryOperator: String, Hashable, Sendable, CaseIterable {
    case and = "&"
    case or = "|"
    case xor = "^"
    case leftShift = "<<"
    case rightShift = ">>"
}

/// A NAT statement. The decoder only makes one for these keys.
enum NftNatKind: String, Hashable, Sendable, CaseIterable {
    case snat, dnat, masquerade, redirect

    /// Sends the packet to another destination port on this host.
    var changesDestination: Bool { self == .dnat || self == .redirect }
}
