/// Whether a program's own configuration gives its network listener a reason to exist.
public enum NeedVerdict: String, Sendable, Equatable, Codable {
    /// The configuration shows nothing uses the listener: an `unneeded-listener` finding.
    case unneeded
    /// The configuration shows a use (an export, a share, a mail domain).
    case needed
    /// A file the judgement needs could not be read: no verdict, a diagnostic instead.
    case unknown
}

/// The programs whose need the audit judges from their configuration.
public enum NeedProgram: String, Sendable, Equatable, CaseIterable, Codable {
    /// rpcbind (portmapper, 111): needed by an NFS server or client (v3) and by NIS.
    case rpcbind
    /// smbd and nmbd (SMB on 139/445, NetBIOS on 137/138).
    case samba
    /// Postfix's master on 25 (smtp inet).
    case postfix
    /// avahi-daemon (mDNS/DNS-SD on 5353/udp).
    case avahi
    /// cupsd (IPP on 631/tcp).
    case cups
    /// cups-browsed (CUPS browsing on 631/udp).
    case cupsBrowsed = "cups-browsed"

    /// The program a listener's executable name (the process name, comm) belongs to, if judged.
    public static func recognise(_ name: String) -> NeedProgram? {
        switch name {
        case "rpcbind", "portmap": return .rpcbind
        case "smbd", "nmbd": return .samba
        case "master": return .postfix
        case "avahi-daemon": return .avahi
        case "cupsd": return .cups
        case "cups-browsed": return .cupsBrowsed
        default: return nil
        }
    }

    /// How reports name the program: "Samba (smbd, nmbd)", "Postfix".
    public var title: String {
        switch self {
        case .rpcbind: return "rpcbind"
        case .samba: return "Samba (smbd, nmbd)"
        case .postfix: return "Postfix"
        case .avahi: return "Avahi (avahi-daemon)"
        case .cups: return "CUPS (cupsd)"
        case .cupsBrowsed: return "cups-browsed"
        }
    }

    /// The files the judgement reads, as the program sees them (relative
    /// to its root). `/proc/self/mounts` means the program's own mount table.
    public var files: [String] {
        switch self {
        case .rpcbind:
            return ["/etc/exports", "/var/lib/nfs/etab", "/proc/self/mounts", "/etc/fstab", "/etc/nsswitch.conf", "/etc/yp.conf"]
        case .samba: return ["/etc/samba/smb.conf", "/etc/cups/printers.conf"]
        case .postfix: return ["/etc/postfix/main.cf", "/etc/postfix/master.cf"]
        case .avahi: return ["/etc/avahi/avahi-daemon.conf"]
        case .cups: return ["/etc/cups/cupsd.conf", "/etc/cups/printers.conf"]
        case .cupsBrowsed: return ["/etc/cups/cups-browsed.conf"]
        }
    }

    /// Directories whose entries the judgement reads, with the suffix of the
    /// files in them that are read too ("" for names only).
    public var directories: [(path: String, readSuffix: String?)] {
        switch self {
        case .rpcbind: return [("/etc/exports.d", ".exports")]
        case .samba: return [("/var/lib/samba/usershares", nil)]
        case .postfix: return []
        case .avahi: return [("/etc/avahi/services", nil), ("/tmp/.X11-unix", nil)]
        case .cups, .cupsBrowsed: return [("/tmp/.X11-unix", nil)]
        }
    }
}

/// A configuration file as read for the judgement.
public enum ConfigRead: Sendable, Equatable {
    /// Its text (possibly cut at the size cap).
    case text(String)
    /// It does not exist.
    case missing
    /// It exists but could not be read; the reason ("permission denied", "larger than 1 MiB").
    case unreadable(String)
}

/// What was read for one program instance, through its root.
public struct ServiceConfigSet: Sendable, Equatable {
    /// Files by the path the program sees ("/etc/exports").
    public var files: [String: ConfigRead]
    /// Directory entries by the path the program sees; a missing directory is an empty list, an unreadable one absent.
    public var directories: [String: [String]]
    /// Directories that exist but could not be listed, with the reason.
    public var unreadableDirectories: [String: String]
    /// Names (comm) of every process holding a listener on the host, for
    /// the programs that make another one needed (ypbind, rpc.mountd).
    public var listenerPrograms: Set<String>
    /// Where the files were read when not through portcullis's own root
    /// ("/proc/812/root, the program's own mount namespace"), stated in the evidence.
    public var readThrough: String?
    /// The host's name, for Postfix's `$myhostname` when main.cf does not set it.
    public var hostname: String?

    /// Builds a set; the defaults are nothing read.
    public init(
        files: [String: ConfigRead] = [:], directories: [String: [String]] = [:], unreadableDirectories: [String: String] = [:],
        listenerPrograms: Set<String> = [], readThrough: String? = nil, hostname: String? = nil
    ) {
        self.files = files
        self.directories = directories
        self.unreadableDirectories = unreadableDirectories
        self.listenerPrograms = listenerPrograms
        self.readThrough = readThrough
        self.hostname = hostname
    }
}

/// The judgement about one program instance: whether its configuration
/// gives its listener a reason to exist, and why.
public struct ServiceNeed: Sendable, Equatable {
    /// The program judged.
    public var program: NeedProgram
    /// Unneeded, needed, or unknown (a file could not be read).
    public var verdict: NeedVerdict
    /// What was read and what it says, one fact a line ("/etc/exports has no export").
    public var evidence: [String]
    /// What to change when the listener is unneeded; nil otherwise.
    public var fix: String?
    /// Files that could not be read ("could not read /etc/samba/smb.conf: permission denied").
    public var diagnostics: [Diagnostic]
    /// The local ports the verdict is about (Postfix's judgement concerns
    /// 25 only, not submission on 587); nil: every port of the program.
    public var ports: Set<UInt16>?

    /// Builds a judgement.
    public init(
        program: NeedProgram, verdict: NeedVerdict, evidence: [String], fix: String? = nil, diagnostics: [Diagnostic] = [],
        ports: Set<UInt16>? = nil
    ) {
        self.program = program
        self.verdict = verdict
        self.evidence = evidence
        self.fix = fix
        self.diagnostics = diagnostics
        self.ports = ports
    }

    /// Whether the verdict concerns a socket on `port`.
    public func concerns(port: UInt16) -> Bool { ports?.contains(port) ?? true }
}

/// The judgements, pure: from what was read to a `ServiceNeed`.
public enum ServiceNeeds {
    /// Judges `program` from the files in `set`.
    public static func judge(_ program: NeedProgram, _ set: ServiceConfigSet) -> ServiceNeed {
        var need: ServiceNeed
        switch program {
        case .rpcbind: need = rpcbind(set)
        case .samba: need = samba(set)
        case .postfix: need = postfix(set)
        case .avahi: need = avahi(set)
        case .cups: need = cups(set)
        case .cupsBrowsed: need = cupsBrowsed(set)
        }
        if let through = set.readThrough { need.evidence.append("configuration read through \(through)") }
        return need
    }

    /// What could not be read: the verdict is unknown and says why.
    static func unreadable(_ program: NeedProgram, _ problems: [String], _ evidence: [String] = [], ports: Set<UInt16>? = nil)
        -> ServiceNeed
    {
        ServiceNeed(
            program: program, verdict: .unknown, evidence: evidence + problems,
            diagnostics: problems.map { Diagnostic(.warning, "\(program.rawValue): \($0); whether it is needed is not judged") },
            ports: ports)
    }

    /// The text of `path`, or the problem reading it ("could not read …: …");
    /// `missingIs` is the text a missing file stands for (nil: missing is a problem too).
    static func text(_ set: ServiceConfigSet, _ path: String, missingIs: String? = nil) -> Result<String?, Problem> {
        switch set.files[path] {
        case .text(let text): return .success(text)
        case .missing: return missingIs != nil ? .success(nil) : .failure(Problem("could not read \(path): no such file"))
        case .unreadable(let reason): return .failure(Problem("could not read \(path): \(reason)"))
        case nil: return .failure(Problem("could not read \(path): not read"))
        }
    }

    struct Problem: Error {
        var text: String
        init(_ text: String) { self.text = text }
    }

    /// Whether a graphical session runs (an X11 or Xwayland display socket in /tmp/.X11-unix); nil when unknown.
    static func graphicalSession(_ set: ServiceConfigSet) -> (Bool?, String) {
        if let reason = set.unreadableDirectories["/tmp/.X11-unix"] {
            return (nil, "could not list /tmp/.X11-unix: \(reason)")
        }
        let displays = (set.directories["/tmp/.X11-unix"] ?? []).filter { $0.hasPrefix("X") }
        return displays.isEmpty
            ? (false, "no graphical session (/tmp/.X11-unix has no display socket)")
            : (true, "a graphical session runs (/tmp/.X11-unix/\(displays[0]))")
    }

    // MARK: rpcbind

    static func rpcbind(_ set: ServiceConfigSet) -> ServiceNeed {
        var problems: [String] = []
        var uses: [String] = []
        var none: [String] = []
        func read(_ path: String) -> String? {
            switch text(set, path, missingIs: "") {
            case .success(let text): return text
            case .failure(let problem):
                problems.append(problem.text)
                return nil
            }
        }
        // Exports: /etc/exports and /etc/exports.d/*.exports (no file: no NFS server configured).
        var exports: [String] = []
        var exportFiles: [String] = []
        if set.files["/etc/exports"] == .missing {
            exportFiles.append("no /etc/exports")
        } else if let text = read("/etc/exports") {
            exports += ServiceConfigs.exports(text)
        }
        if let reason = set.unreadableDirectories["/etc/exports.d"] { problems.append("could not list /etc/exports.d: \(reason)") }
        for name in set.directories["/etc/exports.d"] ?? [] where name.hasSuffix(".exports") {
            if let text = read("/etc/exports.d/" + name) { exports += ServiceConfigs.exports(text) }
        }
        // What the NFS server exports now (exportfs also exports without /etc/exports).
        if let text = read("/var/lib/nfs/etab") {
            for path in ServiceConfigs.exports(text) where !exports.contains(path) { exports.append(path) }
        }
        if exports.isEmpty {
            none.append(
                exportFiles.first ?? "/etc/exports has no export"
                    + ((set.directories["/etc/exports.d"] ?? []).isEmpty ? "" : ", nor /etc/exports.d"))
        } else {
            uses.append(
                "NFS exports: " + exports.prefix(5).joined(separator: ", ") + (exports.count > 5 ? " and \(exports.count - 5) more" : ""))
        }
        // NFS mounts: mounted now, or listed in fstab (noauto or not yet mounted).
        var mounts: [ServiceConfigs.NFSMount] = []
        if let text = read("/proc/self/mounts") { mounts += ServiceConfigs.nfsMounts(text) }
        if let text = read("/etc/fstab") {
            for m in ServiceConfigs.nfsMounts(text) where !mounts.contains(where: { $0.mountPoint == m.mountPoint }) { mounts.append(m) }
        }
        if mounts.isEmpty {
            none.append("no NFS mount (mount table and /etc/fstab)")
        } else {
            let v3 = mounts.filter { $0.type == "nfs" }
            uses.append(
                "NFS mounts: " + mounts.prefix(3).map { "\($0.source) on \($0.mountPoint) (\($0.type))" }.joined(separator: ", ")
                    + (v3.isEmpty ? "" : " (NFSv3 clients use rpcbind for locking and mountd)"))
        }
        // NIS: a yp.conf binding or a running ypbind/ypserv. An nsswitch
        // source alone is not a use: Debian ships "netgroup: nis", which
        // does nothing until a NIS domain is bound.
        var nis: [String] = []
        var databases: [String] = []
        if let text = read("/etc/nsswitch.conf") { databases = ServiceConfigs.nsswitchNISDatabases(text) }
        if let text = read("/etc/yp.conf"), let binding = ServiceConfigs.ypBindings(text).first {
            nis.append("/etc/yp.conf: \(binding)")
        }
        let rpcPrograms = ["ypbind", "ypserv", "rpc.mountd", "rpc.rquotad", "rpc.yppasswdd", "rpc.ypxfrd"]
        let running = rpcPrograms.filter { set.listenerPrograms.contains($0) }
        if !running.isEmpty { nis.append("RPC services listening: " + running.joined(separator: ", ")) }
        if !nis.isEmpty, !databases.isEmpty { nis.append("/etc/nsswitch.conf uses NIS for " + databases.joined(separator: ", ")) }
        if nis.isEmpty {
            none.append(
                "NIS not configured (no yp.conf server"
                    + (databases.isEmpty ? "" : "; nsswitch.conf names nis for \(databases.joined(separator: ", ")) but no domain is bound")
                    + ") and no ypbind, ypserv or rpc.mountd running")
        }
        uses += nis

        if !uses.isEmpty { return ServiceNeed(program: .rpcbind, verdict: .needed, evidence: uses) }
        if !problems.isEmpty { return unreadable(.rpcbind, problems, none) }
        return ServiceNeed(
            program: .rpcbind, verdict: .unneeded, evidence: [none.joined(separator: "; ")],
            fix:
                "Nothing on this host uses rpcbind: stop and disable it (systemctl disable --now rpcbind.service rpcbind.socket), or remove the package if nothing depends on it (apt purge rpcbind); if NFS is planned, keep it on loopback until then: rpcbind.socket owns 111 and `-h` is ignored under socket activation, so `systemctl edit rpcbind.socket` with empty `ListenStream=` and `ListenDatagram=` lines, then `ListenStream=/run/rpcbind.sock` and `ListenStream=127.0.0.1:111`"
        )
    }

    // MARK: Samba

    static func samba(_ set: ServiceConfigSet) -> ServiceNeed {
        let conf: String
        switch text(set, "/etc/samba/smb.conf") {
        case .success(let text): conf = text ?? ""
        case .failure(let problem): return unreadable(.samba, [problem.text])
        }
        let ini = ServiceConfigs.ini(conf)
        var evidence: [String] = []
        // Shares defined elsewhere than this file: not read, so not judged.
        for key in ["include", "config file"] {
            if let value = ini.value("global", key) {
                return unreadable(.samba, ["smb.conf has \(key) = \(value), whose shares are not read"])
            }
        }
        if ini.value("global", "config backend")?.lowercased() == "registry"
            || ServiceConfigs.boolean(ini.value("global", "registry shares")) == true
        {
            return unreadable(.samba, ["smb.conf keeps shares in the registry, which is not read"])
        }
        // Usershares (`net usershare add`, a file manager's "share this folder"), in their default directory.
        if let reason = set.unreadableDirectories["/var/lib/samba/usershares"] {
            return unreadable(.samba, ["could not list /var/lib/samba/usershares: \(reason)"])
        }
        let usershares = (set.directories["/var/lib/samba/usershares"] ?? []).filter { !$0.hasPrefix(".") }
        let interfaces = ini.value("global", "interfaces")
        let bindOnly = ServiceConfigs.boolean(ini.value("global", "bind interfaces only")) ?? false
        if let interfaces, bindOnly {
            evidence.append("smb.conf binds only to interfaces = \(interfaces)")
        } else if let interfaces {
            evidence.append(
                "smb.conf sets interfaces = \(interfaces) without bind interfaces only = yes: smbd and nmbd still listen on every address")
        } else {
            evidence.append("smb.conf [global] sets no interfaces line, so smbd and nmbd listen on every address")
        }
        if ServiceConfigs.boolean(ini.value("global", "disable netbios")) != true {
            evidence.append("NetBIOS is not disabled (no disable netbios = yes): nmbd answers on 137/udp and 138/udp")
        }
        let defaults: Set<String> = ["global", "", "homes", "printers", "print$"]
        let shares = ini.order.filter { !defaults.contains($0) && ServiceConfigs.boolean(ini.value($0, "available")) != false }
        if !usershares.isEmpty {
            return ServiceNeed(
                program: .samba, verdict: .needed,
                evidence: ["usershares in /var/lib/samba/usershares: " + usershares.joined(separator: ", ")] + evidence)
        }
        if !shares.isEmpty {
            return ServiceNeed(
                program: .samba, verdict: .needed,
                evidence: ["smb.conf shares: " + shares.map { "[\($0)]" }.joined(separator: ", ")] + evidence)
        }
        // [printers] shares CUPS's queues: needed only when there are some.
        if ini.values["printers"] != nil {
            switch text(set, "/etc/cups/printers.conf", missingIs: "") {
            case .success(let text):
                let printers = ServiceConfigs.cupsPrinters(text ?? "")
                if !printers.isEmpty {
                    return ServiceNeed(
                        program: .samba, verdict: .needed,
                        evidence: ["[printers] shares CUPS queues: " + printers.map(\.name).joined(separator: ", ")] + evidence)
                }
                evidence.append("[printers] has no queue to share (/etc/cups/printers.conf has no printer)")
            case .failure(let problem): return unreadable(.samba, [problem.text], evidence)
            }
        }
        let present = ini.order.filter { ["homes", "printers", "print$"].contains($0) }.map { "[\($0)]" }
        evidence.insert(
            "smb.conf defines no share of its own"
                + (present.isEmpty ? "" : " (only Debian's defaults: " + present.joined(separator: ", ") + ")"),
            at: 0)
        return ServiceNeed(
            program: .samba, verdict: .unneeded, evidence: evidence,
            fix:
                "No share is configured: stop and disable Samba (systemctl disable --now smbd nmbd); if it must stay, restrict it in /etc/samba/smb.conf [global] with interfaces = lo <lan-interface> and bind interfaces only = yes, and disable netbios = yes (then nmbd is not needed)"
        )
    }

    // MARK: Postfix

    static func postfix(_ set: ServiceConfigSet) -> ServiceNeed {
        var problems: [String] = []
        var main: [String: String] = [:]
        switch text(set, "/etc/postfix/main.cf") {
        case .success(let text): main = ServiceConfigs.postfixMain(text ?? "")
        case .failure(let problem): problems.append(problem.text)
        }
        var services: [ServiceConfigs.PostfixInetService] = []
        switch text(set, "/etc/postfix/master.cf") {
        case .success(let text): services = ServiceConfigs.postfixInetServices(text ?? "")
        case .failure(let problem): problems.append(problem.text)
        }
        if !problems.isEmpty { return unreadable(.postfix, problems, ports: [25]) }

        var evidence: [String] = []
        let interfaces = main["inet_interfaces"] ?? "all"
        evidence.append("main.cf inet_interfaces = \(interfaces)" + (main["inet_interfaces"] == nil ? " (Postfix's default)" : ""))
        let smtp = services.filter { ($0.service == "smtp" || $0.service.hasSuffix(":smtp") || $0.service == "25") }
        if smtp.isEmpty {
            evidence.append("master.cf has no enabled smtp inet service")
        } else {
            evidence.append("master.cf runs \(smtp.map(\.command).joined(separator: ", ")) on smtp inet (port 25)")
        }
        // Mail the host accepts from the network: domains beyond its own
        // name, relaying for other domains or networks.
        var uses: [String] = []
        let myhostname = main["myhostname"] ?? set.hostname
        var local: Set<String> = ["$myhostname", "${myhostname}", "$(myhostname)", "localhost", "localhost.localdomain"]
        if let myhostname { local.insert(myhostname.lowercased()) }
        if let short = myhostname?.split(separator: ".").first { local.insert(String(short).lowercased()) }
        let destinations = ServiceConfigs.postfixList(main["mydestination"] ?? "$myhostname, localhost.$mydomain, localhost")
        let foreign = destinations.filter { d in
            let lower = d.lowercased()
            return !local.contains(lower) && !lower.hasPrefix("localhost.")
        }
        if !foreign.isEmpty { uses.append("mydestination receives mail for " + foreign.joined(separator: ", ")) }
        for key in ["relay_domains", "virtual_alias_domains", "virtual_mailbox_domains"] {
            let list = ServiceConfigs.postfixList(main[key])
            if !list.isEmpty, !(key == "relay_domains" && list == ["$mydestination"] && foreign.isEmpty) {
                uses.append("\(key) = \(main[key] ?? "")")
            }
        }
        if let networks = main["mynetworks"] {
            let loopbackPrefixes = ["127.", "[::1]", "[::ffff:127."]
            let others = ServiceConfigs.postfixList(networks).filter { n in !loopbackPrefixes.contains { n.hasPrefix($0) } }
            if !others.isEmpty { uses.append("mynetworks relays for " + others.joined(separator: ", ")) }
        } else if (main["mynetworks_style"] ?? "host") != "host" {
            uses.append("mynetworks_style = \(main["mynetworks_style"] ?? "") relays for the host's networks")
        }
        if let relayhost = main["relayhost"], !relayhost.isEmpty { evidence.append("outgoing mail goes to relayhost = \(relayhost)") }
        if !uses.isEmpty { return ServiceNeed(program: .postfix, verdict: .needed, evidence: uses + evidence, ports: [25]) }
        evidence.insert(
            "delivery is local-only: mydestination = \(destinations.joined(separator: ", ")) names only this host, no relay or virtual domains, mynetworks is loopback",
            at: 0)
        return ServiceNeed(
            program: .postfix, verdict: .unneeded, evidence: evidence,
            fix:
                "This host only delivers its own mail: set inet_interfaces = loopback-only in /etc/postfix/main.cf (Debian's \"Local only\" setup), then systemctl restart postfix (inet_interfaces needs a restart, not a reload)",
            ports: [25])
    }

    // MARK: Avahi and CUPS

    static func avahi(_ set: ServiceConfigSet) -> ServiceNeed {
        let conf: String
        switch text(set, "/etc/avahi/avahi-daemon.conf") {
        case .success(let text): conf = text ?? ""
        case .failure(let problem): return unreadable(.avahi, [problem.text])
        }
        let ini = ServiceConfigs.ini(conf)
        var evidence: [String] = []
        let (session, sessionLine) = graphicalSession(set)
        if let allowed = ini.value("server", "allow-interfaces") {
            evidence.append("avahi-daemon.conf allow-interfaces = \(allowed)")
        } else {
            evidence.append("avahi-daemon.conf sets no allow-interfaces: mDNS on every interface")
        }
        let families = [("use-ipv4", "IPv4"), ("use-ipv6", "IPv6")].filter { ServiceConfigs.boolean(ini.value("server", $0.0)) != false }
            .map(\.1)
        evidence.append("answers over " + (families.isEmpty ? "no address family" : families.joined(separator: " and ")))
        let publishing = ServiceConfigs.boolean(ini.value("publish", "disable-publishing")) != true
        let published = ["publish-addresses", "publish-hinfo", "publish-workstation", "publish-domain"].filter {
            ServiceConfigs.boolean(ini.value("publish", $0)) != false
        }
        evidence.append(
            publishing
                ? "publishes " + (published.isEmpty ? "nothing of the host" : published.joined(separator: ", ")) + " (unset keys are on)"
                : "disable-publishing = yes")
        let services = (set.directories["/etc/avahi/services"] ?? []).filter { $0.hasSuffix(".service") }
        if let reason = set.unreadableDirectories["/etc/avahi/services"] {
            return unreadable(.avahi, ["could not list /etc/avahi/services: \(reason)"], evidence)
        }
        if !services.isEmpty {
            return ServiceNeed(
                program: .avahi, verdict: .needed,
                evidence: ["advertises services: /etc/avahi/services/" + services.joined(separator: ", ")] + evidence)
        }
        evidence.append(sessionLine)
        guard let session else { return unreadable(.avahi, [sessionLine], evidence) }
        if session { return ServiceNeed(program: .avahi, verdict: .needed, evidence: evidence) }
        evidence.insert("no service is advertised (/etc/avahi/services has no .service file)", at: 0)
        return ServiceNeed(
            program: .avahi, verdict: .unneeded, evidence: evidence,
            fix:
                "On a server nothing needs mDNS discovery: systemctl disable --now avahi-daemon.service avahi-daemon.socket; or limit it with allow-interfaces= and publish-addresses=no in /etc/avahi/avahi-daemon.conf"
        )
    }

    static func cups(_ set: ServiceConfigSet) -> ServiceNeed {
        var problems: [String] = []
        var directives: [(directive: String, value: String)] = []
        switch text(set, "/etc/cups/cupsd.conf") {
        case .success(let text): directives = ServiceConfigs.cupsDirectives(text ?? "")
        case .failure(let problem): problems.append(problem.text)
        }
        var printers: [(name: String, shared: Bool)] = []
        switch text(set, "/etc/cups/printers.conf", missingIs: "") {
        case .success(let text): printers = ServiceConfigs.cupsPrinters(text ?? "")
        case .failure(let problem): problems.append(problem.text)
        }
        if !problems.isEmpty { return unreadable(.cups, problems, ports: [631]) }
        var evidence: [String] = []
        let listens = directives.filter { ["listen", "port"].contains($0.directive.lowercased()) }.map { "\($0.directive) \($0.value)" }
        evidence.append("cupsd.conf: " + (listens.isEmpty ? "no Listen or Port line" : listens.joined(separator: ", ")))
        if let browsing = directives.last(where: { $0.directive.lowercased() == "browsing" }) {
            let protocols = directives.last(where: { $0.directive.lowercased() == "browselocalprotocols" })?.value ?? "dnssd"
            evidence.append(
                "Browsing \(browsing.value)"
                    + (ServiceConfigs.boolean(browsing.value) == true ? " (BrowseLocalProtocols \(protocols))" : ""))
        }
        let shared = printers.filter(\.shared)
        if !shared.isEmpty {
            return ServiceNeed(
                program: .cups, verdict: .needed,
                evidence: ["shared print queues: " + shared.map(\.name).joined(separator: ", ")] + evidence,
                ports: [631])
        }
        let (session, sessionLine) = graphicalSession(set)
        evidence.insert(
            printers.isEmpty ? "no printer queue (/etc/cups/printers.conf has no printer)" : "no queue is shared (\(printers.count) local)",
            at: 0)
        evidence.append(sessionLine)
        guard session != nil else { return unreadable(.cups, [sessionLine], evidence, ports: [631]) }
        return ServiceNeed(
            program: .cups, verdict: .unneeded, evidence: evidence,
            fix:
                "No queue is shared, so nothing on the network needs IPP here: use Listen localhost:631 (Debian's default) instead of Port 631 or Listen *:631 in /etc/cups/cupsd.conf, and Browsing No; or disable cups if nothing prints (systemctl disable --now cups.service cups.socket)",
            ports: [631])
    }

    static func cupsBrowsed(_ set: ServiceConfigSet) -> ServiceNeed {
        let directives: [(directive: String, value: String)]
        switch text(set, "/etc/cups/cups-browsed.conf") {
        case .success(let text): directives = ServiceConfigs.cupsDirectives(text ?? "")
        case .failure(let problem): return unreadable(.cupsBrowsed, [problem.text])
        }
        let remote = directives.last { ["browseremoteprotocols", "browseprotocols"].contains($0.directive.lowercased()) }
        var evidence = [
            "cups-browsed.conf: " + (remote.map { "\($0.directive) \($0.value)" } ?? "no BrowseRemoteProtocols line (default: dnssd cups)")
        ]
        let (session, sessionLine) = graphicalSession(set)
        evidence.append(sessionLine)
        guard let session else { return unreadable(.cupsBrowsed, [sessionLine], evidence) }
        if session { return ServiceNeed(program: .cupsBrowsed, verdict: .needed, evidence: evidence) }
        evidence.insert("a server without a graphical session needs no printers discovered from the network", at: 0)
        return ServiceNeed(
            program: .cupsBrowsed, verdict: .unneeded, evidence: evidence,
            fix:
                "Set BrowseRemoteProtocols none in /etc/cups/cups-browsed.conf (631/udp closes), or disable it (systemctl disable --now cups-browsed)"
        )
    }
}

extension Substring {
    var trimmingWhitespace: String { String(self).trimmingWhitespace }
}
