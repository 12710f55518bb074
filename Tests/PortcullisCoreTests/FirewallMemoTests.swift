import Foundation
import Testing

@testable import PortcullisCore

/// `FirewallModel.Memo` hands a listener an evaluation made for another
/// port; it must be exactly the evaluation a walk of its own would give.
@Suite struct FirewallMemoTests {
    static let shapes = [
        "empty", "policy-drop-basic", "policy-accept-drops", "source-restricted", "daddr", "named-sets", "concat", "vmap",
        "jumps", "multiple-base", "ingress", "nat", "opaque", "hardening", "iptables-nft", "masked-port",
    ]

    /// Wildcards, and one specific address per family (daddr.nft names them).
    static let addresses: [(AddressFamily, IPAddress)] = [
        (.ipv4, .anyV4), (.ipv6, .anyV6),
        (.ipv4, IPAddress(parsing: "192.0.2.10") ?? .anyV4), (.ipv6, IPAddress(parsing: "2001:db8::10") ?? .anyV6),
    ]

    /// Every number the ruleset's text names and its neighbours, and ports
    /// it names nowhere, including the ones masked-port.nft's mask selects.
    static func ports(_ shape: String) throws -> [UInt16] {
        var ports: Set<Int> = [0, 1, 1023, 1024, 0x1eff, 0x1f00, 0x1f42, 0x1fff, 0x2000, 20000, 40000, 65535]
        let source = shape == "iptables-nft" ? ["iptables-nft.v4", "iptables-nft.v6"] : ["\(shape).nft"]
        for file in source {
            let text = String(decoding: try TestFiles.fixture("nft/\(file)"), as: UTF8.self)
            for line in text.split(separator: "\n") where !line.trimmingCharacters(in: .whitespaces).hasPrefix("#") {
                for token in line.split(whereSeparator: { !$0.isNumber }) {
                    guard let n = Int(token), n <= 65535 else { continue }
                    ports.formUnion([n - 1, n, n + 1].filter { (0...65535).contains($0) })
                }
            }
        }
        return ports.sorted().map { UInt16($0) }
    }

    @Test(arguments: shapes) func memoGivesEachPortItsOwnEvaluation(shape: String) throws {
        let model = try FirewallFixture.model(shape)
        let ports = try Self.ports(shape)
        // Ascending, descending, and odd positions before even ones: each
        // order lets a different port be the first of its class.
        let orders = [
            Array(ports.indices), Array(ports.indices.reversed()),
            ports.indices.filter { $0 % 2 == 1 } + ports.indices.filter { $0 % 2 == 0 },
        ]
        for proto in [TransportProtocol.tcp, .udp] {
            for (family, address) in Self.addresses {
                let walked = ports.map { model.evaluate(proto: proto, family: family, port: $0, localAddress: address) }
                for order in orders {
                    var memo = FirewallModel.Memo()
                    for i in order {
                        let remembered = model.evaluate(proto: proto, family: family, port: ports[i], localAddress: address, memo: &memo)
                        #expect(remembered == walked[i], "\(shape): \(proto)/\(ports[i]) \(family) at \(address)")
                    }
                }
            }
        }
    }

    @Test func portsTheRulesetDoesNotNameShareOneEvaluation() throws {
        let model = try FirewallFixture.model("policy-drop-basic")
        var memo = FirewallModel.Memo()
        for port in UInt16(20000)..<20100 {
            #expect(model.verdict(proto: .tcp, family: .ipv4, port: port, localAddress: .anyV4, memo: &memo).isFiltered)
        }
        #expect(model.verdict(proto: .tcp, family: .ipv4, port: 22, localAddress: .anyV4, memo: &memo).isFiltered == false)
        #expect(memo.entries.values.map(\.count).reduce(0, +) == 2)
    }

    @Test func aPortReadUnderAMaskIsNeverReused() throws {
        let model = try FirewallFixture.model("masked-port")
        var memo = FirewallModel.Memo()
        #expect(model.verdict(proto: .tcp, family: .ipv4, port: 0x1f42, localAddress: .anyV4, memo: &memo).isFiltered == false)
        #expect(model.verdict(proto: .tcp, family: .ipv4, port: 0x2042, localAddress: .anyV4, memo: &memo).isFiltered)
        #expect(model.verdict(proto: .tcp, family: .ipv4, port: 0x1f43, localAddress: .anyV4, memo: &memo).isFiltered == false)
        #expect(memo.entries.isEmpty)
    }

    /// Dual-stack sockets, loopback, raw sockets and legacy iptables notes
    /// go through the snapshot: the memo must not change those either.
    @Test(arguments: ["policy-drop-basic", "source-restricted", "daddr"])
    func snapshotVerdictsMatchWithTheMemo(shape: String) throws {
        let model = try FirewallFixture.model(shape)
        let ports = try Self.ports(shape)
        var inode: UInt64 = 0
        var entries: [InventoryEntry] = []
        for address in ["0.0.0.0", "::", "192.0.2.10", "2001:db8::10", "127.0.0.1", "::ffff:192.0.2.10"] {
            for proto in [TransportProtocol.tcp, .udp] {
                for port in ports {
                    inode += 1
                    entries.append(AuditFixtures.entry(proto, address, port, owners: [], inode: inode))
                }
            }
        }
        for legacy in [[], ["filter"]] {
            let snapshot = FirewallSnapshot(source: .nftables(model), legacyIPv4Tables: legacy)
            var memo = FirewallModel.Memo()
            for entry in entries {
                #expect(
                    snapshot.verdict(for: entry, memo: &memo) == snapshot.verdict(for: entry),
                    "\(shape): \(entry.socket.proto)/\(entry.socket.localPort) at \(entry.socket.localAddress)")
            }
        }
    }
}
