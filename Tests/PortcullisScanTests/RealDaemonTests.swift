import Foundation
import PortcullisCore
import PortcullisScan
import Testing

/// Service detection against real Debian daemons, each started as a child
/// on a free 127.0.0.1 port with its configuration in a scratch directory,
/// and stopped at the end. Each test skips, saying which, when a daemon is
/// not installed (.ci/run installs them). Where nmap is installed, its
/// `-sV` answer for the same ports is the oracle.
@Suite("Service detection on real daemons", .serialized)
struct RealDaemonTests {
    static let loopback = IPAddress(v4: 127, 0, 0, 1)

    static let memcached = ServiceTools.find("memcached", also: ["/usr/bin/memcached"])
    static let sshd = ServiceTools.find("sshd", also: ["/usr/sbin/sshd"])
    static let sshKeygen = ServiceTools.find("ssh-keygen", also: ["/usr/bin/ssh-keygen"])
    static let vsftpd = ServiceTools.find("vsftpd", also: ["/usr/sbin/vsftpd"])
    static let dnsmasq = ServiceTools.find("dnsmasq", also: ["/usr/sbin/dnsmasq"])
    static let nmap = ServiceTools.find("nmap", also: ["/usr/bin/nmap"])
    static let etcd = ServiceTools.find("etcd", also: ["/usr/bin/etcd"])
    static let apache = ServiceTools.find("apache2", also: ["/usr/sbin/apache2"])
    static let setpriv = ServiceTools.find("setpriv", also: ["/usr/bin/setpriv"])
    /// Debian's versioned PostgreSQL directory (/usr/lib/postgresql/15/bin), newest first.
    static let postgresBin: String? = {
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).sorted {
            (Int($0) ?? 0) > (Int($1) ?? 0)
        }
        return versions.map { "\(root)/\($0)/bin" }.first { FileManager.default.isExecutableFile(atPath: $0 + "/postgres") }
    }()
    static let canRunPostgres = postgresBin != nil && setpriv != nil && isRoot && getpwnam("postgres") != nil
    static let isRoot = getuid() == 0

    // MARK: Daemons

    static func startMemcached(_ scratch: ServiceScratch) throws -> ServiceServer {
        let port = try freeLoopbackPort()
        return try ServiceServer(
            [try #require(memcached), "-l", "127.0.0.1", "-p", String(port), "-U", String(port), "-u", "nobody"],
            port: port, in: scratch, name: "memcached")
    }

    static func startRedis(_ scratch: ServiceScratch, password: String? = nil) throws -> ServiceServer {
        let port = try freeLoopbackPort()
        var command = [
            try #require(ServiceTools.redisServer), "--port", String(port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", scratch.path,
        ]
        if let password { command += ["--requirepass", password] }
        return try ServiceServer(command, port: port, in: scratch, name: "redis")
    }

    static func startSSHD(_ scratch: ServiceScratch) throws -> ServiceServer {
        let key = scratch.file("ssh_host_ed25519_key")
        try runTool(try #require(sshKeygen), ["-q", "-t", "ed25519", "-N", "", "-f", key], in: scratch)
        try FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true)
        let port = try freeLoopbackPort()
        return try ServiceServer(
            [
                try #require(sshd), "-D", "-e", "-f", "/dev/null", "-o", "ListenAddress=127.0.0.1:\(port)", "-o", "HostKey=\(key)",
                "-o", "PidFile=\(scratch.file("sshd.pid"))",
            ], port: port, in: scratch, name: "sshd")
    }

    static func startVsftpd(_ scratch: ServiceScratch, localLogins: Bool) throws -> ServiceServer {
        let port = try freeLoopbackPort()
        let empty = scratch.file("vsftpd-empty")
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        let config = scratch.file("vsftpd-\(localLogins).conf")
        try """
        listen=YES
        listen_ipv6=NO
        listen_address=127.0.0.1
        listen_port=\(port)
        background=NO
        anonymous_enable=NO
        local_enable=\(localLogins ? "YES" : "NO")
        secure_chroot_dir=\(empty)
        pasv_enable=NO
        xferlog_enable=NO

        """.write(toFile: config, atomically: true, encoding: .utf8)
        return try ServiceServer([try #require(vsftpd), config], port: port, in: scratch, name: "vsftpd-\(localLogins)")
    }

    static func startDnsmasq(_ scratch: ServiceScratch) throws -> ServiceServer {
        let port = try freeLoopbackPort()
        return try ServiceServer(
            [
                try #require(dnsmasq), "-k", "--conf-file=/dev/null", "--listen-address=127.0.0.1", "--bind-interfaces",
                "--port=\(port)", "--no-resolv", "--no-hosts", "--pid-file=\(scratch.file("dnsmasq.pid"))", "-u", "nobody",
            ], port: port, in: scratch, name: "dnsmasq")
    }

    /// PostgreSQL as the `postgres` user (it refuses root), trust authentication, in a fresh cluster.
    static func startPostgres(_ scratch: ServiceScratch) throws -> ServiceServer {
        let bin = try #require(postgresBin)
        let user = try #require(getpwnam("postgres")).pointee
        guard chown(scratch.path, user.pw_uid, user.pw_gid) == 0 else { throw FixtureProblem("chown \(scratch.path): errno \(errno)") }
        let asPostgres = [try #require(setpriv), "--reuid=postgres", "--regid=postgres", "--init-groups"]
        let data = scratch.file("pgdata")
        try runTool(
            asPostgres[0], Array(asPostgres.dropFirst()) + [bin + "/initdb", "-D", data, "-A", "trust", "-U", "postgres"], in: scratch)
        let port = try freeLoopbackPort()
        return try ServiceServer(
            asPostgres + [bin + "/postgres", "-D", data, "-h", "127.0.0.1", "-p", String(port), "-k", scratch.path],
            port: port, in: scratch, name: "postgres")
    }

    static func startEtcd(_ scratch: ServiceScratch) throws -> ServiceServer {
        let client = try freeLoopbackPort()
        let peer = try freeLoopbackPort()
        return try ServiceServer(
            [
                try #require(etcd), "--name", "portcullis", "--data-dir", scratch.file("etcd"),
                "--listen-client-urls", "http://127.0.0.1:\(client)", "--advertise-client-urls", "http://127.0.0.1:\(client)",
                "--listen-peer-urls", "http://127.0.0.1:\(peer)", "--initial-advertise-peer-urls", "http://127.0.0.1:\(peer)",
                "--initial-cluster", "portcullis=http://127.0.0.1:\(peer)",
            ], port: client, in: scratch, name: "etcd")
    }

    /// Apache httpd with a minimal configuration of its own (Debian's needs apache2ctl's environment).
    static func startApache(_ scratch: ServiceScratch) throws -> ServiceServer {
        let port = try freeLoopbackPort()
        let root = scratch.file("www")
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        try "hello\n".write(toFile: root + "/index.html", atomically: true, encoding: .utf8)
        let modules = "/usr/lib/apache2/modules"
        let config = scratch.file("apache.conf")
        try """
        ServerRoot /etc/apache2
        ServerName localhost
        LoadModule mpm_event_module \(modules)/mod_mpm_event.so
        LoadModule authz_core_module \(modules)/mod_authz_core.so
        LoadModule dir_module \(modules)/mod_dir.so
        PidFile \(scratch.file("apache.pid"))
        ErrorLog \(scratch.file("apache-error.log"))
        Mutex file:\(scratch.path)
        DefaultRuntimeDir \(scratch.path)
        Listen 127.0.0.1:\(port)
        DocumentRoot \(root)
        <Directory \(root)>
          Require all granted
        </Directory>

        """.write(toFile: config, atomically: true, encoding: .utf8)
        return try ServiceServer([try #require(apache), "-f", config, "-DFOREGROUND"], port: port, in: scratch, name: "apache")
    }

    /// The version a daemon prints of itself, to check ours against what is installed.
    static func selfReported(_ executable: String, _ arguments: [String], in scratch: ServiceScratch) throws -> String {
        try runTool(executable, arguments, in: scratch)
        return (try? String(contentsOfFile: scratch.file("tool-output"), encoding: .utf8)) ?? ""
    }

    static func detect(_ port: UInt16, _ table: String? = nil) -> ScanService? {
        ServiceDetector.detect(address: loopback, port: port, tableName: table, timeoutMilliseconds: 1500)
    }

    // MARK: Tests

    @Test(.enabled(if: memcached != nil && ServiceTools.python3 != nil, "memcached is not installed"))
    func memcachedTCPAndUDP() throws {
        let scratch = try ServiceScratch()
        defer { scratch.remove() }
        let server = try Self.startMemcached(scratch)
        defer { server.stop() }
        let installed = try Self.selfReported(try #require(Self.memcached), ["-V"], in: scratch)  // "memcached 1.6.18"
        let expected = try #require(installed.split(separator: " ").last.map { String($0.filter { !$0.isWhitespace }) })
        for table in ["memcache", nil] as [String?] {
            let service = try #require(Self.detect(server.port, table), "table name \(table ?? "none")")
            #expect(service.name == "memcached" && service.product == "Memcached" && service.version == expected)
            #expect(service.extraInfo?.hasPrefix("uptime ") == true)
            let access = try #require(service.unauthenticated)
            #expect(access.request == "stats" && access.answer.contains("STAT version \(expected)"))
        }
        // UDP, with memcached's frame header (payload of port 11211).
        let udp = try #require(
            ServiceDetector.detectUDP(address: Self.loopback, port: server.port, payloadPort: 11211, timeoutMilliseconds: 1000))
        #expect(udp.product == "Memcached" && udp.version == expected && udp.unauthenticated?.request == "stats")
    }

    @Test(.enabled(if: ServiceTools.redisServer != nil && ServiceTools.python3 != nil, "redis-server is not installed"))
    func redisWithAndWithoutPassword() throws {
        let scratch = try ServiceScratch()
        defer { scratch.remove() }
        let open = try Self.startRedis(scratch)
        defer { open.stop() }
        for table in ["redis", nil] as [String?] {
            let service = try #require(Self.detect(open.port, table), "table name \(table ?? "none")")
            #expect(service.name == "redis" && service.product == "Redis key-value store")
            #expect(service.version?.first?.isNumber == true)
            #expect(service.unauthenticated == UnauthenticatedAccess(request: "PING", answer: "+PONG"))
        }
        let lockedScratch = try ServiceScratch()
        defer { lockedScratch.remove() }
        let locked = try Self.startRedis(lockedScratch, password: "s3cret-\(getpid())")
        defer { locked.stop() }
        let service = try #require(Self.detect(locked.port, "redis"))
        #expect(service.name == "redis" && service.banner?.hasPrefix("NOAUTH") == true && service.unauthenticated == nil)
    }

    @Test(
        .enabled(
            if: sshd != nil && sshKeygen != nil && isRoot && ServiceTools.python3 != nil, "openssh-server is not installed (or not root)"))
    func openSSHKeepsTheDebianRevision() throws {
        let scratch = try ServiceScratch()
        defer { scratch.remove() }
        let server = try Self.startSSHD(scratch)
        defer { server.stop() }
        let service = try #require(Self.detect(server.port))
        #expect(service.name == "ssh" && service.product == "OpenSSH" && service.extraInfo?.hasSuffix("protocol 2.0") == true)
        // The identification string itself, as the daemon sent it.
        let banner = try #require(service.banner)
        if banner.contains(" Debian-") {
            #expect(service.version?.contains(" Debian ") == true)
        }
    }

    @Test(.enabled(if: vsftpd != nil && isRoot && ServiceTools.python3 != nil, "vsftpd is not installed (or not root)"))
    func vsftpdReadyAndRefusing() throws {
        let scratch = try ServiceScratch()
        defer { scratch.remove() }
        let ready = try Self.startVsftpd(scratch, localLogins: true)
        defer { ready.stop() }
        let service = try #require(Self.detect(ready.port))
        #expect(service.name == "ftp" && service.product == "vsftpd" && service.version?.first?.isNumber == true)
        let refusing = try Self.startVsftpd(scratch, localLogins: false)
        defer { refusing.stop() }
        let broken = try #require(Self.detect(refusing.port))
        #expect(broken.product == "vsftpd" && broken.extraInfo == "broken: both local and anonymous access disabled!")
    }

    @Test(.enabled(if: dnsmasq != nil && isRoot && ServiceTools.python3 != nil, "dnsmasq is not installed (or not root)"))
    func dnsmasqOverTCPAndUDP() throws {
        let scratch = try ServiceScratch()
        defer { scratch.remove() }
        let server = try Self.startDnsmasq(scratch)
        defer { server.stop() }
        let installed = try Self.selfReported(try #require(Self.dnsmasq), ["--version"], in: scratch)
        // "Dnsmasq version 2.90  Copyright ..."
        let words = installed.split(separator: " ")
        let expected = try #require(words.firstIndex(of: "version").map { String(words[$0 + 1]) })
        for table in ["domain", nil] as [String?] {
            let service = try #require(Self.detect(server.port, table), "table name \(table ?? "none")")
            #expect(service.name == "domain" && service.product == "dnsmasq" && service.version == expected)
        }
        let udp = try #require(
            ServiceDetector.detectUDP(address: Self.loopback, port: server.port, payloadPort: 53, timeoutMilliseconds: 1000))
        #expect(udp.product == "dnsmasq" && udp.version == expected)
    }

    @Test(.enabled(if: canRunPostgres && ServiceTools.python3 != nil, "postgresql is not installed (or not root)"))
    func postgresBeforeLogin() throws {
        let scratch = try ServiceScratch()
        defer { scratch.remove() }
        let server = try Self.startPostgres(scratch)
        defer { server.stop() }
        for table in ["postgresql", nil] as [String?] {
            let service = try #require(Self.detect(server.port, table), "table name \(table ?? "none")")
            #expect(service.name == "postgresql" && service.product == "PostgreSQL DB" && service.version == "9.6.0 or later")
            #expect(service.banner == "SSL not supported", "initdb's cluster has ssl off")
        }
    }

    @Test(.enabled(if: etcd != nil && ServiceTools.python3 != nil, "etcd-server is not installed"))
    func etcdNamedByItsVersionEndpoint() throws {
        let scratch = try ServiceScratch()
        defer { scratch.remove() }
        let server = try Self.startEtcd(scratch)
        defer { server.stop() }
        // "etcd Version: 3.4.23"
        let installed = try Self.selfReported(try #require(Self.etcd), ["--version"], in: scratch)
        let expected = try #require(
            installed.split(separator: "\n").first { $0.hasPrefix("etcd Version: ") }.map { String($0.dropFirst(14)) })
        for table in ["etcd-client", nil] as [String?] {
            let service = try #require(Self.detect(server.port, table), "table name \(table ?? "none")")
            #expect(service.name == "http" && service.product == "etcd" && service.version == expected)
            #expect(service.unauthenticated == nil, "etcd's /version is public: no evidence of access")
        }
    }

    @Test(.enabled(if: apache != nil && isRoot && ServiceTools.python3 != nil, "apache2 is not installed (or not root)"))
    func apacheWithItsDistribution() throws {
        let scratch = try ServiceScratch()
        defer { scratch.remove() }
        let server = try Self.startApache(scratch)
        defer { server.stop() }
        let service = try #require(Self.detect(server.port, "http"))
        #expect(service.name == "http" && service.product == "Apache httpd" && service.version?.first?.isNumber == true)
        #expect(service.extraInfo == "(Debian)")
    }

    // MARK: nmap as the oracle

    /// nmap's `<service>` attributes for each open port of `nmap -sV -oX -`.
    static func nmapServices(_ ports: [UInt16], in scratch: ServiceScratch) throws -> [UInt16: [String: String]] {
        let list = ports.map(String.init).joined(separator: ",")
        try runTool(try #require(nmap), ["-sV", "-Pn", "-n", "-p", list, "-oX", scratch.file("nmap.xml"), "127.0.0.1"], in: scratch)
        let xml = try String(contentsOfFile: scratch.file("nmap.xml"), encoding: .utf8)
        var result: [UInt16: [String: String]] = [:]
        for chunk in xml.components(separatedBy: "<port protocol=\"tcp\" portid=\"").dropFirst() {
            guard let port = UInt16(chunk.prefix { $0.isNumber }), let start = chunk.range(of: "<service ") else { continue }
            let element = chunk[start.upperBound...].prefix { $0 != ">" }
            var attributes: [String: String] = [:]
            for part in element.components(separatedBy: "\" ") {
                let pair = part.split(separator: "=", maxSplits: 1)
                guard pair.count == 2 else { continue }
                attributes[String(pair[0]).trimmingCharacters(in: .whitespaces)] = pair[1]
                    .trimmingCharacters(in: CharacterSet(charactersIn: "\"/ "))
                    .replacingOccurrences(of: "&amp;", with: "&").replacingOccurrences(of: "&quot;", with: "\"")
            }
            result[port] = attributes
        }
        return result
    }

    @Test(
        .enabled(
            if: nmap != nil && memcached != nil && ServiceTools.redisServer != nil && sshd != nil && sshKeygen != nil
                && vsftpd != nil && dnsmasq != nil && canRunPostgres && apache != nil && isRoot && ServiceTools.python3 != nil,
            "nmap or one of the daemons is not installed (or not root)"))
    func nmapNamesTheSameProducts() throws {
        let scratch = try ServiceScratch()
        defer { scratch.remove() }
        let pgScratch = try ServiceScratch()
        defer { pgScratch.remove() }
        let servers = [
            try Self.startMemcached(scratch), try Self.startRedis(scratch), try Self.startSSHD(scratch),
            try Self.startVsftpd(scratch, localLogins: true), try Self.startVsftpd(scratch, localLogins: false),
            try Self.startDnsmasq(scratch), try Self.startPostgres(pgScratch), try Self.startApache(scratch),
        ]
        defer { for server in servers { server.stop() } }
        let oracle = try Self.nmapServices(servers.map(\.port), in: scratch)
        for server in servers {
            let theirs = try #require(oracle[server.port], "nmap did not report port \(server.port)")
            let ours = try #require(Self.detect(server.port), "portcullis named nothing on \(server.port)")
            #expect(ours.product == theirs["product"], "port \(server.port): nmap \(theirs)")
            // nmap's version and extra info wherever it has them.
            if let version = theirs["version"] { #expect(ours.version == version, "port \(server.port): nmap \(theirs)") }
            if let extra = theirs["extrainfo"], !extra.hasPrefix("uptime ") {
                #expect(ours.extraInfo == extra, "port \(server.port): nmap \(theirs)")
            }
        }
    }
}
