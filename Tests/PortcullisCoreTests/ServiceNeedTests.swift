import Foundation
import Testing

@testable import PortcullisCore

/// Fixtures/services/: Debian 12's shipped files (smb.conf from
/// samba-common, avahi-daemon.conf, cupsd.conf, cups-browsed.conf with its
/// comments trimmed, postfix's "Local only" main.cf as its postinst writes it
/// and master.cf's first 40 lines), and an "Internet Site" main.cf: the same
/// file with the three lines that setup changes.
private func fixture(_ name: String) throws -> String {
    String(decoding: try TestFiles.fixture("services/" + name), as: UTF8.self)
}

private let noSession: [String: [String]] = ["/tmp/.X11-unix": []]

@Suite("Service configuration parsers")
struct ServiceConfigParserTests {
    @Test("exports(5): paths of entries; comments, blank lines and continued client lists skipped; quoted paths kept whole")
    func exports() {
        let text = """
            # /etc/exports: the access control list for filesystems which may be exported
            #\t\tto NFS clients.  See exports(5).
            /srv/nfs4        gss/krb5i(rw,sync,fsid=0,crossmnt,no_subtree_check)
            /srv/homes       hostname1(rw,sync,no_subtree_check) \\
                             hostname2(ro,sync,no_subtree_check)
            "/srv/my share"  10.0.0.0/8(ro)

            """
        #expect(ServiceConfigs.exports(text) == ["/srv/nfs4", "/srv/homes", "/srv/my share"])
        // Debian's nfs-kernel-server ships /etc/exports with comments only.
        #expect(
            ServiceConfigs.exports(
                "# /etc/exports: the access control list\n#\n# Example for NFSv2 and NFSv3:\n# /srv/homes  hostname1(rw)\n"
            ).isEmpty)
    }

    @Test("Mount table and fstab: nfs and nfs4 entries only")
    func mounts() {
        let mounts = """
            /dev/vda1 / ext4 rw,relatime 0 0
            proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0
            nfs.example:/export/home /home nfs4 rw,relatime,vers=4.2 0 0
            # old.example:/data /data nfs defaults 0 0
            old.example:/data /mnt/data\\040old nfs ro,noauto 0 0
            """
        let found = ServiceConfigs.nfsMounts(mounts)
        #expect(found.map(\.mountPoint) == ["/home", "/mnt/data\\040old"])
        #expect(found.map(\.type) == ["nfs4", "nfs"])
    }

    @Test("nsswitch.conf: databases with nis or nisplus among their sources; yp.conf active lines")
    func nis() {
        let debian =
            "passwd:         files\ngroup:          files\nshadow:         files\nhosts:          files mdns4_minimal [NOTFOUND=return] dns\n"
        #expect(ServiceConfigs.nsswitchNISDatabases(debian).isEmpty)
        #expect(
            ServiceConfigs.nsswitchNISDatabases("passwd: files nis\ngroup: files nis # comment\nhosts: files dns\n") == ["passwd", "group"])
        #expect(ServiceConfigs.ypBindings("# yp.conf\n#ypserver ypserver.network.com\n").isEmpty)
        #expect(ServiceConfigs.ypBindings("# yp.conf\ndomain corp server 10.0.0.2\n") == ["domain corp server 10.0.0.2"])
    }

    @Test("smb.conf (Debian 12): sections in order, keys normalised, ; and # comments skipped")
    func smbConf() throws {
        let ini = ServiceConfigs.ini(try fixture("debian12-smb.conf"))
        #expect(ini.order == ["global", "homes", "printers", "print$"])
        #expect(ini.value("global", "workgroup") == "WORKGROUP")
        #expect(ini.value("global", "interfaces") == nil)  // commented out with ;
        #expect(ini.value("global", "Bind  Interfaces Only") == nil)
        #expect(ini.value("printers", "path") == "/var/tmp")
        let edited = ServiceConfigs.ini("[global]\n interfaces = lo \\\n  eth1\n Bind Interfaces Only = Yes\n")
        #expect(edited.value("global", "interfaces") == "lo  eth1")
        #expect(ServiceConfigs.boolean(edited.value("global", "bind interfaces only")) == true)
    }

    @Test("postfix main.cf: last assignment wins, indented lines continue; master.cf: enabled inet services")
    func postfix() throws {
        let local = ServiceConfigs.postfixMain(try fixture("debian12-postfix-main-local-only.cf"))
        #expect(local["inet_interfaces"] == "loopback-only")
        #expect(local["relayhost"] == "")
        #expect(local["mynetworks"] == "127.0.0.0/8 [::ffff:127.0.0.0]/104 [::1]/128")
        let continued = ServiceConfigs.postfixMain("mydestination = a,\n    b\n# c\nmydestination = $myhostname,\n\tmail.example.org\n")
        #expect(ServiceConfigs.postfixList(continued["mydestination"]) == ["$myhostname", "mail.example.org"])
        let master = ServiceConfigs.postfixInetServices(try fixture("debian12-postfix-master.cf"))
        #expect(master == [ServiceConfigs.PostfixInetService(service: "smtp", command: "smtpd")])
    }

    @Test("cupsd.conf (Debian 12): top-level directives only; printers.conf queues and sharing")
    func cups() throws {
        let directives = ServiceConfigs.cupsDirectives(try fixture("debian12-cupsd.conf"))
        #expect(directives.filter { $0.directive == "Listen" }.map(\.value) == ["localhost:631", "/run/cups/cups.sock"])
        #expect(directives.first { $0.directive == "Browsing" }?.value == "Yes")
        #expect(!directives.contains { $0.directive == "Order" })  // inside <Location>
        let browsed = ServiceConfigs.cupsDirectives(try fixture("debian12-cups-browsed.conf"))
        #expect(browsed.map(\.directive) == ["BrowseRemoteProtocols"] && browsed[0].value == "dnssd")
        let printers = ServiceConfigs.cupsPrinters(
            "# Printer configuration file for CUPS\n<DefaultPrinter office>\nShared Yes\n</DefaultPrinter>\n<Printer label>\nShared No\n</Printer>\n"
        )
        #expect(printers.map(\.name) == ["office", "label"] && printers.map(\.shared) == [true, false])
    }
}

@Suite("Is it needed? Judgements from configuration")
struct ServiceNeedJudgementTests {
    @Test("rpcbind: no exports, no NFS mount, no NIS is unneeded; an export, an NFS mount or NIS make it needed")
    func rpcbind() {
        var set = ServiceConfigSet(
            files: [
                "/etc/exports": .text("# /etc/exports: the access control list\n"), "/proc/self/mounts": .text("/dev/vda1 / ext4 rw 0 0\n"),
                "/etc/fstab": .text("UUID=1 / ext4 errors=remount-ro 0 1\n"), "/etc/nsswitch.conf": .text("passwd: files\n"),
                "/etc/yp.conf": .missing, "/var/lib/nfs/etab": .missing,
            ], directories: ["/etc/exports.d": []])
        let unneeded = ServiceNeeds.judge(.rpcbind, set)
        #expect(unneeded.verdict == .unneeded)
        #expect(
            unneeded.evidence == [
                "/etc/exports has no export; no NFS mount (mount table and /etc/fstab); NIS not configured (no yp.conf server) and no ypbind, ypserv or rpc.mountd running"
            ])
        #expect(unneeded.fix?.contains("systemctl disable --now rpcbind.service rpcbind.socket") == true)

        var exported = set
        exported.directories["/etc/exports.d"] = ["data.exports"]
        exported.files["/etc/exports.d/data.exports"] = .text("/srv/data 10.0.0.0/8(ro)\n")
        #expect(ServiceNeeds.judge(.rpcbind, exported).verdict == .needed)
        #expect(ServiceNeeds.judge(.rpcbind, exported).evidence.first == "NFS exports: /srv/data")

        var live = set
        live.files["/var/lib/nfs/etab"] = .text("/srv/tmp\t10.0.0.0/8(ro,sync,wdelay,hide,nocrossmnt,secure,root_squash)\n")
        #expect(ServiceNeeds.judge(.rpcbind, live).evidence.first == "NFS exports: /srv/tmp")
        var mounted = set
        mounted.files["/etc/fstab"] = .text("nas:/vol /mnt nfs defaults 0 0\n")
        #expect(ServiceNeeds.judge(.rpcbind, mounted).verdict == .needed)

        // Debian's own nsswitch.conf says "netgroup: nis": no use until a domain is bound.
        var debian = set
        debian.files["/etc/nsswitch.conf"] = .text("passwd: files\nnetgroup:       nis\n")
        #expect(ServiceNeeds.judge(.rpcbind, debian).verdict == .unneeded)
        #expect(
            ServiceNeeds.judge(.rpcbind, debian).evidence[0].hasSuffix(
                "NIS not configured (no yp.conf server; nsswitch.conf names nis for netgroup but no domain is bound) and no ypbind, ypserv or rpc.mountd running"
            ))
        var nis = debian
        nis.files["/etc/yp.conf"] = .text("# yp.conf\ndomain corp server 10.0.0.2\n")
        #expect(
            ServiceNeeds.judge(.rpcbind, nis).evidence == [
                "/etc/yp.conf: domain corp server 10.0.0.2", "/etc/nsswitch.conf uses NIS for netgroup",
            ])
        var ypbind = set
        ypbind.listenerPrograms = ["ypbind", "sshd"]
        #expect(ServiceNeeds.judge(.rpcbind, ypbind).verdict == .needed)

        // No /etc/exports at all: no NFS server is set up (not a problem reading).
        set.files["/etc/exports"] = .missing
        #expect(ServiceNeeds.judge(.rpcbind, set).verdict == .unneeded)
        #expect(ServiceNeeds.judge(.rpcbind, set).evidence[0].hasPrefix("no /etc/exports; no NFS mount"))
    }

    @Test("An unreadable file is a diagnostic and verdict unknown, never a guess")
    func unreadable() throws {
        let samba = ServiceNeeds.judge(.samba, ServiceConfigSet(files: ["/etc/samba/smb.conf": .unreadable("permission denied")]))
        #expect(samba.verdict == .unknown && samba.fix == nil)
        #expect(samba.evidence == ["could not read /etc/samba/smb.conf: permission denied"])
        #expect(
            samba.diagnostics == [
                Diagnostic(.warning, "samba: could not read /etc/samba/smb.conf: permission denied; whether it is needed is not judged")
            ])
        let missing = ServiceNeeds.judge(
            .postfix, ServiceConfigSet(files: ["/etc/postfix/main.cf": .missing, "/etc/postfix/master.cf": .text("")]))
        #expect(missing.verdict == .unknown && missing.evidence == ["could not read /etc/postfix/main.cf: no such file"])
        // rpcbind: a denied export list leaves it unknown even though the rest says unneeded.
        let rpc = ServiceNeeds.judge(
            .rpcbind,
            ServiceConfigSet(files: [
                "/etc/exports": .unreadable("permission denied"), "/proc/self/mounts": .text(""), "/etc/fstab": .text(""),
                "/etc/nsswitch.conf": .text(""), "/etc/yp.conf": .missing, "/var/lib/nfs/etab": .missing,
            ]))
        #expect(rpc.verdict == .unknown && rpc.evidence.last == "could not read /etc/exports: permission denied")
    }

    @Test("Samba: Debian 12's smb.conf (only [homes], [printers], [print$]) without printers is unneeded; a share of its own is needed")
    func samba() throws {
        let conf = try fixture("debian12-smb.conf")
        let set = ServiceConfigSet(files: ["/etc/samba/smb.conf": .text(conf), "/etc/cups/printers.conf": .missing])
        let need = ServiceNeeds.judge(.samba, set)
        #expect(need.verdict == .unneeded)
        #expect(
            need.evidence == [
                "smb.conf defines no share of its own (only Debian's defaults: [homes], [printers], [print$])",
                "smb.conf [global] sets no interfaces line, so smbd and nmbd listen on every address",
                "NetBIOS is not disabled (no disable netbios = yes): nmbd answers on 137/udp and 138/udp",
                "[printers] has no queue to share (/etc/cups/printers.conf has no printer)",
            ])
        var shared = set
        shared.files["/etc/samba/smb.conf"] = .text(conf + "\n[data]\n   path = /srv/data\n")
        #expect(ServiceNeeds.judge(.samba, shared).verdict == .needed)
        #expect(ServiceNeeds.judge(.samba, shared).evidence.first == "smb.conf shares: [data]")
        var usershare = set
        usershare.directories["/var/lib/samba/usershares"] = ["music"]
        #expect(ServiceNeeds.judge(.samba, usershare).evidence.first == "usershares in /var/lib/samba/usershares: music")
        var included = set
        included.files["/etc/samba/smb.conf"] = .text("[global]\n   include = /etc/samba/shares.conf\n")
        #expect(ServiceNeeds.judge(.samba, included).verdict == .unknown)
        #expect(
            ServiceNeeds.judge(.samba, included).evidence == ["smb.conf has include = /etc/samba/shares.conf, whose shares are not read"])
        var printing = set
        printing.files["/etc/cups/printers.conf"] = .text("<Printer office>\nShared No\n</Printer>\n")
        #expect(ServiceNeeds.judge(.samba, printing).verdict == .needed)
    }

    @Test("Postfix: Internet Site with local delivery is unneeded on 25; a mail domain or relaying network is needed")
    func postfix() throws {
        let master = try fixture("debian12-postfix-master.cf")
        let site = ServiceConfigSet(
            files: [
                "/etc/postfix/main.cf": .text(try fixture("debian12-postfix-main-internet-site.cf")),
                "/etc/postfix/master.cf": .text(master),
            ])
        let need = ServiceNeeds.judge(.postfix, site)
        #expect(need.verdict == .unneeded && need.ports == [25])
        #expect(
            need.evidence == [
                "delivery is local-only: mydestination = $myhostname, vm.example.org, localhost.example.org, localhost names only this host, no relay or virtual domains, mynetworks is loopback",
                "main.cf inet_interfaces = all", "master.cf runs smtpd on smtp inet (port 25)",
            ])
        #expect(need.fix?.contains("inet_interfaces = loopback-only") == true)
        #expect(need.concerns(port: 25) && !need.concerns(port: 587))
        // The "Local only" file judges the same (its listener is on loopback, so no finding follows).
        let local = ServiceConfigSet(
            files: [
                "/etc/postfix/main.cf": .text(try fixture("debian12-postfix-main-local-only.cf")), "/etc/postfix/master.cf": .text(master),
            ])
        #expect(ServiceNeeds.judge(.postfix, local).verdict == .unneeded)
        var domain = site
        domain.files["/etc/postfix/main.cf"] = .text(
            try fixture("debian12-postfix-main-internet-site.cf") + "mydestination = $myhostname, example.org\n")
        #expect(ServiceNeeds.judge(.postfix, domain).evidence.first == "mydestination receives mail for example.org")
        var relay = site
        relay.files["/etc/postfix/main.cf"] = .text(
            try fixture("debian12-postfix-main-internet-site.cf") + "mynetworks = 127.0.0.0/8 10.1.0.0/16\n")
        #expect(ServiceNeeds.judge(.postfix, relay).verdict == .needed)
    }

    @Test("Avahi and CUPS on a server (no display socket, no printers, no advertised service) are unneeded; a desktop needs them")
    func avahiAndCups() throws {
        let avahi = ServiceConfigSet(
            files: ["/etc/avahi/avahi-daemon.conf": .text(try fixture("debian12-avahi-daemon.conf"))],
            directories: ["/etc/avahi/services": [], "/tmp/.X11-unix": []])
        let server = ServiceNeeds.judge(.avahi, avahi)
        #expect(server.verdict == .unneeded)
        #expect(server.evidence.contains("avahi-daemon.conf sets no allow-interfaces: mDNS on every interface"))
        #expect(server.evidence.contains("publishes publish-addresses, publish-domain (unset keys are on)"))
        #expect(server.evidence.contains("no graphical session (/tmp/.X11-unix has no display socket)"))
        var desktop = avahi
        desktop.directories["/tmp/.X11-unix"] = ["X0"]
        #expect(ServiceNeeds.judge(.avahi, desktop).verdict == .needed)
        var advertised = avahi
        advertised.directories["/etc/avahi/services"] = ["ssh.service"]
        #expect(ServiceNeeds.judge(.avahi, advertised).verdict == .needed)

        let cups = ServiceConfigSet(
            files: ["/etc/cups/cupsd.conf": .text(try fixture("debian12-cupsd.conf") + "Port 631\n"), "/etc/cups/printers.conf": .missing],
            directories: noSession)
        let cupsNeed = ServiceNeeds.judge(.cups, cups)
        #expect(cupsNeed.verdict == .unneeded && cupsNeed.ports == [631])
        #expect(
            cupsNeed.evidence.prefix(3) == [
                "no printer queue (/etc/cups/printers.conf has no printer)",
                "cupsd.conf: Listen localhost:631, Listen /run/cups/cups.sock, Port 631",
                "Browsing Yes (BrowseLocalProtocols dnssd)",
            ])
        var sharing = cups
        sharing.files["/etc/cups/printers.conf"] = .text("<Printer office>\nShared Yes\n</Printer>\n")
        #expect(ServiceNeeds.judge(.cups, sharing).verdict == .needed)

        let browsed = ServiceConfigSet(
            files: ["/etc/cups/cups-browsed.conf": .text("BrowseRemoteProtocols dnssd cups\n")], directories: noSession)
        #expect(ServiceNeeds.judge(.cupsBrowsed, browsed).verdict == .unneeded)
        let denied = ServiceConfigSet(
            files: ["/etc/cups/cups-browsed.conf": .text("")], unreadableDirectories: ["/tmp/.X11-unix": "permission denied"])
        #expect(ServiceNeeds.judge(.cupsBrowsed, denied).verdict == .unknown)
    }

    @Test("Programs are recognised by process name; the configuration's root is stated when it is not ours")
    func recognise() {
        #expect(NeedProgram.recognise("rpcbind") == .rpcbind && NeedProgram.recognise("nmbd") == .samba)
        #expect(NeedProgram.recognise("master") == .postfix && NeedProgram.recognise("sshd") == nil)
        var set = ServiceConfigSet(files: ["/etc/cups/cups-browsed.conf": .text("")], directories: noSession)
        set.readThrough = "/proc/77/root (the program's own mount namespace)"
        #expect(
            ServiceNeeds.judge(.cupsBrowsed, set).evidence.last
                == "configuration read through /proc/77/root (the program's own mount namespace)")
    }
}

@Suite("unneeded-listener and remote clients in the audit")
struct UnneededListenerAuditTests {
    typealias F = AuditFixtures
    let rpcbind = AuditFixtures.owner(612, "rpcbind", exe: "/usr/sbin/rpcbind")
    var unneeded: ServiceNeed {
        ServiceNeed(
            program: .rpcbind, verdict: .unneeded, evidence: ["/etc/exports has no export; no NFS mount; NIS not configured"],
            fix: "Disable rpcbind")
    }

    @Test("Fires on a reachable listener whose configuration shows no use; not on loopback, not when needed or unknown")
    func fires() {
        let entry = F.entry(.tcp, "0.0.0.0", 111, owners: [rpcbind], inode: 7)
        let report = F.audit([entry]) { $0.needs = [612: unneeded] }
        let finding = report.findings.first { $0.rule == .unneededListener }
        #expect(finding?.title == "rpcbind reachable beyond loopback on 0.0.0.0:111/tcp, and nothing on this host uses it")
        #expect(finding?.severity == .medium)
        #expect(finding?.evidence.contains("/etc/exports has no export; no NFS mount; NIS not configured") == true)
        #expect(finding?.remediation == "Disable rpcbind")
        #expect(Auditor.exposureRules.contains(.unneededListener))

        let loopback = F.entry(.tcp, "127.0.0.1", 111, owners: [rpcbind], inode: 8)
        #expect(!F.rules(F.audit([loopback]) { $0.needs = [612: unneeded] }).contains(.unneededListener))
        for verdict in [NeedVerdict.needed, .unknown] {
            var need = unneeded
            need.verdict = verdict
            #expect(!F.rules(F.audit([entry]) { $0.needs = [612: need] }).contains(.unneededListener))
        }
        #expect(!F.rules(F.audit([entry])).contains(.unneededListener))
    }

    @Test("Postfix's verdict concerns port 25 only; Avahi's finding is low, unless its mDNS amplification (folded into it) is worse")
    func portsAndSeverity() {
        let master = F.owner(900, "master", exe: "/usr/lib/postfix/sbin/master")
        let need = ServiceNeed(program: .postfix, verdict: .unneeded, evidence: ["local-only"], fix: "loopback-only", ports: [25])
        let report = F.audit([
            F.entry(.tcp, "0.0.0.0", 25, owners: [master], inode: 1), F.entry(.tcp, "0.0.0.0", 587, owners: [master], inode: 2),
        ]) {
            $0.needs = [900: need]
        }
        #expect(report.findings.filter { $0.rule == .unneededListener }.map { $0.subject?.port } == [25])
        let avahi = F.owner(500, "avahi-daemon", exe: "/usr/sbin/avahi-daemon")
        let low = F.audit([F.entry(.udp, "0.0.0.0", 5353, owners: [avahi], inode: 3)]) {
            $0.needs = [500: ServiceNeed(program: .avahi, verdict: .unneeded, evidence: ["server"], fix: "disable")]
        }
        // 5353/udp is also an amplifier: one finding, at the worse severity, saying both.
        #expect(low.findings.map(\.rule) == [.unneededListener])
        #expect(low.findings.first?.severity == .medium)
        #expect(low.findings.first?.evidence.contains { $0.hasPrefix("also udp-amplification (medium): ") } == true)
        let cups = F.owner(501, "cupsd", exe: "/usr/sbin/cupsd")
        let printing = F.audit([F.entry(.tcp, "0.0.0.0", 631, owners: [cups], inode: 4)]) {
            $0.needs = [501: ServiceNeed(program: .cups, verdict: .unneeded, evidence: ["no printer"], fix: "Listen localhost:631")]
        }
        #expect(printing.findings.map(\.severity) == [.low])
    }

    @Test("Exposed datastore: clients now and in the history window become evidence; none at all says bind it to loopback")
    func datastoreClients() {
        let redis = F.owner(900, "redis-server", exe: "/usr/bin/redis-server", uid: 107)
        let entry = F.entry(.tcp, "0.0.0.0", 6379, owners: [redis], inode: 5)
        let seen = ClientSighting(
            proto: .tcp, family: .ipv4, localAddress: "0.0.0.0", localPort: 6379, peerAddress: "10.0.0.5", connections: 2)
        func datastore(_ configure: (inout AuditInput) -> Void) -> Finding? {
            F.audit([entry], configure).findings.first { $0.rule == .exposedDatastore }
        }
        let none = datastore {
            $0.clientsNow = [5: []]
            $0.clientHistory = .window(days: 7, snapshots: 12, sightings: [])
        }
        #expect(none?.evidence.contains("no remote client connected now, nor in 12 snapshots over the last 7 days") == true)
        #expect(
            none?.remediation.hasPrefix(
                "No remote client is connected now, nor was one seen in 12 snapshots over the last 7 days: bind it to loopback") == true)

        // One look with no history is not enough to advise loopback.
        let once = datastore {
            $0.clientsNow = [5: []]
            $0.clientHistory = .unavailable("no history database at /db")
        }
        #expect(once?.evidence.contains("no remote client connected now") == true)
        #expect(once?.remediation.hasPrefix("No remote client") == false)

        let history = datastore {
            $0.clientsNow = [5: []]
            $0.clientHistory = .window(
                days: 7, snapshots: 12,
                sightings: [1, 2, 3].map { StoredSighting(snapshotID: $0, sighting: seen) })
        }
        #expect(history?.evidence.contains("remote clients seen over the last 7 days: 10.0.0.5 (3 of 12 snapshots)") == true)
        #expect(history?.remediation.hasPrefix("No remote client") == false)

        let now = datastore {
            $0.clientsNow = [5: [seen]]
            $0.clientHistory = .unavailable("no history database at /var/lib/portcullis/portcullis.db")
        }
        #expect(now?.evidence.contains("remote clients connected now: 10.0.0.5 (2 connections)") == true)
        #expect(
            now?.evidence.contains(
                "no history database at /var/lib/portcullis/portcullis.db: take snapshots (portcullis snapshot) to learn which clients use it"
            ) == true)
    }

    @Test("Sightings: established connections to the listener's port from non-loopback peers, counted per peer")
    func sightings() {
        let listener = F.entry(.tcp, "::", 6379, owners: [], inode: 9)
        let connections = [
            SampleInventory.socket(
                .tcp, "::ffff:192.0.2.2", 6379, state: .established, inode: 20, remote: "::ffff:10.0.0.5", remotePort: 40000),
            SampleInventory.socket(
                .tcp, "::ffff:192.0.2.2", 6379, state: .established, inode: 21, remote: "::ffff:10.0.0.5", remotePort: 40001),
            SampleInventory.socket(.tcp, "::1", 6379, state: .established, inode: 22, remote: "::1", remotePort: 40002),
            SampleInventory.socket(.tcp, "2001:db8::1", 6380, state: .established, inode: 23, remote: "2001:db8::9", remotePort: 40003),
            SampleInventory.socket(.tcp, "2001:db8::1", 6379, state: .timeWait, inode: 24, remote: "2001:db8::8", remotePort: 40004),
        ]
        let found = ClientSighting.of(listener: listener, connections: connections)
        #expect(found.map(\.peerAddress) == ["10.0.0.5"] && found.map(\.connections) == [2])
        #expect(found.first?.isOf(listener) == true)
    }
}
