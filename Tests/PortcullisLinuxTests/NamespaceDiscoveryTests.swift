import Foundation
import Testing

@testable import PortcullisCore
@testable import PortcullisLinux

@Suite("Namespace discovery over a procfs tree")
struct NamespaceDiscoveryTests {
    /// A procfs-shaped tree: `PID/ns/net` links to `net:[INODE]`, and `self/ns/net`.
    final class Tree {
        let root = NSTemporaryDirectory() + "pc-nsdisc-" + UUID().uuidString
        init() throws { try FileManager.default.createDirectory(atPath: root + "/self/ns", withIntermediateDirectories: true) }
        deinit { try? FileManager.default.removeItem(atPath: root) }
        func link(_ name: String, _ inode: UInt64) throws {
            let path = root + "/" + name + "/ns/net"
            try FileManager.default.createDirectory(atPath: root + "/" + name + "/ns", withIntermediateDirectories: true)
            try? FileManager.default.removeItem(atPath: path)
            try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: "net:[\(inode)]")
        }
        func remove(_ pid: Int32) throws { try FileManager.default.removeItem(atPath: root + "/\(pid)") }
        func discover(_ cache: NamespaceDiscovery.ProcessNamespaces?) throws -> [UInt64: [Int32]] {
            let found = NamespaceDiscovery.discover(procfs: try ProcFS(root: root), runRoot: root + "/run", cache: cache).found
            return Dictionary(uniqueKeysWithValues: found.map { ($0.namespace.inode, $0.pids) })
        }
    }

    @Test("Processes grouped by namespace; pid 1's is the host's; a pid read on two discoveries in a row is then trusted")
    func processCache() throws {
        let tree = try Tree()
        try tree.link("self", 5)
        try tree.link("1", 7)
        try tree.link("10", 100)
        try tree.link("11", 100)
        let cache = NamespaceDiscovery.ProcessNamespaces()
        let first = try tree.discover(cache)
        #expect(first[100] == [10, 11] && first[7] == [1])
        let host = NamespaceDiscovery.discover(procfs: try ProcFS(root: tree.root), runRoot: tree.root + "/run").found.first
        #expect(host?.namespace.isHost == true && host?.namespace.inode == 7)

        // Pid 12 is new and still moving (ip netns exec): read on each discovery until it stays put.
        try tree.link("12", 100)
        _ = try tree.discover(cache)
        try tree.link("12", 200)
        #expect(try tree.discover(cache)[200] == [12], "an unsettled pid is read again")
        // Pid 10, settled, is not read again: its link changing is not seen (the documented limit).
        try tree.link("10", 300)
        #expect(try tree.discover(cache)[300] == nil)
        #expect(try tree.discover(nil)[300] == [10], "without a cache every link is read")
        // An exited pid leaves the cache: the pid, reused, is read afresh.
        try tree.remove(10)
        _ = try tree.discover(cache)
        try tree.link("10", 400)
        #expect(try tree.discover(cache)[400] == [10])
    }
}

@Suite("The scanner's own networks over NETLINK_ROUTE")
struct LocalNetworksLiveTests {
    @Test("This namespace's addresses come with their prefixes: loopback is 127.0.0.0/8")
    func loopbackIsDirectlyConnected() throws {
        let networks = NamespaceDiscovery.localNetworks()
        #expect(networks.known, "NETLINK_ROUTE answered")
        let loopback = try #require(networks.networks.first { $0.address == IPAddress(v4: 127, 0, 0, 1) }, "\(networks)")
        #expect(loopback.prefixLength == 8)
        #expect(networks.placement(of: IPAddress(v4: 127, 9, 9, 9)) == .onLink("127.0.0.0/8"))
    }
}
