import Foundation
import Glibc
import PortcullisCore
import PortcullisTestSupport
import Testing

@testable import PortcullisScan

/// Asking connect again pays only where answers come within the call.
@Suite struct InlineAnswerTests {
    @Test func aHostThatNeverAnswersAtOnceStopsBeingAsked() {
        var answers = InlineAnswers()
        for _ in 0..<32 {
            #expect(answers.worthAsking(7))
            answers.record(7, answered: false)
        }
        #expect(!answers.worthAsking(7))
        #expect(answers.worthAsking(8), "another host is judged on its own")
    }

    @Test func aHostThatSometimesAnswersAtOnceKeepsBeingAsked() {
        var answers = InlineAnswers()
        for i in 0..<64 { answers.record(1, answered: i % 8 == 0) }
        #expect(answers.worthAsking(1))
    }
}

@Suite(.enabled(if: FileManager.default.fileExists(atPath: "/proc/net/tcp"), "needs Linux loopback"))
struct ScanEngineTests {
    let loopback = ScanTarget(address: IPAddress(v4: 127, 0, 0, 1))

    @Test func tcpOpenAndClosedOnLoopback() throws {
        let listeners = TestSockets()
        let open = try (0..<20).map { _ in try listeners.open(.tcp, ipv6: false, address: "127.0.0.1") }
        // Our ports and a closed neighbour of each (sockets bound without
        // listening refuse connections like free ports do).
        let closed = try (0..<20).map { _ in try listeners.bindOnly() }
        let ports = (open + closed).sorted()
        let hosts = ScanEngine.run(hosts: [loopback], tcpPorts: ports, udpPorts: [])
        let host = try #require(hosts.first)
        #expect(host.ports.map(\.port) == ports)
        #expect(Set(host.ports.filter { $0.state == .open }.map(\.port)) == Set(open), "\(host.ports)")
        #expect(Set(host.ports.filter { $0.state == .closed }.map(\.port)) == Set(closed), "\(host.ports)")
        #expect(host.ports.first { open.contains($0.port) }?.reason == .synAck)
        #expect(host.ports.first { $0.state == .closed }?.reason == .connRefused)
    }

    @Test func udpClosedAndOpenFilteredOnLoopback() throws {
        let listeners = TestSockets()
        let bound = try listeners.open(.udp, ipv6: false, address: "127.0.0.1")
        var options = ScanEngine.Options()
        options.maxRetries = 1
        options.initialTimeoutMilliseconds = 200
        let free = bound == 65535 ? bound - 1 : bound + 1
        let hosts = ScanEngine.run(hosts: [loopback], tcpPorts: [], udpPorts: [bound, free], options: options)
        let ports = try #require(hosts.first).ports
        // A bound socket that never replies: no ICMP, so open|filtered.
        #expect(ports.first { $0.port == bound }?.state == .openFiltered)
        let freeResult = ports.first { $0.port == free }
        #expect(freeResult?.state == .closed && freeResult?.reason == .portUnreachable, "\(String(describing: freeResult))")
    }
}
