import Foundation
import PortcullisCore
import PortcullisScan
import Testing

/// Resolution without NSS, against a fake DNS server on 127.0.0.1 (see
/// ResolverTestSupport.swift for its zone). Network traffic stays on loopback.
@Suite struct ResolverTests {
    let loopback = IPAddress(v4: 127, 0, 0, 1)

    func resolver(
        _ servers: [UInt16], timeout: Int = 2000, attempts: Int = 1, search: [String] = [],
        hosts: HostsFile = HostsFile()
    ) -> Resolver {
        Resolver(
            hosts: hosts,
            configuration: ResolverConfiguration(
                nameservers: servers.map { Nameserver(loopback, port: $0) }, timeoutMilliseconds: timeout, attempts: attempts,
                searchDomains: search))
    }

    /// The error's message, or a note that it resolved.
    func failure(_ resolver: Resolver, _ name: String) -> String {
        do throws(ResolveError) {
            let host = try resolver.resolve(name)
            return "resolved to \(host.addresses)"
        } catch {
            return error.description
        }
    }

    func ips(_ texts: String...) -> [IPAddress] { texts.map { IPAddress(parsing: $0)! } }

    // MARK: Without any network

    @Test func hostsFileComesFirst() throws {
        let hosts = HostsFile("192.0.2.99 host.test\n::1 localhost\n")
        // The nameserver port is unused: nothing may be asked.
        let r = resolver([9], hosts: hosts)
        let host = try r.resolve("HOST.test.")
        #expect(host.addresses == ips("192.0.2.99") && host.source == .hostsFile && host.canonicalName == "host.test")
        #expect(try r.resolve("localhost").addresses == ips("::1"))
    }

    @Test func localhostNeverGoesToDNS() throws {
        let r = resolver([9])
        for name in ["localhost", "LocalHost.", "db.localhost"] {
            let host = try r.resolve(name)
            #expect(host.addresses == ips("127.0.0.1", "::1") && host.source == .localhost)
        }
    }

    @Test func invalidNamesAreRefusedBeforeAsking() {
        let r = resolver([9])
        let long = String(repeating: "a", count: 64)
        #expect(failure(r, long) == "cannot resolve \"\(long)\": not a DNS name (a label must be 1 to 63 bytes)")
        #expect(failure(r, "") == "cannot resolve \"\": not a DNS name (it is empty)")
        #expect(failure(r, "a..b") == "cannot resolve \"a..b\": not a DNS name (a label must be 1 to 63 bytes)")
    }

    @Test func systemFilesAreRead() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("portcullis-resolv-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let hostsPath = directory.appendingPathComponent("hosts").path
        let confPath = directory.appendingPathComponent("resolv.conf").path
        try "192.0.2.5 five.test\n127.1 bad\n".write(toFile: hostsPath, atomically: true, encoding: .utf8)
        try "nameserver 10.0.0.53\noptions timeout:1\n".write(toFile: confPath, atomically: true, encoding: .utf8)
        let r = Resolver.system(hostsPath: hostsPath, resolvConfPath: confPath)
        #expect(r.configuration.nameservers == [Nameserver(IPAddress(v4: 10, 0, 0, 53))])
        #expect(r.configuration.timeoutMilliseconds == 1000)
        #expect(try r.resolve("five.test").addresses == ips("192.0.2.5"))
        #expect(r.diagnostics.map(\.description) == ["notice: \(hostsPath):2: line skipped (not an IP address): 127.1 bad"])
        // Missing files: no hosts entries, glibc's defaults.
        let missing = Resolver.system(
            hostsPath: directory.appendingPathComponent("none").path,
            resolvConfPath: directory.appendingPathComponent("none").path)
        #expect(missing.configuration.nameservers == [Nameserver(loopback)] && missing.diagnostics.isEmpty)
    }

    // MARK: Against the fake server

    @Test(.enabled(if: FakeDNSServer.python != nil))
    func answersAandAAAA() throws {
        let server = try FakeDNSServer()
        defer { server.stop() }
        let r = resolver([server.port])
        let host = try r.resolve("host.test")
        #expect(host.addresses == ips("192.0.2.10", "2001:db8::10"))
        #expect(host.source == .dns(Nameserver(loopback, port: server.port)) && host.canonicalName == "host.test")
        // Both families were asked, each with its own random ID.
        let asked = server.queries.filter { $0.hasPrefix("udp host.test ") }.map { $0.split(separator: " ") }
        #expect(asked.map { $0[2] }.sorted() == ["1", "28"])
        #expect(Set(asked.map { $0[3] }).count == 2)
        #expect(try r.resolve("v4only.test").addresses == ips("192.0.2.11"))
    }

    @Test(.enabled(if: FakeDNSServer.python != nil))
    func followsCNAMEChains() throws {
        let server = try FakeDNSServer()
        defer { server.stop() }
        let r = resolver([server.port])
        for name in ["alias.test", "chain.test"] {
            let host = try r.resolve(name)
            #expect(host.addresses == ips("192.0.2.10", "2001:db8::10") && host.canonicalName == "host.test")
        }
    }

    @Test(.enabled(if: FakeDNSServer.python != nil))
    func negativeAnswers() throws {
        let server = try FakeDNSServer()
        defer { server.stop() }
        let r = resolver([server.port], attempts: 2)
        #expect(failure(r, "missing.test") == "cannot resolve \"missing.test\": NXDOMAIN from 127.0.0.1:\(server.port)")
        // NXDOMAIN is final: asked once per family, not again in the second round.
        #expect(server.queries.filter { $0.hasPrefix("udp missing.test ") }.count <= 2)
        #expect(failure(r, "empty.test") == "cannot resolve \"empty.test\": no A or AAAA records (NOERROR from 127.0.0.1:\(server.port))")
        #expect(
            failure(r, "broken.test")
                == "cannot resolve \"broken.test\": no answer from any nameserver (127.0.0.1:\(server.port): SERVFAIL, 2 tries)")
    }

    @Test(.enabled(if: FakeDNSServer.python != nil))
    func truncatedRepliesAreAskedAgainOverTCP() throws {
        let server = try FakeDNSServer()
        defer { server.stop() }
        let host = try resolver([server.port]).resolve("big.test")
        #expect(host.addresses == (1...40).map { IPAddress(v4: 198, 51, 100, UInt8($0)) })
        #expect(server.queries.contains { $0.hasPrefix("tcp big.test 1 ") })
        #expect(server.queries.contains { $0.hasPrefix("tcp big.test 28 ") })
    }

    @Test(.enabled(if: FakeDNSServer.python != nil))
    func strayAndSpoofedRepliesAreIgnored() throws {
        // The server first sends a reply with the wrong ID, one from another
        // port, one to another question and a runt datagram; only the genuine
        // reply counts.
        let server = try FakeDNSServer()
        defer { server.stop() }
        let host = try resolver([server.port]).resolve("spoof.test")
        #expect(host.addresses == ips("192.0.2.12"))
    }

    @Test(.enabled(if: FakeDNSServer.python != nil), .timeLimit(.minutes(1)))
    func silentServersTimeOut() throws {
        let server = try FakeDNSServer()
        defer { server.stop() }
        let r = resolver([server.port], timeout: 200, attempts: 2)
        let start = Date()
        #expect(
            failure(r, "silent.test")
                == "cannot resolve \"silent.test\": no answer from any nameserver (127.0.0.1:\(server.port): timed out after 200 ms, 2 tries)"
        )
        let elapsed = Date().timeIntervalSince(start)
        #expect(elapsed >= 0.39 && elapsed < 5, "took \(elapsed) s")
        #expect(server.queries.filter { $0.hasPrefix("udp silent.test ") }.count == 4)
    }

    @Test(.enabled(if: FakeDNSServer.python != nil), .timeLimit(.minutes(1)))
    func movesOnFromAServerThatIsNotThere() throws {
        let server = try FakeDNSServer()
        defer { server.stop() }
        // Nothing listens on the first: ICMP port unreachable, then the second answers.
        let r = resolver([server.closedPort, server.port], timeout: 200, attempts: 2)
        let host = try r.resolve("host.test")
        #expect(host.addresses == ips("192.0.2.10", "2001:db8::10") && host.source == .dns(Nameserver(loopback, port: server.port)))
        #expect(
            failure(r, "silent.test") == "cannot resolve \"silent.test\": no answer from any nameserver ("
                + "127.0.0.1:\(server.closedPort): connection refused (nothing listening), 2 tries; "
                + "127.0.0.1:\(server.port): timed out after 200 ms, 2 tries)")
    }

    /// A hostile nameserver (issue 17): a reply whose name is a compression
    /// loop, then a flood of garbage with the query's ID, over UDP; and the
    /// same loop over TCP after a truncated UDP reply. Each ends in its
    /// timeout with a message naming what was wrong, never a hang or a crash.
    @Test(.enabled(if: FakeDNSServer.python != nil), .timeLimit(.minutes(1)))
    func compressionLoopsAndFloodsEndInTheTimeout() throws {
        let server = try FakeDNSServer()
        defer { server.stop() }
        let r = resolver([server.port], timeout: 300, attempts: 1)
        let start = Date()
        let looped = failure(r, "loop.test")
        #expect(
            looped.hasPrefix(
                "cannot resolve \"loop.test\": no answer from any nameserver (127.0.0.1:\(server.port): timed out after 300 ms (ignored a malformed reply"
            ), "\(looped)")
        #expect(Date().timeIntervalSince(start) < 5)
        let overTCP = failure(r, "tcploop.test")
        #expect(overTCP.contains("reply truncated, and over TCP: malformed reply"), "\(overTCP)")
        #expect(server.queries.contains { $0.hasPrefix("tcp tcploop.test ") })
    }

    @Test(.enabled(if: FakeDNSServer.python != nil))
    func searchDomains() throws {
        let server = try FakeDNSServer()
        defer { server.stop() }
        let r = resolver([server.port], search: ["corp.test"])
        let host = try r.resolve("host")
        #expect(host.addresses == ips("192.0.2.13") && host.canonicalName == "host.corp.test")
        // A dotted name is tried as given first.
        #expect(try r.resolve("host.test").addresses == ips("192.0.2.10", "2001:db8::10"))
        #expect(
            failure(r, "nothere") == "cannot resolve \"nothere\": NXDOMAIN from 127.0.0.1:\(server.port) (also tried nothere.corp.test)")
        #expect(failure(r, "nothere.") == "cannot resolve \"nothere.\": NXDOMAIN from 127.0.0.1:\(server.port)")
        let each = r.resolveEach(["host", "nothere", "host"])
        #expect(each.count == 2)
        #expect((try? each["host"]?.get())?.addresses == ips("192.0.2.13"))
        if case .failure(let error)? = each["nothere"] {
            #expect(error.reason == .nameNotFound(Nameserver(loopback, port: server.port)))
        } else {
            Issue.record("nothere resolved")
        }
    }
}
