import PortcullisCore

/// Reads, never writes, the configuration that says whether a listener is
/// needed, through the holder's own root (`/proc/PID/root/etc/...`): a
/// program in a container, or in a mount namespace where `ip netns exec`
/// bind-mounted /etc/netns/NAME over /etc, is judged by its own files.
public enum ServiceConfigReader {
    /// Files larger than this are not judged (a configuration file is a few KiB).
    public static let maxFileBytes = 1 << 20

    /// The judgement for every holder of a listener beyond loopback that
    /// runs one of the programs `NeedProgram` knows, by pid. Live hosts only
    /// (a copied /proc has no process roots to read through).
    public static func needs(for entries: [InventoryEntry], procRoot: String = "/proc") -> [Int32: ServiceNeed] {
        var programs: Set<String> = []
        var holders: [Int32: (NeedProgram, SocketOwner)] = [:]
        for entry in entries {
            for owner in entry.owners {
                programs.insert(owner.name)
                guard !entry.exposure.isLoopbackOnly, holders[owner.pid] == nil,
                    let program = NeedProgram.recognise(owner.name)
                else { continue }
                // "master" is a common name: Postfix's runs from a postfix directory.
                if program == .postfix, let exe = owner.exe, !exe.contains("postfix") { continue }
                holders[owner.pid] = (program, owner)
            }
        }
        let hostname = HostFiles.hostname(procRoot: procRoot)
        var needs: [Int32: ServiceNeed] = [:]
        for (pid, (program, _)) in holders {
            let set = read(program, pid: pid, procRoot: procRoot, listenerPrograms: programs, hostname: hostname)
            needs[pid] = ServiceNeeds.judge(program, set)
        }
        return needs
    }

    /// Reads `program`'s files and directories as process `pid` sees them.
    public static func read(
        _ program: NeedProgram, pid: Int32, procRoot: String = "/proc", listenerPrograms: Set<String> = [], hostname: String? = nil
    ) -> ServiceConfigSet {
        let root = "\(procRoot)/\(pid)/root"
        var set = ServiceConfigSet(listenerPrograms: listenerPrograms, hostname: hostname)
        for path in program.files {
            set.files[path] =
                path == "/proc/self/mounts" ? readCapped("\(procRoot)/\(pid)/mounts") : readInRoot(root: root, path)
        }
        for (directory, suffix) in program.directories {
            switch list(root + directory) {
            case .success(let names):
                set.directories[directory] = names
                if let suffix {
                    for name in names where name.hasSuffix(suffix) {
                        set.files[directory + "/" + name] = readInRoot(root: root, directory + "/" + name)
                    }
                }
            case .failure(let error):
                if error.meansGone || error == .notDirectory {
                    set.directories[directory] = []
                } else {
                    set.unreadableDirectories[directory] = reason(error)
                }
            }
        }
        if let own = try? Sys.statAt(Sys.currentDirectory, Array("\(procRoot)/self/ns/mnt".utf8), follow: true),
            let theirs = try? Sys.statAt(Sys.currentDirectory, Array("\(procRoot)/\(pid)/ns/mnt".utf8), follow: true),
            own.inode != theirs.inode
        {
            set.readThrough = "\(root) (the program's own mount namespace)"
        }
        return set
    }

    /// `path` as the program whose root is `root` sees it: a symbolic link
    /// as the last component is followed inside that root (an absolute
    /// target is the program's path, not ours), up to 8 links.
    static func readInRoot(root: String, _ path: String) -> ConfigRead {
        var current = path
        for _ in 0..<8 {
            let result = readCapped(root + current)
            guard result == .unreadable(reason(.tooManySymlinks)) else { return result }
            guard let target = try? Sys.readLinkAt(Sys.currentDirectory, root + current), !target.isEmpty else { return result }
            let text = String(decoding: target, as: UTF8.self)
            current =
                text.hasPrefix("/") ? text : current.split(separator: "/").dropLast().map { "/" + $0 }.joined() + "/" + text
        }
        return .unreadable("more than 8 symbolic links")
    }

    /// A file's text, at most `maxFileBytes`; missing or unreadable said so.
    static func readCapped(_ path: String) -> ConfigRead {
        let fd: Int32
        do { fd = try Sys.openAt(Sys.currentDirectory, path) } catch {
            return error.meansGone || error == .notDirectory ? .missing : .unreadable(reason(error))
        }
        defer { Sys.close(fd) }
        let bytes: [UInt8]
        do { bytes = try Sys.readAll(fd, sizeHint: 16384, limit: maxFileBytes + 1) } catch { return .unreadable(reason(error)) }
        if bytes.count > maxFileBytes { return .unreadable("larger than \(maxFileBytes / 1024) KiB, not judged") }
        return .text(String(decoding: bytes, as: UTF8.self))
    }

    static func list(_ path: String) -> Result<[String], Errno> {
        Result { () throws(Errno) in
            let fd = try Sys.openAt(Sys.currentDirectory, path, directory: true)
            var names: [String] = []
            try Sys.listDirectory(consuming: fd) { _, name in
                let text = String(cString: name)
                if text != "." && text != ".." { names.append(text) }
            }
            return names.sorted()
        }
    }

    /// "permission denied": strerror's text with a lower-case start, as evidence reads.
    static func reason(_ error: Errno) -> String {
        if error == .tooManySymlinks { return "it is a symbolic link (not followed)" }
        let text = error.description
        return text.prefix(1).lowercased() + text.dropFirst()
    }
}
