/// What kind of service a port usually carries, as far as its security
/// matters.
public enum PortCategory: String, Sendable, Hashable, CaseIterable, Codable {
    /// Databases, caches, queues, search engines, coordination stores.
    case datastore
    /// Control planes and management APIs: Docker API, kubelet, etcd,
    /// RabbitMQ management, Prometheus and its exporters.
    case adminAPI = "admin_api"
    /// Remote access or management without encryption: telnet, ftp, the
    /// r-services, tftp, VNC, X11, SNMP v1/v2c.
    case cleartextRemoteAccess = "cleartext_remote_access"
    /// Encrypted remote access: SSH, RDP.
    case remoteAccess = "remote_access"
    /// UDP services that answer a small (spoofable) request with a large
    /// reply, used for reflection DDoS.
    case amplification
    /// SMB/NetBIOS, NFS, rpcbind, rsync.
    case fileSharing = "file_sharing"
    /// Web servers: HTTP and HTTPS on their standard and alternate ports, PHP-FPM.
    case web
    /// Mail transfer, submission and retrieval: SMTP, POP3, IMAP.
    case mail
    /// Ports commonly abused by backdoors and trojans. A listener on one is a
    /// reason to look, never proof of compromise.
    case backdoor
    /// Anything else worth a fact: LDAP, syslog, IRC, SOCKS/HTTP proxies, discard.
    case other
}

/// How serious a service is when it listens beyond loopback, as a starting
/// point for audit rules (which also weigh exposure, owner and baseline).
public typealias SeverityHint = Severity

/// One thing portcullis knows about a port or range of ports.
public struct PortFact: Sendable, Hashable, Codable {
    /// How much the port number alone says about the service.
    public enum Confidence: String, Sendable, Hashable, Codable {
        /// The service's registered or de facto port.
        case high
        /// A convention shared by many programs (e.g. the 9100–9999 exporter
        /// range): a hint, shown after the specific facts.
        case low
    }

    /// The ports the fact covers, as ranges (a single port is a one-port range).
    public let ports: [ClosedRange<UInt16>]
    /// The protocols the service uses on those ports; the fact covers a port only over these.
    public let protocols: Set<TransportProtocol>
    /// Short, unique, stable id such as "redis".
    public let service: String
    /// Display name such as "Redis".
    public let title: String
    /// Other names a user may type for it ("mariadb", "samba", "k8s").
    public let aliases: [String]
    /// One sentence: what normally listens here.
    public let commonlyRunsHere: String
    /// The service's main kind (datastore, admin API, cleartext access, ...); audit rules choose by it and `alsoCategories`.
    public let category: PortCategory
    /// Further categories that also apply (memcached is a datastore and an
    /// amplification vector over UDP).
    public let alsoCategories: Set<PortCategory>
    /// What an administrator should know: true, specific, short.
    public let securityNotes: [String]
    /// A concrete action, when there is one.
    public let remediation: String?
    /// Process names (as in /proc/PID/comm) that identify the service on any
    /// port. Names too generic to mean anything (java, node, beam.smp,
    /// python3) are deliberately left out.
    public let executables: [String]
    /// The severity audit rules start from when the service listens beyond loopback.
    public let severityHint: SeverityHint
    /// How much the port number alone says; low-confidence facts are listed after the specific ones.
    public let confidence: Confidence
    /// The service is an HTTP API or web interface, so an HTTP answer on its
    /// port is consistent with it (the scan rules keep a port's fact when
    /// `--service` heard HTTP there, and drop it when it heard anything else).
    public let speaksHTTP: Bool

    /// Builds a fact; the defaults are no aliases, further categories or executables, no remediation, high confidence, not HTTP.
    public init(
        ports: [ClosedRange<UInt16>], protocols: Set<TransportProtocol>, service: String, title: String,
        aliases: [String] = [], commonlyRunsHere: String, category: PortCategory,
        alsoCategories: Set<PortCategory> = [], securityNotes: [String], remediation: String? = nil,
        executables: [String] = [], severityHint: SeverityHint, confidence: Confidence = .high, speaksHTTP: Bool = false
    ) {
        self.ports = ports
        self.protocols = protocols
        self.service = service
        self.title = title
        self.aliases = aliases
        self.commonlyRunsHere = commonlyRunsHere
        self.category = category
        self.alsoCategories = alsoCategories
        self.securityNotes = securityNotes
        self.remediation = remediation
        self.executables = executables
        self.severityHint = severityHint
        self.confidence = confidence
        self.speaksHTTP = speaksHTTP
    }

    /// Whether `category` is this fact's category or one of `alsoCategories`.
    public func isIn(_ category: PortCategory) -> Bool {
        self.category == category || alsoCategories.contains(category)
    }

    /// Whether the fact is about `port` over `proto`: `proto` is one of `protocols` and the port lies in one of `ports`.
    public func covers(port: UInt16, proto: TransportProtocol) -> Bool {
        protocols.contains(proto) && ports.contains { $0.contains(port) }
    }
}

/// The one place holding what portcullis knows about ports, used by
/// `portcullis explain` and by audit rules.
public enum PortKnowledge {
    /// Every fact portcullis knows, in table order; `facts(port:proto:)` and `facts(named:)` search it.
    public static let facts: [PortFact] = PortKnowledgeTable.all

    /// Facts covering `port` over `proto`, most specific first (narrowest
    /// range, then high confidence before low). RAW sockets have no ports.
    public static func facts(port: UInt16, proto: TransportProtocol) -> [PortFact] {
        // Most listeners' ports have no facts: one bit says so without hashing.
        guard let bit = Index.bit(port: port, proto: proto), portsWithFacts[bit >> 6] & (1 << UInt64(bit & 63)) != 0,
            let slot = index.byPort[Key(port: port, proto: proto)]
        else { return [] }
        return slot.map { facts[$0] }
    }

    /// Facts whose service id, title, alias or executable equals `named`,
    /// ignoring case.
    public static func facts(named: String) -> [PortFact] {
        let wanted = named.lowercased()
        guard !wanted.isEmpty else { return [] }
        return facts.filter { fact in
            fact.service.lowercased() == wanted || fact.title.lowercased() == wanted
                || fact.aliases.contains { $0.lowercased() == wanted }
                || fact.executables.contains { $0.lowercased() == wanted }
        }
    }

    /// Facts naming `executable` (a process name) as one of theirs. The
    /// kernel truncates /proc/PID/comm to 15 bytes, so a 15-byte name also
    /// matches longer executables it is a prefix of
    /// ("prometheus-node" → "prometheus-node-exporter").
    public static func facts(executable: String) -> [PortFact] {
        guard !executable.isEmpty else { return [] }
        // Looked up, not scanned: the audit asks once per socket owner, and
        // a scan of the whole table per owner was a tenth of the overview's
        // time on a host with 10,000 listeners.
        var slots = index.byExecutable[executable] ?? []
        if executable.utf8.count == commLength, let longer = index.byCommPrefix[Array(executable.utf8)] {
            // Table order, each fact once, as a filter of the table gives.
            slots = Array(Set(slots).union(longer)).sorted()
        }
        return slots.map { facts[$0] }
    }

    /// `Index.withFacts` on its own, so that testing a bit reads one array.
    static let portsWithFacts = index.withFacts

    /// TASK_COMM_LEN (16) minus the terminating NUL.
    static let commLength = 15

    /// Whether a process named `name` (its comm, at most 15 bytes) runs
    /// `executable`: the same name, or a 15-byte prefix of a longer one.
    static func executable(_ name: String, matches executable: String) -> Bool {
        name == executable || (name.utf8.count == commLength && executable.utf8.starts(with: name.utf8))
    }

    struct Key: Hashable {
        var port: UInt16
        var proto: TransportProtocol
    }

    struct Index {
        var byPort: [Key: [Int]]
        /// One bit per TCP and UDP port (`bit(port:proto:)`): set when `byPort` has it.
        var withFacts: [UInt64]
        /// Fact indices (table order) by each of their executables' names.
        var byExecutable: [String: [Int]]
        /// Fact indices (table order) by the first `commLength` bytes of
        /// their executables' names longer than that: what /proc/PID/comm
        /// shows for them.
        var byCommPrefix: [[UInt8]: [Int]]

        static func bit(port: UInt16, proto: TransportProtocol) -> Int? {
            switch proto {
            case .tcp: return Int(port)
            case .udp: return 65536 + Int(port)
            case .raw: return nil
            }
        }
    }

    /// Built once, on first use.
    static let index: Index = {
        var byPort: [Key: [Int]] = [:]
        for (i, fact) in facts.enumerated() {
            for range in fact.ports {
                for port in range {
                    for proto in fact.protocols where proto != .raw {
                        byPort[Key(port: port, proto: proto), default: []].append(i)
                    }
                }
            }
        }
        // Narrowest range first so "Elasticsearch" comes before "some
        // Prometheus exporter" on 9200; ties keep table order.
        func width(_ i: Int, _ port: UInt16) -> Int {
            facts[i].ports.first { $0.contains(port) }?.count ?? Int.max
        }
        for (key, slot) in byPort where slot.count > 1 {
            byPort[key] = slot.enumerated().sorted { a, b in
                let (fa, fb) = (facts[a.element], facts[b.element])
                if fa.confidence != fb.confidence { return fa.confidence == .high }
                let (wa, wb) = (width(a.element, key.port), width(b.element, key.port))
                return wa != wb ? wa < wb : a.offset < b.offset
            }.map(\.element)
        }
        var byExecutable: [String: [Int]] = [:]
        var byCommPrefix: [[UInt8]: [Int]] = [:]
        for (i, fact) in facts.enumerated() {
            for name in fact.executables {
                if byExecutable[name]?.last != i { byExecutable[name, default: []].append(i) }
                if name.utf8.count > commLength {
                    let prefix = Array(name.utf8.prefix(commLength))
                    if byCommPrefix[prefix]?.last != i { byCommPrefix[prefix, default: []].append(i) }
                }
            }
        }
        var withFacts = [UInt64](repeating: 0, count: 2 * 65536 / 64)
        for key in byPort.keys {
            if let bit = Index.bit(port: key.port, proto: key.proto) { withFacts[bit >> 6] |= 1 << UInt64(bit & 63) }
        }
        return Index(byPort: byPort, withFacts: withFacts, byExecutable: byExecutable, byCommPrefix: byCommPrefix)
    }()
}

/// The table itself. Notes are written for an administrator deciding what to
/// do about a listener: what it exposes, how it is attacked, what to check.
enum PortKnowledgeTable {
    private static let tcp: Set<TransportProtocol> = [.tcp]
    private static let udp: Set<TransportProtocol> = [.udp]
    private static let both: Set<TransportProtocol> = [.tcp, .udp]

    static let all: [PortFact] =
        inetdSmallServers + remoteAccess + infrastructure + web + mail
        + fileSharing + datastores + adminAPIs + backdoors

    // MARK: inetd "small servers"

    static let inetdSmallServers: [PortFact] = [
        PortFact(
            ports: [7...7], protocols: both, service: "echo", title: "Echo",
            commonlyRunsHere: "The echo service (RFC 862), normally built into inetd or xinetd and off by default.",
            category: .amplification, alsoCategories: [.other],
            securityNotes: [
                "UDP echo sends any datagram back to its source address, which can be spoofed: a reflector, and one half of the classic echo/chargen packet loop (CVE-1999-0103).",
                "Nothing modern needs it; if it is on, check for chargen, discard and daytime too.",
            ],
            remediation:
                "Disable the inetd/xinetd internal service (`disable = yes` in /etc/xinetd.d/echo-dgram and echo-stream, or remove the echo lines from /etc/inetd.conf).",
            severityHint: .medium),
        PortFact(
            ports: [9...9], protocols: both, service: "discard", title: "Discard",
            commonlyRunsHere: "The discard service (RFC 863), built into inetd or xinetd.",
            category: .other,
            securityNotes: [
                "Harmless by itself, but it has no modern use and shows that inetd's small servers are enabled: check echo and chargen, which are abusable."
            ],
            remediation: "Disable the inetd/xinetd internal discard service.",
            severityHint: .low),
        PortFact(
            ports: [13...13], protocols: both, service: "daytime", title: "Daytime",
            commonlyRunsHere: "The daytime service (RFC 867), built into inetd or xinetd.",
            category: .amplification,
            securityNotes: [
                "Answers any UDP datagram with the date: a small reflection factor, and it discloses the host's clock and time zone."
            ],
            remediation: "Disable the inetd/xinetd internal daytime service.",
            severityHint: .low),
        PortFact(
            ports: [19...19], protocols: both, service: "chargen", title: "Character Generator",
            commonlyRunsHere: "The chargen service (RFC 864), built into inetd or xinetd.",
            category: .amplification,
            securityNotes: [
                "Answers any UDP datagram with up to 512 bytes of text: one of the oldest reflection/amplification DDoS vectors, still scanned for.",
                "Paired with echo it makes an endless packet loop between two hosts (CVE-1999-0103).",
            ],
            remediation: "Disable the inetd/xinetd internal chargen service (chargen-dgram and chargen-stream).",
            severityHint: .high),
    ]

    // MARK: remote access

    static let remoteAccess: [PortFact] = [
        PortFact(
            ports: [20...21], protocols: tcp, service: "ftp", title: "FTP", aliases: ["ftp-data"],
            commonlyRunsHere: "An FTP server: 21 is the control connection, 20 the data connection in active mode.",
            category: .cleartextRemoteAccess, alsoCategories: [.fileSharing],
            securityNotes: [
                "User names, passwords and files cross the network in cleartext unless the server enforces FTPS.",
                "Check for anonymous login (`ftp HOST`, user `anonymous`), especially with write access.",
                "Passive mode needs a range of high ports open in the firewall; active mode makes the server connect out from port 20.",
                "vsftpd 2.3.4 source downloads were backdoored in 2011 (a `:)` user name opened a root shell on 6200/tcp).",
            ],
            remediation:
                "Replace FTP with SFTP (part of OpenSSH). If FTP must stay, require TLS (`ssl_enable=YES`, `force_local_logins_ssl=YES` in vsftpd.conf) and set `anonymous_enable=NO`.",
            executables: ["vsftpd", "proftpd", "pure-ftpd", "in.ftpd"],
            severityHint: .high),
        PortFact(
            ports: [22...22], protocols: tcp, service: "ssh", title: "SSH", aliases: ["openssh", "sftp"],
            commonlyRunsHere: "The OpenSSH server (sshd) or Dropbear, for remote shells, SFTP and port forwarding.",
            category: .remoteAccess,
            securityNotes: [
                "An Internet-facing sshd receives password guessing around the clock; key-only authentication makes that noise harmless.",
                "Keep it patched: CVE-2024-6387 (regreSSHion) was unauthenticated remote code execution as root in OpenSSH 8.5p1–9.7p1 on glibc systems.",
                "Moving SSH to another port reduces log noise; it is not access control.",
                "AllowTcpForwarding and GatewayPorts decide whether users can open further listeners through sshd.",
            ],
            remediation:
                "Set `PasswordAuthentication no`, `KbdInteractiveAuthentication no` and `PermitRootLogin prohibit-password` in /etc/ssh/sshd_config, then `sshd -t && systemctl reload ssh` (`sshd` on Red Hat-family systems).",
            executables: ["sshd", "sshd-session", "dropbear"],
            severityHint: .low),
        PortFact(
            ports: [23...23], protocols: tcp, service: "telnet", title: "Telnet",
            commonlyRunsHere: "A telnet daemon (in.telnetd, often socket-activated or from inetd, or BusyBox telnetd on embedded devices).",
            category: .cleartextRemoteAccess,
            securityNotes: [
                "The whole session, password included, is cleartext and can be read or hijacked by anyone on the path.",
                "Mirai-style botnets scan 23 (and 2323) for devices with default credentials.",
                "GNU inetutils telnetd up to 2.7 let a remote client log in as root without a password by passing `-f root` as USER (CVE-2026-24061).",
            ],
            remediation:
                "`systemctl disable --now telnet.socket` (or remove telnet from /etc/inetd.conf or /etc/xinetd.d), uninstall the server package, and use SSH.",
            executables: ["in.telnetd", "telnetd", "utelnetd"],
            severityHint: .high),
        PortFact(
            ports: [512...512], protocols: tcp, service: "rexec", title: "rexec",
            commonlyRunsHere: "The Berkeley rexec daemon (in.rexecd), from rsh-server, normally started by inetd.",
            category: .cleartextRemoteAccess,
            securityNotes: [
                "Runs commands after a user name and password sent in cleartext, with no brute-force protection.",
                "512/udp is a different service (biff/comsat).",
            ],
            remediation: "Remove rsh-server (or its inetd lines) and use SSH.",
            executables: ["in.rexecd", "rexecd"],
            severityHint: .high),
        PortFact(
            ports: [513...513], protocols: tcp, service: "rlogin", title: "rlogin",
            commonlyRunsHere: "The Berkeley rlogin daemon (in.rlogind), from rsh-server, normally started by inetd.",
            category: .cleartextRemoteAccess,
            securityNotes: [
                "Cleartext sessions; with ~/.rhosts or /etc/hosts.equiv it logs users in with no password, trusting the client's address and claimed user name.",
                "A `+ +` line in .rhosts or hosts.equiv trusts every host and user — a classic backdoor.",
            ],
            remediation: "Remove rsh-server (or its inetd lines), delete .rhosts and hosts.equiv files, and use SSH.",
            executables: ["in.rlogind", "rlogind"],
            severityHint: .high),
        PortFact(
            ports: [514...514], protocols: tcp, service: "rsh", title: "rsh",
            commonlyRunsHere: "The Berkeley remote shell daemon (in.rshd), from rsh-server, normally started by inetd.",
            category: .cleartextRemoteAccess,
            securityNotes: [
                "Runs commands with no password for any client trusted by ~/.rhosts or /etc/hosts.equiv, judged only by source address and claimed user name, both spoofable.",
                "514/udp is syslog, not rsh.",
            ],
            remediation: "Remove rsh-server (or its inetd lines), delete .rhosts and hosts.equiv files, and use SSH.",
            executables: ["in.rshd", "rshd"],
            severityHint: .critical),
        PortFact(
            ports: [3389...3389], protocols: both, service: "rdp", title: "Remote Desktop (RDP)",
            aliases: ["ms-wbt-server", "xrdp"],
            commonlyRunsHere: "On Linux, xrdp or GNOME Remote Desktop; on Windows, Remote Desktop Services.",
            category: .remoteAccess,
            securityNotes: [
                "Internet-exposed RDP is a leading ransomware entry point, through password spraying and bugs such as BlueKeep (CVE-2019-0708).",
                "xrdp's default `security_layer=negotiate` can fall back to the weak classic RDP encryption.",
                "A desktop login usually accepts the same passwords as SSH but without key-only options.",
            ],
            remediation:
                "Reach it through a VPN or `ssh -L 3389:localhost:3389`, not directly; in /etc/xrdp/xrdp.ini set `security_layer=tls`.",
            executables: ["xrdp", "gnome-remote-desktop-daemon"],
            severityHint: .high),
        PortFact(
            ports: [5800...5800, 5900...5906], protocols: tcp, service: "vnc", title: "VNC (RFB)", aliases: ["rfb"],
            commonlyRunsHere: "A VNC server for display :0 to :6 (5900+N), or its web viewer on 5800.",
            category: .cleartextRemoteAccess,
            securityNotes: [
                "Classic VNC authentication uses at most 8 password characters and does not encrypt the session unless the server negotiates VeNCrypt/TLS.",
                "Servers with no authentication at all are common on the Internet and give full keyboard and screen control.",
                "5800 serves an HTTP page with a viewer for the same desktop.",
            ],
            remediation:
                "Listen on localhost only (`-localhost` for TigerVNC/x11vnc, `wayvnc 127.0.0.1`) and connect through `ssh -L 5900:localhost:5900`.",
            executables: ["Xvnc", "Xtigervnc", "x11vnc", "x0vncserver", "wayvnc", "vino-server"],
            severityHint: .high),
        PortFact(
            ports: [6000...6063], protocols: tcp, service: "x11", title: "X11",
            aliases: ["x window system", "xorg"],
            commonlyRunsHere:
                "An X server accepting TCP clients for display :N on 6000+N; 6010 and up on 127.0.0.1 is sshd forwarding X11 for an `ssh -X` session.",
            category: .cleartextRemoteAccess,
            securityNotes: [
                "A client admitted by an X server can read every keystroke, capture the screen and inject input; `xhost +` admits everyone.",
                "Xorg and display managers start with `-nolisten tcp` by default, so a listener beyond loopback was enabled on purpose.",
                "sshd's X11 forwarding listens on 127.0.0.1:6010+ while a session is open (`X11UseLocalhost yes`, the default): expected.",
            ],
            remediation:
                "Remove `-listen tcp` from the X server command line (GDM `DisallowTCP=false`, LightDM `xserver-allow-tcp=true`) and use `ssh -X` instead.",
            executables: ["Xorg", "X", "Xwayland", "Xvfb"],
            severityHint: .high),
        PortFact(
            ports: [1194...1194], protocols: both, service: "openvpn", title: "OpenVPN",
            commonlyRunsHere: "An OpenVPN server (UDP by default).",
            category: .remoteAccess,
            securityNotes: [
                "With `tls-crypt` or `tls-auth` the server ignores packets without the shared key, so it cannot be fingerprinted or hit pre-authentication."
            ],
            remediation: "Use `tls-crypt` and certificate authentication, and keep OpenVPN patched.",
            executables: ["openvpn"],
            severityHint: .info),
        PortFact(
            ports: [51820...51820], protocols: udp, service: "wireguard", title: "WireGuard", aliases: ["wg"],
            commonlyRunsHere: "A WireGuard interface's listen port (51820 is the customary choice; `wg show` prints the real one).",
            category: .remoteAccess,
            securityNotes: [
                "The socket belongs to the kernel module, so no process owns it: expected, not a hidden listener.",
                "WireGuard does not answer unauthenticated packets, so scanners get no reply.",
            ],
            severityHint: .info),
    ]

    // MARK: network infrastructure

    static let infrastructure: [PortFact] = [
        PortFact(
            ports: [53...53], protocols: both, service: "dns", title: "DNS", aliases: ["domain", "bind"],
            commonlyRunsHere:
                "A DNS server or forwarder: BIND (named), Unbound, dnsmasq, PowerDNS; systemd-resolved's stub on 127.0.0.53/127.0.0.54.",
            category: .amplification,
            securityNotes: [
                "An open resolver (recursion for anyone) is a major reflection/amplification vector: a 60-byte query can return several kilobytes.",
                "systemd-resolved and libvirt/LXD dnsmasq instances listen on loopback or bridge addresses only: expected.",
                "Authoritative servers should refuse zone transfers (AXFR over TCP 53) except to their secondaries.",
            ],
            remediation:
                "BIND: `allow-recursion { localhost; localnets; };` and `allow-transfer { none; };` in named.conf.options; Unbound: `access-control` only for your own networks.",
            executables: ["named", "unbound", "dnsmasq", "pdns_server", "pdns_recursor", "systemd-resolved", "coredns", "knotd"],
            severityHint: .medium),
        PortFact(
            ports: [69...69], protocols: udp, service: "tftp", title: "TFTP",
            commonlyRunsHere: "A TFTP server (tftpd-hpa, atftpd, dnsmasq) serving PXE boot images or network-device configurations.",
            category: .cleartextRemoteAccess,
            securityNotes: [
                "No authentication at all: anyone who can reach it can fetch any file under its root if they guess the name, and upload if created files are allowed (`--create`).",
                "The files served are often switch and phone configurations containing passwords.",
            ],
            remediation:
                "Run it only on the provisioning network (`TFTP_ADDRESS` in /etc/default/tftpd-hpa), without `--create`, or `systemctl disable --now tftpd-hpa` when not provisioning.",
            executables: ["in.tftpd", "tftpd", "atftpd", "dnsmasq"],
            severityHint: .high),
        PortFact(
            ports: [123...123], protocols: udp, service: "ntp", title: "NTP",
            commonlyRunsHere: "An NTP daemon: ntpd, ntpsec or chronyd (systemd-timesyncd is a client and does not listen on 123).",
            category: .amplification,
            securityNotes: [
                "Old ntpd answered the `monlist` query with up to 600 addresses, an amplification of several hundred times (CVE-2013-5211); mode 6/7 queries should be refused.",
                "A machine that only keeps its own clock does not need to serve NTP to others.",
                "chronyd serves only the networks named in `allow` directives.",
            ],
            remediation:
                "ntpd: `restrict default kod limited nomodify nopeer noquery` and `disable monitor` in ntp.conf; chrony as a pure client: `port 0` in chrony.conf.",
            executables: ["ntpd", "chronyd"],
            severityHint: .medium),
        PortFact(
            ports: [323...323], protocols: udp, service: "chrony-cmd", title: "chrony command port (chronyc monitoring)",
            aliases: ["chronyc"],
            commonlyRunsHere:
                "chronyd answering chronyc's monitoring commands; bound to 127.0.0.1 and ::1 unless `bindcmdaddress` says otherwise.",
            category: .adminAPI,
            securityNotes: [
                "Not NTP: it reports the daemon's sources, tracking and clients (`chronyc sources`) to the hosts `cmdallow` admits, by default localhost only.",
                "No amplifier: chronyc pads each request to the length of its reply, and replies are rate-limited.",
            ],
            remediation:
                "Remove the `bindcmdaddress` line that opened it, or `cmdport 0` in /etc/chrony/chrony.conf (chronyc still works over the Unix socket).",
            executables: ["chronyd"],
            severityHint: .low),
        PortFact(
            ports: [67...68], protocols: udp, service: "dhcp", title: "DHCP (67 server, 68 client)", aliases: ["bootps", "bootpc"],
            commonlyRunsHere:
                "A DHCP server on 67 (dnsmasq, ISC dhcpd, Kea) or a DHCP client on 68 (dhclient, dhcpcd) on an interface it configures.",
            category: .other,
            securityNotes: [
                "A server answers anyone on the segments it serves (or through relays); a misplaced one hands out its own gateway and DNS servers."
            ],
            remediation:
                "Serve DHCP only on the interfaces that need it (dnsmasq `interface=`/`no-dhcp-interface=`, Kea `interfaces-config`).",
            executables: ["dnsmasq", "dhcpd", "kea-dhcp4", "dhclient", "dhcpcd"],
            severityHint: .info),
        PortFact(
            ports: [546...547], protocols: udp, service: "dhcpv6", title: "DHCPv6 (547 server, 546 client)",
            aliases: ["dhcpv6-server", "dhcpv6-client"],
            commonlyRunsHere: "A DHCPv6 server on 547 (dnsmasq, Kea) or a DHCPv6 client on 546.",
            category: .other,
            securityNotes: [
                "Link-local by design: clients reach servers through the ff02::1:2 multicast group or a relay."
            ],
            executables: ["dnsmasq", "kea-dhcp6", "dhcpd", "dhclient", "dhcpcd"],
            severityHint: .info),
        PortFact(
            ports: [161...161], protocols: both, service: "snmp", title: "SNMP agent", aliases: ["snmpd"],
            commonlyRunsHere: "An SNMP agent (net-snmp snmpd) answering GET/GETNEXT/GETBULK and SET requests on 161.",
            category: .cleartextRemoteAccess, alsoCategories: [.amplification],
            securityNotes: [
                "SNMP v1/v2c authenticate with a community string sent in cleartext; `public` and `private` are tried first by every scanner.",
                "A read-write community lets anyone who knows it change the device configuration.",
                "Even read-only access leaks interfaces, routes, processes and installed software.",
                "GetBulk requests make UDP 161 an amplification vector.",
            ],
            remediation:
                "Remove `rocommunity`/`rwcommunity` lines from snmpd.conf, use SNMPv3 `authPriv` users (SHA and AES), and `agentAddress udp:127.0.0.1:161` if only local monitoring needs it.",
            executables: ["snmpd"],
            severityHint: .high),
        PortFact(
            ports: [162...162], protocols: both, service: "snmp-trap", title: "SNMP trap receiver", aliases: ["snmptrap", "snmptrapd"],
            commonlyRunsHere: "net-snmp's snmptrapd (or a monitoring system) receiving traps and informs from devices on 162.",
            category: .other,
            securityNotes: [
                "It receives notifications and acknowledges informs with a reply of the same size: not an amplifier.",
                "Anyone who can reach it can send forged traps into the monitoring system unless `authCommunity`/SNMPv3 users restrict them.",
            ],
            remediation:
                "Accept traps only from the monitored devices (firewall 162/udp to them) and authenticate them (`authCommunity log` with a non-default community, or SNMPv3 `authUser`).",
            executables: ["snmptrapd"],
            severityHint: .low),
        PortFact(
            ports: [199...199], protocols: tcp, service: "smux", title: "SMUX (SNMP multiplexer)",
            aliases: ["snmp-mux"],
            commonlyRunsHere: "net-snmp's snmpd accepting SMUX sub-agents (RFC 1227), such as old routing daemons, on 199/tcp.",
            category: .adminAPI,
            securityNotes: [
                "A sub-agent that connects registers MIB subtrees with the agent, authenticated at most by a cleartext password; nothing but local sub-agents should reach it.",
                "It is not where SNMP communities are used: those are on 161/udp.",
            ],
            remediation:
                "If no sub-agent uses SMUX (modern ones use AgentX), disable it: add `-I -smux` to snmpd's options (/etc/default/snmpd or the unit's ExecStart); otherwise `smuxsocket 127.0.0.1` in snmpd.conf.",
            executables: ["snmpd"],
            severityHint: .medium),
        PortFact(
            ports: [389...389, 636...636], protocols: tcp, service: "ldap", title: "LDAP", aliases: ["ldaps", "openldap"],
            commonlyRunsHere:
                "A directory server: OpenLDAP slapd, 389 Directory Server or a Samba/Active Directory domain controller (LDAPS on 636).",
            category: .other,
            securityNotes: [
                "Check anonymous access: `ldapsearch -x -H ldap://HOST -b '' -s base` shows what an unauthenticated client can read; the full tree often lists every user.",
                "Simple binds on 389 without StartTLS send passwords in cleartext.",
            ],
            remediation: "Disable anonymous binds (`olcDisallows: bind_anon` in OpenLDAP) and require TLS for binds.",
            executables: ["slapd", "ns-slapd"],
            severityHint: .medium),
        PortFact(
            ports: [389...389], protocols: udp, service: "cldap", title: "Connectionless LDAP (CLDAP)",
            commonlyRunsHere: "Active Directory or Samba AD domain controllers, answering domain-controller locator pings.",
            category: .amplification,
            securityNotes: [
                "Answers small rootDSE queries with replies tens of times larger; abused for reflection DDoS since 2016.",
                "Needed only by machines inside the domain.",
            ],
            remediation: "Block 389/udp at the network edge.",
            executables: ["samba"],
            severityHint: .high),
        PortFact(
            ports: [514...514], protocols: udp, service: "syslog", title: "Syslog",
            commonlyRunsHere: "A syslog daemon (rsyslogd, syslog-ng) accepting remote logs.",
            category: .other,
            securityNotes: [
                "Plain UDP syslog has no authentication: anyone can forge log lines or fill the disk."
            ],
            remediation:
                "Accept remote logs only from known senders (`$AllowedSender` in rsyslog or a firewall rule), or use RELP/TLS on TCP.",
            executables: ["rsyslogd", "syslog-ng"],
            severityHint: .low),
        PortFact(
            ports: [1900...1900], protocols: udp, service: "ssdp", title: "SSDP (UPnP discovery)", aliases: ["upnp"],
            commonlyRunsHere: "UPnP discovery: media servers (MiniDLNA), UPnP IGD on routers (miniupnpd), desktop media sharing.",
            category: .amplification,
            securityNotes: [
                "Answers M-SEARCH requests from anyone with replies about 30 times larger: a common reflection DDoS source when reachable from the Internet.",
                "A UPnP IGD service reachable from the WAN can let outsiders add port forwards.",
            ],
            remediation: "Firewall 1900/udp to the LAN, and disable UPnP where discovery is not needed.",
            executables: ["minidlnad", "miniupnpd"],
            severityHint: .medium),
        PortFact(
            ports: [5353...5353], protocols: udp, service: "mdns", title: "Multicast DNS (mDNS)",
            aliases: ["zeroconf", "avahi", "bonjour"],
            commonlyRunsHere: "Avahi or systemd-resolved answering .local names and service discovery.",
            category: .amplification, alsoCategories: [.other],
            securityNotes: [
                "Announces the host name and its services (printers, SSH, file shares) to the local link.",
                "It should answer only link-local multicast; responders that answer unicast queries from other networks have been used for reflection.",
            ],
            remediation:
                "If unused: `systemctl disable --now avahi-daemon.service avahi-daemon.socket`; otherwise keep 5353/udp unreachable from outside the LAN.",
            executables: ["avahi-daemon", "systemd-resolved"],
            severityHint: .low),
        PortFact(
            ports: [5355...5355], protocols: both, service: "llmnr", title: "LLMNR (Link-Local Multicast Name Resolution)",
            commonlyRunsHere: "systemd-resolved's LLMNR responder (on by default), answering single-label host names on the local link.",
            category: .other,
            securityNotes: [
                "Spoofable by anyone on the link: tools such as Responder answer LLMNR queries to capture Windows credentials.",
                "Announces the host's name to the segment; servers with DNS names do not need it.",
            ],
            remediation: "`LLMNR=no` in /etc/systemd/resolved.conf (or a drop-in), then `systemctl restart systemd-resolved`.",
            executables: ["systemd-resolved"],
            severityHint: .low),
        PortFact(
            ports: [631...631], protocols: tcp, service: "ipp", title: "IPP (CUPS printing)", aliases: ["cups", "ipps"],
            commonlyRunsHere:
                "The CUPS scheduler (cupsd): print jobs over IPP and its web interface; Debian's default is `Listen localhost:631`.",
            category: .other, alsoCategories: [.web],
            securityNotes: [
                "Beyond loopback it accepts print jobs and shows printers and jobs to the networks cupsd.conf's `<Location>` rules allow.",
                "Remote administration (`/admin`) is off unless `cupsctl --remote-admin` or an `Allow` line in `<Location /admin>` turned it on.",
            ],
            remediation: "`Listen localhost:631` in /etc/cups/cupsd.conf (no `Port 631`), and `Browsing No` unless other hosts print here.",
            executables: ["cupsd"],
            severityHint: .low, speaksHTTP: true),
        PortFact(
            ports: [631...631], protocols: udp, service: "cups-browsing", title: "CUPS browsing (cups-browsed)",
            commonlyRunsHere:
                "cups-browsed receiving legacy CUPS printer announcements; it listens only when `BrowseRemoteProtocols` includes `cups` (Debian's default is `dnssd`).",
            category: .other, alsoCategories: [.amplification],
            securityNotes: [
                "One UDP packet from anyone makes it fetch printer attributes from a URL the packet names: the start of the CVE-2024-47176 remote code execution chain, and a reflector that sends many HTTP requests to any target for one packet.",
                "Servers that find no network printers do not need it.",
            ],
            remediation:
                "`BrowseRemoteProtocols dnssd` (or `none`) in /etc/cups/cups-browsed.conf, or `systemctl disable --now cups-browsed`.",
            executables: ["cups-browsed"],
            severityHint: .high),
        PortFact(
            ports: [6660...6669, 6697...6697], protocols: tcp, service: "irc", title: "IRC", aliases: ["ircd"],
            commonlyRunsHere: "An IRC server (6667 plain, 6697 TLS).",
            category: .other, alsoCategories: [.backdoor],
            securityNotes: [
                "IRC is a long-standing botnet command-and-control channel: an unexpected process connecting out to 6667 says more than an ircd listening.",
                "UnrealIRCd 3.2.8.1 downloads were trojaned in 2009–2010 with a remote command backdoor (CVE-2010-2075).",
            ],
            executables: ["ircd", "unrealircd", "inspircd", "ngircd"],
            severityHint: .low),
        PortFact(
            ports: [1080...1080, 3128...3128], protocols: tcp, service: "proxy", title: "SOCKS / HTTP proxy",
            aliases: ["socks", "squid"],
            commonlyRunsHere: "A SOCKS proxy (1080, e.g. Dante or `ssh -D`) or Squid's HTTP proxy (3128).",
            category: .other,
            securityNotes: [
                "An open proxy is found within hours and used for spam, credential stuffing and attacks that then appear to come from this host.",
                "`ssh -D` binds 127.0.0.1 unless GatewayPorts or an explicit address says otherwise.",
            ],
            remediation:
                "Allow only your own networks (`http_access allow localnet` then `http_access deny all` in squid.conf) or bind to loopback.",
            executables: ["squid", "danted", "sockd", "3proxy"],
            severityHint: .medium),
    ]

    // MARK: web

    static let web: [PortFact] = [
        PortFact(
            ports: [80...80], protocols: tcp, service: "http", title: "HTTP", aliases: ["www"],
            commonlyRunsHere: "A web server or reverse proxy: nginx, Apache httpd, Caddy, HAProxy, Traefik.",
            category: .web,
            securityNotes: [
                "Cleartext: anything beyond a redirect to HTTPS exposes cookies, credentials and content to the path.",
                "Check what is served by default: welcome pages, /server-status, directory listings and exposed .git/ or .env files leak information.",
            ],
            remediation: "Redirect to HTTPS and send HSTS; remove default sites and status pages reachable from outside.",
            executables: ["nginx", "apache2", "httpd", "caddy", "lighttpd", "haproxy", "traefik", "envoy"],
            severityHint: .low, speaksHTTP: true),
        PortFact(
            ports: [443...443], protocols: both, service: "https", title: "HTTPS",
            commonlyRunsHere: "A web server or reverse proxy with TLS; 443/udp is HTTP/3 (QUIC).",
            category: .web,
            securityNotes: [
                "The risk is in what is served, not the port: check for admin panels and default applications behind it.",
                "Old protocol versions (SSLv3, TLS 1.0/1.1) should be disabled.",
            ],
            executables: ["nginx", "apache2", "httpd", "caddy", "lighttpd", "haproxy", "traefik", "envoy"],
            severityHint: .info, speaksHTTP: true),
        PortFact(
            ports: [8000...8000, 8008...8008, 8080...8080], protocols: tcp, service: "http-alt", title: "Alternate HTTP",
            aliases: ["http-proxy", "webcache"],
            commonlyRunsHere: "Development servers, application servers (Tomcat, Jenkins), proxies and admin consoles.",
            category: .web,
            securityNotes: [
                "Often a service meant for localhost that listens on every address: debug servers, consoles and proxies without authentication.",
                "Tomcat's manager app on 8080 with default or weak credentials allows deploying a WAR file, i.e. code execution.",
            ],
            remediation:
                "Identify the owning process; bind development servers to 127.0.0.1 and put real applications behind the main reverse proxy.",
            severityHint: .medium, speaksHTTP: true),
        PortFact(
            ports: [8443...8443], protocols: tcp, service: "https-alt", title: "Alternate HTTPS",
            commonlyRunsHere:
                "Admin consoles and application servers over TLS (Tomcat, UniFi controller, Plesk, Kubernetes API in some setups).",
            category: .web, alsoCategories: [.adminAPI],
            securityNotes: [
                "Usually a management interface rather than a public site: it should be reachable from admin networks only."
            ],
            remediation: "Restrict source addresses to administrators, or bind to loopback and use an SSH tunnel.",
            severityHint: .medium, speaksHTTP: true),
        PortFact(
            ports: [9000...9000], protocols: tcp, service: "php-fpm", title: "PHP-FPM (FastCGI)", aliases: ["fastcgi"],
            commonlyRunsHere: "PHP-FPM's FastCGI listener when configured as a TCP port (it is often also SonarQube, Portainer or MinIO).",
            category: .web, alsoCategories: [.adminAPI],
            securityNotes: [
                "FastCGI has no authentication: a client reaching PHP-FPM can set `PHP_VALUE auto_prepend_file` and run arbitrary code."
            ],
            remediation: "`listen = 127.0.0.1:9000` (or a Unix socket) and `listen.allowed_clients = 127.0.0.1` in the pool configuration.",
            executables: ["php-fpm", "php-fpm8.2", "php-fpm8.3", "php-fpm8.4"],
            severityHint: .high),
    ]

    // MARK: mail

    static let mail: [PortFact] = [
        PortFact(
            ports: [25...25], protocols: tcp, service: "smtp", title: "SMTP", aliases: ["mail", "postfix", "exim"],
            commonlyRunsHere: "A mail transfer agent (Postfix, Exim, Sendmail) receiving mail from other servers.",
            category: .mail,
            securityNotes: [
                "Only mail exchangers need 25 open to the world; on other machines the MTA should listen on loopback for local mail.",
                "Test that it is not an open relay: it must refuse to relay from outside to domains it does not serve.",
                "Postfix's listener is owned by its `master` process.",
            ],
            remediation:
                "Postfix: `inet_interfaces = loopback-only` in main.cf; Exim (Debian): `dc_local_interfaces='127.0.0.1 ; ::1'` in /etc/exim4/update-exim4.conf.conf.",
            executables: ["exim4", "exim", "sendmail", "smtpd", "opensmtpd"],
            severityHint: .low),
        PortFact(
            ports: [587...587], protocols: tcp, service: "submission", title: "Mail submission (SMTP with STARTTLS)",
            commonlyRunsHere: "An MTA accepting authenticated mail from users' clients on 587, upgraded to TLS with STARTTLS.",
            category: .mail,
            securityNotes: [
                "Authenticated submission is a password-spraying target; compromised accounts send spam through it.",
                "AUTH must not be offered before TLS is established.",
            ],
            remediation: "Require TLS before AUTH (`smtpd_tls_auth_only = yes` in Postfix) and rate-limit failed logins (fail2ban).",
            executables: ["exim4", "exim", "sendmail", "smtpd"],
            severityHint: .low),
        PortFact(
            ports: [465...465], protocols: tcp, service: "submissions", title: "Mail submission over TLS (submissions/smtps)",
            aliases: ["smtps"],
            commonlyRunsHere: "An MTA accepting authenticated mail from users' clients on 465 with implicit TLS (RFC 8314).",
            category: .mail,
            securityNotes: [
                "Authenticated submission is a password-spraying target; compromised accounts send spam through it."
            ],
            remediation: "Rate-limit failed logins (fail2ban); in Postfix it is the `submissions` (formerly `smtps`) service in master.cf.",
            executables: ["exim4", "exim", "sendmail", "smtpd"],
            severityHint: .low),
        PortFact(
            ports: [110...110, 995...995], protocols: tcp, service: "pop3", title: "POP3", aliases: ["pop3s"],
            commonlyRunsHere: "A mailbox server such as Dovecot (POP3 on 110, POP3 over TLS on 995).",
            category: .mail,
            securityNotes: [
                "On 110 the password is cleartext unless the server refuses login before STARTTLS.",
                "A common password-guessing target.",
            ],
            remediation: "Serve 995 only, or require TLS (`ssl = required` in Dovecot); rate-limit failed logins.",
            executables: ["dovecot", "pop3-login"],
            severityHint: .low),
        PortFact(
            ports: [143...143, 993...993], protocols: tcp, service: "imap", title: "IMAP", aliases: ["imap2", "imaps"],
            commonlyRunsHere: "A mailbox server such as Dovecot or Cyrus (IMAP on 143, IMAP over TLS on 993).",
            category: .mail,
            securityNotes: [
                "On 143 the password is cleartext unless the server refuses login before STARTTLS.",
                "A common password-guessing target.",
            ],
            remediation: "Serve 993 only, or require TLS (`ssl = required` in Dovecot); rate-limit failed logins.",
            executables: ["dovecot", "imap-login"],
            severityHint: .low),
    ]

    // MARK: file sharing

    static let fileSharing: [PortFact] = [
        PortFact(
            ports: [111...111], protocols: both, service: "rpcbind", title: "rpcbind (portmapper)",
            aliases: ["portmapper", "sunrpc", "portmap"],
            commonlyRunsHere: "rpcbind, which maps ONC RPC programs (NFSv3 mountd, statd, NIS) to their ports.",
            category: .fileSharing, alsoCategories: [.amplification],
            securityNotes: [
                "Lists every RPC service and its port to anyone (`rpcinfo -p HOST`): reconnaissance for NFS and NIS.",
                "UDP 111 has been used for reflection DDoS.",
                "Needed only for NFSv3 and NIS; NFSv4-only servers and clients do not use it.",
            ],
            remediation:
                "If nothing needs it: `systemctl disable --now rpcbind.service rpcbind.socket`; otherwise firewall 111 to the NFS clients.",
            executables: ["rpcbind", "portmap"],
            severityHint: .medium),
        // NetBIOS is three services on three ports; only the name service is a reflector.
        PortFact(
            ports: [137...137], protocols: both, service: "netbios-ns", title: "NetBIOS name service (NetBIOS-NS)",
            aliases: ["netbios", "nmbd"],
            commonlyRunsHere: "Samba's nmbd answering NetBIOS name queries (137/udp).",
            category: .fileSharing, alsoCategories: [.amplification],
            securityNotes: [
                "The name service answers anyone with host, workgroup and logged-on names (`nmblookup -A HOST`).",
                "UDP 137 is used for reflection DDoS: a 50-byte node-status query earns a reply several times larger.",
                "Current SMB clients use 445 directly; NetBIOS is needed only for legacy browsing and old clients.",
            ],
            remediation: "Set `disable netbios = yes` and `smb ports = 445` in smb.conf and `systemctl disable --now nmbd`.",
            executables: ["nmbd"],
            severityHint: .medium),
        PortFact(
            ports: [138...138], protocols: udp, service: "netbios-dgm", title: "NetBIOS datagram service (NetBIOS-DGM)",
            aliases: ["netbios", "nmbd"],
            commonlyRunsHere: "Samba's nmbd receiving NetBIOS datagrams: browse announcements and elections (138/udp).",
            category: .fileSharing,
            securityNotes: [
                "Carries network-neighbourhood browsing announcements; it sends no large replies, so it is no amplifier.",
                "Current SMB clients use 445 directly; NetBIOS is needed only for legacy browsing and old clients.",
            ],
            remediation: "Set `disable netbios = yes` and `smb ports = 445` in smb.conf and `systemctl disable --now nmbd`.",
            executables: ["nmbd"],
            severityHint: .low),
        PortFact(
            ports: [139...139], protocols: tcp, service: "netbios-ssn", title: "NetBIOS session service (SMB over NetBIOS)",
            aliases: ["netbios", "smbd"],
            commonlyRunsHere: "Samba's smbd serving SMB over a NetBIOS session (139/tcp), beside SMB direct on 445.",
            category: .fileSharing,
            securityNotes: [
                "The same file shares as 445, reached the legacy way; current clients use 445 directly."
            ],
            remediation: "Set `smb ports = 445` in smb.conf (and `disable netbios = yes`), then restart smbd.",
            executables: ["smbd"],
            severityHint: .medium),
        PortFact(
            ports: [445...445], protocols: tcp, service: "smb", title: "SMB / CIFS",
            aliases: ["microsoft-ds", "samba", "cifs"],
            commonlyRunsHere: "Samba's smbd or the in-kernel ksmbd server sharing files and printers.",
            category: .fileSharing,
            securityNotes: [
                "Never expose it to the Internet: EternalBlue (MS17-010) on Windows and SambaCry (CVE-2017-7494) on Samba were wormable over 445.",
                "Look for shares readable without a password: `smbclient -N -L //HOST`.",
                "ksmbd runs in the kernel, so its listener has no owning process: expected when the module is loaded.",
            ],
            remediation:
                "Firewall 445 to the LAN or VPN; in smb.conf set `server min protocol = SMB3`, `server signing = mandatory` and `map to guest = never`.",
            executables: ["smbd"],
            severityHint: .high),
        PortFact(
            ports: [873...873], protocols: tcp, service: "rsync", title: "rsync daemon", aliases: ["rsyncd"],
            commonlyRunsHere: "`rsync --daemon` serving the modules in /etc/rsyncd.conf.",
            category: .fileSharing,
            securityNotes: [
                "Modules without `auth users` are readable by anyone, and writable if `read only = no`; `rsync HOST::` lists them.",
                "Traffic is not encrypted; rsync over SSH does not need the daemon at all.",
            ],
            remediation: "Add `auth users` and `secrets file` and `hosts allow` to each module, or stop the daemon and use rsync over SSH.",
            executables: ["rsync"],
            severityHint: .medium),
        PortFact(
            ports: [2049...2049, 20048...20048], protocols: both, service: "nfs", title: "NFS", aliases: ["mountd", "nfsd"],
            commonlyRunsHere: "The kernel NFS server (2049) and rpc.mountd (20048) for NFSv3 mounts.",
            category: .fileSharing,
            securityNotes: [
                "The Linux NFS server runs in the kernel, so 2049 has no owning process: expected, not hidden.",
                "With the default AUTH_SYS, the server believes the UID the client sends: anyone who can mount an export can read other users' files (only root is squashed).",
                "`showmount -e HOST` lists exports; look for `*`, wide subnets and `no_root_squash` in /etc/exports.",
            ],
            remediation:
                "Export to named hosts only in /etc/exports, keep `root_squash`, use `sec=krb5p` for sensitive data, and firewall 2049 to the clients.",
            executables: ["rpc.mountd"],
            severityHint: .high),
    ]

    // MARK: datastores

    static let datastores: [PortFact] = [
        PortFact(
            ports: [1433...1433], protocols: tcp, service: "mssql", title: "Microsoft SQL Server", aliases: ["ms-sql-s"],
            commonlyRunsHere: "Microsoft SQL Server (also available on Linux as sqlservr).",
            category: .datastore,
            securityNotes: [
                "Constantly brute-forced for the `sa` account; a sysadmin login can run OS commands via xp_cmdshell."
            ],
            remediation:
                "Firewall 1433 to application servers, disable the `sa` login, and use strong passwords or Windows/AD authentication.",
            executables: ["sqlservr"],
            severityHint: .medium),
        PortFact(
            ports: [2181...2181], protocols: tcp, service: "zookeeper", title: "Apache ZooKeeper",
            commonlyRunsHere: "ZooKeeper's client port (2888 and 3888 carry ensemble traffic).",
            category: .datastore,
            securityNotes: [
                "No authentication by default: znodes created with the `world:anyone` ACL can be read and changed by any client.",
                "Four-letter-word commands (`envi`, `cons`, `dump`) leak environment and client addresses; since 3.5.3 only `srvr` is allowed unless `4lw.commands.whitelist` says more.",
            ],
            remediation: "Firewall 2181 to clients and 2888/3888 to ensemble members; set znode ACLs and enable SASL authentication.",
            severityHint: .high),
        PortFact(
            ports: [3306...3306, 33060...33060], protocols: tcp, service: "mysql", title: "MySQL / MariaDB",
            aliases: ["mariadb", "mysqlx"],
            commonlyRunsHere: "MySQL or MariaDB (3306 classic protocol, 33060 MySQL X Protocol).",
            category: .datastore,
            securityNotes: [
                "Accounts are user@host: look for `'root'@'%'` and anonymous users (`SELECT user, host FROM mysql.user`).",
                "Debian and Ubuntu packages default to `bind-address = 127.0.0.1`; a listener on all addresses was configured.",
                "An account with the FILE privilege can read and write files as the server user.",
            ],
            remediation:
                "Set `bind-address = 127.0.0.1` in [mysqld] unless remote clients need it; drop anonymous and remote root accounts (`mysql_secure_installation`).",
            executables: ["mysqld", "mariadbd"],
            severityHint: .medium),
        PortFact(
            ports: [5432...5432], protocols: tcp, service: "postgresql", title: "PostgreSQL", aliases: ["postgres"],
            commonlyRunsHere: "A PostgreSQL server.",
            category: .datastore,
            securityNotes: [
                "pg_hba.conf decides who may connect: `trust` lines allow login without a password, and `host all all 0.0.0.0/0` admits every address.",
                "The default is `listen_addresses = 'localhost'`; a listener on all addresses was configured.",
                "A superuser can run OS commands (`COPY ... TO PROGRAM`), so a guessed postgres password is a shell as the postgres user.",
            ],
            remediation:
                "Set `listen_addresses` to what clients need, use `scram-sha-256` in pg_hba.conf, and never `trust` on host lines.",
            executables: ["postgres", "postmaster"],
            severityHint: .medium),
        PortFact(
            ports: [5672...5672, 5671...5671], protocols: tcp, service: "amqp", title: "RabbitMQ (AMQP)",
            aliases: ["rabbitmq", "amqps"],
            commonlyRunsHere: "A RabbitMQ (or other AMQP) broker: 5672 plain, 5671 TLS.",
            category: .datastore,
            securityNotes: [
                "The default `guest`/`guest` user may connect only from localhost (since RabbitMQ 3.3); other users need real passwords.",
                "5672 is cleartext, credentials included; use 5671 across networks.",
                "RabbitMQ also listens on 25672 (Erlang distribution) and uses epmd on 4369; both should be cluster-only.",
            ],
            remediation: "Delete the `guest` user on production brokers, require TLS on 5671, and firewall 4369/25672 to cluster nodes.",
            severityHint: .medium),
        PortFact(
            ports: [5984...5984], protocols: tcp, service: "couchdb", title: "Apache CouchDB",
            commonlyRunsHere: "CouchDB's HTTP API.",
            category: .datastore,
            securityNotes: [
                "Before 3.0 a fresh install ran in \"admin party\" mode, where every client was an administrator.",
                "CVE-2017-12635 and CVE-2017-12636 let anyone create an admin and run OS commands; they were mass-exploited for cryptomining.",
                "The Erlang distribution port and epmd (4369) allow code execution to anyone with the cookie; keep them cluster-only.",
            ],
            remediation:
                "Set `bind_address = 127.0.0.1` and `require_valid_user = true` in the [chttpd] section of local.ini, with an admin account configured.",
            severityHint: .high, speaksHTTP: true),
        PortFact(
            ports: [6379...6379], protocols: tcp, service: "redis", title: "Redis", aliases: ["valkey", "keydb"],
            commonlyRunsHere: "A Redis server, or a compatible fork such as Valkey or KeyDB.",
            category: .datastore,
            securityNotes: [
                "Without a password or ACLs any client can read and delete all data, and on older versions use `CONFIG SET dir`/`dbfilename` to write ~/.ssh/authorized_keys or cron files: a standard takeover and cryptominer route.",
                "`protected-mode yes` is a safety net, not access control: set a password or ACLs for any non-loopback bind.",
                "Redis 7 blocks changing protected configs and `MODULE LOAD` from clients by default (`enable-protected-configs`, `enable-module-command`); don't turn those on.",
                "Sentinel listens on 26379 and the cluster bus on 16379; they need the same protection.",
            ],
            remediation: "Set `bind 127.0.0.1 -::1`, `protected-mode yes` and a `requirepass` or ACL users in redis.conf.",
            executables: ["redis-server", "valkey-server", "keydb-server"],
            severityHint: .high),
        PortFact(
            ports: [7000...7000, 7001...7001, 7199...7199, 9042...9042], protocols: tcp, service: "cassandra",
            title: "Apache Cassandra", aliases: ["scylla", "scylladb"],
            commonlyRunsHere: "Cassandra or ScyllaDB: 9042 CQL clients, 7000/7001 inter-node (7001 with TLS), 7199 JMX.",
            category: .datastore,
            securityNotes: [
                "The default `authenticator: AllowAllAuthenticator` lets any client on 9042 read and write everything; once PasswordAuthenticator is on, change the default cassandra/cassandra superuser.",
                "Remote JMX on 7199 without authentication gives control of the node and can lead to code execution; recent versions bind it to localhost.",
                "7000/7001 should be reachable by other nodes only.",
            ],
            remediation:
                "`authenticator: PasswordAuthenticator` and `authorizer: CassandraAuthorizer` in cassandra.yaml, a new superuser, and firewall 7000/7001/7199 to cluster nodes.",
            executables: ["scylla"],
            severityHint: .high),
        PortFact(
            ports: [9092...9092], protocols: tcp, service: "kafka", title: "Apache Kafka",
            commonlyRunsHere: "A Kafka broker's client listener.",
            category: .datastore,
            securityNotes: [
                "The default PLAINTEXT listener has no authentication or encryption: any client can produce to and consume from every topic.",
                "Brokers hand clients the `advertised.listeners` addresses, which may expose internal hostnames and ports.",
            ],
            remediation:
                "Use SASL_SSL listeners with ACLs enabled (`authorizer.class.name`), and firewall 9092 to producers and consumers.",
            severityHint: .high),
        PortFact(
            ports: [9200...9200, 9300...9300], protocols: tcp, service: "elasticsearch", title: "Elasticsearch / OpenSearch",
            aliases: ["opensearch"],
            commonlyRunsHere: "Elasticsearch or OpenSearch: 9200 REST API, 9300 node-to-node transport.",
            category: .datastore,
            securityNotes: [
                "Before 8.0, security (authentication and TLS) was off by default; open clusters are routinely copied, wiped or held for ransom.",
                "`GET /_cat/indices` on an open 9200 shows everything stored.",
                "9300 is cluster transport and should be reachable by other nodes only.",
            ],
            remediation:
                "Keep `xpack.security.enabled: true` (the 8.x default) or the OpenSearch security plugin, and `network.host: 127.0.0.1` unless clustered.",
            severityHint: .high, speaksHTTP: true),
        PortFact(
            ports: [11211...11211], protocols: both, service: "memcached", title: "memcached", aliases: ["memcache"],
            commonlyRunsHere: "A memcached cache server.",
            category: .datastore, alsoCategories: [.amplification],
            securityNotes: [
                "No authentication by default: anyone who reaches it can read, change and flush cached data, often including sessions.",
                "UDP 11211 carried the record 1.7 Tbps reflection attacks of 2018 (amplification up to ~50,000x); memcached 1.5.6 and later disable UDP by default.",
            ],
            remediation: "Run with `-l 127.0.0.1 -U 0` (in /etc/memcached.conf) to bind loopback and disable UDP.",
            executables: ["memcached"],
            severityHint: .high),
        PortFact(
            ports: [27017...27019], protocols: tcp, service: "mongodb", title: "MongoDB", aliases: ["mongo"],
            commonlyRunsHere: "MongoDB: 27017 mongod/mongos, 27018 shard servers, 27019 config servers.",
            category: .datastore,
            securityNotes: [
                "Before 3.6 the defaults were all interfaces and no authentication; tens of thousands of exposed databases were wiped for ransom from 2017 on.",
                "Authentication is off until `security.authorization: enabled` is set.",
                "Pre-authentication bugs exist (CVE-2025-14847, \"MongoBleed\", leaked server memory to unauthenticated clients), so authentication alone does not make exposure safe.",
            ],
            remediation:
                "Set `security.authorization: enabled` and keep `net.bindIp: 127.0.0.1` (or private addresses) in mongod.conf; firewall 27017 to application servers.",
            executables: ["mongod", "mongos"],
            severityHint: .high),
        PortFact(
            ports: [8086...8086], protocols: tcp, service: "influxdb", title: "InfluxDB", aliases: ["influx"],
            commonlyRunsHere: "InfluxDB's HTTP API (writes, queries and, in 2.x, the UI).",
            category: .datastore,
            securityNotes: [
                "InfluxDB 1.x has `auth-enabled = false` by default: anyone who reaches 8086 can read, write and drop every database.",
                "2.x requires tokens, but an instance never set up lets the first visitor create the admin account.",
            ],
            remediation:
                "Bind it to loopback or a private address (`http-bind-address` in 2.x, `[http] bind-address` in 1.x) and, on 1.x, `auth-enabled = true`.",
            executables: ["influxd"],
            severityHint: .high, speaksHTTP: true),
        PortFact(
            ports: [8123...8123], protocols: tcp, service: "clickhouse", title: "ClickHouse HTTP interface",
            commonlyRunsHere: "ClickHouse's HTTP interface on 8123 (its native protocol is on 9000, shared with PHP-FPM's convention).",
            category: .datastore,
            securityNotes: [
                "The `default` user has no password unless one was given at installation; with `listen_host` opened, anyone can then query and drop tables."
            ],
            remediation: "`listen_host` only loopback or private addresses in config.d, and a password for the `default` user in users.d.",
            executables: ["clickhouse-server"],
            severityHint: .high, speaksHTTP: true),
    ]

    // MARK: admin APIs and control planes

    static let adminAPIs: [PortFact] = [
        PortFact(
            ports: [2375...2375], protocols: tcp, service: "docker", title: "Docker Engine API (no TLS)",
            aliases: ["docker-api", "dockerd"],
            commonlyRunsHere: "dockerd started with `-H tcp://0.0.0.0:2375` or a tcp:// entry in `hosts` in /etc/docker/daemon.json.",
            category: .adminAPI,
            securityNotes: [
                "Unauthenticated, unencrypted control of the Docker daemon: anyone who reaches it can start a privileged container with the host's / mounted, i.e. root on the host.",
                "Mass-scanned by cryptomining botnets (TeamTNT, Kinsing) that take over exposed daemons within minutes.",
            ],
            remediation:
                "Remove the tcp:// listener and use the Unix socket or `DOCKER_HOST=ssh://user@host`; if TCP is required, use 2376 with `--tlsverify`.",
            executables: ["dockerd"],
            severityHint: .critical, speaksHTTP: true),
        PortFact(
            ports: [2376...2376], protocols: tcp, service: "docker-tls", title: "Docker Engine API (TLS)", aliases: ["docker-s"],
            commonlyRunsHere: "dockerd listening with TLS (`--tlsverify`, or `--tls`).",
            category: .adminAPI,
            securityNotes: [
                "Safe only with `--tlsverify`, which requires client certificates; `--tls` alone encrypts but lets any client in.",
                "Any holder of a client certificate is effectively root on the host.",
            ],
            remediation: "Run with `--tlsverify` and a dedicated CA, and firewall 2376 to the machines that manage it.",
            executables: ["dockerd"],
            severityHint: .medium, speaksHTTP: true),
        PortFact(
            ports: [2379...2380], protocols: tcp, service: "etcd", title: "etcd",
            commonlyRunsHere: "etcd: 2379 client API, 2380 peer traffic; in Kubernetes, the cluster's datastore.",
            category: .adminAPI, alsoCategories: [.datastore],
            securityNotes: [
                "In Kubernetes it holds every Secret (in plain form unless encryption at rest is configured): read access to etcd is cluster-admin.",
                "Without `--client-cert-auth` anyone reaching 2379 can read and write all keys.",
                "2380 should be reachable by other members only.",
            ],
            remediation:
                "Require client certificates (`--client-cert-auth --trusted-ca-file=...`, and `--peer-client-cert-auth` for 2380) and firewall both ports to the control plane.",
            executables: ["etcd"],
            severityHint: .high, speaksHTTP: true),
        PortFact(
            ports: [3000...3000], protocols: tcp, service: "grafana", title: "Grafana",
            commonlyRunsHere: "Grafana dashboards (3000 is also the default for many Node.js, Rails and Go development servers).",
            category: .adminAPI, alsoCategories: [.web],
            securityNotes: [
                "The initial login is admin/admin; the change prompt can be skipped, so check it was changed.",
                "CVE-2021-43798 (8.0.0-beta1 to 8.3.0) let unauthenticated clients read arbitrary files through plugin URLs.",
                "Data source credentials stored in Grafana reach further into the network.",
            ],
            remediation:
                "Change the admin password, set `allow_sign_up = false`, and `http_addr = 127.0.0.1` behind a reverse proxy if it need not be public.",
            executables: ["grafana", "grafana-server"],
            severityHint: .medium, speaksHTTP: true),
        PortFact(
            ports: [4369...4369], protocols: tcp, service: "epmd", title: "Erlang Port Mapper",
            commonlyRunsHere: "epmd, started with RabbitMQ, CouchDB, ejabberd or other Erlang applications.",
            category: .adminAPI,
            securityNotes: [
                "Tells anyone which Erlang nodes run here and their distribution ports; a client with the node's cookie on that port can run arbitrary code.",
                "Cookies are often defaults or weak and can be brute-forced.",
            ],
            remediation: "Firewall 4369 and the distribution ports to cluster members; for a single node, `ERL_EPMD_ADDRESS=127.0.0.1`.",
            executables: ["epmd"],
            severityHint: .medium),
        PortFact(
            ports: [5601...5601], protocols: tcp, service: "kibana", title: "Kibana",
            commonlyRunsHere: "Kibana, the web UI for Elasticsearch.",
            category: .adminAPI, alsoCategories: [.web],
            securityNotes: [
                "It inherits Elasticsearch's security: if Elasticsearch has none, Kibana gives anyone full access to the data.",
                "Old versions had remote code execution bugs, e.g. the Timelion prototype pollution CVE-2019-7609 (before 5.6.15 and 6.6.1).",
            ],
            remediation:
                "Keep `server.host: \"localhost\"` (the default) unless needed, and enable Elasticsearch security so Kibana requires a login.",
            severityHint: .medium, speaksHTTP: true),
        PortFact(
            ports: [6443...6443], protocols: tcp, service: "kube-apiserver", title: "Kubernetes API server",
            aliases: ["kubernetes", "k8s", "kubernetes-api"],
            commonlyRunsHere: "kube-apiserver (k3s, RKE2 and kubeadm clusters).",
            category: .adminAPI,
            securityNotes: [
                "Meant to be reachable by nodes and admins, but check what anonymous requests can do: RBAC bindings to `system:anonymous` or `system:unauthenticated` are a common mistake.",
                "Keep it patched: API server bugs such as CVE-2018-1002105 allowed privilege escalation to cluster-admin.",
            ],
            remediation:
                "Limit source addresses to admins and nodes, keep `--anonymous-auth=false` where possible, and audit bindings with `kubectl get clusterrolebindings -o wide`.",
            executables: ["kube-apiserver"],
            severityHint: .medium, speaksHTTP: true),
        PortFact(
            ports: [8088...8088], protocols: tcp, service: "hadoop-yarn", title: "Hadoop YARN ResourceManager",
            aliases: ["yarn"],
            commonlyRunsHere: "The YARN ResourceManager web UI and REST API.",
            category: .adminAPI,
            securityNotes: [
                "Without Kerberos, the REST API accepts new applications from anyone, which is remote code execution; exposed clusters are mass-exploited for cryptomining."
            ],
            remediation: "Enable Kerberos (`hadoop.security.authentication=kerberos`) or firewall 8088 to the cluster and admins.",
            severityHint: .high, speaksHTTP: true),
        PortFact(
            ports: [8500...8500], protocols: tcp, service: "consul", title: "HashiCorp Consul",
            commonlyRunsHere: "Consul's HTTP API and UI.",
            category: .adminAPI,
            securityNotes: [
                "ACLs are off by default: anyone who reaches the API can read and write the KV store and register services.",
                "With `enable_script_checks` on, registering a check is remote code execution, and is actively exploited.",
                "`client_addr` defaults to 127.0.0.1; a listener on other addresses was configured.",
            ],
            remediation:
                "Enable ACLs with `default_policy = \"deny\"`, keep `enable_script_checks = false`, and bind `client_addr` to loopback or a private address.",
            executables: ["consul"],
            severityHint: .high, speaksHTTP: true),
        PortFact(
            ports: [8888...8888], protocols: tcp, service: "jupyter", title: "Jupyter Notebook / JupyterLab",
            aliases: ["jupyterlab", "ipython"],
            commonlyRunsHere: "A Jupyter Notebook, JupyterLab or Jupyter Server instance.",
            category: .adminAPI,
            securityNotes: [
                "A notebook server is a remote shell by design: whoever has the URL token (or anyone, if the token is disabled) runs code as its user.",
                "Tokens end up in logs and shell history.",
            ],
            remediation:
                "Keep the default `--ip=127.0.0.1` and connect with `ssh -L 8888:localhost:8888`; use JupyterHub with real authentication for shared use.",
            executables: ["jupyter-lab", "jupyter-notebook", "jupyter-server"],
            severityHint: .high, speaksHTTP: true),
        PortFact(
            ports: [9090...9090], protocols: tcp, service: "prometheus", title: "Prometheus",
            commonlyRunsHere: "The Prometheus server's UI and HTTP API (9090 is also Cockpit's default port).",
            category: .adminAPI,
            securityNotes: [
                "No authentication by default: anyone can query all metrics, which reveal hostnames, internal addresses, versions and sometimes secrets in labels.",
                "`--web.enable-admin-api` allows deleting data and `--web.enable-lifecycle` allows shutdown over HTTP.",
            ],
            remediation:
                "`--web.listen-address=127.0.0.1:9090` behind an authenticating proxy, or `basic_auth_users` and TLS in a `--web.config.file`.",
            executables: ["prometheus"],
            severityHint: .medium, speaksHTTP: true),
        PortFact(
            ports: [9100...9100], protocols: tcp, service: "node-exporter", title: "Prometheus node_exporter",
            aliases: ["node_exporter"],
            commonlyRunsHere: "Prometheus node_exporter (9100 is also the raw printing port, JetDirect, on printers).",
            category: .adminAPI,
            securityNotes: [
                "Exposes detailed host information (kernel version, filesystems, interfaces, systemd units) without authentication."
            ],
            remediation: "Bind `--web.listen-address` to the monitoring network, or add TLS and basic auth with `--web.config.file`.",
            executables: ["node_exporter", "prometheus-node-exporter"],
            severityHint: .low, speaksHTTP: true),
        PortFact(
            ports: [9870...9870, 50070...50070], protocols: tcp, service: "hadoop-namenode", title: "Hadoop HDFS NameNode UI",
            aliases: ["namenode", "hdfs", "webhdfs"],
            commonlyRunsHere: "The HDFS NameNode web UI and WebHDFS (9870 in Hadoop 3, 50070 in Hadoop 2).",
            category: .adminAPI, alsoCategories: [.datastore],
            securityNotes: [
                "With the default `hadoop.security.authentication=simple`, WebHDFS believes the `user.name` the client sends: read and write access to all of HDFS."
            ],
            remediation: "Enable Kerberos and SPNEGO for the web UIs, or firewall the port to the cluster and admins.",
            severityHint: .high, speaksHTTP: true),
        PortFact(
            ports: [10250...10250], protocols: tcp, service: "kubelet", title: "Kubernetes kubelet API",
            commonlyRunsHere: "The kubelet's authenticated API on every Kubernetes node.",
            category: .adminAPI,
            securityNotes: [
                "Allows running commands in any pod on the node; with `--anonymous-auth=true` and `--authorization-mode=AlwaysAllow` it is node takeover for anyone.",
                "kubeadm's defaults (anonymous auth off, Webhook authorization) are safe; hand-built clusters often are not.",
            ],
            remediation:
                "Set `authentication.anonymous.enabled: false` and `authorization.mode: Webhook` in the kubelet configuration, and firewall 10250 to the control plane.",
            executables: ["kubelet"],
            severityHint: .high, speaksHTTP: true),
        PortFact(
            ports: [10255...10255], protocols: tcp, service: "kubelet-readonly", title: "Kubernetes kubelet read-only API",
            commonlyRunsHere:
                "The kubelet's unauthenticated read-only port, off when the kubelet runs from a configuration file (as kubeadm sets it up).",
            category: .adminAPI,
            securityNotes: [
                "Anyone can list pods and their specs, including environment variables that often hold secrets."
            ],
            remediation: "Set `readOnlyPort: 0` in the kubelet configuration (`--read-only-port=0`).",
            executables: ["kubelet"],
            severityHint: .high, speaksHTTP: true),
        PortFact(
            ports: [15672...15672], protocols: tcp, service: "rabbitmq-management", title: "RabbitMQ management",
            aliases: ["rabbitmq-mgmt"],
            commonlyRunsHere: "The RabbitMQ management plugin's web UI and HTTP API.",
            category: .adminAPI,
            securityNotes: [
                "Full control over users, virtual hosts, queues and messages for anyone with an administrator login.",
                "The `guest` account is limited to localhost since 3.3, but other default-like accounts are often left behind.",
            ],
            remediation:
                "`management.tcp.ip = 127.0.0.1` in rabbitmq.conf (use a tunnel or proxy), and remove unused administrator accounts.",
            severityHint: .high, speaksHTTP: true),
        PortFact(
            ports: [9100...9999], protocols: tcp, service: "prometheus-exporter", title: "Prometheus exporter (by port convention)",
            aliases: ["exporter"],
            commonlyRunsHere: "Possibly a Prometheus exporter: the project's port allocation list assigns exporters ports in 9100–9999.",
            category: .adminAPI,
            securityNotes: [
                "A guess from the port number alone; identify the owning process.",
                "Exporters usually answer `/metrics` without authentication and can reveal internal details.",
            ],
            remediation:
                "Bind exporters to the monitoring network or add TLS and basic auth via the exporter toolkit's `--web.config.file`.",
            severityHint: .low, confidence: .low, speaksHTTP: true),
    ]

    // MARK: backdoors

    /// Ports historically used by trojans and attack tools. They are also
    /// used by legitimate software now and then, so notes stay factual.
    static let backdoors: [PortFact] = [
        PortFact(
            ports: [1524...1524], protocols: tcp, service: "ingreslock", title: "ingreslock backdoor",
            commonlyRunsHere: "Registered for Ingres; classically a root shell that exploit payloads added to inetd.conf.",
            category: .backdoor,
            securityNotes: [
                "Solaris RPC exploits of the late 1990s installed `ingreslock stream tcp nowait root /bin/sh sh -i` in inetd.conf; intentionally vulnerable images still ship a shell here.",
                "A listener here is a reason to look at the owning process, not proof of compromise.",
            ],
            remediation:
                "Find the owning process and what started it (an inetd.conf line, a unit, a cron job); remove it and investigate how it got there.",
            severityHint: .high),
        PortFact(
            ports: [4444...4444], protocols: tcp, service: "metasploit-default", title: "Metasploit default handler port",
            aliases: ["blaster"],
            commonlyRunsHere: "The default LPORT of Metasploit payloads and handlers; also used by the 2003 Blaster worm's remote shell.",
            category: .backdoor,
            securityNotes: [
                "A listener here, or an outbound connection to port 4444, is a common sign of a Meterpreter/reverse shell, and worth checking.",
                "It is also the default of legitimate tools (Selenium Grid, for one), so the owning process decides.",
            ],
            severityHint: .high),
        PortFact(
            ports: [5554...5554, 9996...9996], protocols: tcp, service: "sasser", title: "Sasser worm ports",
            commonlyRunsHere: "Sasser (2004) ran an FTP server on 5554 and a remote shell on 9996; on Linux, other software may use them.",
            category: .backdoor,
            securityNotes: [
                "Sasser is Windows-only: on Linux these ports mean nothing by themselves; check the owning process.",
                "5554 is also the Android emulator's console port.",
            ],
            severityHint: .medium),
        PortFact(
            ports: [3127...3198], protocols: tcp, service: "mydoom", title: "MyDoom backdoor range",
            commonlyRunsHere: "MyDoom (2004) opened a backdoor on the first free port from 3127 to 3198; 3128 here is usually Squid.",
            category: .backdoor,
            securityNotes: [
                "Windows-only malware; still probed by scanners. A listener in this range deserves a look at its owner, nothing more."
            ],
            severityHint: .low, confidence: .low),
        PortFact(
            ports: [12345...12346, 20034...20034], protocols: tcp, service: "netbus", title: "NetBus remote-control trojan",
            commonlyRunsHere:
                "NetBus (1998) listened on 12345 and 12346, NetBus Pro on 20034; 12345 is also a popular default for test servers.",
            category: .backdoor,
            securityNotes: [
                "Commonly abused for backdoors because it is easy to remember; the owning process decides."
            ],
            severityHint: .medium),
        PortFact(
            ports: [27374...27374, 1243...1243], protocols: tcp, service: "subseven", title: "SubSeven trojan",
            aliases: ["sub7"],
            commonlyRunsHere: "SubSeven's default server port (27374; 1243 in early versions).",
            category: .backdoor,
            securityNotes: [
                "Still probed by scanners; nothing legitimate commonly listens here."
            ],
            severityHint: .high),
        PortFact(
            ports: [31337...31337], protocols: both, service: "back-orifice", title: "Back Orifice / \"elite\" port",
            aliases: ["bo", "eleet", "elite"],
            commonlyRunsHere:
                "Back Orifice (1998) on 31337/udp; the \"elite\" number is a favourite for hand-rolled backdoors and bind shells.",
            category: .backdoor,
            securityNotes: [
                "A listener on 31337 is rarely legitimate: check the owning process and its binary."
            ],
            severityHint: .high),
        PortFact(
            ports: [54320...54321], protocols: both, service: "back-orifice-2000", title: "Back Orifice 2000",
            aliases: ["bo2k"],
            commonlyRunsHere: "Back Orifice 2000's default ports (54320/tcp, 54321/udp).",
            category: .backdoor,
            securityNotes: [
                "These ports are inside Linux's default ephemeral range (32768–60999): an outgoing connection may use them by chance. Only a listener is notable."
            ],
            severityHint: .medium),
    ]
}
