import Testing

@testable import PortcullisCore

/// Fixes written for the program that holds the socket, recognised by its
/// executable, and the generic fix when the program is unknown.
@Suite struct ProgramFixesTests {
    typealias F = AuditFixtures

    /// The findings of one socket held by `owner`, by rule.
    func findings(_ proto: TransportProtocol, _ port: UInt16, _ owner: SocketOwner, address: String = "0.0.0.0")
        -> [RuleID: Finding]
    {
        let report = F.audit([F.entry(proto, address, port, owners: [owner], inode: 1)])
        // Per socket: the report folds one program's findings about the same socket together.
        return Dictionary(report.listeners.flatMap(\.findings).map { ($0.rule, $0) }, uniquingKeysWith: { first, _ in first })
    }

    func owner(_ name: String, exe: String, cmdline: String? = nil, user: String = "root") -> SocketOwner {
        SocketOwner(
            pid: 4242, ppid: 1, name: name, cmdline: cmdline ?? exe, exe: exe, uid: user == "root" ? 0 : 120, user: user, fds: [3])
    }

    @Test func dnsmasqGetsItsOwnDirectivesNotBINDs() throws {
        let dns = try #require(findings(.udp, 53, owner("dnsmasq", exe: "/usr/sbin/dnsmasq"))[.udpAmplification])
        for directive in ["local-service", "interface=lo", "bind-interfaces", "port=0", "/etc/dnsmasq.conf"] {
            #expect(dns.remediation.contains(directive), "\(directive) missing: \(dns.remediation)")
        }
        #expect(!dns.remediation.contains("allow-recursion") && !dns.remediation.contains("access-control"), "\(dns.remediation)")
    }

    @Test func eachResolverGetsItsOwnFix() throws {
        let bind = try #require(findings(.udp, 53, owner("named", exe: "/usr/sbin/named"))[.udpAmplification])
        #expect(bind.remediation.contains("allow-recursion { localhost; localnets; };"))
        #expect(bind.remediation.contains("/etc/bind/named.conf.options"))
        let unbound = try #require(findings(.udp, 53, owner("unbound", exe: "/usr/sbin/unbound"))[.udpAmplification])
        #expect(unbound.remediation.contains("access-control:") && unbound.remediation.contains("interface: 127.0.0.1"))
        #expect(!unbound.remediation.contains("allow-recursion"))
        let resolved = owner("systemd-resolve", exe: "/usr/lib/systemd/systemd-resolved")
        let stub = try #require(findings(.udp, 53, resolved)[.udpAmplification])
        #expect(stub.remediation.contains("DNSStubListenerExtra="))
    }

    @Test func anUnknownProgramKeepsTheServicesGenericFix() throws {
        let generic = try #require(PortKnowledge.facts(port: 53, proto: .udp).first?.remediation)
        let dns = try #require(findings(.udp, 53, owner("mydns", exe: "/opt/mydns/bin/mydns"))[.udpAmplification])
        #expect(dns.remediation == generic)
        let redisFact = try #require(PortKnowledge.facts(port: 6379, proto: .tcp).first?.remediation)
        let someCache = try #require(findings(.tcp, 6379, owner("cachething", exe: "/usr/local/bin/cachething"))[.exposedDatastore])
        #expect(someCache.remediation == redisFact)
        #expect(ProgramFixes.recognise(.init(name: "mydns", executable: "/opt/mydns/bin/mydns")) == nil)
    }

    @Test func snmpdSMUXAndAgentFixes() throws {
        let snmpd = owner("snmpd", exe: "/usr/sbin/snmpd", user: "Debian-snmp")
        let smux = try #require(findings(.tcp, 199, snmpd)[.exposedAdminAPI])
        #expect(smux.remediation.contains("-I -smux") && smux.remediation.contains("smuxsocket 127.0.0.1"), "\(smux.remediation)")
        #expect(!smux.remediation.contains("community"))
        let agent = findings(.udp, 161, snmpd)
        for rule in [RuleID.udpAmplification, .cleartextRemoteAccess] {
            let finding = try #require(agent[rule], "\(rule)")
            #expect(finding.remediation.contains("agentaddress 127.0.0.1,[::1]") && finding.remediation.contains("rocommunity"))
            #expect(!finding.remediation.contains("smux"))
        }
    }

    @Test func sambaFixes() throws {
        let nmbd = try #require(findings(.udp, 137, owner("nmbd", exe: "/usr/sbin/nmbd"))[.udpAmplification])
        #expect(nmbd.remediation.contains("disable netbios = yes") && nmbd.remediation.contains("bind interfaces only = yes"))
        #expect(nmbd.remediation.contains("/etc/samba/smb.conf"))
        let text = try #require(
            ProgramFixes.fix(
                rule: .exposedFileSharing, service: nil, program: .init(name: "smbd", executable: "/usr/sbin/smbd"), port: 139, proto: .tcp)
        )
        #expect(text.contains("smb ports = 445") && text.contains("bind interfaces only = yes"))
    }

    @Test func timeServers() throws {
        let chronyd = owner("chronyd", exe: "/usr/sbin/chronyd", user: "_chrony")
        let ntp = try #require(findings(.udp, 123, chronyd)[.udpAmplification])
        #expect(ntp.remediation.contains("`allow`") && ntp.remediation.contains("`port 0`"), "\(ntp.remediation)")
        let command = findings(.udp, 323, chronyd)
        #expect(command[.udpAmplification] == nil, "chrony's command port is no amplifier")
        let admin = try #require(command[.exposedAdminAPI])
        #expect(admin.remediation.contains("cmdport 0") && admin.remediation.contains("bindcmdaddress"))
        #expect(admin.title.contains("chrony command port"))

        func ntpd(user: String, exe: String = "/usr/sbin/ntpd") throws -> String {
            try #require(findings(.udp, 123, owner("ntpd", exe: exe, user: user))[.udpAmplification]).remediation
        }
        let ntpsec = try ntpd(user: "ntpsec")
        #expect(ntpsec.contains("/etc/ntpsec/ntp.conf") && ntpsec.contains("noquery") && !ntpsec.contains("disable monitor"))
        let classic = try ntpd(user: "ntp")
        #expect(classic.contains("/etc/ntp.conf") && classic.contains("disable monitor") && !classic.contains("ntpsec"))
        let either = try ntpd(user: "root")
        #expect(either.contains("/etc/ntpsec/ntp.conf") && either.contains("/etc/ntp.conf"))
    }

    @Test func datastoreFixes() throws {
        let redis = try #require(findings(.tcp, 6379, owner("redis-server", exe: "/usr/bin/redis-server"))[.exposedDatastore])
        #expect(redis.remediation.contains("/etc/redis/redis.conf") && redis.remediation.contains("requirepass"))
        let memcached = findings(.udp, 11211, owner("memcached", exe: "/usr/bin/memcached"))
        #expect(try #require(memcached[.udpAmplification]).remediation.contains("-U 0"))
        let mariadb = try #require(findings(.tcp, 3306, owner("mariadbd", exe: "/usr/sbin/mariadbd"))[.exposedDatastore])
        #expect(mariadb.remediation.contains("/etc/mysql/mariadb.conf.d/50-server.cnf") && mariadb.remediation.contains("bind-address"))
        let postgres = try #require(
            findings(.tcp, 5432, owner("postgres", exe: "/usr/lib/postgresql/15/bin/postgres"))[.exposedDatastore])
        #expect(postgres.remediation.contains("/etc/postgresql/15/main/postgresql.conf") && postgres.remediation.contains("pg_hba.conf"))
        let mongo = try #require(findings(.tcp, 27017, owner("mongod", exe: "/usr/bin/mongod"))[.exposedDatastore])
        #expect(mongo.remediation.contains("net.bindIp") && mongo.remediation.contains("security.authorization: enabled"))
        let java = owner(
            "java", exe: "/usr/share/elasticsearch/jdk/bin/java",
            cmdline: "/usr/share/elasticsearch/jdk/bin/java -Xms1g org.elasticsearch.bootstrap.Elasticsearch")
        let elastic = try #require(findings(.tcp, 9200, java)[.exposedDatastore])
        #expect(elastic.remediation.contains("/etc/elasticsearch/elasticsearch.yml") && elastic.remediation.contains("network.host"))
        let etcd = try #require(findings(.tcp, 2379, owner("etcd", exe: "/usr/bin/etcd"))[.exposedAdminAPI])
        #expect(etcd.remediation.contains("ETCD_LISTEN_CLIENT_URLS") && etcd.remediation.contains("ETCD_CLIENT_CERT_AUTH=true"))
    }

    @Test func rpcbindAndCUPS() throws {
        let rpcbind = try #require(findings(.udp, 111, owner("rpcbind", exe: "/usr/sbin/rpcbind", user: "_rpc"))[.udpAmplification])
        #expect(rpcbind.remediation.contains("systemctl disable --now rpcbind.service rpcbind.socket"))
        #expect(rpcbind.remediation.contains("systemctl edit rpcbind.socket"))
        let browsed = try #require(findings(.udp, 631, owner("cups-browsed", exe: "/usr/sbin/cups-browsed"))[.udpAmplification])
        #expect(browsed.remediation.contains("BrowseRemoteProtocols"))
    }

    /// Postfix is recognised by its own directory: `master` and `smtpd` are
    /// names other programs use too (OpenSMTPD is /usr/sbin/smtpd).
    @Test func recognitionNeedsMoreThanAGenericName() {
        func known(_ name: String, _ exe: String?, cmdline: String = "", user: String? = nil) -> ProgramFixes.Known? {
            ProgramFixes.recognise(.init(name: name, executable: exe, commandLine: cmdline, user: user))
        }
        #expect(known("master", "/usr/lib/postfix/sbin/master") == .postfix)
        #expect(known("smtpd", "/usr/lib/postfix/sbin/smtpd") == .postfix)
        #expect(known("master", nil, cmdline: "/usr/lib/postfix/sbin/master -w") == .postfix)
        #expect(known("smtpd", "/usr/sbin/smtpd") == nil)
        #expect(known("master", "/usr/sbin/master") == nil)
        #expect(known("java", "/usr/bin/java", cmdline: "java -jar app.jar") == nil)
        #expect(known("beam.smp", "/usr/lib/erlang/erts-13/bin/beam.smp", cmdline: "beam.smp -- -s rabbit boot") == .rabbitmq)
        #expect(known("beam.smp", "/opt/couchdb/erts/bin/beam.smp", cmdline: "beam.smp -- -home /opt/couchdb") == .couchdb)
        // comm is cut to 15 bytes; a deleted executable keeps its name.
        #expect(known("clickhouse-serv", "/usr/bin/clickhouse") == .clickhouse)
        #expect(known("systemd-resolve", "/usr/lib/systemd/systemd-resolved (deleted)") == .systemdResolved)
        #expect(known("ntpd", "/usr/sbin/ntpd", user: "ntpsec") == .ntpsec)
        #expect(known("ntpd", "/usr/sbin/ntpd", user: "ntp") == .ntpd)
        #expect(known("ntpd", "/usr/sbin/ntpd") == .ntpdOrNtpsec)
    }

    /// Only rules about a listener's exposure have a program fix.
    @Test func otherRulesHaveNoProgramFix() {
        let dnsmasq = ProgramFixes.Program(name: "dnsmasq", executable: "/usr/sbin/dnsmasq")
        #expect(ProgramFixes.fix(rule: .deletedExecutable, service: nil, program: dnsmasq, port: 53, proto: .udp) == nil)
        #expect(ProgramFixes.fix(rule: .udpAmplification, service: nil, program: dnsmasq, port: 53, proto: .udp) != nil)
    }

    /// Every known program is reachable by recognition and has a fix naming
    /// a file or a command to run.
    @Test(arguments: ProgramFixes.Known.allCases)
    func everyKnownProgramHasAFix(_ known: ProgramFixes.Known) throws {
        let samples: [ProgramFixes.Known: ProgramFixes.Program] = [
            .dnsmasq: .init(name: "dnsmasq"), .bind: .init(name: "named"), .unbound: .init(name: "unbound"),
            .systemdResolved: .init(name: "systemd-resolve"), .chrony: .init(name: "chronyd"),
            .ntpd: .init(name: "ntpd", user: "ntp"), .ntpsec: .init(name: "ntpd", user: "ntpsec"), .ntpdOrNtpsec: .init(name: "ntpd"),
            .snmpd: .init(name: "snmpd"), .nmbd: .init(name: "nmbd"), .smbd: .init(name: "smbd"),
            .postfix: .init(name: "master", executable: "/usr/lib/postfix/sbin/master"), .exim: .init(name: "exim4"),
            .rpcbind: .init(name: "rpcbind"), .cupsd: .init(name: "cupsd"), .cupsBrowsed: .init(name: "cups-browsed"),
            .avahi: .init(name: "avahi-daemon"), .redis: .init(name: "redis-server"), .memcached: .init(name: "memcached"),
            .mariadb: .init(name: "mariadbd"), .mysql: .init(name: "mysqld"), .postgresql: .init(name: "postgres"),
            .mongodb: .init(name: "mongod"),
            .elasticsearch: .init(name: "java", commandLine: "java org.elasticsearch.bootstrap.Elasticsearch"),
            .opensearch: .init(name: "java", commandLine: "java org.opensearch.bootstrap.OpenSearch"), .etcd: .init(name: "etcd"),
            .rabbitmq: .init(name: "beam.smp", commandLine: "beam.smp -s rabbit"),
            .couchdb: .init(name: "beam.smp", commandLine: "beam.smp -home /opt/couchdb"), .influxdb: .init(name: "influxd"),
            .clickhouse: .init(name: "clickhouse-server"),
            .cassandra: .init(name: "java", commandLine: "java org.apache.cassandra.service.CassandraDaemon"),
        ]
        let program = try #require(samples[known], "no sample for \(known)")
        #expect(ProgramFixes.recognise(program) == known)
        let text = try #require(ProgramFixes.fix(rule: .exposedDatastore, service: nil, program: program, port: 1, proto: .tcp))
        #expect(text.contains("/etc/") || text.contains("/opt/") || text.contains("systemctl"), "\(known): \(text)")
        #expect(!known.recognisedBy.isEmpty)
    }
}
