import Foundation
import Testing

@testable import PortcullisCore

/// Matchers on banners captured from real servers on loopback (Fixtures/banners,
/// Fixtures/tls; each file's header says which server and request).
@Suite struct ServiceMatchTests {
    static func fixture(_ name: String) throws -> [UInt8] { try ServiceFixtures.hex(name) }

    @Test func openSSH() throws {
        let service = try #require(ServiceMatch.identify(try Self.fixture("banners/ssh-openssh.hex")))
        #expect(service.name == "ssh" && service.product == "OpenSSH" && service.version?.hasPrefix("9.2p1 Debian 2+deb12u") == true)
        #expect(service.banner?.hasPrefix("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u") == true)
        #expect(service.method == .probed)
        // nmap 7.93 on this daemon: "OpenSSH 9.2p1 Debian 2+deb12u10 (protocol 2.0)".
        let current = try #require(ServiceMatch.identify(try Self.fixture("banners/ssh-openssh-9.2p1-deb12u10.hex")))
        #expect(current.version == "9.2p1 Debian 2+deb12u10" && current.extraInfo == "protocol 2.0")
        let ubuntu = ServiceMatch.ssh(Array("SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13.5\r\n".utf8))
        #expect(ubuntu?.version == "9.6p1 Ubuntu 3ubuntu13.5" && ubuntu?.extraInfo == "Ubuntu Linux; protocol 2.0")
        let freebsd = ServiceMatch.ssh(Array("SSH-2.0-OpenSSH_9.7 FreeBSD-20240806\r\n".utf8))
        #expect(freebsd?.version == "9.7" && freebsd?.extraInfo == "FreeBSD 20240806; protocol 2.0")
    }

    @Test func otherSSHServers() {
        let dropbear = ServiceMatch.ssh(Array("SSH-2.0-dropbear_2022.83\r\n".utf8))
        #expect(dropbear?.product == "Dropbear sshd" && dropbear?.version == "2022.83")
        let cisco = ServiceMatch.ssh(Array("SSH-1.99-Cisco-1.25\r\n".utf8))
        #expect(cisco?.product == "Cisco" && cisco?.version == "1.25")
        let bare = ServiceMatch.ssh(Array("SSH-2.0-Go\r\n".utf8))
        #expect(bare?.product == "Go x/crypto/ssh" && bare?.version == nil)
        // Lines before the identification are allowed (RFC 4253 4.2).
        let late = ServiceMatch.ssh(Array("Welcome\r\nSSH-2.0-OpenSSH_8.4\r\n".utf8))
        #expect(late?.version == "8.4")
        #expect(ServiceMatch.ssh(Array("SSH-x-y\r\n".utf8)) == nil)
    }

    @Test func httpServers() throws {
        let nginx = try #require(ServiceMatch.identify(try Self.fixture("banners/http-nginx.hex")))
        #expect(nginx.name == "http" && nginx.product == "nginx" && nginx.version == "1.22.1")
        #expect(nginx.banner == "HTTP/1.1 200 OK")
        let python = try #require(ServiceMatch.identify(try Self.fixture("banners/http-python.hex")))
        #expect(python.name == "http" && python.product == "Python SimpleHTTPServer" && python.version == "0.6")
        let apache = ServiceMatch.http(Array("HTTP/1.1 403 Forbidden\r\nServer: Apache/2.4.57 (Debian)\r\n\r\n".utf8))
        #expect(apache?.product == "Apache httpd" && apache?.version == "2.4.57")
        // nmap 7.93: "Apache httpd 2.4.71 ((Debian))".
        let apache2 = try #require(ServiceMatch.identify(try Self.fixture("banners/http-apache-2.4.71.hex")))
        #expect(apache2.product == "Apache httpd" && apache2.version == "2.4.71" && apache2.extraInfo == "(Debian)")
        let noServer = ServiceMatch.http(Array("HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n".utf8))
        #expect(noServer?.name == "http" && noServer?.product == nil)
        #expect(ServiceMatch.http(Array("HTTP/1.1 abc\r\n".utf8)) == nil)
        #expect(ServiceMatch.isPlainHTTPToTLSPort(try Self.fixture("banners/http-nginx-plain-to-tls.hex")))
        #expect(!ServiceMatch.isPlainHTTPToTLSPort(try Self.fixture("banners/http-nginx.hex")))
    }

    @Test func mailAndFileGreetings() throws {
        let postfix = try #require(ServiceMatch.identify(try Self.fixture("banners/smtp-postfix.hex")))
        #expect(postfix.name == "smtp" && postfix.product == "Postfix smtpd")
        #expect(postfix.banner == "220 mail.example.test ESMTP Postfix (Debian/GNU)")
        let vsftpd = try #require(ServiceMatch.identify(try Self.fixture("banners/ftp-vsftpd.hex")))
        #expect(vsftpd.name == "ftp" && vsftpd.product == "vsftpd" && vsftpd.version == "3.0.3")
        let imap = try #require(ServiceMatch.identify(try Self.fixture("banners/imap-dovecot.hex")))
        #expect(imap.name == "imap" && imap.product == "Dovecot imapd")
        let pop3 = try #require(ServiceMatch.identify(try Self.fixture("banners/pop3-dovecot.hex")))
        #expect(pop3.name == "pop3" && pop3.product == "Dovecot pop3d" && pop3.banner == "+OK Dovecot (Debian) ready.")

        let exim = ServiceMatch.identify(Array("220 mx.example.org ESMTP Exim 4.96 Mon, 01 Jan 2024 00:00:00 +0000\r\n".utf8))
        #expect(exim?.product == "Exim smtpd" && exim?.version == "4.96")
        let proftpd = ServiceMatch.identify(Array("220 ProFTPD 1.3.8 Server (Debian) [::ffff:127.0.0.1]\r\n".utf8))
        #expect(proftpd?.name == "ftp" && proftpd?.product == "ProFTPD" && proftpd?.version == "1.3.8")
        let sendmail = ServiceMatch.identify(Array("220 h.example ESMTP Sendmail 8.17.1.9/8.17.1.9; Mon, 1 Jan 2024\r\n".utf8))
        #expect(sendmail?.product == "Sendmail" && sendmail?.version == "8.17.1.9")
        // A bare 220: the services table settles it, else it stays unnamed.
        #expect(ServiceMatch.identify(Array("220 ready\r\n".utf8), hint: "ftp")?.name == "ftp")
        #expect(ServiceMatch.identify(Array("220 ready\r\n".utf8), hint: "smtp")?.name == "smtp")
        #expect(ServiceMatch.identify(Array("220 ready\r\n".utf8))?.name == "unknown")
    }

    @Test func redisReplies() throws {
        let open = try #require(ServiceMatch.identify(try Self.fixture("banners/redis-ping-info.hex")))
        #expect(open.name == "redis" && open.product == "Redis key-value store" && open.version == "7.0.15")
        #expect(open.banner == "+PONG")
        let locked = try #require(ServiceMatch.identify(try Self.fixture("banners/redis-noauth.hex")))
        #expect(locked.name == "redis" && locked.version == nil && locked.banner == "NOAUTH Authentication required.")
        let valkey = ServiceMatch.redis(Array("+PONG\r\n$60\r\n# Server\r\nredis_version:7.2.4\r\nvalkey_version:8.0.1\r\n\r\n".utf8))
        #expect(valkey?.product == "Valkey" && valkey?.version == "8.0.1")
    }

    @Test func memcachedReplies() throws {
        // nmap 7.93 on 11211: "Memcached 1.6.18 (uptime 19 seconds)".
        let stats = try #require(ServiceMatch.identify(try Self.fixture("banners/memcached-1.6.18-stats.hex")))
        #expect(stats.name == "memcached" && stats.product == "Memcached" && stats.version == "1.6.18")
        #expect(stats.extraInfo?.hasPrefix("uptime ") == true && stats.extraInfo?.hasSuffix(" seconds") == true)
        let access = try #require(stats.unauthenticated)
        #expect(access.request == "stats" && access.answer.hasPrefix("STAT version 1.6.18; STAT curr_connections "))
        // The two ERRORs to two empty lines: memcached, version unknown (nmap: "Memcached").
        let lines = try #require(ServiceMatch.identify(try Self.fixture("banners/memcached-1.6.18-lines.hex")))
        #expect(lines.product == "Memcached" && lines.version == nil && lines.unauthenticated == nil)
        #expect(ServiceMatch.memcached(Array("ERROR\r\n".utf8)) == nil, "one ERROR alone could be anything")
        let locked = ServiceMatch.memcached(Array("CLIENT_ERROR unauthenticated\r\n".utf8))
        #expect(locked?.product == "Memcached" && locked?.unauthenticated == nil)
    }

    @Test func vsftpdRefusingService() throws {
        // nmap 7.93: "vsftpd (broken: both local and anonymous access disabled!)".
        let service = try #require(ServiceMatch.identify(try Self.fixture("banners/ftp-vsftpd-3.0.3-oops.hex")))
        #expect(service.name == "ftp" && service.product == "vsftpd" && service.version == nil)
        #expect(service.extraInfo == "broken: both local and anonymous access disabled!")
    }

    @Test func redisUnauthenticated() throws {
        let open = try #require(ServiceMatch.identify(try Self.fixture("banners/redis-7.0.15-ping-info.hex")))
        #expect(open.unauthenticated == UnauthenticatedAccess(request: "PING", answer: "+PONG"))
        let locked = try #require(ServiceMatch.identify(try Self.fixture("banners/redis-noauth.hex")))
        #expect(locked.unauthenticated == nil)
        let bare = try #require(ServiceMatch.identify(try Self.fixture("banners/redis-7.0.15-bare-get.hex")))
        #expect(bare.name == "redis" && bare.unauthenticated == nil, "an error to GET is no proof of access")
    }

    @Test func httpAdminAPIs() throws {
        // etcd 3.4.23: GET / is Go's 404, which calls for GET /version.
        let root = try Self.fixture("banners/etcd-3.4.23-get-root.hex")
        #expect(ServiceMatch.httpWantsVersion(root))
        #expect(!ServiceMatch.httpWantsVersion(try Self.fixture("banners/http-nginx.hex")))
        let versionReply = try Self.fixture("banners/etcd-3.4.23-version.hex")
        let etcd = ServiceMatch.httpAPI(try #require(ServiceMatch.http(versionReply)), response: versionReply, request: "GET /version")
        #expect(etcd.product == "etcd" && etcd.version == "3.4.23" && etcd.extraInfo == "cluster version 3.4.0")
        #expect(etcd.unauthenticated == nil, "etcd's /version is public even with authentication on")

        // Built from the Docker Engine API's documented answers (no dockerd here).
        let dockerRoot = Array(
            ("HTTP/1.0 404 Not Found\r\nApi-Version: 1.43\r\nContent-Type: application/json\r\nDocker-Experimental: false\r\n"
                + "Ostype: linux\r\nServer: Docker/24.0.7 (linux)\r\nContent-Length: 29\r\n\r\n{\"message\":\"page not found\"}\n").utf8)
        #expect(ServiceMatch.httpWantsVersion(dockerRoot))
        let first = ServiceMatch.httpAPI(try #require(ServiceMatch.http(dockerRoot)), response: dockerRoot, request: "GET /")
        #expect(first.product == "Docker remote API" && first.version == "24.0.7" && first.extraInfo == "API 1.43")
        #expect(first.unauthenticated == nil)
        let body = #"{"Version":"24.0.7","ApiVersion":"1.43","MinAPIVersion":"1.12","Os":"linux","Arch":"amd64"}"#
        let dockerVersion = Array(
            ("HTTP/1.0 200 OK\r\nApi-Version: 1.43\r\nContent-Type: application/json\r\nServer: Docker/24.0.7 (linux)\r\n"
                + "Content-Length: \(body.utf8.count)\r\n\r\n" + body).utf8)
        let docker = ServiceMatch.httpAPI(try #require(ServiceMatch.http(dockerVersion)), response: dockerVersion, request: "GET /version")
        #expect(docker.unauthenticated?.request == "GET /version" && docker.unauthenticated?.answer == body)

        // Elasticsearch's documented GET / answer, open and with security on.
        let esBody = """
            {
              "name" : "node-1",
              "cluster_name" : "prod",
              "cluster_uuid" : "abc",
              "version" : { "number" : "8.11.1", "lucene_version" : "9.8.0" },
              "tagline" : "You Know, for Search"
            }
            """
        let esOpen = Array(
            ("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: \(esBody.utf8.count)\r\n\r\n" + esBody).utf8)
        let es = ServiceMatch.httpAPI(try #require(ServiceMatch.http(esOpen)), response: esOpen, request: "GET /")
        #expect(es.product == "Elasticsearch REST API" && es.version == "8.11.1")
        #expect(es.extraInfo == "name: node-1; cluster: prod; Lucene 9.8.0")
        #expect(es.unauthenticated == UnauthenticatedAccess(request: "GET /", answer: "cluster_name prod, version 8.11.1"))
        let esLocked = Array(
            ("HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"security\"\r\ncontent-type: application/json\r\n\r\n"
                + #"{"error":{"type":"security_exception","reason":"missing authentication credentials"},"status":401}"#).utf8)
        let locked = ServiceMatch.httpAPI(try #require(ServiceMatch.http(esLocked)), response: esLocked, request: "GET /")
        #expect(locked.product == "Elasticsearch REST API" && locked.unauthenticated == nil)
        // A plain web page is left as it was.
        let nginx = try Self.fixture("banners/http-nginx.hex")
        let page = try #require(ServiceMatch.http(nginx))
        #expect(ServiceMatch.httpAPI(page, response: nginx, request: "GET /") == page)
    }

    @Test func mariadbHandshake() throws {
        let service = try #require(ServiceMatch.identify(try Self.fixture("banners/mysql-mariadb.hex")))
        #expect(service.name == "mysql" && service.product == "MariaDB" && service.version == "10.11.19")
        #expect(service.banner == "5.5.5-10.11.19-MariaDB-0+deb12u1")
        // MySQL 8 and an error packet.
        let version = Array("8.0.36-0ubuntu0.22.04.1".utf8)
        let payload: [UInt8] = [0x0a] + version + [0] + Array(repeating: 1, count: 30)
        let mysql = ServiceMatch.mysql([UInt8(payload.count), 0, 0, 0] + payload)
        #expect(mysql?.product == "MySQL" && mysql?.version == "8.0.36")
        let message = Array("Host '10.0.0.9' is not allowed to connect to this MySQL server".utf8)
        let error = ServiceMatch.mysql([UInt8(message.count + 3), 0, 0, 0, 0xff, 0x6a, 0x04] + message)
        #expect(error?.name == "mysql" && error?.banner == String(decoding: message, as: UTF8.self))
    }

    @Test func postgresReplies() throws {
        #expect(ServiceMatch.postgresSSLResponse(try Self.fixture("banners/postgres-sslrequest-n.hex"))?.banner == "SSL not supported")
        #expect(ServiceMatch.postgresSSLResponse(try Self.fixture("banners/postgres-sslrequest-s.hex"))?.name == "postgresql")
        // The startup reply is AuthenticationOk (9 bytes, trust auth) then an ErrorResponse.
        let startup = try Self.fixture("banners/postgres-startup-error.hex")
        let error = try #require(ServiceMatch.identify(Array(startup.dropFirst(9))))
        #expect(error.name == "postgresql" && error.banner == "FATAL: role \"portcullis_probe\" does not exist")
        // nmap 7.93: "PostgreSQL DB 9.6.0 or later", read off the 'V' field that 9.6 added.
        let refused = try #require(ServiceMatch.identify(try Self.fixture("banners/postgres-15-unsupported-protocol.hex")))
        #expect(refused.product == "PostgreSQL DB" && refused.version == "9.6.0 or later")
        #expect(refused.banner == "FATAL: unsupported frontend protocol 0.0: server supports 3.0 to 3.0")
    }

    @Test func smallProtocols() {
        let vnc = ServiceMatch.identify(Array("RFB 003.008\n".utf8))
        #expect(vnc?.name == "vnc" && vnc?.version == "protocol 3.8")
        let telnet = ServiceMatch.identify(
            [0xff, 0xfd, 0x18, 0xff, 0xfd, 0x20, 0xff, 0xfa, 0x18, 0x01, 0xff, 0xf0] + Array("\r\nlogin: ".utf8))
        #expect(telnet?.name == "telnet" && telnet?.banner == "login:")
        #expect(ServiceMatch.identify(Array("hello there\r\n".utf8)) == nil)
        #expect(ServiceMatch.identify([]) == nil)
    }

    /// A banner cannot carry control characters, ANSI escapes or unbounded length.
    @Test func bannersAreEscapedAndCapped() throws {
        let hostile = Array("SSH-2.0-Evil_1.0 \u{1b}[2J\u{1b}]0;owned\u{07}\r\n".utf8)
        let ssh = try #require(ServiceMatch.ssh(hostile))
        let banner = try #require(ssh.banner)
        #expect(!banner.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7f })
        #expect(banner.contains("\\x1b[2J"))
        let long = ServiceMatch.identify(Array(("220 " + String(repeating: "A", count: 5000) + " FTP\r\n").utf8))
        #expect((long?.banner?.count ?? 0) <= ServiceMatch.bannerBytes)
        let versionAttack = ServiceMatch.http(Array("HTTP/1.1 200 OK\r\nServer: x/\u{1b}[31m\u{9b}1m\r\n\r\n".utf8))
        let version = try #require(versionAttack?.version)
        #expect(!version.unicodeScalars.contains { $0.value < 0x20 || (0x7f...0x9f).contains($0.value) })
        // A cap that falls inside a multi-byte character drops the whole character.
        let cut = ServiceMatch.banner(Array(String(repeating: "é", count: 100).utf8), maxBytes: 7)
        #expect(cut == "ééé")
    }

    @Test func truncatedRepliesNeverTrap() throws {
        for name in [
            "banners/ssh-openssh.hex", "banners/http-nginx.hex", "banners/mysql-mariadb.hex", "banners/redis-ping-info.hex",
            "banners/postgres-startup-error.hex", "banners/imap-dovecot.hex", "tls/tls12-selfsigned.hex",
        ] {
            let bytes = try Self.fixture(name)
            // The whole capture is recognised, so its prefixes are the parsers' real input, not noise they reject at once.
            if name.hasPrefix("tls/") {
                guard case .hello(_, let certificates, _) = TLSServerFlight.parse(bytes) else {
                    Issue.record("\(name) is not a ServerHello")
                    continue
                }
                #expect(!certificates.isEmpty, "\(name)")
            } else {
                // The PostgreSQL capture: AuthenticationOk (9 bytes), then the ErrorResponse (as in postgresReplies).
                let reply = Array(bytes.dropFirst(name.contains("postgres-startup") ? 9 : 0))
                #expect(ServiceMatch.identify(reply) != nil, "\(name)")
            }
            for length in 0...bytes.count {
                let prefix = Array(bytes[..<length])
                _ = ServiceMatch.identify(prefix)
                _ = TLSServerFlight.parse(prefix)
                _ = ServiceMatch.postgresSSLResponse(prefix)
            }
        }
    }
}

/// The server's first flight, parsed from real captures.
@Suite struct TLSFlightTests {
    static let now: Int64 = 1_798_761_600  // 2027-01-01

    @Test func tls12WithSelfSignedCertificate() throws {
        let flight = TLSServerFlight.parse(try ServiceFixtures.hex("tls/tls12-selfsigned.hex"))
        guard case .hello(let hello, let certificates, let complete) = flight else {
            Issue.record("not a hello: \(flight)")
            return
        }
        #expect(complete && certificates.count == 1)
        #expect(hello.versionName == "TLSv1.2" && hello.cipherName == "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256")
        #expect(certificates[0] == (try ServiceFixtures.pem("certs/selfsigned.pem")))
        let service = ServiceMatch.tls(hello: hello, certificates: certificates, name: "https", now: Self.now)
        let tls = try #require(service.tls)
        #expect(tls.selfSigned && !tls.expired)
        #expect(tls.subject == "CN=localhost,OU=Service Detection,O=Portcullis Test,L=Test City,ST=Test State,C=US")
    }

    @Test func chainFromNginxAndOpenSSL() throws {
        guard case .hello(let hello, let certificates, true) = TLSServerFlight.parse(try ServiceFixtures.hex("tls/tls12-leaf-chain.hex"))
        else {
            Issue.record("no hello")
            return
        }
        #expect(certificates.count == 2 && hello.cipherName == "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")
        let service = ServiceMatch.tls(hello: hello, certificates: certificates, name: "https", now: Self.now)
        #expect(service.tls?.selfSigned == false && service.tls?.issuer == "CN=Portcullis Test CA,O=Portcullis Test,C=US")
        guard case .hello(let nginx, let nginxCertificates, true) = TLSServerFlight.parse(try ServiceFixtures.hex("tls/tls12-nginx.hex"))
        else {
            Issue.record("no hello from nginx")
            return
        }
        #expect(nginx.versionName == "TLSv1.2" && nginxCertificates.count == 1)
    }

    /// Record boundaries must not matter: the same flight fed one byte per
    /// record-sized chunk, or split mid-message, parses the same.
    @Test func messagesSpanningRecords() throws {
        let flight = try ServiceFixtures.hex("tls/tls12-selfsigned.hex")
        // Re-frame every handshake byte into records of 7 bytes each.
        var handshake: [UInt8] = []
        var i = 0
        while i + 5 <= flight.count {
            let length = Int(flight[i + 3]) << 8 | Int(flight[i + 4])
            handshake += flight[(i + 5)..<(i + 5 + length)]
            i += 5 + length
        }
        var reframed: [UInt8] = []
        var j = 0
        while j < handshake.count {
            let piece = handshake[j..<min(j + 7, handshake.count)]
            reframed += [22, 3, 3, 0, UInt8(piece.count)] + piece
            j += 7
        }
        #expect(TLSServerFlight.parse(reframed) == TLSServerFlight.parse(flight))
        // Cut short: a ServerHello without the certificate yet is incomplete.
        if case .hello(_, let certificates, let complete) = TLSServerFlight.parse(Array(flight.prefix(120))) {
            #expect(!complete && certificates.isEmpty)
        } else {
            Issue.record("prefix did not yield an incomplete hello")
        }
        #expect(TLSServerFlight.parse(Array(flight.prefix(3))) == .incomplete)
        #expect(TLSServerFlight.parse(Array("HTTP/1.1 400 Bad Request\r\n".utf8)) == .notTLS)
    }

    @Test func alertsFromRefusingServers() throws {
        #expect(TLSServerFlight.parse(try ServiceFixtures.hex("tls/tls13-only-alert.hex")) == .alert(TLSAlert(level: 2, code: 70)))
        #expect(TLSServerFlight.parse(try ServiceFixtures.hex("tls/tls12-no-shared-cipher.hex")) == .alert(TLSAlert(level: 2, code: 40)))
        guard
            case .hello(let hello, let certificates, true) = TLSServerFlight.parse(
                try ServiceFixtures.hex("tls/tls13-only-serverhello.hex"))
        else {
            Issue.record("no TLS 1.3 ServerHello")
            return
        }
        #expect(hello.versionName == "TLSv1.3" && certificates.isEmpty && !hello.isHelloRetryRequest)
        #expect(hello.cipherName == "TLS_AES_128_GCM_SHA256")
        #expect(TLSNames.cipherSuite(0xc0ff) == "0xc0ff" && TLSNames.version(0x7f1c) == "0x7f1c")
    }
}
