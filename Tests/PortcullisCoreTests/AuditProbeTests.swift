import Testing

@testable import PortcullisCore

/// The audit's probe codecs (BSON and MongoDB's OP_MSG, SNMPv2c in BER),
/// what each answer proves, which listeners get a probe, and how the
/// evidence changes the exposure findings.
@Suite struct AuditProbeWireTests {
    // MARK: MongoDB

    /// `{ok: 1.0, databases: [{name: "admin"}, {name: "shop"}], totalSize: 0}` as a reply to our request.
    static func mongoReply(_ document: BSONDocument, responseTo: Int32 = MongoWire.probeRequestID) -> [UInt8] {
        let body = BSON.encode(document)
        return MongoWire.le32(Int32(21 + body.count)) + MongoWire.le32(7) + MongoWire.le32(responseTo) + MongoWire.le32(2013)
            + MongoWire.le32(0) + [0] + body
    }

    // Computed, not stored: a BSON tree kept in a global reads as a leak to
    // LeakSanitizer (bench/sanitize.sh), which cannot follow an indirect enum's tagged pointers.
    static var openReply: BSONDocument {
        BSONDocument([
            (
                "databases",
                .array(
                    BSONDocument([
                        (
                            "0",
                            .document(BSONDocument([("name", .string("admin")), ("sizeOnDisk", .double(8192)), ("empty", .bool(false))]))
                        ),
                        ("1", .document(BSONDocument([("name", .string("shop"))]))),
                    ]))
            ),
            ("totalSize", .int64(8192)), ("ok", .double(1)),
        ])
    }

    static var unauthorizedReply: BSONDocument {
        BSONDocument([
            ("ok", .double(0)), ("errmsg", .string("command listDatabases requires authentication")), ("code", .int32(13)),
            ("codeName", .string("Unauthorized")),
        ])
    }

    @Test("the listDatabases request is an OP_MSG with one body section, byte for byte")
    func mongoRequestBytes() throws {
        let request = MongoWire.listDatabasesRequest
        // BSON: int32 length 50, int32 listDatabases: 1, bool nameOnly: true, string $db: "admin", terminator.
        let document: [UInt8] =
            [50, 0, 0, 0] + [0x10] + Array("listDatabases".utf8) + [0, 1, 0, 0, 0] + [0x08] + Array("nameOnly".utf8) + [0, 1]
            + [0x02] + Array("$db".utf8) + [0, 6, 0, 0, 0] + Array("admin".utf8) + [0, 0]
        let header: [UInt8] = [71, 0, 0, 0, 0x64, 0x6d, 0x63, 0x70, 0, 0, 0, 0, 0xdd, 0x07, 0, 0]
        #expect(request == header + [0, 0, 0, 0] + [0] + document)
        // And it reads back as the command it is.
        let (decoded, end) = try BSON.decodeDocument(document, at: 0, depth: 0)
        #expect(end == document.count)
        #expect(decoded == MongoWire.listDatabases)
    }

    @Test("ok: 1 with databases is access without credentials; code 13 is authentication on")
    func mongoOutcomes() throws {
        let open = try #require(ServiceProbeEvidence.mongo(reply: Self.mongoReply(Self.openReply)))
        #expect(open.outcome == .answered)
        #expect(open.line == "probe: listDatabases answered without authentication: ok: 1, databases: admin, shop")
        let locked = try #require(ServiceProbeEvidence.mongo(reply: Self.mongoReply(Self.unauthorizedReply)))
        #expect(locked.outcome == .authenticationRequired)
        #expect(locked.line == "probe: authentication required (Unauthorized, code 13)")
        // Another refusal proves nothing either way.
        let other = BSONDocument([("ok", .int32(0)), ("code", .int32(59)), ("codeName", .string("CommandNotFound"))])
        #expect(ServiceProbeEvidence.mongo(reply: Self.mongoReply(other)) == nil)
        #expect(MongoWire.outcome(other) == .refused("CommandNotFound, code 59"))
    }

    @Test("a reply to another request, another opcode, or a checksum flag is read with care")
    func mongoHeaderChecks() {
        #expect(throws: MongoWire.WireError.self) {
            try MongoWire.reply(Self.mongoReply(Self.openReply, responseTo: 1), requestID: MongoWire.probeRequestID)
        }
        var legacy = Self.mongoReply(Self.openReply)
        legacy[12] = 1  // OP_REPLY
        legacy[13] = 0
        #expect(throws: MongoWire.WireError.self) { try MongoWire.reply(legacy, requestID: MongoWire.probeRequestID) }
        // checksumPresent: four more bytes after the body.
        var summed = Self.mongoReply(Self.openReply) + [1, 2, 3, 4]
        summed[0] = UInt8(summed.count)
        summed[16] = 1
        #expect((try? MongoWire.reply(summed, requestID: MongoWire.probeRequestID)) == Self.openReply)
    }

    @Test("every truncation of a reply is refused, and hostile bytes never crash the decoder")
    func mongoHostile() {
        let reply = Self.mongoReply(Self.openReply)
        for length in 0..<reply.count {
            #expect(ServiceProbeEvidence.mongo(reply: Array(reply.prefix(length))) == nil, "truncated at \(length)")
        }
        // A declared length far past the bytes, or negative.
        var huge = reply
        huge[0] = 0xff
        huge[1] = 0xff
        huge[2] = 0xff
        huge[3] = 0x7f
        #expect(throws: MongoWire.WireError.self) { try MongoWire.reply(huge, requestID: MongoWire.probeRequestID) }
        // Inner lengths that lie: a string claiming 2^31 bytes, a document longer than its parent.
        let lying: [UInt8] = [20, 0, 0, 0, 0x02, 0x61, 0, 0xff, 0xff, 0xff, 0x7f, 0x61, 0, 0, 0, 0, 0, 0, 0, 0]
        #expect(throws: BSON.DecodeError.self) { try BSON.decodeDocument(lying, at: 0, depth: 0) }
        let overrun: [UInt8] = [12, 0, 0, 0, 0x03, 0x61, 0, 40, 0, 0, 0, 0]
        #expect(throws: BSON.DecodeError.self) { try BSON.decodeDocument(overrun, at: 0, depth: 0) }
        // Nesting past the limit.
        var nested = BSONDocument([("x", .int32(1))])
        for _ in 0...BSON.maxDepth { nested = BSONDocument([("d", .document(nested))]) }
        #expect(throws: BSON.DecodeError.self) { try BSON.decodeDocument(BSON.encode(nested), at: 0, depth: 0) }
        // Random bytes, and random corruptions of a real reply: no trap, no hang.
        var state: UInt64 = 0x9e37_79b9_7f4a_7c15
        func next() -> UInt8 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 33)
        }
        for round in 0..<2000 {
            var bytes = reply
            if round % 2 == 0 {
                bytes = (0..<Int(next())).map { _ in next() }
            } else {
                for _ in 0..<4 { bytes[Int(next()) % bytes.count] = next() }
            }
            _ = ServiceProbeEvidence.mongo(reply: bytes)
            _ = try? BSON.decodeDocument(bytes, at: 0, depth: 0)
        }
    }

    @Test("names from the wire are escaped and capped")
    func mongoEscapes() throws {
        var names: [(String, BSONValue)] = []
        for i in 0..<10 { names.append(("\(i)", .document(BSONDocument([("name", .string(i == 0 ? "evil\u{1b}[2J" : "db\(i)"))])))) }
        let reply = BSONDocument([("databases", .array(BSONDocument(names))), ("ok", .int32(1))])
        let evidence = try #require(ServiceProbeEvidence.mongo(reply: Self.mongoReply(reply)))
        #expect(!evidence.answer.contains("\u{1b}"))
        #expect(evidence.answer.hasSuffix("db7 and 2 more"))
    }

    // MARK: SNMP

    @Test("the SNMPv2c GetRequest for sysDescr.0 with community public, byte for byte")
    func snmpRequestBytes() {
        let expected: [UInt8] =
            [0x30, 0x29, 0x02, 0x01, 0x01, 0x04, 0x06] + Array("public".utf8)
            + [0xa0, 0x1c, 0x02, 0x04, 0x70, 0x63, 0x73, 0x76, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00]
            + [0x30, 0x0e, 0x30, 0x0c, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x02, 0x01, 0x01, 0x01, 0x00, 0x05, 0x00]
        #expect(SNMPWire.sysDescrPublicRequest == expected)
        #expect(SNMPWire.length(200) == [0x81, 200])
        #expect(SNMPWire.length(300) == [0x82, 0x01, 0x2c])
        #expect(SNMPWire.integer(-1) == [0xff])
        #expect(SNMPWire.integer(128) == [0x00, 0x80])
    }

    /// A GetResponse to our request, as an agent would build it; `longForm` encodes every length in two octets.
    static func snmpResponse(value: [UInt8], id: Int32 = SNMPWire.probeRequestID, status: UInt8 = 0, longForm: Bool = false) -> [UInt8] {
        func tlv(_ tag: UInt8, _ body: [UInt8]) -> [UInt8] {
            longForm ? [tag, 0x82, UInt8(body.count >> 8), UInt8(body.count & 0xff)] + body : SNMPWire.tlv(tag, body)
        }
        let varbind = tlv(0x30, tlv(0x06, SNMPWire.encodeOID(SNMPWire.sysDescr)) + value)
        let pdu = tlv(0xa2, tlv(0x02, SNMPWire.integer(Int64(id))) + tlv(0x02, [status]) + tlv(0x02, [0]) + tlv(0x30, varbind))
        return tlv(0x30, tlv(0x02, [1]) + tlv(0x04, Array("public".utf8)) + pdu)
    }

    @Test("a GetResponse with sysDescr answers community public, in short or long BER lengths")
    func snmpAnswered() throws {
        let text = Array("Linux host 6.1.0-18-amd64 #1 SMP Debian x86_64".utf8)
        for longForm in [false, true] {
            let reply = Self.snmpResponse(value: SNMPWire.tlv(0x04, text), longForm: longForm)
            let evidence = try #require(ServiceProbeEvidence.snmp(reply: reply))
            #expect(
                evidence.line
                    == "probe: GET sysDescr.0 with community public answered: sysDescr Linux host 6.1.0-18-amd64 #1 SMP Debian x86_64")
            #expect(try SNMPWire.response(reply, requestID: SNMPWire.probeRequestID).version == 1)
        }
        // noSuchObject: the community was accepted, the view hides the object.
        let hidden = try #require(ServiceProbeEvidence.snmp(reply: Self.snmpResponse(value: [0x80, 0x00])))
        #expect(hidden.answer.contains("not in the community's view"))
        // An error status, or another request's id, proves nothing.
        #expect(ServiceProbeEvidence.snmp(reply: Self.snmpResponse(value: [0x05, 0x00], status: 2)) == nil)
        #expect(ServiceProbeEvidence.snmp(reply: Self.snmpResponse(value: SNMPWire.tlv(0x04, text), id: 5)) == nil)
    }

    @Test("truncated, oversized and random SNMP replies are refused without a crash")
    func snmpHostile() {
        let reply = Self.snmpResponse(value: SNMPWire.tlv(0x04, Array("x".utf8)))
        for length in 0..<reply.count {
            #expect(ServiceProbeEvidence.snmp(reply: Array(reply.prefix(length))) == nil, "truncated at \(length)")
        }
        #expect(throws: SNMPWire.WireError.self) { try SNMPWire.response([0x30, 0x84, 0xff, 0xff, 0xff, 0xff, 0], requestID: 1) }
        #expect(throws: SNMPWire.WireError.self) { try SNMPWire.response([0x30, 0x80, 0, 0], requestID: 1) }
        // An integer wider than 64 bits.
        #expect(throws: SNMPWire.WireError.self) { try SNMPWire.integer(ArraySlice([UInt8](repeating: 1, count: 9)), "x") }
        var state: UInt64 = 0x1234_5678_9abc_def1
        func next() -> UInt8 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 33)
        }
        for round in 0..<2000 {
            var bytes = reply
            if round % 2 == 0 {
                bytes = (0..<Int(next() % 80)).map { _ in next() }
            } else {
                for _ in 0..<3 { bytes[Int(next()) % bytes.count] = next() }
            }
            _ = ServiceProbeEvidence.snmp(reply: bytes)
        }
    }

    // MARK: What the scan sessions' answers prove

    @Test("Redis, memcached and HTTP API answers: access, refusal, or nothing")
    func sessionAnswers() throws {
        let pong = try #require(ServiceProbeEvidence.from(service: ServiceMatch.redis(Array("+PONG\r\n".utf8)), kind: .redis))
        #expect(pong.line == "probe: PING answered +PONG without AUTH")
        let noauth = try #require(
            ServiceProbeEvidence.from(service: ServiceMatch.redis(Array("-NOAUTH Authentication required.\r\n".utf8)), kind: .redis))
        #expect(noauth.line == "probe: authentication required (NOAUTH)")
        let denied = try #require(
            ServiceProbeEvidence.from(
                service: ServiceMatch.redis(Array("-DENIED Redis is running in protected mode\r\n".utf8)), kind: .redis))
        #expect(denied.outcome == .authenticationRequired)
        let stats = try #require(
            ServiceProbeEvidence.from(
                service: ServiceMatch.memcached(Array("STAT pid 1\r\nSTAT version 1.6.18\r\nEND\r\n".utf8)), kind: .memcached))
        #expect(stats.line == "probe: stats answered without authentication: STAT version 1.6.18")
        let sasl = try #require(
            ServiceProbeEvidence.from(service: ServiceMatch.memcached(Array("CLIENT_ERROR unauthenticated\r\n".utf8)), kind: .memcached))
        #expect(sasl.line == "probe: authentication required (CLIENT_ERROR unauthenticated)")
        let unauthorized = Array(
            "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"security\"\r\ncontent-type: application/json\r\n\r\n{\"error\":{\"type\":\"security_exception\"},\"status\":401}"
                .utf8)
        let es = try #require(ServiceMatch.http(unauthorized))
        let locked = try #require(
            ServiceProbeEvidence.from(service: ServiceMatch.httpAPI(es, response: unauthorized, request: "GET /"), kind: .elasticsearch))
        #expect(locked.line == "probe: authentication required (HTTP 401)")
        // A plain web page proves nothing.
        let page = Array("HTTP/1.1 200 OK\r\nServer: nginx\r\n\r\nhello".utf8)
        #expect(ServiceProbeEvidence.from(service: ServiceMatch.http(page), kind: .elasticsearch) == nil)
        #expect(ServiceProbeEvidence.from(service: nil, kind: .redis) == nil)
    }

    // MARK: Plan

    typealias F = AuditFixtures

    @Test("only recognised listeners beyond loopback and not filtered are probed, at the right address")
    func plan() {
        let redis = F.owner(900, "redis-server", exe: "/usr/bin/redis-server")
        let snmpd = F.owner(901, "snmpd", exe: "/usr/sbin/snmpd")
        let mongod = F.owner(902, "mongod", exe: "/usr/bin/mongod")
        let entries = [
            F.entry(.tcp, "0.0.0.0", 7000, owners: [redis], inode: 1),  // redis by executable, wildcard
            F.entry(.tcp, "127.0.0.1", 6379, owners: [redis], inode: 2),  // loopback only
            F.entry(.tcp, "::", 27017, owners: [mongod], inode: 3),  // dual-stack wildcard (v6only unknown)
            F.entry(.udp, "192.0.2.7", 161, owners: [snmpd], inode: 4),  // specific address
            F.entry(.tcp, "0.0.0.0", 199, owners: [snmpd], inode: 5),  // SMUX: no probe
            F.entry(.udp, "0.0.0.0", 162, owners: [], inode: 6),  // traps: no probe
            F.entry(.tcp, "0.0.0.0", 11211, owners: [], inode: 7),  // memcached by port, filtered
            F.entry(.tcp, "0.0.0.0", 9300, owners: [], inode: 8),  // Elasticsearch transport
            F.entry(.tcp, "0.0.0.0", 2375, owners: [], inode: 9),  // Docker API by port
            F.entry(.tcp, "0.0.0.0", 8080, owners: [], inode: 10),  // nothing to ask
        ]
        var input = AuditInput(entries: entries, firewall: [7: .filtered("dropped by inet filter input")])
        // A container's Redis, published by no port: not reachable from other hosts, so not probed.
        var container = F.entry(.tcp, "0.0.0.0", 6379, owners: [redis], inode: 11)
        container.namespace = NetworkNamespace(inode: 4_026_532_999, name: "c1", kind: .docker)
        input.entries.append(container)
        let targets = AuditProbePlan.targets(input)
        let byInode = Dictionary(uniqueKeysWithValues: targets.map { ($0.inode, $0) })
        #expect(Set(byInode.keys) == [1, 3, 4, 9])
        #expect(byInode[1]?.kind == .redis)
        #expect(byInode[1]?.address == IPAddress(v4: 127, 0, 0, 1))
        #expect(byInode[1]?.port == 7000)
        #expect(byInode[3]?.kind == .mongodb)
        #expect(byInode[3]?.address == IPAddress(v4: 127, 0, 0, 1))  // dual-stack: IPv4 loopback works even without IPv6
        #expect(byInode[4]?.kind == .snmp)
        #expect(byInode[4]?.proto == .udp)
        #expect(byInode[4]?.address == IPAddress(parsing: "192.0.2.7"))
        #expect(byInode[9]?.kind == .dockerAPI)
        #expect(targets.allSatisfy { $0.namespaceInode == nil })
    }

    // MARK: Rules

    @Test("a probe's answer is evidence on the exposure finding and raises it as the scan does; a refusal does not")
    func rules() throws {
        let redis = F.owner(900, "redis-server", exe: "/usr/bin/redis-server", uid: 107)
        let memcached = F.owner(903, "memcached", exe: "/usr/bin/memcached")
        let snmpd = F.owner(901, "snmpd", exe: "/usr/sbin/snmpd")
        let entries = [
            F.entry(.tcp, "0.0.0.0", 6379, owners: [redis], inode: 1),
            F.entry(.udp, "0.0.0.0", 11211, owners: [memcached], inode: 2),
            F.entry(.udp, "0.0.0.0", 161, owners: [snmpd], inode: 3),
            F.entry(.tcp, "0.0.0.0", 6380, owners: [redis], inode: 4),
        ]
        let without = F.audit(entries)
        let report = F.audit(entries) { input in
            input.probes = [
                1: ServiceProbeEvidence(kind: .redis, outcome: .answered, answer: "+PONG"),
                2: ServiceProbeEvidence(kind: .memcached, outcome: .answered, answer: "STAT version 1.6.18"),
                3: ServiceProbeEvidence(kind: .snmp, outcome: .answered, answer: "sysDescr Linux"),
                4: ServiceProbeEvidence(kind: .redis, outcome: .authenticationRequired, answer: "NOAUTH"),
            ]
        }
        func finding(_ r: AuditReport, _ rule: RuleID, _ inode: UInt64) throws -> Finding {
            // Per socket: the report folds one socket's findings into its worst.
            try #require(r.listeners.flatMap(\.findings).first { $0.rule == rule && $0.subject?.inode == inode })
        }
        let open = try finding(report, .exposedDatastore, 1)
        #expect(open.severity == .critical)
        #expect(open.title == "Redis answering without authentication on 0.0.0.0:6379/tcp")
        #expect(open.evidence.contains("probe: PING answered +PONG without AUTH"))
        #expect(try finding(without, .exposedDatastore, 1).severity == .high)
        #expect(try finding(without, .exposedDatastore, 1).evidence.allSatisfy { !$0.hasPrefix("probe:") })
        // memcached over UDP: critical, as the scan rates it.
        #expect(try finding(report, .exposedDatastore, 2).severity == .critical)
        // SNMP: on the cleartext finding, not on the amplification one.
        let snmp = try finding(report, .cleartextRemoteAccess, 3)
        #expect(snmp.severity == .high)
        #expect(snmp.evidence.contains("probe: GET sysDescr.0 with community public answered: sysDescr Linux"))
        #expect(try finding(report, .udpAmplification, 3).evidence.allSatisfy { !$0.hasPrefix("probe:") })
        // A refusal: evidence, same severity and title as without a probe.
        let locked = try finding(report, .exposedDatastore, 4)
        #expect(locked.severity == (try finding(without, .exposedDatastore, 4)).severity)
        #expect(locked.title == "Redis reachable beyond loopback on 0.0.0.0:6380/tcp")
        #expect(locked.evidence.contains("probe: authentication required (NOAUTH)"))
    }
}
