import Foundation
import Testing

@testable import PortcullisCore
@testable import PortcullisLinux

@Suite struct LocalInterfacesTests {
    /// The interfaces and addresses read over NETLINK_ROUTE are those `ip -j addr` shows.
    @Test(.enabled(if: FirewallHost.ip != nil, "ip (iproute2) is not installed"))
    func matchesIpAddr() throws {
        let ours = try LocalInterfaces.read()
        let shown = try ChildProcess.run(
            path: try #require(FirewallHost.ip), arguments: ["ip", "-j", "addr", "show"], timeoutMilliseconds: 10_000,
            stdoutLimit: 4 << 20)
        let list = try #require(try JSONSerialization.jsonObject(with: Data(shown.stdout)) as? [[String: Any]])
        var theirs: [String] = []
        for link in list {
            let flags = link["flags"] as? [String] ?? []
            var line = "\(link["ifindex"] as? Int ?? -1) \(link["ifname"] as? String ?? "?") \(flags.contains("LOOPBACK"))"
            for info in link["addr_info"] as? [[String: Any]] ?? [] {
                line += " \(info["local"] as? String ?? "?")/\(info["prefixlen"] as? Int ?? -1)"
                if let broadcast = info["broadcast"] as? String { line += " brd \(broadcast)" }
            }
            theirs.append(line)
        }
        let mine = ours.map { interface in
            "\(interface.index) \(interface.name) \(interface.isLoopback)"
                + interface.addresses.map { " \($0.address)/\($0.prefixLength)" + ($0.broadcast.map { " brd \($0)" } ?? "") }.joined()
        }
        #expect(mine == theirs)
        #expect(ours.contains { $0.isLoopback && $0.addresses.contains { $0.address == IPAddress(v4: 127, 0, 0, 1) } })
    }
}
