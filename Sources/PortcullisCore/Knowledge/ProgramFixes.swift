/// Fixes written for the program that holds a socket, recognised by its
/// executable: the configuration file and the directive to change on a
/// Debian system, instead of a service's generic fix (dnsmasq gets
/// `local-service` and `interface=`, not BIND's `allow-recursion`).
///
/// Pure knowledge: no file is read. Every directive was checked against the
/// program's own manual (Debian bookworm packages) or its vendor's reference.
/// `fix` answers nil for a program it does not know; the caller then keeps
/// the service's generic fix.
public enum ProgramFixes {
    /// What is known about a program holding a socket, enough to recognise it.
    public struct Program: Sendable, Hashable {
        /// The process name as in /proc/PID/comm (at most 15 bytes).
        public var name: String
        /// The path of its executable (/proc/PID/exe), when known.
        public var executable: String?
        /// Its command line, arguments joined by spaces (tells Java and Erlang programs apart).
        public var commandLine: String
        /// The user it runs as, when known (ntpsec's ntpd runs as `ntpsec`, classic ntpd as `ntp`).
        public var user: String?

        /// A program from its comm name and, when known, executable path, command line and user.
        public init(name: String, executable: String? = nil, commandLine: String = "", user: String? = nil) {
            self.name = name
            self.executable = executable
            self.commandLine = commandLine
            self.user = user
        }

        /// The program a socket owner runs.
        public init(_ owner: SocketOwner) {
            self.init(name: owner.name, executable: owner.exe, commandLine: owner.cmdline, user: owner.user)
        }
    }

    /// The programs `fix` writes its own fixes for.
    public enum Known: String, Sendable, Hashable, CaseIterable {
        /// dnsmasq (DNS forwarder, DHCP and TFTP server).
        case dnsmasq
        /// ISC BIND 9 (`named`).
        case bind
        /// Unbound.
        case unbound
        /// systemd-resolved.
        case systemdResolved = "systemd-resolved"
        /// chrony (`chronyd`).
        case chrony
        /// The classic NTP daemon (`ntpd` from the ntp package).
        case ntpd
        /// NTPsec (its daemon is also `ntpd`).
        case ntpsec
        /// Either ntpd when nothing tells them apart.
        case ntpdOrNtpsec = "ntpd-or-ntpsec"
        /// net-snmp's agent (`snmpd`).
        case snmpd
        /// Samba's NetBIOS name server (`nmbd`).
        case nmbd
        /// Samba's file server (`smbd`).
        case smbd
        /// Postfix (`master` and `smtpd` under /usr/lib/postfix/sbin).
        case postfix
        /// Exim (`exim4` on Debian).
        case exim
        /// rpcbind (the ONC RPC portmapper).
        case rpcbind
        /// The CUPS scheduler (`cupsd`).
        case cupsd
        /// cups-browsed.
        case cupsBrowsed = "cups-browsed"
        /// Avahi (`avahi-daemon`).
        case avahi
        /// Redis (`redis-server`) and Valkey (`valkey-server`).
        case redis
        /// memcached.
        case memcached
        /// MariaDB (`mariadbd`).
        case mariadb
        /// MySQL or an older MariaDB (`mysqld`).
        case mysql
        /// PostgreSQL (`postgres`).
        case postgresql
        /// MongoDB (`mongod`, `mongos`).
        case mongodb
        /// Elasticsearch (a `java` process running org.elasticsearch).
        case elasticsearch
        /// OpenSearch (a `java` process running org.opensearch).
        case opensearch
        /// etcd.
        case etcd
        /// RabbitMQ (a `beam.smp` process running the rabbit application).
        case rabbitmq
        /// Apache CouchDB (a `beam.smp` process running couchdb).
        case couchdb
        /// InfluxDB (`influxd`).
        case influxdb
        /// ClickHouse (`clickhouse-server`).
        case clickhouse
        /// Apache Cassandra (a `java` process running org.apache.cassandra).
        case cassandra

        /// How the program is recognised, for the README and tests.
        public var recognisedBy: String {
            switch self {
            case .dnsmasq: return "dnsmasq"
            case .bind: return "named"
            case .unbound: return "unbound"
            case .systemdResolved: return "systemd-resolved (comm systemd-resolve)"
            case .chrony: return "chronyd"
            case .ntpd: return "ntpd running as user ntp"
            case .ntpsec: return "ntpd running as user ntpsec, or from an ntpsec path"
            case .ntpdOrNtpsec: return "ntpd, neither user nor path telling which"
            case .snmpd: return "snmpd"
            case .nmbd: return "nmbd"
            case .smbd: return "smbd"
            case .postfix: return "master or smtpd from /usr/lib/postfix/sbin"
            case .exim: return "exim4, exim"
            case .rpcbind: return "rpcbind"
            case .cupsd: return "cupsd"
            case .cupsBrowsed: return "cups-browsed"
            case .avahi: return "avahi-daemon"
            case .redis: return "redis-server, valkey-server"
            case .memcached: return "memcached"
            case .mariadb: return "mariadbd"
            case .mysql: return "mysqld"
            case .postgresql: return "postgres"
            case .mongodb: return "mongod, mongos"
            case .elasticsearch: return "java running org.elasticsearch"
            case .opensearch: return "java running org.opensearch"
            case .etcd: return "etcd"
            case .rabbitmq: return "beam.smp running rabbit"
            case .couchdb: return "beam.smp running couchdb"
            case .influxdb: return "influxd"
            case .clickhouse: return "clickhouse-server (comm clickhouse-serv)"
            case .cassandra: return "java running org.apache.cassandra"
            }
        }
    }

    /// The rules a program's fix answers: those about a listener reachable
    /// beyond loopback. Other rules (deleted executables, raw sockets ...)
    /// are not about the program's configuration.
    public static let rules: Set<RuleID> = [
        .exposedDatastore, .exposedAdminAPI, .cleartextRemoteAccess, .udpAmplification, .exposedFileSharing,
    ]

    /// Which of the known programs `program` is, or nil.
    public static func recognise(_ program: Program) -> Known? {
        let name = program.name
        let base = program.executable.map(baseName) ?? ""
        func named(_ candidates: String...) -> Bool {
            candidates.contains { PortKnowledge.executable(name, matches: $0) || base == $0 }
        }
        if named("dnsmasq") { return .dnsmasq }
        if named("named") { return .bind }
        if named("unbound") { return .unbound }
        if named("systemd-resolved") { return .systemdResolved }
        if named("chronyd") { return .chrony }
        if named("ntpd") {
            if program.user == "ntpsec" || (program.executable ?? "").contains("ntpsec") || program.commandLine.contains("ntpsec") {
                return .ntpsec
            }
            return program.user == "ntp" ? .ntpd : .ntpdOrNtpsec
        }
        if named("snmpd") { return .snmpd }
        if named("nmbd") { return .nmbd }
        if named("smbd") { return .smbd }
        if named("master", "smtpd") {
            // Both names are generic (OpenSMTPD is also smtpd): only Postfix's own directory counts.
            let path = program.executable ?? program.commandLine
            return path.contains("/postfix/") ? .postfix : nil
        }
        if named("exim4", "exim") { return .exim }
        if named("rpcbind") { return .rpcbind }
        if named("cupsd") { return .cupsd }
        if named("cups-browsed") { return .cupsBrowsed }
        if named("avahi-daemon") { return .avahi }
        if named("redis-server", "valkey-server") { return .redis }
        if named("memcached") { return .memcached }
        if named("mariadbd") { return .mariadb }
        if named("mysqld") { return .mysql }
        if named("postgres", "postmaster") { return .postgresql }
        if named("mongod", "mongos") { return .mongodb }
        if named("etcd") { return .etcd }
        if named("influxd") { return .influxdb }
        if named("clickhouse-server") { return .clickhouse }
        if named("java") {
            let line = program.commandLine
            if line.contains("org.elasticsearch.") { return .elasticsearch }
            if line.contains("org.opensearch.") { return .opensearch }
            if line.contains("org.apache.cassandra.") { return .cassandra }
            return nil
        }
        if named("beam.smp") {
            let line = program.commandLine
            if line.contains("couchdb") { return .couchdb }
            if line.contains("rabbit") { return .rabbitmq }
            return nil
        }
        return nil
    }

    /// The fix for `rule` about the socket on `port`/`proto` that `program`
    /// holds, where `service` is the knowledge the rule judged it by; nil when
    /// the program is unknown or the rule is not one of `rules`.
    public static func fix(
        rule: RuleID, service: PortFact?, program: Program, port: UInt16, proto: TransportProtocol
    ) -> String? {
        guard rules.contains(rule), let known = recognise(program) else { return nil }
        return text(known, program: program, service: service?.service, port: port, proto: proto)
    }

    /// The fix for the first of `owners` that is a known program (a socket
    /// shared by Postfix's master and its smtpd children names Postfix once).
    public static func fix(
        rule: RuleID, service: PortFact?, owners: [SocketOwner], port: UInt16, proto: TransportProtocol
    ) -> String? {
        guard rules.contains(rule) else { return nil }
        for owner in owners {
            if let text = fix(rule: rule, service: service, program: Program(owner), port: port, proto: proto) { return text }
        }
        return nil
    }

    static func baseName(_ path: String) -> String {
        // /proc/PID/exe of an upgraded program ends in " (deleted)".
        let trimmed = path.hasSuffix(" (deleted)") ? String(path.dropLast(10)) : path
        return trimmed.split(separator: "/").last.map(String.init) ?? trimmed
    }

    /// The PostgreSQL major version from /usr/lib/postgresql/VERSION/bin/postgres.
    static func postgresVersion(_ executable: String?) -> String? {
        guard let executable else { return nil }
        let parts = executable.split(separator: "/")
        guard let i = parts.firstIndex(of: "postgresql"), i + 1 < parts.count, parts[i + 1].allSatisfy(\.isNumber) else {
            return nil
        }
        return String(parts[i + 1])
    }

    static func text(_ known: Known, program: Program, service: String?, port: UInt16, proto: TransportProtocol) -> String {
        switch known {
        case .dnsmasq:
            if port == 53 || service == "dns" {
                return
                    "dnsmasq: in /etc/dnsmasq.conf (or a file in /etc/dnsmasq.d/) set `interface=lo` plus an `interface=` line per LAN interface that needs DNS, with `bind-interfaces` so it binds only those; or `local-service` to answer only hosts on directly attached subnets (Debian's start script adds it unless `interface=`, `except-interface=` or `listen-address=` is set); `port=0` turns DNS off when only DHCP or TFTP is wanted. Then `systemctl restart dnsmasq`."
            }
            if port == 69 || service == "tftp" {
                return
                    "dnsmasq: in /etc/dnsmasq.conf (or /etc/dnsmasq.d/) remove `enable-tftp` if nothing boots from this host, or limit it with `enable-tftp=<interface>` and `interface=` lines with `bind-interfaces`. Then `systemctl restart dnsmasq`."
            }
            return
                "dnsmasq: in /etc/dnsmasq.conf (or /etc/dnsmasq.d/) list only the interfaces that need service with `interface=` lines and `bind-interfaces`; `no-dhcp-interface=` keeps DHCP off an interface, and a `dhcp-range` line only where DHCP is wanted. Then `systemctl restart dnsmasq`."
        case .bind:
            return
                "BIND: in /etc/bind/named.conf.options set `allow-recursion { localhost; localnets; };` (or `recursion no;` on an authoritative-only server), `allow-transfer { none; };` unless secondaries need it, and `listen-on { 127.0.0.1; };` with `listen-on-v6 { ::1; };` if only this host queries it; an authoritative server answering the Internet also wants `rate-limit { responses-per-second 10; };`. Check with `named-checkconf`, then `systemctl reload named`."
        case .unbound:
            return
                "Unbound: in a file in /etc/unbound/unbound.conf.d/ (`server:` section) list `interface: 127.0.0.1` and `interface: ::1` (the default when no interface is given) plus only the LAN addresses that serve clients, and `access-control: <your-subnet> allow` for your own networks only (anything unlisted is refused). Check with `unbound-checkconf`, then `systemctl restart unbound` (interfaces change only on restart)."
        case .systemdResolved:
            let restart =
                " in /etc/systemd/resolved.conf (or a drop-in in /etc/systemd/resolved.conf.d/), then `systemctl restart systemd-resolved`"
            if port == 5355 || service == "llmnr" {
                return
                    "systemd-resolved: `LLMNR=no`\(restart); a link's own setting (systemd-networkd `LLMNR=` in its .network file, NetworkManager `connection.llmnr`) can turn it back on for that link."
            }
            if port == 5353 || service == "mdns" {
                return
                    "systemd-resolved: `MulticastDNS=no`\(restart) (and on the link: systemd-networkd `MulticastDNS=`, NetworkManager `connection.mdns`)."
            }
            if port == 53 || service == "dns" {
                return
                    "systemd-resolved: its stub answers on 127.0.0.53 and 127.0.0.54 only; a listener beyond loopback comes from a `DNSStubListenerExtra=` line: remove it (or give it a loopback address)\(restart)."
            }
            return
                "systemd-resolved: `LLMNR=no` and `MulticastDNS=no`, and no `DNSStubListenerExtra=` beyond loopback,\(restart)."
        case .chrony:
            let files = "/etc/chrony/chrony.conf (or /etc/chrony/conf.d/)"
            if port == 323 || service == "chrony-cmd" {
                return
                    "chrony: 323/udp is chronyd's command port, bound to 127.0.0.1 and ::1 unless a `bindcmdaddress` line says otherwise: remove that line (or set `bindcmdaddress 127.0.0.1` and `bindcmdaddress ::1`), or `cmdport 0` to close the port (chronyc still works over the Unix socket), in \(files). Then `systemctl restart chrony`."
            }
            return
                "chrony: chronyd serves NTP only to networks named by `allow` lines: in \(files) remove the `allow` lines if no other host takes time from this one (or narrow them to your own subnets, with `deny` for exceptions), or set `port 0` to make it a pure client that never opens 123. Then `systemctl restart chrony`."
        case .ntpd, .ntpsec, .ntpdOrNtpsec:
            // NTPsec has no mode 7 (monlist) at all; classic ntpd needs `disable monitor` for CVE-2013-5211.
            let (file, monitor, restart): (String, String, String)
            switch known {
            case .ntpsec: (file, monitor, restart) = ("/etc/ntpsec/ntp.conf", "", "`systemctl restart ntpsec`")
            case .ntpd: (file, monitor, restart) = ("/etc/ntp.conf", ", and `disable monitor`", "`systemctl restart ntp`")
            default:
                (file, monitor, restart) = (
                    "ntp.conf (/etc/ntpsec/ntp.conf for NTPsec, /etc/ntp.conf for classic ntpd)",
                    ", and on classic ntpd `disable monitor`", "restart it (`systemctl restart ntpsec` or `ntp`)"
                )
            }
            return
                "ntpd: in \(file) keep `restrict default kod nomodify nopeer noquery limited` (plus `noserve` if no other host takes time from this one) and `restrict 127.0.0.1` / `restrict ::1`\(monitor); ntpd uses 123 to reach its own servers too, so also drop inbound 123/udp except from them in the firewall. Then \(restart)."
        case .snmpd:
            if (port == 199 && proto == .tcp) || service == "smux" {
                return
                    "snmpd: 199/tcp is SMUX, which Debian's snmpd.service turns off with `-I -smux,mteTrigger,mteTriggerConf`: put `-I -smux` back in the ExecStart (`systemctl edit snmpd`; /etc/default/snmpd only serves the init script), or, if a sub-agent needs SMUX, `smuxsocket 127.0.0.1` in /etc/snmp/snmpd.conf. Then `systemctl restart snmpd`."
            }
            return
                "snmpd: in /etc/snmp/snmpd.conf (and /etc/snmp/snmpd.conf.d/) set `agentaddress 127.0.0.1,[::1]` (Debian's default) or only the management network's address, remove `rocommunity`/`rwcommunity` lines (above all `public` and `private`), and use SNMPv3 users with `authpriv` (`net-snmp-create-v3-user`). Then `systemctl restart snmpd`."
        case .nmbd:
            return
                "nmbd: current SMB clients need no NetBIOS: set `disable netbios = yes` in [global] of /etc/samba/smb.conf and `systemctl disable --now nmbd`. To keep it for a LAN: `interfaces = lo <lan-if>` and `bind interfaces only = yes`; nmbd still holds 0.0.0.0:137/138 for broadcasts but then answers only the listed interfaces' networks. Check with `testparm`."
        case .smbd:
            let netbios = port == 139 ? "`smb ports = 445` drops SMB over NetBIOS on 139; " : ""
            return
                "smbd: in [global] of /etc/samba/smb.conf, \(netbios)`interfaces = lo <lan-if>` with `bind interfaces only = yes` keeps smbd off other networks. Check with `testparm`, then `systemctl restart smbd`."
        case .postfix:
            let submission =
                port == 587 || port == 465
                ? " If no mail client submits here, also comment out the `submission` (587) and `smtps`/`submissions` (465) services in /etc/postfix/master.cf."
                : ""
            return
                "Postfix: `inet_interfaces = loopback-only` in /etc/postfix/main.cf (`postconf -e inet_interfaces=loopback-only`) when this host only sends its own mail, otherwise the addresses that should receive mail; Postfix must be stopped and started for it: `systemctl restart postfix` (a reload is not enough).\(submission)"
        case .exim:
            return
                "Exim (Debian): `dc_local_interfaces='127.0.0.1 ; ::1'` in /etc/exim4/update-exim4.conf.conf (or `dpkg-reconfigure exim4-config`), then `update-exim4.conf` and `systemctl restart exim4`."
        case .rpcbind:
            return
                "rpcbind: needed only for NFSv3 (mountd, statd, lockd) and NIS; without them `systemctl disable --now rpcbind.service rpcbind.socket`. To keep it: under systemd rpcbind.socket owns 111 and `-h` in /etc/default/rpcbind is ignored (rpcbind(8)), so `systemctl edit rpcbind.socket`: empty `ListenStream=` and `ListenDatagram=` lines, then `ListenStream=/run/rpcbind.sock` and 127.0.0.1:111 plus the NFS network's address."
        case .cupsd:
            return
                "CUPS: in /etc/cups/cupsd.conf use `Listen localhost:631` (Debian's default) and `Listen /run/cups/cups.sock` instead of `Port 631` or `Listen *:631`, and `Browsing No` if no other host prints here. Then `systemctl restart cups`."
        case .cupsBrowsed:
            return
                "cups-browsed: it listens on 631/udp only for the legacy CUPS browsing protocol: set `BrowseRemoteProtocols dnssd` (Debian's default) or `none` in /etc/cups/cups-browsed.conf and `systemctl restart cups-browsed`; on a server that finds no network printers, `systemctl disable --now cups-browsed` (its 631/udp listener was the way in for CVE-2024-47176)."
        case .avahi:
            return
                "Avahi: a server needs no mDNS: `systemctl disable --now avahi-daemon.service avahi-daemon.socket`. To keep it: in /etc/avahi/avahi-daemon.conf set `allow-interfaces=<lan-if>` (and `use-ipv4=no` or `use-ipv6=no` for an unused family) in [server], `publish-workstation=no` (or `disable-publishing=yes` for a browse-only host) in [publish], and `enable-reflector=no`; it keeps its 0.0.0.0:5353 socket but ignores other interfaces. Then `systemctl restart avahi-daemon`."
        case .redis:
            let valkey =
                PortKnowledge.executable(program.name, matches: "valkey-server") || (program.executable ?? "").hasSuffix("/valkey-server")
            let (file, unit) = valkey ? ("/etc/valkey/valkey.conf", "valkey-server") : ("/etc/redis/redis.conf", "redis-server")
            return
                "\(valkey ? "Valkey" : "Redis"): in \(file) set `bind 127.0.0.1 -::1` (Debian's default) or only the application network's address, keep `protected-mode yes`, and set `requirepass` or ACL users before any other bind. Then `systemctl restart \(unit)`."
        case .memcached:
            return
                "memcached: in /etc/memcached.conf keep `-l 127.0.0.1` (Debian's default) or only the application network's address, and `-U 0` so UDP stays off (memcached has no authentication unless built with SASL, `-S`). Then `systemctl restart memcached`."
        case .mariadb:
            return
                "MariaDB: `bind-address = 127.0.0.1` in [mysqld] of /etc/mysql/mariadb.conf.d/50-server.cnf (Debian's default) or only the application network's address; drop anonymous and remote root accounts (`SELECT user, host FROM mysql.user`). Then `systemctl restart mariadb`."
        case .mysql:
            let x = port == 33060 ? " and `mysqlx-bind-address = 127.0.0.1` for the X Protocol on 33060" : ""
            return
                "MySQL/MariaDB (mysqld): `bind-address = 127.0.0.1`\(x) in [mysqld] of /etc/mysql/mysql.conf.d/mysqld.cnf (MySQL) or /etc/mysql/mariadb.conf.d/50-server.cnf (MariaDB), or only the application network's address; drop anonymous and remote root accounts. Then restart it (`systemctl restart mysql` or `mariadb`)."
        case .postgresql:
            let version = postgresVersion(program.executable) ?? "<version>"
            return
                "PostgreSQL: `listen_addresses = 'localhost'` (the default) in /etc/postgresql/\(version)/main/postgresql.conf, or only the addresses clients use; in pg_hba.conf next to it, `scram-sha-256` for the client networks only and never `trust` on `host` lines. `listen_addresses` takes a restart: `systemctl restart postgresql`."
        case .mongodb:
            return
                "MongoDB: in /etc/mongod.conf keep `net.bindIp: 127.0.0.1` (the default since 3.6; `bindIpAll` or 0.0.0.0 opened it) or add only private addresses, and set `security.authorization: enabled` once an admin user exists. Then `systemctl restart mongod`."
        case .elasticsearch:
            return
                "Elasticsearch: in /etc/elasticsearch/elasticsearch.yml set `network.host: 127.0.0.1` for a single node (or `http.host` for 9200 and `transport.host` for 9300 separately) and keep `xpack.security.enabled: true` (the 8.x default). Then `systemctl restart elasticsearch`."
        case .opensearch:
            return
                "OpenSearch: in /etc/opensearch/opensearch.yml set `network.host: 127.0.0.1` for a single node (or `http.host` and `transport.host` separately) and keep the security plugin on (`plugins.security.disabled: false`). Then `systemctl restart opensearch`."
        case .etcd:
            if port == 2380 {
                return
                    "etcd: peers only on 2380: `ETCD_LISTEN_PEER_URLS` (--listen-peer-urls) on the members' network in /etc/default/etcd, with `ETCD_PEER_CLIENT_CERT_AUTH=true` and `ETCD_PEER_TRUSTED_CA_FILE`. Then `systemctl restart etcd`."
            }
            return
                "etcd: in /etc/default/etcd set `ETCD_LISTEN_CLIENT_URLS` (--listen-client-urls) to https://127.0.0.1:2379 plus only its clients' addresses, with `ETCD_CLIENT_CERT_AUTH=true`, `ETCD_TRUSTED_CA_FILE`, `ETCD_CERT_FILE` and `ETCD_KEY_FILE` so clients need a certificate. Then `systemctl restart etcd`."
        case .rabbitmq:
            if port == 15672 {
                return
                    "RabbitMQ: `management.tcp.ip = 127.0.0.1` in /etc/rabbitmq/rabbitmq.conf (reach the UI through a tunnel or proxy), and remove unused administrator accounts. Then `systemctl restart rabbitmq-server`."
            }
            if port == 25672 {
                return
                    "RabbitMQ: Erlang distribution (25672) is for cluster members only: firewall it (and epmd's 4369) to the other nodes; `{kernel, [{inet_dist_use_interface, {127,0,0,1}}]}` in /etc/rabbitmq/advanced.config keeps a single node's on loopback. Then `systemctl restart rabbitmq-server`."
            }
            return
                "RabbitMQ: in /etc/rabbitmq/rabbitmq.conf set `listeners.tcp.local = 127.0.0.1:5672` (and `listeners.tcp.local_v6 = ::1:5672`), or only the clients' network, or `listeners.tcp = none` with TLS on 5671 (`listeners.ssl.default = 5671`); delete the `guest` user. Then `systemctl restart rabbitmq-server`."
        case .couchdb:
            return
                "CouchDB: in [chttpd] of /opt/couchdb/etc/local.ini set `bind_address = 127.0.0.1` and `require_valid_user = true`, with an admin in [admins]. Then `systemctl restart couchdb`."
        case .influxdb:
            return
                "InfluxDB: 2.x: `http-bind-address = \"127.0.0.1:8086\"` in /etc/influxdb/config.toml; 1.x: `bind-address = \"127.0.0.1:8086\"` and `auth-enabled = true` in [http] of /etc/influxdb/influxdb.conf (the top-level `bind-address` is the backup service on 8088). Then `systemctl restart influxdb`."
        case .clickhouse:
            return
                "ClickHouse: in a file in /etc/clickhouse-server/config.d/ set `<listen_host>127.0.0.1</listen_host>` and `<listen_host>::1</listen_host>` (or only private addresses), and give the `default` user a password in /etc/clickhouse-server/users.d/. Then `systemctl restart clickhouse-server`."
        case .cassandra:
            return
                "Cassandra: in /etc/cassandra/cassandra.yaml set `rpc_address` (CQL, 9042) to 127.0.0.1 or the clients' network and `listen_address` (7000/7001) to the cluster network, with `authenticator: PasswordAuthenticator` and `authorizer: CassandraAuthorizer`; keep JMX (7199) local with `LOCAL_JMX=yes` in /etc/cassandra/cassandra-env.sh. Then `systemctl restart cassandra`."
        }
    }
}
