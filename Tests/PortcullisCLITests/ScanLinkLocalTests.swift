import Foundation
import Testing

/// The target of the link-local tests: an SSH-like greeter on [::]:2222
/// (dual stack, so IPv4 too); 2223 is closed.
let linkLocalTargetScript = #"""
    import os, socket, sys
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", 2222)); s.listen(64)
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write("%d\n" % os.getpid())
    os.rename(sys.argv[1] + ".tmp", sys.argv[1])
    while True:
        c, _ = s.accept()
        try:
            c.sendall(b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n")
        except OSError:
            pass
        c.close()
    """#

/// `scan --format json` with the fields these tests read.
struct ZonedScanDocument: Decodable {
    struct Service: Decodable {
        var name: String
        var product: String?
    }
    struct Port: Decodable {
        var port: Int
        var state: String
        var service: Service?
    }
    struct HostResult: Decodable {
        var address: String
        var zone: String?
        var ports: [Port]
    }
    var hosts: [HostResult]

    static func decode(_ result: CommandResult) throws -> ZonedScanDocument {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(ZonedScanDocument.self, from: Data(result.out.utf8))
    }
}

extension CLITests {
    @Suite("scan: link-local targets with a zone, and refused broadcast and multicast targets, in network namespaces")
    struct ScanLinkLocal {
        static let ip = Host.executable("ip", preferring: ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"])
        static let canRun = Host.canMakeNamespaces && Host.isRoot && Host.python3 != nil && ip != nil
        static let nmap = Host.executable("nmap", preferring: ["/usr/bin/nmap"])
        static let ndiff = Host.executable("ndiff", preferring: ["/usr/bin/ndiff"])

        /// The pair with fe80::1 on the scanner's veth and fe80::2 on the
        /// target's, both without duplicate address detection (usable at
        /// once), and the greeter running in the target.
        static func lab() throws -> TestNetworkPair {
            let pair = try TestNetworkPair()
            try TestNamespace.must(["ip", "-n", pair.scanner, "-6", "addr", "add", "fe80::1/64", "dev", pair.scannerLink, "nodad"])
            try TestNamespace.must(["ip", "-n", pair.target, "-6", "addr", "add", "fe80::2/64", "dev", pair.targetLink, "nodad"])
            try pair.startTargetPython(linkLocalTargetScript)
            return pair
        }

        /// The scanner's veth's interface index, from `ip -o link`.
        static func index(of link: String, in namespace: String) throws -> String {
            let shown = try Subprocess.run("/usr/bin/env", ["ip", "-n", namespace, "-o", "link", "show", "dev", link], environment: [:])
            return String(try #require(shown.out.split(separator: ":").first, "\(shown)"))
        }

        @Test(.enabled(if: canRun, "needs network namespaces, root, python3 and ip"), .timeLimit(.minutes(3)))
        func scopedTargetIsScannedOnItsInterface() throws {
            let pair = try Self.lab()
            let link = pair.scannerLink
            let json = try pair.scan(["-p", "2222,2223", "--format", "json", "fe80::2%\(link)"])
            #expect(json.status == 0, "\(json)")
            let document = try ZonedScanDocument.decode(json)
            let host = try #require(document.hosts.first)
            #expect(document.hosts.count == 1 && host.address == "fe80::2" && host.zone == link)
            #expect(host.ports.map { "\($0.port) \($0.state)" } == ["2222 open", "2223 closed"])

            // By interface index, shown by name; the text report writes the zone.
            let index = try Self.index(of: link, in: pair.scanner)
            let text = try pair.scan(["-p", "2222", "fe80::2%\(index)"])
            #expect(text.status == 0 && text.out.contains("Scan report for fe80::2%\(link)\n"), "\(text)")
            #expect(text.out.contains("2222/tcp") && text.out.contains("open"), "\(text)")

            // Service detection reaches the port through the same interface.
            let service = try pair.scan(["-p", "2222", "--service", "--format", "json", "fe80::2%\(link)"])
            let detected = try #require(try ZonedScanDocument.decode(service).hosts.first?.ports.first?.service, "\(service)")
            #expect(detected.name == "ssh" && detected.product == "OpenSSH", "\(service)")

            // NDJSON port lines carry the zone beside the plain address.
            let lines = try pair.scan(["-p", "2222", "--format", "ndjson", "fe80::2%\(link)"])
            let portLine = try #require(lines.out.split(separator: "\n").first { $0.contains(#""type":"port""#) }, "\(lines)")
            #expect(portLine.contains(#""address":"fe80::2","zone":"\#(link)""#), "\(lines)")

            // -iL lines take zones too, and --exclude takes the same target out.
            let directory = try TemporaryDirectory(prefix: "portcullis-linklocal")
            defer { directory.remove() }
            let list = directory.url.appendingPathComponent("targets.txt").path
            try Data("# the lab\nfe80::2%\(link)\n".utf8).write(to: URL(fileURLWithPath: list))
            let fromFile = try pair.scan(["-p", "2222", "--format", "json", "-iL", list])
            #expect(fromFile.status == 0, "\(fromFile)")
            #expect(try ZonedScanDocument.decode(fromFile).hosts.first?.zone == link, "\(fromFile)")
            let excluded = try pair.scan(["-p", "2222", "-iL", list, "--exclude", "fe80::2%\(index)"])
            #expect(excluded.status == 2 && excluded.err.contains("nothing to scan: every target is excluded"), "\(excluded)")
        }

        @Test(.enabled(if: canRun, "needs network namespaces, root, python3 and ip"), .timeLimit(.minutes(3)))
        func zonelessOrUnknownZonesAreUsageErrors() throws {
            let pair = try Self.lab()
            let link = pair.scannerLink
            let zoneless = try pair.scan(["-p", "2222", "fe80::2"])
            #expect(zoneless.status == 2, "\(zoneless)")
            #expect(
                zoneless.err.contains(
                    "target \"fe80::2\": fe80::2 is link-local: name the interface, as fe80::2%\(link) (interfaces: lo, \(link))"),
                "\(zoneless)")
            let unknown = try pair.scan(["-p", "2222", "fe80::2%nosuch0"])
            #expect(unknown.status == 2, "\(unknown)")
            #expect(unknown.err.contains("target \"fe80::2%nosuch0\": no interface nosuch0; interfaces: lo, \(link)"), "\(unknown)")
            let global = try pair.scan(["-p", "2222", "fd77::2%\(link)"])
            #expect(global.status == 2 && global.err.contains("fd77::2 is not link-local"), "\(global)")
        }

        /// nmap writes a scoped target's address without its zone; so does
        /// portcullis, and ndiff finds no difference between the two scans.
        @Test(
            .enabled(if: canRun && nmap != nil && ndiff != nil, "needs network namespaces, root, python3, ip, nmap and ndiff"),
            .timeLimit(.minutes(3)))
        func xmlMatchesNmapForScopedTargets() throws {
            let pair = try Self.lab()
            let directory = try TemporaryDirectory(prefix: "portcullis-linklocal-xml")
            defer { directory.remove() }
            let ours = directory.url.appendingPathComponent("portcullis.xml").path
            let theirs = directory.url.appendingPathComponent("nmap.xml").path
            let target = "fe80::2%\(pair.scannerLink)"
            let nmapRun = try Subprocess.run(
                "/usr/bin/env",
                [
                    "ip", "netns", "exec", pair.scanner, try #require(Self.nmap), "-6", "-sT", "-Pn", "-n", "-p", "2222,2223", "-oX",
                    theirs, target,
                ],
                environment: [:], timeout: 120)
            #expect(nmapRun.status == 0, "\(nmapRun)")
            let ourRun = try pair.scan(["-Pn", "-p", "2222,2223", "-n", "-oX", ours, target])
            #expect(ourRun.status == 0, "\(ourRun)")
            let address = #"<address addr="fe80::2" addrtype="ipv6"/>"#
            #expect(try String(contentsOfFile: theirs, encoding: .utf8).contains(address))
            #expect(try String(contentsOfFile: ours, encoding: .utf8).contains(address))
            let diff = try Subprocess.run(try #require(Self.ndiff), [theirs, ours], timeout: 60)
            let portLines = diff.out.split(separator: "\n").filter { ($0.hasPrefix("+") || $0.hasPrefix("-")) && $0.contains("/tcp") }
            #expect(diff.status == 0 && portLines.isEmpty, "\(diff)")
        }

        @Test(.enabled(if: canRun, "needs network namespaces, root, python3 and ip"), .timeLimit(.minutes(3)))
        func broadcastAndMulticastTargetsAreRefused() throws {
            let pair = try Self.lab()
            let link = pair.scannerLink
            let single = "a port scan sends only to single hosts"
            for (target, reason) in [
                ("10.77.0.255", "10.77.0.255 is the broadcast address of 10.77.0.0/24 on \(link): \(single)"),
                ("255.255.255.255", "255.255.255.255 is the limited broadcast address: \(single)"),
                ("224.0.0.1", "224.0.0.1 is a multicast address (224.0.0.0/4): \(single)"),
                ("ff02::1%\(link)", "ff02::1 is a multicast address (ff00::/8): \(single)"),
                ("ff02::1", "ff02::1 is a multicast address (ff00::/8): \(single)"),
                (
                    "0.0.0.0",
                    "0.0.0.0 is the unspecified address: a connect to it reaches this host itself (to scan this host, name 127.0.0.1)"
                ),
            ] {
                let refused = try pair.scan(["-p", "2222", "10.77.0.2", target])
                #expect(refused.status == 2, "\(refused)")
                #expect(refused.err == "portcullis: error: target \"\(target)\": \(reason)\n", "\(refused)")
                #expect(refused.out.isEmpty, "nothing is scanned: \(refused)")
            }
            // In a range, the connected subnet's broadcast address is left out with a notice; the rest is scanned.
            let range = try pair.scan(["-p", "2222", "--format", "json", "10.77.0.2", "10.77.0.254-255"])
            #expect(range.status == 0, "\(range)")
            #expect(
                range.err.contains("notice: leaving out 10.77.0.255: the broadcast address of 10.77.0.0/24 on \(link); \(single)"),
                "\(range)")
            let document = try ZonedScanDocument.decode(range)
            #expect(document.hosts.map(\.address) == ["10.77.0.2", "10.77.0.254"])
            #expect(document.hosts.first?.ports.first?.state == "open")
        }
    }
}
