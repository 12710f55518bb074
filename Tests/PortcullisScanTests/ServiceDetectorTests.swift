import Foundation
import PortcullisCore
import PortcullisScan
import Testing

/// ServiceDetector over real sockets against live servers on 127.0.0.1.
/// Each test skips, saying why, when the server it needs is not installed.
@Suite("ServiceDetector (live loopback servers)")
struct ServiceDetectorTests {
    static let loopback = IPAddress(v4: 127, 0, 0, 1)

    /// A python server that writes `greeting` to every connection, then
    /// reads until the client goes away. With `together` > 1 it greets no one
    /// until that many connections are open at once.
    static func greeter(_ greeting: String, together: Int = 1) -> String {
        """
        import socket, sys, threading
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", int(sys.argv[1])))
        listener.listen(64)
        together = threading.Condition()
        connected = [0]
        def serve(conn):
            with together:
                connected[0] += 1
                together.notify_all()
                all_here = together.wait_for(lambda: connected[0] >= \(together), timeout=20)
            try:
                if all_here:
                    conn.sendall(bytes.fromhex("\(DER.hex(Array(greeting.utf8)))"))
                while conn.recv(4096):
                    pass
            except OSError:
                pass
            finally:
                conn.close()
        while True:
            conn, _ = listener.accept()
            threading.Thread(target=serve, args=(conn,), daemon=True).start()
        """
    }

    @Test(.enabled(if: ServiceTools.python3 != nil, "python3 is not installed"))
    func sshLikeGreetingOnAnUnknownPort() throws {
        let scratch = try ServiceScratch()
        defer { scratch.remove() }
        let server = try pythonServer(Self.greeter("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"), in: scratch, name: "ssh")
        defer { server.stop() }
        let service = try #require(ServiceDetector.detect(address: Self.loopback, port: server.port))
        #expect(service.name == "ssh" && service.product == "OpenSSH" && service.version == "9.2p1 Debian 2")
        #expect(service.banner == "SSH-2.0-OpenSSH_9.2p1 Debian-2" && service.method == .probed)
    }

    @Test(.enabled(if: ServiceTools.python3 != nil, "python3 is not installed"))
    func smtpGreetingWithHostileBytes() throws {
        let scratch = try ServiceScratch()
        defer { scratch.remove() }
        let server = try pythonServer(Self.greeter("220 mx.test ESMTP Postfix \u{1b}[2J(Debian/GNU)\r\n"), in: scratch, name: "smtp")
        defer { server.stop() }
        let service = try #require(ServiceDetector.detect(address: Self.loopback, port: server.port, tableName: "smtp"))
        #expect(service.name == "smtp" && service.product == "Postfix smtpd")
        #expect(service.banner == "220 mx.test ESMTP Postfix \\x1b[2J(Debian/GNU)")
    }

    @Test(.enabled(if: ServiceTools.python3 != nil, "python3 is not installed"))
    func pythonHTTPServer() throws {
        let scratch = try ServiceScratch()
        defer { scratch.remove() }
        let python = try #require(ServiceTools.python3)
        let port = try freeLoopbackPort()
        try FileManager.default.createDirectory(atPath: scratch.file("www"), withIntermediateDirectories: true)
        let server = try ServiceServer(
            [python, "-m", "http.server", String(port), "--bind", "127.0.0.1", "--directory", scratch.file("www")],
            port: port, in: scratch, name: "http")
        defer { server.stop() }
        let service = try #require(ServiceDetector.detect(address: Self.loopback, port: port, tableName: "http-alt"))
        #expect(service.name == "http" && service.product == "Python SimpleHTTPServer" && service.version == "0.6")
        #expect(service.banner == "HTTP/1.0 200 OK")
        // The request carried the Host header the user's name gives.
        #expect(server.log.contains("\"GET / HTTP/1.0\" 200"))
    }

    @Test(.enabled(if: ServiceTools.nginx != nil && ServiceTools.python3 != nil, "nginx is not installed"))
    func nginxPlainAndTLSOnOnePortEach() throws {
        let scratch = try ServiceScratch()
        defer { scratch.remove() }
        let certificates = try Self.makeCertificates(scratch)
        let plainPort = try freeLoopbackPort()
        let tlsPort = try freeLoopbackPort()
        let config = """
            daemon off;
            pid \(scratch.file("nginx.pid"));
            error_log \(scratch.file("nginx-error.log"));
            events { worker_connections 64; }
            http {
              access_log off;
              client_body_temp_path \(scratch.path);
              server { listen 127.0.0.1:\(plainPort); location / { return 200 "hello"; } }
              server { listen 127.0.0.1:\(tlsPort) ssl; ssl_certificate \(certificates)/selfsigned.pem;
                       ssl_certificate_key \(certificates)/selfsigned.key; location / { return 200 "hello"; } }
            }
            """
        try config.write(toFile: scratch.file("nginx.conf"), atomically: true, encoding: .utf8)
        let server = try ServiceServer(
            [try #require(ServiceTools.nginx), "-c", scratch.file("nginx.conf"), "-p", scratch.path],
            port: plainPort, in: scratch, name: "nginx")
        defer { server.stop() }
        let plain = try #require(ServiceDetector.detect(address: Self.loopback, port: plainPort))
        #expect(plain.name == "http" && plain.product == "nginx" && plain.version != nil)
        // An unknown port: silence, then plain HTTP is refused, then the ClientHello finds TLS.
        let tls = try #require(
            ServiceDetector.detect(
                address: Self.loopback, port: tlsPort, hostname: "localhost",
                timeoutMilliseconds: 1000))
        #expect(tls.name == "ssl" && tls.tls?.version == "TLSv1.2" && tls.tls?.selfSigned == true)
    }

    // MARK: TLS with openssl s_server

    /// Runs Fixtures/make-certs.sh into the scratch directory; returns its path.
    static func makeCertificates(_ scratch: ServiceScratch) throws -> String {
        let directory = scratch.file("certs")
        try runTool("/bin/sh", [ServiceFixtures.url("make-certs.sh").path, directory], in: scratch)
        return directory
    }

    static func openSSLServer(_ scratch: ServiceScratch, cert: String, key: String, extra: [String] = []) throws -> ServiceServer {
        let openssl = try #require(ServiceTools.openssl)
        let port = try freeLoopbackPort()
        return try ServiceServer(
            [openssl, "s_server", "-accept", "127.0.0.1:\(port)", "-quiet", "-cert", cert, "-key", key] + extra,
            port: port, in: scratch, name: "s_server-\(port)")
    }

    @Test(.enabled(if: ServiceTools.canRunTLS, "openssl or python3 is not installed"))
    func tlsSelfSignedAndExpired() throws {
        let scratch = try ServiceScratch()
        defer { scratch.remove() }
        let certificates = try Self.makeCertificates(scratch)
        let now = Int64(Date().timeIntervalSince1970)

        let good = try Self.openSSLServer(scratch, cert: certificates + "/selfsigned.pem", key: certificates + "/selfsigned.key")
        defer { good.stop() }
        let service = try #require(
            ServiceDetector.detect(
                address: Self.loopback, port: good.port, hostname: "localhost",
                tableName: "https"))
        let tls = try #require(service.tls)
        #expect(service.name == "https")
        #expect(tls.version == "TLSv1.2", "OpenSSL speaks 1.3 too, but the hello offers 1.2 at most")
        #expect(tls.cipher == "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256")
        #expect(tls.subject == "CN=localhost,OU=Service Detection,O=Portcullis Test,L=Test City,ST=Test State,C=US")
        #expect(tls.selfSigned && !tls.expired)
        #expect(abs((tls.notBefore ?? 0) - now) < 600 && (tls.notAfter ?? 0) > now + 86_400 * 3000)

        let old = try Self.openSSLServer(scratch, cert: certificates + "/expired.pem", key: certificates + "/expired.key")
        defer { old.stop() }
        let expired = try #require(ServiceDetector.detect(address: Self.loopback, port: old.port, tableName: "https")?.tls)
        #expect(expired.expired && expired.selfSigned && expired.notAfter == 1_609_459_200)
        #expect(expired.subject == "CN=expired.test,O=Portcullis Test,C=US")

        let chained = try Self.openSSLServer(
            scratch, cert: certificates + "/leaf.pem", key: certificates + "/leaf.key",
            extra: ["-cert_chain", certificates + "/ca.pem"])
        defer { chained.stop() }
        let leaf = try #require(ServiceDetector.detect(address: Self.loopback, port: chained.port, tableName: "https")?.tls)
        #expect(!leaf.selfSigned && !leaf.expired && leaf.issuer == "CN=Portcullis Test CA,O=Portcullis Test,C=US")
        #expect(leaf.cipher == "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")
    }

    @Test(.enabled(if: ServiceTools.canRunTLS, "openssl or python3 is not installed"))
    func tls13OnlyServer() throws {
        let scratch = try ServiceScratch()
        defer { scratch.remove() }
        let certificates = try Self.makeCertificates(scratch)
        let server = try Self.openSSLServer(
            scratch, cert: certificates + "/selfsigned.pem", key: certificates + "/selfsigned.key",
            extra: ["-tls1_3"])
        defer { server.stop() }
        let service = try #require(ServiceDetector.detect(address: Self.loopback, port: server.port, tableName: "https"))
        #expect(service.tls?.version == "TLSv1.3 only" && service.tls?.subject == nil)
        #expect(service.tls?.cipher.hasPrefix("TLS_") == true)
    }

    @Test(.enabled(if: ServiceTools.redisServer != nil && ServiceTools.python3 != nil, "redis-server is not installed"))
    func redis() throws {
        let scratch = try ServiceScratch()
        defer { scratch.remove() }
        let port = try freeLoopbackPort()
        let server = try ServiceServer(
            [
                try #require(ServiceTools.redisServer), "--port", String(port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--dir", scratch.path,
            ],
            port: port, in: scratch, name: "redis")
        defer { server.stop() }
        let service = try #require(ServiceDetector.detect(address: Self.loopback, port: port, tableName: "redis"))
        #expect(service.name == "redis" && service.product == "Redis key-value store" && service.banner == "+PONG")
        let version = try #require(service.version)
        #expect(version.first?.isNumber == true && version.contains("."))
    }

    @Test func closedPortGivesNothing() throws {
        let port = try freeLoopbackPort()
        #expect(ServiceDetector.detect(address: Self.loopback, port: port, timeoutMilliseconds: 500) == nil)
        #expect(ServiceDetector.detectUDP(address: Self.loopback, port: port, timeoutMilliseconds: 300, attempts: 1) == nil)
    }

    @Test(.enabled(if: ServiceTools.python3 != nil, "python3 is not installed"))
    func udpProbeAndReply() throws {
        let scratch = try ServiceScratch()
        defer { scratch.remove() }
        // Answers a version.bind query the way dnsmasq does (reply captured in Fixtures/udp).
        let reply = try ServiceFixtures.hex("udp/dns-dnsmasq.hex")
        let script = """
            import socket, sys
            udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            udp.bind(("127.0.0.1", int(sys.argv[1])))
            tcp = socket.socket()  # only so the launcher can see the server is up
            tcp.bind(("127.0.0.1", int(sys.argv[1])))
            tcp.listen(1)
            reply = bytes.fromhex("\(DER.hex(reply))")
            while True:
                data, peer = udp.recvfrom(2048)
                if data[12:25] == b"\\x07version\\x04bind":
                    udp.sendto(data[:2] + reply[2:], peer)
            """
        let server = try pythonServer(script, in: scratch, name: "dns")
        defer { server.stop() }
        // The detector sends port 53's payload; the fake listens elsewhere, so use the payload's matcher directly.
        let service = ServiceDetector.detectUDP(address: Self.loopback, port: server.port, timeoutMilliseconds: 1000)
        // An empty datagram (no payload for this port) gets no answer from the fake.
        #expect(service == nil)
        let named = try #require(
            ServiceDetector.detectUDP(
                address: Self.loopback, port: server.port, payloadPort: 53,
                timeoutMilliseconds: 1000))
        #expect(named.name == "domain" && named.product == "dnsmasq" && named.version == "2.90")
    }
}

/// ServiceScan holds many conversations open at once, more than there are
/// CPUs: the server here greets no one until eight connections are open
/// together, so detection that ran two at a time would get no banner at all.
@Suite("ServiceScan (live loopback server)")
struct ServiceScanTests {
    @Test(.enabled(if: ServiceTools.python3 != nil, "python3 is not installed"))
    func conversationsRunTogetherBeyondTheCPUCount() throws {
        let scratch = try ServiceScratch()
        defer { scratch.remove() }
        let server = try pythonServer(ServiceDetectorTests.greeter("SSH-2.0-Barrier_1.0\r\n", together: 8), in: scratch, name: "barrier")
        defer { server.stop() }
        // Eight conversations with the same port (one job each).
        var host = ScanHostResult(address: IPAddress(v4: 127, 0, 0, 1))
        host.ports = Array(repeating: ScanPortResult(proto: .tcp, port: server.port, state: .open, reason: .synAck), count: 8)
        var options = ServiceScan.Options()
        options.timeoutMilliseconds = 3000
        let result = ServiceScan.detect([host], tableName: { _, _ in nil }, options: options)
        let names = result[0].ports.map { $0.service?.name }
        #expect(names == Array(repeating: "ssh", count: 8), "\(names)\n\(server.log)")
    }
}
