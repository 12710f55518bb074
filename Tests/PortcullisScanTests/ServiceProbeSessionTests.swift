import Foundation
import PortcullisCore
import Testing

/// The probe state machine, replayed with captured server bytes: what the
/// engine is told to do after each event.
@Suite struct ServiceProbeSessionTests {
    static let now: Int64 = 1_798_761_600  // 2027-01-01
    static let limits = ServiceProbeLimits(
        greetingMilliseconds: 500, responseMilliseconds: 2000, maxResponseBytes: 4096,
        maxTLSBytes: 32_768)

    static func session(_ port: UInt16, _ table: String? = nil, host: String? = nil) -> ServiceProbeSession {
        ServiceProbeSession(
            port: port, tableName: table, hostname: host, address: IPAddress(v4: 127, 0, 0, 1), now: now,
            limits: limits)
    }

    static func step(_ action: ServiceProbeAction, sourceLocation: SourceLocation = #_sourceLocation) throws -> ServiceProbeStep {
        guard case .step(let step) = action else {
            Issue.record("expected a step, got \(action)", sourceLocation: sourceLocation)
            throw FixtureProblem("not a step")
        }
        return step
    }

    static func done(_ action: ServiceProbeAction, sourceLocation: SourceLocation = #_sourceLocation) throws -> ScanService? {
        guard case .done(let service) = action else {
            Issue.record("expected done, got \(action)", sourceLocation: sourceLocation)
            throw FixtureProblem("not done")
        }
        return service
    }

    @Test func plans() {
        #expect(ServiceProbePlan.probes(port: 22, tableName: "ssh") == [.greeting, .http, .tls])
        #expect(ServiceProbePlan.probes(port: 80, tableName: "http") == [.http, .tls])
        #expect(ServiceProbePlan.probes(port: 443, tableName: "https") == [.tls, .http])
        #expect(ServiceProbePlan.probes(port: 8443, tableName: nil) == [.tls, .http])
        #expect(ServiceProbePlan.probes(port: 6379, tableName: nil) == [.redis, .tls])
        #expect(ServiceProbePlan.probes(port: 5432, tableName: "postgresql") == [.postgresStartup, .postgresSSL, .tls])
        #expect(ServiceProbePlan.probes(port: 40000, tableName: nil) == [.greeting, .http, .tls, .lines, .postgresStartup, .dnsVersion])
        #expect(ServiceProbePlan.probes(port: 11211, tableName: "memcache") == [.memcached, .http, .tls])
        #expect(ServiceProbePlan.probes(port: 53, tableName: "domain") == [.dnsVersion, .greeting, .http, .tls])
        #expect(ServiceProbePlan.probes(port: 2379, tableName: nil) == [.httpVersion, .http, .tls])
        #expect(ServiceProbePlan.probes(port: 2525, tableName: "smtp") == [.greeting, .http, .tls])
        #expect(ServiceProbePlan.tlsServiceName(port: 993, tableName: nil) == "imaps")
        #expect(ServiceProbePlan.tlsServiceName(port: 5000, tableName: "upnp") == "ssl/upnp")
        #expect(ServiceProbePlan.tlsServiceName(port: 40000, tableName: nil) == "ssl")
    }

    /// A peer that answers every probe with the start of a TLS record
    /// that never completes gets the ClientHello once, not after each
    /// plain probe: the unknown port's plan runs each probe at most once.
    @Test func aTLSRecordThatNeverEndsGetsOneClientHello() throws {
        var session = Self.session(40000)
        let lie: [UInt8] = [0x16, 0x03, 0x03, 0x48, 0x00] + [UInt8](repeating: 2, count: 100)
        var probes: [ServiceProbeKind] = []
        var action = session.start()
        while case .step(let step) = action {
            probes.append(step.probe)
            #expect(session.next(.received(lie)) == .read)
            action = session.next(.timedOut)
            #expect(probes.count < 20)
            if probes.count >= 20 { break }
        }
        #expect(probes == [.greeting, .tls, .http, .lines, .postgresStartup, .dnsVersion], "\(probes)")
        #expect(try Self.done(action)?.banner?.hasPrefix(#"\x16\x03\x03H"#) == true)
    }

    @Test func sshGreeting() throws {
        var session = Self.session(22, "ssh")
        let first = try Self.step(session.start())
        #expect(first.probe == .greeting && first.payload.isEmpty && !first.reconnect)
        #expect(first.timeoutMilliseconds == 2000, "a port known to greet gets the full response wait")
        let banner = try ServiceFixtures.hex("banners/ssh-openssh.hex")
        #expect(session.next(.received(Array(banner.prefix(10)))) == .read)
        let service = try Self.done(session.next(.received(Array(banner.dropFirst(10)))))
        #expect(service?.product == "OpenSSH")
        // Finished sessions keep answering done.
        #expect(session.next(.timedOut) == .done(service))
    }

    @Test func httpRequestCarriesHostAndStopsAtHeaders() throws {
        var session = Self.session(8080, host: "example.test")
        let step = try Self.step(session.start())
        #expect(step.probe == .http)
        let request = String(decoding: step.payload, as: UTF8.self)
        #expect(request.hasPrefix("GET / HTTP/1.0\r\nHost: example.test:8080\r\n") && request.hasSuffix("\r\n\r\n"))
        let response = try ServiceFixtures.hex("banners/http-nginx.hex")
        #expect(session.next(.received(Array(response.prefix(20)))) == .read)
        let service = try Self.done(session.next(.received(Array(response.dropFirst(20)))))
        #expect(service?.product == "nginx")
        // A bracketed IPv6 literal when no name is known; no port for 80.
        var v6 = ServiceProbeSession(port: 80, address: IPAddress(parsing: "::1"), now: Self.now)
        let v6Request = String(decoding: try Self.step(v6.start()).payload, as: UTF8.self)
        #expect(v6Request.contains("Host: [::1]\r\n"))
        // A hostname cannot inject header lines.
        var hostile = ServiceProbeSession(port: 80, hostname: "a\r\nX-Evil: 1", now: Self.now)
        #expect(!String(decoding: try Self.step(hostile.start()).payload, as: UTF8.self).contains("X-Evil: 1\r\n"))
    }

    @Test func tlsPortReportsCertificate() throws {
        var session = Self.session(443, "https", host: "localhost")
        let step = try Self.step(session.start())
        #expect(step.probe == .tls && step.maxBytes == 32_768)
        #expect(step.payload == TLSClientHello.build(serverName: "localhost"))
        let service = try #require(try Self.done(session.next(.received(try ServiceFixtures.hex("tls/tls12-selfsigned.hex")))))
        #expect(service.name == "https" && service.method == .probed)
        let tls = try #require(service.tls)
        #expect(tls.version == "TLSv1.2" && tls.selfSigned && !tls.expired && tls.notAfter != nil)
    }

    @Test func tls13OnlyServer() throws {
        var session = Self.session(8443)
        _ = try Self.step(session.start())
        let retry = try Self.step(session.next(.received(try ServiceFixtures.hex("tls/tls13-only-alert.hex"))))
        #expect(retry.probe == .tls13 && retry.reconnect)
        let service = try #require(try Self.done(session.next(.received(try ServiceFixtures.hex("tls/tls13-only-serverhello.hex")))))
        #expect(service.name == "https-alt")
        #expect(service.tls == TLSDetails(version: "TLSv1.3 only", cipher: "TLS_AES_128_GCM_SHA256"))
    }

    @Test func noCommonCipherSaysSo() throws {
        var session = Self.session(443)
        _ = try Self.step(session.start())
        _ = try Self.step(session.next(.received(try ServiceFixtures.hex("tls/tls12-no-shared-cipher.hex"))))
        let service = try #require(
            try Self.done(session.next(.received(try ServiceFixtures.hex("tls/tls12-no-shared-cipher-tls13-hello.hex")))))
        #expect(service.banner?.contains("handshake_failure") == true)
        #expect(service.tls?.version == "unknown")
    }

    /// An unknown port with nginx's TLS listener: no greeting, plain HTTP
    /// is told off, then the ClientHello on a new connection finds TLS.
    @Test func unknownPortFindsTLSAfterPlainHTTP() throws {
        var session = Self.session(40443)
        let greeting = try Self.step(session.start())
        #expect(greeting.probe == .greeting && greeting.timeoutMilliseconds == 500)
        let http = try Self.step(session.next(.timedOut))
        #expect(http.probe == .http && !http.reconnect, "nothing was said yet: same connection")
        let tls = try Self.step(session.next(.received(try ServiceFixtures.hex("banners/http-nginx-plain-to-tls.hex"))))
        #expect(tls.probe == .tls && tls.reconnect)
        let service = try #require(try Self.done(session.next(.received(try ServiceFixtures.hex("tls/tls12-nginx.hex")))))
        #expect(service.name == "ssl" && service.tls?.selfSigned == true)
    }

    @Test func postgresOffersTLSOnTheSameConnection() throws {
        var session = Self.session(5432, "postgresql")
        let startup = try Self.step(session.start())
        #expect(startup.probe == .postgresStartup && startup.payload == [0, 0, 0, 8, 0, 0, 0, 0])
        let request = try Self.step(
            session.next(.received(try ServiceFixtures.hex("banners/postgres-15-unsupported-protocol.hex"))))
        #expect(request.payload == [0, 0, 0, 8, 4, 0xd2, 0x16, 0x2f] && request.reconnect)
        let tls = try Self.step(session.next(.received(try ServiceFixtures.hex("banners/postgres-sslrequest-s.hex"))))
        #expect(tls.probe == .tls && !tls.reconnect)
        let service = try #require(try Self.done(session.next(.received(try ServiceFixtures.hex("tls/tls12-postgres.hex")))))
        #expect(service.name == "postgresql" && service.product == "PostgreSQL DB" && service.tls?.version == "TLSv1.2")
        #expect(service.version == "9.6.0 or later", "the startup error's version survives the TLS probe")

        var plain = Self.session(5432)
        _ = try Self.step(plain.start())
        _ = try Self.step(plain.next(.received(try ServiceFixtures.hex("banners/postgres-15-unsupported-protocol.hex"))))
        let done = try Self.done(plain.next(.received(try ServiceFixtures.hex("banners/postgres-sslrequest-n.hex"))))
        #expect(done?.name == "postgresql" && done?.banner == "SSL not supported" && done?.version == "9.6.0 or later")
    }

    @Test func redisPipelinedReplies() throws {
        var session = Self.session(6379)
        let step = try Self.step(session.start())
        #expect(String(decoding: step.payload, as: UTF8.self) == "PING\r\nINFO server\r\n")
        let reply = try ServiceFixtures.hex("banners/redis-ping-info.hex")
        #expect(session.next(.received(Array(reply.prefix(30)))) == .read, "the INFO bulk string is not complete yet")
        let service = try Self.done(session.next(.received(Array(reply.dropFirst(30)))))
        #expect(service?.version == "7.0.15")
        var locked = Self.session(6379)
        _ = try Self.step(locked.start())
        #expect(try Self.done(locked.next(.received(try ServiceFixtures.hex("banners/redis-noauth.hex"))))?.name == "redis")
    }

    @Test func silentPortEndsWithNothing() throws {
        var session = Self.session(40000)
        #expect(try Self.step(session.start()).probe == .greeting)
        let http = try Self.step(session.next(.timedOut))
        #expect(http.probe == .http && !http.reconnect)
        let tls = try Self.step(session.next(.timedOut))
        #expect(tls.probe == .tls && tls.reconnect, "the HTTP request was sent: a new connection for the ClientHello")
        for probe in [ServiceProbeKind.lines, .postgresStartup, .dnsVersion] {
            let step = try Self.step(session.next(.timedOut))
            #expect(step.probe == probe && step.timeoutMilliseconds == 500, "a last resort waits as long as for a greeting")
        }
        #expect(try Self.done(session.next(.timedOut)) == nil)
        // On its own port, PostgreSQL's startup gets the full wait.
        var postgres = Self.session(5432)
        #expect(try Self.step(postgres.start()).timeoutMilliseconds == 2000)
    }

    /// memcached 1.6 on an unknown port: it drops the HTTP request, ignores
    /// the ClientHello, says ERROR to two empty lines, then answers `stats`.
    @Test func memcachedOnAnUnknownPort() throws {
        var session = Self.session(40211)
        _ = try Self.step(session.start())
        let http = try Self.step(session.next(.timedOut))
        #expect(String(decoding: http.payload, as: UTF8.self) == "GET / HTTP/1.0\r\n\r\n", "no Host header off web ports")
        #expect(try ServiceFixtures.hex("banners/memcached-1.6.18-http-get.hex").isEmpty)
        #expect(try Self.step(session.next(.closed)).probe == .tls)
        let lines = try Self.step(session.next(.timedOut))
        #expect(lines.probe == .lines && lines.payload == Array("\r\n\r\n".utf8))
        let stats = try Self.step(session.next(.received(try ServiceFixtures.hex("banners/memcached-1.6.18-lines.hex"))))
        #expect(stats.probe == .memcached && stats.reconnect && stats.payload == Array("stats\r\n".utf8))
        let reply = try ServiceFixtures.hex("banners/memcached-1.6.18-stats.hex")
        #expect(session.next(.received(Array(reply.prefix(600)))) == .read, "stats ends at END")
        let service = try #require(try Self.done(session.next(.received(Array(reply.dropFirst(600))))))
        #expect(service.name == "memcached" && service.product == "Memcached" && service.version == "1.6.18")
        #expect(service.extraInfo?.hasPrefix("uptime ") == true && service.unauthenticated?.request == "stats")
    }

    /// Redis on an unknown port answers the bare GET with an error, then PING.
    @Test func redisOnAnUnknownPort() throws {
        var session = Self.session(40379)
        _ = try Self.step(session.start())
        _ = try Self.step(session.next(.timedOut))
        let ping = try Self.step(session.next(.received(try ServiceFixtures.hex("banners/redis-7.0.15-bare-get.hex"))))
        #expect(ping.probe == .redis && ping.reconnect)
        let service = try #require(try Self.done(session.next(.received(try ServiceFixtures.hex("banners/redis-7.0.15-ping-info.hex")))))
        #expect(service.product == "Redis key-value store" && service.version == "7.0.15")
        #expect(service.unauthenticated == UnauthenticatedAccess(request: "PING", answer: "+PONG"))
    }

    /// etcd: Go's 404 for `/` asks for `/version`, which names it.
    @Test func etcdOnAnUnknownPort() throws {
        var session = Self.session(40237)
        _ = try Self.step(session.start())
        _ = try Self.step(session.next(.timedOut))
        let version = try Self.step(session.next(.received(try ServiceFixtures.hex("banners/etcd-3.4.23-get-root.hex"))))
        #expect(version.probe == .httpVersion && String(decoding: version.payload, as: UTF8.self).hasPrefix("GET /version HTTP/1.0\r\n"))
        let service = try #require(try Self.done(session.next(.received(try ServiceFixtures.hex("banners/etcd-3.4.23-version.hex")))))
        #expect(service.name == "http" && service.product == "etcd" && service.version == "3.4.23")
        #expect(service.extraInfo == "cluster version 3.4.0" && service.unauthenticated == nil)
    }

    @Test func dnsOverTCP() throws {
        var session = Self.session(53, "domain")
        let step = try Self.step(session.start())
        #expect(step.probe == .dnsVersion && Int(step.payload[0]) << 8 | Int(step.payload[1]) == step.payload.count - 2)
        let reply = try ServiceFixtures.hex("banners/dns-dnsmasq-2.90-tcp-version-bind.hex")
        #expect(session.next(.received(Array(reply.prefix(10)))) == .read)
        let service = try #require(try Self.done(session.next(.received(Array(reply.dropFirst(10))))))
        #expect(service.name == "domain" && service.product == "dnsmasq" && service.version == "2.90")
    }

    @Test func unrecognizedGreetingIsKeptAsBanner() throws {
        var session = Self.session(40001, "custom")
        _ = try Self.step(session.start())
        let http = try Self.step(session.next(.received(Array("hello \u{1b}[1mthere\r\n".utf8))))
        #expect(http.probe == .http && http.reconnect)
        let tls = try Self.step(session.next(.closed))
        #expect(tls.reconnect)
        for probe in [ServiceProbeKind.lines, .postgresStartup, .dnsVersion] {
            #expect(try Self.step(session.next(.closed)).probe == probe)
        }
        let service = try #require(try Self.done(session.next(.closed)))
        #expect(service.name == "custom" && service.method == .table && service.banner == "hello \\x1b[1mthere")
    }

    @Test func failedReconnectFinishes() throws {
        var session = Self.session(443)
        _ = try Self.step(session.start())
        _ = try Self.step(session.next(.received(try ServiceFixtures.hex("tls/tls13-only-alert.hex"))))
        let service = try #require(try Self.done(session.next(.connectFailed)))
        #expect(service.tls == TLSDetails(version: "TLSv1.3 only", cipher: "unknown"))
        #expect(service.banner == "TLS 1.0-1.2 refused (protocol_version)")
    }

    @Test func byteCapEndsTheStep() throws {
        var session = Self.session(40002)
        _ = try Self.step(session.start())
        // 5000 bytes without a newline: the 4096-byte cap ends the step.
        let next = session.next(.received(Array(repeating: UInt8(ascii: "x"), count: 5000)))
        #expect(try Self.step(next).probe == .http)
        #expect(session.received.isEmpty)
    }

    @Test func multiLineGreetingWaitsForTheLastLine() throws {
        var session = Self.session(21, "ftp")
        _ = try Self.step(session.start())
        #expect(session.next(.received(Array("220-Welcome\r\n220-to this host\r\n".utf8))) == .read)
        let service = try Self.done(session.next(.received(Array("220 ProFTPD Server ready\r\n".utf8))))
        #expect(service?.name == "ftp" && service?.product == "ProFTPD")
    }

    @Test func deterministic() throws {
        func run() throws -> [ServiceProbeAction] {
            var session = Self.session(443, host: "localhost")
            return [
                session.start(),
                session.next(.received(try ServiceFixtures.hex("tls/tls13-only-alert.hex"))),
                session.next(.received(try ServiceFixtures.hex("tls/tls13-only-serverhello.hex"))),
            ]
        }
        #expect(try run() == run())
    }
}

/// Random and truncated replies fed to every plan: the session never traps
/// and always reaches `done` within a bounded number of events.
@Suite struct ServiceProbeSessionFuzzTests {
    static let replies = [
        "banners/ssh-openssh.hex", "banners/http-nginx.hex", "banners/redis-ping-info.hex",
        "banners/mysql-mariadb.hex", "banners/postgres-sslrequest-s.hex", "tls/tls12-selfsigned.hex",
        "tls/tls13-only-alert.hex", "tls/tls13-only-serverhello.hex", "banners/http-nginx-plain-to-tls.hex",
    ]

    @Test(arguments: [UInt16(21), 22, 80, 443, 5432, 6379, 40000])
    func alwaysFinishes(port: UInt16) throws {
        let samples = try Self.replies.map { try ServiceFixtures.hex($0) }
        var generator = SplitMix(seed: UInt64(port))
        for _ in 0..<400 {
            var session = ServiceProbeSession(port: port, now: 0, limits: ServiceProbeLimits(maxResponseBytes: 512, maxTLSBytes: 4096))
            var action = session.start()
            var events = 0
            while true {
                if case .done = action { break }
                events += 1
                // Each step ends at the latest on a timeout; plans have at most four steps.
                try #require(events < 4 * 64, "port \(port) did not finish")
                let event: ServiceProbeEvent
                switch generator.next() % 6 {
                case 0: event = .timedOut
                case 1: event = .closed
                case 2:
                    var bytes = samples[Int(generator.next() % UInt64(samples.count))]
                    bytes = Array(bytes.prefix(Int(generator.next() % UInt64(bytes.count + 1))))
                    if !bytes.isEmpty { bytes[Int(generator.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: generator.next()) }
                    event = .received(bytes)
                default:
                    let count = Int(generator.next() % 64)
                    event = .received((0..<count).map { _ in UInt8(truncatingIfNeeded: generator.next()) })
                }
                // A step that only reads cannot last forever: a read counts toward its deadline too.
                if case .read = action, events % 8 == 0 {
                    action = session.next(.timedOut)
                } else {
                    action = session.next(event)
                }
            }
        }
    }
}
