/// Datagrams that make common UDP services answer, and matchers that name
/// the service from the answer. A UDP port that ignores an empty datagram
/// (most do) often answers a well-formed request, which turns
/// open|filtered into open.
public enum UDPPayloads {
    /// Ports with a service-specific payload.
    public static let ports: [UInt16] = [53, 69, 123, 137, 161, 1900, 5060, 5353, 11211]

    /// Transaction ids in our requests; replies must echo them.
    static let dnsID: UInt16 = 0x7063
    static let snmpRequestID: UInt32 = 0x7063_7363
    static let netbiosID: UInt16 = 0x7064
    static let memcachedID: UInt16 = 0x7065
    static let ntpTransmit: [UInt8] = [0xe9, 0x4e, 0x1d, 0x80, 0x70, 0x63, 0x73, 0x63]

    /// The probe datagram for `port`; empty (a zero-length datagram) when no
    /// service-specific request is known.
    public static func payload(for port: UInt16) -> [UInt8] {
        switch port {
        case 53: return dnsVersionBindQuery
        case 69: return tftpReadRequest
        case 123: return ntpClientRequest
        case 137: return netbiosNodeStatus
        case 161: return snmpGetSysDescr
        case 1900: return ssdpSearch
        case 5060: return sipOptions
        case 5353: return mdnsServicesQuery
        case 11211: return memcachedStats
        default: return []
        }
    }

    /// Names the service from a reply to `payload(for: port)`; nil when the
    /// reply is not the expected protocol's.
    public static func match(port: UInt16, reply: [UInt8]) -> ScanService? {
        guard !reply.isEmpty else { return nil }
        switch port {
        case 53: return dns(reply, name: "domain", id: dnsID)
        case 69: return tftp(reply)
        case 123: return ntp(reply)
        case 137: return netbios(reply)
        case 161: return snmp(reply)
        case 1900: return ssdp(reply)
        case 5060: return ServiceMatch.http(reply)  // names a SIP/2.0 reply "sip"
        case 5353: return dns(reply, name: "mdns", id: 0)
        case 11211: return memcached(reply)
        default: return nil
        }
    }

    // MARK: Requests

    static func be16(_ v: UInt16) -> [UInt8] { TLSClientHello.be16(v) }  // one big-endian writer for the probes

    /// `version.bind` TXT in class CHAOS: BIND, Unbound, dnsmasq and Knot
    /// answer with their version (unless configured not to).
    /// (The names are constant and valid, so the encoder cannot refuse them;
    /// UDPPayloadTests pins both payloads' bytes.)
    public static let dnsVersionBindQuery =
        (try? DNSMessage.query(
            id: dnsID, name: "version.bind", type: DNSRecordType(rawValue: 16),
            recordClass: 3)) ?? []

    /// `_services._dns-sd._udp.local` PTR with the unicast-response bit, so
    /// the answer comes back to our port instead of the multicast group.
    public static let mdnsServicesQuery =
        (try? DNSMessage.query(
            id: 0, name: "_services._dns-sd._udp.local", type: DNSRecordType(rawValue: 12),
            recordClass: 0x8001, recursionDesired: false)) ?? []

    /// NTPv4 client request (mode 3) with a transmit timestamp the server echoes.
    public static let ntpClientRequest: [UInt8] = [0x23] + Array(repeating: 0, count: 39) + ntpTransmit

    /// SNMPv1 GetRequest for sysDescr.0 (1.3.6.1.2.1.1.1.0), community "public".
    public static let snmpGetSysDescr: [UInt8] = {
        func tlv(_ tag: UInt8, _ body: [UInt8]) -> [UInt8] { [tag, UInt8(body.count)] + body }
        let id = snmpRequestID
        let requestID = tlv(0x02, [UInt8(id >> 24), UInt8((id >> 16) & 0xff), UInt8((id >> 8) & 0xff), UInt8(id & 0xff)])
        let varbind = tlv(0x30, tlv(0x06, [0x2b, 6, 1, 2, 1, 1, 1, 0]) + [0x05, 0x00])
        let pdu = tlv(0xa0, requestID + tlv(0x02, [0]) + tlv(0x02, [0]) + tlv(0x30, varbind))
        return tlv(0x30, tlv(0x02, [0]) + tlv(0x04, Array("public".utf8)) + pdu)
    }()

    /// NetBIOS name service NBSTAT query for "*": the reply lists the host's names.
    public static let netbiosNodeStatus: [UInt8] = {
        // First-level encoding of "*" padded with NULs to 16 bytes: each nibble + 'A'.
        var encoded: [UInt8] = []
        for byte in [UInt8(ascii: "*")] + Array(repeating: 0, count: 15) {
            encoded += [0x41 + (byte >> 4), 0x41 + (byte & 0x0f)]
        }
        return be16(netbiosID) + be16(0) + be16(1) + be16(0) + be16(0) + be16(0) + [32] + encoded + [0] + be16(0x21) + be16(1)
    }()

    /// SSDP discovery for port 1900: an `M-SEARCH * HTTP/1.1` for `ssdp:all` to the UPnP multicast address, which devices answer.
    public static let ssdpSearch: [UInt8] = Array(
        "M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 1\r\nST: ssdp:all\r\n\r\n".utf8)

    /// memcached's UDP frame header (request id, sequence 0, 1 datagram, reserved) then `stats`.
    public static let memcachedStats: [UInt8] = be16(memcachedID) + [0, 0, 0, 1, 0, 0] + Array("stats\r\n".utf8)

    /// TFTP read request for a file that should not exist: a server answers with an error packet.
    public static let tftpReadRequest: [UInt8] = [0, 1] + Array("portcullis-probe".utf8) + [0] + Array("octet".utf8) + [0]

    /// SIP `OPTIONS` request for port 5060 (nmap's form, with portcullis's tags), which a SIP
    /// server answers with its status and capabilities.
    public static let sipOptions: [UInt8] = Array(
        ("OPTIONS sip:nm SIP/2.0\r\nVia: SIP/2.0/UDP nm;branch=z9hG4bK-portcullis;rport\r\n"
            + "From: <sip:nm@nm>;tag=portcullis\r\nTo: <sip:nm2@nm2>\r\nCall-ID: portcullis-probe\r\nCSeq: 42 OPTIONS\r\n"
            + "Max-Forwards: 70\r\nContent-Length: 0\r\nContact: <sip:nm@nm>\r\nAccept: application/sdp\r\n\r\n").utf8)

    // MARK: Replies

    /// A DNS response to our query; the version.bind TXT, when present, is the banner.
    static func dns(_ reply: [UInt8], name: String, id: UInt16) -> ScanService? {
        guard reply.count >= 12, UInt16(reply[0]) << 8 | UInt16(reply[1]) == id, reply[2] & 0x80 != 0 else { return nil }
        // A reply to our id that does not parse in full is still a DNS server.
        guard let message = try? DNSMessage(parsing: reply) else { return ScanService(name: name, method: .probed) }
        var text: [UInt8]?
        if let record = message.answers.first(where: { $0.type.rawValue == 16 }), case .other(let data) = record.data, !data.isEmpty {
            text = Array(data.dropFirst().prefix(Int(data[0])))  // the first character-string
        }
        guard let text, name == "domain" else {
            let rcode = message.responseCode.rawValue
            return ScanService(name: name, banner: rcode == 0 ? nil : "rcode \(rcode)", method: .probed)
        }
        let version = String(decoding: text, as: UTF8.self)
        var product: String?
        var number: String?
        if version.hasPrefix("dnsmasq-") {
            product = "dnsmasq"
            number = ServiceMatch.field(version.dropFirst("dnsmasq-".count))
        } else if version.lowercased().hasPrefix("unbound") {
            product = "Unbound"
            number = ServiceMatch.field(version.split(separator: " ").dropFirst().first ?? "")
        } else if version.hasPrefix("9."), version.dropFirst(2).first?.isNumber == true {
            product = "ISC BIND"
            number = ServiceMatch.field(version.prefix { $0 != " " && $0 != "-" })
        } else if version.hasPrefix("PowerDNS") {
            product = "PowerDNS"
        } else if version.hasPrefix("Knot DNS") {
            product = "Knot DNS"
            number = ServiceMatch.field(version.split(separator: " ").dropFirst(2).first ?? "")
        }
        return ScanService(name: name, product: product, version: number, banner: ServiceMatch.banner(text), method: .probed)
    }

    /// An NTP server reply (mode 4) echoing our transmit timestamp.
    static func ntp(_ reply: [UInt8]) -> ScanService? {
        guard reply.count >= 48, reply[0] & 0x07 == 4 else { return nil }
        let version = (reply[0] >> 3) & 0x07
        guard (1...4).contains(version), Array(reply[24..<32]) == ntpTransmit else { return nil }
        let stratum = reply[1]
        let leap = reply[0] >> 6
        var banner = "stratum \(stratum)"
        if leap == 3 { banner += ", unsynchronized" }
        if stratum == 1 {
            // A stratum-1 reference id is four ASCII characters ("GPS", "PPS").
            banner += ", refid " + UntrustedText.escape(reply[12..<16].filter { $0 != 0 })
        }
        return ScanService(name: "ntp", version: "v\(version)", banner: banner, method: .probed)
    }

    /// An SNMP GetResponse to our request: sysDescr is the banner.
    static func snmp(_ reply: [UInt8]) -> ScanService? {
        do {
            // SNMP is BER: agents may send long-form lengths that DER forbids.
            var top = DERReader(reply[...], field: "snmp", acceptsBER: true)
            var message = try top.read(DER.sequence, "message").children(field: "snmp.message", acceptsBER: true)
            let version = try message.read(DER.integer, "version").unsignedInteger(field: "snmp.message.version")
            _ = try message.read(DER.octetString, "community")
            var pdu = try message.read(0xa2, "getResponse").children(field: "snmp.message.getResponse", acceptsBER: true)
            let id = try pdu.read(DER.integer, "requestID").unsignedInteger(field: "snmp.requestID")
            guard id == UInt64(snmpRequestID) else { return nil }
            let status = try pdu.read(DER.integer, "errorStatus").unsignedInteger(field: "snmp.errorStatus")
            _ = try pdu.read(DER.integer, "errorIndex")
            var bindings = try pdu.read(DER.sequence, "varbinds").children(field: "snmp.varbinds", acceptsBER: true)
            var description: String?
            if status == 0, let first = try? bindings.read(DER.sequence, "varbind") {
                var pair = first.children(field: "snmp.varbind", acceptsBER: true)
                _ = try pair.read(DER.objectIdentifier, "name")
                if let value = try? pair.read(DER.octetString, "value") { description = ServiceMatch.banner(value.contents) }
            }
            let versionName = version == 0 ? "v1" : version == 1 ? "v2c" : "v\(version)"
            return ScanService(name: "snmp", version: versionName, banner: description, method: .probed)
        } catch {
            return nil
        }
    }

    /// A NetBIOS node status reply: the first name in the table is the banner.
    static func netbios(_ reply: [UInt8]) -> ScanService? {
        guard reply.count >= 12, UInt16(reply[0]) << 8 | UInt16(reply[1]) == netbiosID, reply[2] & 0x80 != 0 else { return nil }
        // Header, then the 34-byte encoded name, type, class, TTL, RDLENGTH.
        let namesAt = 12 + 34 + 2 + 2 + 4 + 2
        guard reply.count > namesAt, reply[namesAt] > 0, reply.count >= namesAt + 1 + 18 else {
            return ScanService(name: "netbios-ns", method: .probed)
        }
        let raw = reply[(namesAt + 1)..<(namesAt + 16)]
        let name = Array(raw.reversed().drop { $0 == 0x20 || $0 == 0 }.reversed())
        return ScanService(name: "netbios-ns", banner: ServiceMatch.banner(name), method: .probed)
    }

    static func ssdp(_ reply: [UInt8]) -> ScanService? {
        guard var service = ServiceMatch.http(reply) else { return nil }
        service.name = "upnp"
        // The SERVER header lists OS, UPnP version and product: keep it whole as the banner.
        for line in ServiceMatch.lines(reply, limit: 32) where line.lowercased().hasPrefix("server:") {
            service.banner = ServiceMatch.banner(Array(line.dropFirst(7).drop { $0 == " " }.utf8))
        }
        service.product = nil
        service.version = nil
        return service
    }

    /// memcached's UDP reply: our frame header echoed, then the `stats` answer (ServiceMatch.memcached).
    static func memcached(_ reply: [UInt8]) -> ScanService? {
        guard reply.count > 8, UInt16(reply[0]) << 8 | UInt16(reply[1]) == memcachedID else { return nil }
        let body = Array(reply.dropFirst(8))
        if body.starts(with: Array("ERROR".utf8)) {
            return ScanService(name: "memcached", product: "Memcached", banner: "ERROR", method: .probed)
        }
        guard body.starts(with: Array("STAT ".utf8)) else { return nil }
        return ServiceMatch.memcached(body)
    }

    /// TFTP answers a read request with DATA (opcode 3) or ERROR (opcode 5).
    static func tftp(_ reply: [UInt8]) -> ScanService? {
        guard reply.count >= 4, reply[0] == 0, reply[1] == 3 || reply[1] == 5 else { return nil }
        let message = reply[1] == 5 ? ServiceMatch.banner(reply.dropFirst(4).prefix { $0 != 0 }) : nil
        return ScanService(name: "tftp", banner: message, method: .probed)
    }
}
