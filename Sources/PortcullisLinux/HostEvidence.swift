import PortcullisCore

/// Host facts the audit weighs beside the sockets: tamper signs, kernel
/// services that hold sockets without a process, and users' homes.
public enum HostEvidence {
    /// /etc/ld.so.preload, LD_PRELOAD in our environment, and LD_PRELOAD in
    /// the environment of the given processes (readable as root).
    public static func tamper(procRoot: String, etcRoot: String, pids: [Int32]) -> TamperEvidence {
        var evidence = TamperEvidence()
        switch Result(catching: { () throws(Errno) in try HostFiles.readFile(etcRoot + "etc/ld.so.preload") }) {
        case .success(let bytes):
            evidence.ldSoPreload = UntrustedText.escape(
                Array(bytes.split(whereSeparator: { $0 == 0x0a || $0 == 0x20 }).joined(separator: [0x20])))
        case .failure(let error):
            if !error.meansGone { evidence.ldSoPreload = "(present, unreadable: \(error))" }
        }
        evidence.ownPreload = Sys.environment("LD_PRELOAD").map(UntrustedText.escape)
        if let procfs = try? ProcFS(root: procRoot) {
            for pid in Set(pids) {
                guard let environ = try? procfs.process(pid).read("environ", sizeHint: 8192),
                    let value = ProcessFiles.environmentValue(environ, name: "LD_PRELOAD"), !value.isEmpty
                else { continue }
                evidence.listenerPreloads[pid] = value
            }
        }
        return evidence
    }

    /// In-kernel NFS server and lock manager, and WireGuard interfaces.
    public static func kernelHints(procRoot: String, sysRoot: String = "/sys") -> KernelSocketHints {
        var hints = KernelSocketHints()
        if let threads = try? HostFiles.readFile(procRoot + "/fs/nfsd/threads"),
            let count = Int(String(decoding: threads, as: UTF8.self).trimmingWhitespace), count > 0
        {
            hints.nfsServer = true
        }
        for name in ["nlm_tcpport", "nlm_udpport"] {
            if let bytes = try? HostFiles.readFile(procRoot + "/sys/fs/nfs/" + name),
                let port = UInt16(String(decoding: bytes, as: UTF8.self).trimmingWhitespace), port != 0
            {
                hints.lockdPorts.insert(port)
            }
        }
        for interface in HostFiles.directoryNames(sysRoot + "/class/net") {
            if let uevent = try? HostFiles.readFile(sysRoot + "/class/net/\(interface)/uevent"),
                String(decoding: uevent, as: UTF8.self).split(separator: "\n").contains("DEVTYPE=wireguard")
            {
                hints.wireguardInterfaces.append(UntrustedText.escape(interface))
            }
        }
        return hints
    }

    /// Home directories of ordinary users (uid 1000 and above) from `etcRoot`/etc/passwd; empty when it
    /// cannot be read. `etcRoot` ends in "/" ("/" for this host).
    public static func userHomes(etcRoot: String) -> [String] {
        (try? HostFiles.readFile(etcRoot + "etc/passwd")).map(ProcessFiles.userHomes) ?? []
    }
}

extension HostFiles {
    /// Entry names of a directory; empty when it cannot be read.
    public static func directoryNames(_ path: String) -> [String] {
        guard let fd = try? Sys.openAt(Sys.currentDirectory, path, directory: true) else { return [] }
        var names: [String] = []
        try? Sys.listDirectory(consuming: fd) { _, name in names.append(String(cString: name)) }
        return names.sorted()
    }
}
