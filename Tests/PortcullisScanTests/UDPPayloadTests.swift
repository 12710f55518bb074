import Foundation
import Testing

@testable import PortcullisCore

/// Replies in Fixtures/udp were captured from real servers on loopback
/// (dnsmasq, memcached, net-snmp snmpd, chronyd) answering these payloads.
@Suite struct UDPPayloadTests {
    @Test func unknownPortsGetAnEmptyDatagram() {
        #expect(UDPPayloads.payload(for: 9).isEmpty)
        #expect(UDPPayloads.payload(for: 40000).isEmpty)
        for port in UDPPayloads.ports { #expect(!UDPPayloads.payload(for: port).isEmpty, "port \(port)") }
    }

    @Test func payloadsAreWellFormed() throws {
        let dns = UDPPayloads.payload(for: 53)
        #expect(dns.count == 12 + 14 + 4)
        #expect(Array(dns[12...]) == [7] + Array("version".utf8) + [4] + Array("bind".utf8) + [0, 0, 16, 0, 3])
        let ntp = UDPPayloads.payload(for: 123)
        #expect(ntp.count == 48 && ntp[0] & 0x07 == 3 && (ntp[0] >> 3) & 0x07 == 4)
        // SNMP: parse our own request back with the DER reader.
        var reader = DERReader(UDPPayloads.payload(for: 161))
        var message = try reader.read(DER.sequence, "message").children(field: "message")
        #expect(try message.read(DER.integer, "version").unsignedInteger(field: "v") == 0)
        #expect(Array(try message.read(DER.octetString, "community").contents) == Array("public".utf8))
        var pdu = try message.read(0xa0, "get").children(field: "get")
        _ = try pdu.read(DER.integer, "id")
        _ = try pdu.read(DER.integer, "status")
        _ = try pdu.read(DER.integer, "index")
        var bindings = try pdu.read(DER.sequence, "bindings").children(field: "bindings")
        var binding = try bindings.read(DER.sequence, "binding").children(field: "binding")
        #expect(try binding.read(DER.objectIdentifier, "oid").objectIdentifier(field: "oid") == "1.3.6.1.2.1.1.1.0")
        let netbios = UDPPayloads.payload(for: 137)
        #expect(netbios.count == 50 && netbios[12] == 32 && netbios[13] == UInt8(ascii: "C") && netbios[14] == UInt8(ascii: "K"))
        let memcached = UDPPayloads.payload(for: 11211)
        #expect(Array(memcached[2..<8]) == [0, 0, 0, 1, 0, 0] && Array(memcached[8...]) == Array("stats\r\n".utf8))
        #expect(String(decoding: UDPPayloads.payload(for: 1900), as: UTF8.self).hasPrefix("M-SEARCH * HTTP/1.1\r\n"))
        #expect(String(decoding: UDPPayloads.payload(for: 5060), as: UTF8.self).hasSuffix("\r\n\r\n"))
    }

    @Test func dnsmasqVersionBind() throws {
        let service = try #require(UDPPayloads.match(port: 53, reply: try ServiceFixtures.hex("udp/dns-dnsmasq.hex")))
        #expect(service.name == "domain" && service.product == "dnsmasq" && service.version == "2.90")
        #expect(service.banner == "dnsmasq-2.90")
    }

    @Test func memcachedStats() throws {
        let service = try #require(UDPPayloads.match(port: 11211, reply: try ServiceFixtures.hex("udp/memcached-stats.hex")))
        #expect(service.name == "memcached" && service.product == "Memcached" && service.version == "1.6.18")
        let fresh = try #require(
            UDPPayloads.match(port: 11211, reply: try ServiceFixtures.hex("udp/memcached-1.6.18-stats.hex")))
        #expect(fresh.product == "Memcached" && fresh.version == "1.6.18" && fresh.extraInfo?.hasPrefix("uptime ") == true)
        #expect(fresh.unauthenticated?.request == "stats" && fresh.unauthenticated?.answer.contains("STAT version 1.6.18") == true)
    }

    @Test func snmpSysDescr() throws {
        let reply = try ServiceFixtures.hex("udp/snmp-netsnmp.hex")
        let service = try #require(UDPPayloads.match(port: 161, reply: reply))
        #expect(service.name == "snmp" && service.version == "v1")
        #expect(service.banner?.hasPrefix("Linux ") == true)
        // BER allows a long-form length where DER wants the short one (0x81 0x62 for 98): still read.
        let longForm = [reply[0], 0x81] + reply[1...]
        #expect(UDPPayloads.match(port: 161, reply: Array(longForm))?.banner == service.banner)
    }

    @Test func ntpServerReply() throws {
        let service = try #require(UDPPayloads.match(port: 123, reply: try ServiceFixtures.hex("udp/ntp-chrony.hex")))
        #expect(service.name == "ntp" && service.version == "v4")
        #expect(service.banner?.hasPrefix("stratum ") == true)
    }

    @Test func repliesToSomethingElseAreNotMatched() throws {
        let dns = try ServiceFixtures.hex("udp/dns-dnsmasq.hex")
        #expect(UDPPayloads.match(port: 123, reply: dns) == nil)
        #expect(UDPPayloads.match(port: 161, reply: dns) == nil)
        #expect(UDPPayloads.match(port: 11211, reply: dns) == nil)
        var wrongID = dns
        wrongID[1] ^= 0xff
        #expect(UDPPayloads.match(port: 53, reply: wrongID) == nil)
        #expect(UDPPayloads.match(port: 53, reply: []) == nil)
        // Truncations of real replies never trap.
        for name in ["udp/dns-dnsmasq.hex", "udp/snmp-netsnmp.hex", "udp/ntp-chrony.hex", "udp/memcached-stats.hex"] {
            let reply = try ServiceFixtures.hex(name)
            for length in 0..<reply.count {
                for port in UDPPayloads.ports { _ = UDPPayloads.match(port: port, reply: Array(reply[..<length])) }
            }
        }
    }

    @Test func smallHandMadeReplies() {
        // TFTP error packet: opcode 5, code 1, message.
        let tftp = UDPPayloads.match(port: 69, reply: [0, 5, 0, 1] + Array("File not found".utf8) + [0])
        #expect(tftp?.name == "tftp" && tftp?.banner == "File not found")
        let ssdp = UDPPayloads.match(
            port: 1900,
            reply: Array(
                "HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\nSERVER: Linux/6.1 UPnP/1.0 MiniUPnPd/2.3\r\n\r\n".utf8))
        #expect(ssdp?.name == "upnp" && ssdp?.banner == "Linux/6.1 UPnP/1.0 MiniUPnPd/2.3")
        let sip = UDPPayloads.match(port: 5060, reply: Array("SIP/2.0 200 OK\r\nUser-Agent: Asterisk PBX 18.10.0\r\n\r\n".utf8))
        #expect(sip?.name == "sip" && sip?.product == "Asterisk PBX 18.10.0")
    }

    @Test func netbiosNodeStatusReply() {
        // Header (id, response flags, 0 questions, 1 answer), the "*" name, NBSTAT IN, TTL, length,
        // then one 18-byte name entry "FILESERVER<20>".
        var reply: [UInt8] = [0x70, 0x64, 0x84, 0x00, 0, 0, 0, 1, 0, 0, 0, 0]
        reply += Array(UDPPayloads.netbiosNodeStatus[12..<46]) + [0, 0x21, 0, 1, 0, 0, 0, 0, 0, 19, 1]
        reply += Array("FILESERVER     ".utf8) + [0x20, 0x04, 0x00]
        let service = UDPPayloads.match(port: 137, reply: reply)
        #expect(service?.name == "netbios-ns" && service?.banner == "FILESERVER")
    }

    /// The payloads sent are the ones in Fixtures/requests, which
    /// Fixtures/capture.py sends (`--send-hex`) when the replies in
    /// Fixtures/udp are re-recorded.
    @Test func payloadsAreTheRecordedRequests() throws {
        for port in UDPPayloads.ports {
            try ServiceFixtures.assertRequest(UDPPayloads.payload(for: port), named: "udp-\(port).hex")
        }
    }
}
