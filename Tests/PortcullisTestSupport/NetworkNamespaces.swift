import Foundation
import Glibc

/// Whether this process can make network namespaces of its own. Tests that
/// need one are gated on `available`, so a host that cannot make them (not
/// root, no iproute2 or util-linux, a container that forbids mounting
/// /run/netns or unsharing) skips them with a message instead of failing.
public enum NetworkNamespaces {
    /// Nil when `ip netns add` and `unshare -n` both work here; otherwise why not.
    public static let unavailableReason: String? = probe()

    /// Both ways the tests make a namespace work here.
    public static var available: Bool { unavailableReason == nil }

    private static func executable(_ candidates: [String]) -> String? {
        candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    private static func probe() -> String? {
        guard geteuid() == 0 else { return "not root" }
        guard let ip = executable(["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"]) else { return "ip (iproute2) is not installed" }
        guard let unshare = executable(["/usr/bin/unshare", "/bin/unshare"]) else { return "unshare (util-linux) is not installed" }
        let name = "pc-probe-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        guard run(ip, ["netns", "add", name]) else { return "`ip netns add` failed" }
        defer { _ = run(ip, ["netns", "delete", name]) }
        guard run(ip, ["-n", name, "link", "set", "lo", "up"]) else { return "`ip -n NAME link set lo up` failed" }
        guard run(unshare, ["-n", "/bin/true"]) else { return "`unshare -n` failed" }
        return nil
    }

    private static func run(_ path: String, _ arguments: [String]) -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return false }
        process.waitUntilExit()
        return process.terminationReason == .exit && process.terminationStatus == 0
    }
}

/// Whether ::1 can be bound here (IPv6 built in and not disabled on lo).
/// Tests with IPv6 cases are gated on it, so where IPv6 is missing they
/// skip with a message rather than fail or quietly test IPv4 alone.
public enum IPv6Loopback {
    /// A TCP socket could be bound to [::1]:0.
    public static let available: Bool = {
        let fd = socket(AF_INET6, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in6()
        address.sin6_family = sa_family_t(AF_INET6)
        address.sin6_addr = in6addr_loopback
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) == 0
            }
        }
    }()
}
