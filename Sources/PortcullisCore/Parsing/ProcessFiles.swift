/// Parsers for the per-process files under /proc/PID and a few host files.
/// Each takes the bytes read and returns nil when they are not what the
/// kernel writes, so a vanished or tampered file never crashes the caller.
public enum ProcessFiles {
    /// Fields of /proc/PID/stat that portcullis uses.
    public struct Stat: Sendable, Equatable {
        /// `comm`, escaped.
        public var name: String
        /// The state letter as the kernel writes it (`R` running, `S` sleeping, `Z` zombie, ...), as a byte.
        public var state: UInt8
        /// The parent's pid; 0 for processes the kernel started (PID 1, kthreadd).
        public var ppid: Int32
        /// Clock ticks after boot.
        public var startTicks: UInt64
        /// CPU time in user mode, in clock ticks.
        public var userTicks: UInt64 = 0
        /// CPU time in kernel mode, in clock ticks.
        public var systemTicks: UInt64 = 0
        /// Resident set size in pages.
        public var residentPages: UInt64 = 0
    }

    /// `pid (comm) S ppid ... starttime(22) ...`. comm may hold spaces and
    /// parentheses, so the name ends at the *last* `)`.
    public static func parseStat(_ b: [UInt8]) -> Stat? {
        guard let open = b.firstIndex(of: 0x28), let close = b.lastIndex(of: 0x29), open < close else { return nil }
        let name = UntrustedText.escape(b[(open + 1)..<close])
        var fields: [ArraySlice<UInt8>] = []
        var i = close + 1
        while i < b.count && fields.count < 22 {
            while i < b.count && (b[i] == 0x20 || b[i] == 0x0a) { i += 1 }
            let s = i
            while i < b.count && b[i] != 0x20 && b[i] != 0x0a { i += 1 }
            if i > s { fields.append(b[s..<i]) }
        }
        // After comm: state(3) ppid(4) ... starttime(22) → indices 0, 1, 19.
        guard fields.count >= 20, let state = fields[0].first,
            let ppid = Int32(String(decoding: fields[1], as: UTF8.self)),
            let start = UInt64(String(decoding: fields[19], as: UTF8.self))
        else { return nil }
        func number(_ index: Int) -> UInt64 { index < fields.count ? UInt64(String(decoding: fields[index], as: UTF8.self)) ?? 0 : 0 }
        // utime(14) stime(15) rss(24) → indices 11, 12, 21.
        return Stat(
            name: name, state: state, ppid: ppid, startTicks: start, userTicks: number(11), systemTicks: number(12),
            residentPages: number(21))
    }

    /// Effective uid from the `Uid:` line of /proc/PID/status (real, effective, saved, fs).
    public static func effectiveUID(status b: [UInt8]) -> UInt32? {
        for line in b.split(separator: 0x0a) where line.starts(with: Array("Uid:".utf8)) {
            let values = line.dropFirst(4).split(whereSeparator: { $0 == 0x09 || $0 == 0x20 })
            guard values.count >= 2 else { return nil }
            return UInt32(String(decoding: values[1], as: UTF8.self))
        }
        return nil
    }

    /// Thread group id from the `Tgid:` line of /proc/PID/status: the pid of
    /// the process a thread belongs to (equal to PID for the process itself).
    public static func threadGroupID(status b: [UInt8]) -> Int32? {
        for line in b.split(separator: 0x0a) where line.starts(with: Array("Tgid:".utf8)) {
            return Int32(String(decoding: line.dropFirst(5), as: UTF8.self).trimmingWhitespace)
        }
        return nil
    }

    /// Command line: NUL-separated arguments, joined with spaces, escaped.
    public static func commandLine(_ b: [UInt8]) -> String {
        var end = b.count
        while end > 0 && b[end - 1] == 0 { end -= 1 }
        return b[0..<end].split(separator: 0, omittingEmptySubsequences: false)
            .map { UntrustedText.escape($0) }.joined(separator: " ")
    }

    /// `socket:[12345]` → 12345; anything else → nil. Inlinable: it runs
    /// once per descriptor of every process, and only specialised for the
    /// caller's buffer type is it cheap.
    @inlinable
    public static func socketInode<C: BidirectionalCollection>(link b: C) -> UInt64? where C.Element == UInt8 {
        bracketedNumber(b, prefix: socketPrefix)
    }

    /// `net:[4026531840]` → 4026531840.
    public static func namespaceInode(link b: ArraySlice<UInt8>, kind: String) -> UInt64? {
        bracketedNumber(b, prefix: Array((kind + ":[").utf8))
    }

    @usableFromInline static let socketPrefix = Array("socket:[".utf8)

    @inlinable @inline(__always)
    static func bracketedNumber<C: BidirectionalCollection>(_ b: C, prefix: [UInt8]) -> UInt64? where C.Element == UInt8 {
        guard b.count > prefix.count + 1, b.starts(with: prefix), b.last == 0x5d else { return nil }
        var v: UInt64 = 0
        var digits = 0
        for c in b.dropFirst(prefix.count).dropLast() {
            guard c >= 0x30 && c <= 0x39, digits < 19 else { return nil }
            v = v * 10 + UInt64(c - 0x30)
            digits += 1
        }
        return v
    }

    /// systemd unit and container from /proc/PID/cgroup.
    public struct CgroupInfo: Sendable, Equatable {
        /// The innermost systemd service or socket unit on the cgroup path, else the innermost scope; escaped.
        public var unit: String?
        /// The 64-hex-digit container id (Docker, containerd, CRI-O, Podman) on the path, if any: `containerReference?.id`.
        public var container: String?
        /// The cgroup path that was read (v2, else the systemd v1 hierarchy), escaped; nil when there was none.
        public var path: String?
        /// The container the process runs in, as the path shows it (runtime, id or name, pod uid); nil outside any.
        public var containerReference: ContainerReference?

        /// Builds the parts of a cgroup file; `parseCgroup` derives them.
        public init(unit: String? = nil, container: String? = nil, path: String? = nil, containerReference: ContainerReference? = nil) {
            self.unit = unit
            self.container = container
            self.path = path
            self.containerReference = containerReference
        }
    }

    /// Reads /proc/PID/cgroup: `0::/path` (cgroup v2) and
    /// `N:controllers:/path` (v1, `name=systemd` among them).
    ///
    /// The unit comes from the v2 path, or from the systemd v1 hierarchy when
    /// there is no v2 line or the v2 path is just `/` (a hybrid host whose
    /// unified hierarchy systemd does not manage). The container comes from
    /// the first of the v2 path, the systemd v1 path and the other v1
    /// controllers' paths (`4:cpu,cpuacct:/docker/<id>`) that shows one.
    public static func parseCgroup(_ b: [UInt8]) -> CgroupInfo {
        var unified: ArraySlice<UInt8>?
        var systemd: ArraySlice<UInt8>?
        var controllers: [ArraySlice<UInt8>] = []
        for line in b.split(separator: 0x0a) {
            // hierarchy-ID:controller-list:path; the path itself may hold ':'.
            guard let first = line.firstIndex(of: 0x3a), let second = line[(first + 1)...].firstIndex(of: 0x3a) else { continue }
            let hierarchy = line[..<first]
            let names = line[(first + 1)..<second]
            let path = line[(second + 1)...]
            if hierarchy.elementsEqual([0x30]) && names.isEmpty {
                if unified == nil { unified = path }
            } else if names.elementsEqual("name=systemd".utf8) {
                systemd = path
            } else {
                controllers.append(path)
            }
        }
        let chosen: ArraySlice<UInt8>?
        if let unified, unified.count > 1 || systemd == nil { chosen = unified } else { chosen = systemd ?? unified }
        var info = CgroupInfo()
        if let chosen {
            info.path = UntrustedText.escape(chosen)
            info.unit = systemdUnit(String(decoding: chosen, as: UTF8.self))
        }
        for path in [unified, systemd].compactMap({ $0 }) + controllers {
            if let reference = CgroupContainers.reference(path: path) {
                info.containerReference = reference
                info.container = reference.id
                break
            }
        }
        return info
    }

    static let unitSuffixes = [".service", ".socket", ".scope", ".mount", ".swap", ".timer"]

    /// The innermost service unit on the path, else the innermost scope
    /// (a login session or container scope).
    static func systemdUnit(_ path: String) -> String? {
        let parts = path.split(separator: "/").map(String.init)
        if let service = parts.last(where: { $0.hasSuffix(".service") || $0.hasSuffix(".socket") }) {
            return UntrustedText.escape(service)
        }
        if let other = parts.last(where: { p in unitSuffixes.contains { p.hasSuffix($0) } }) {
            return UntrustedText.escape(other)
        }
        return nil
    }

    /// `/etc/passwd` → uid → name (first entry wins, as getpwuid does).
    public static func parsePasswd(_ b: [UInt8]) -> [UInt32: String] {
        var users: [UInt32: String] = [:]
        for line in b.split(separator: 0x0a) {
            guard line.first != 0x23 else { continue }
            let fields = line.split(separator: 0x3a, maxSplits: 3, omittingEmptySubsequences: false)
            guard fields.count >= 3, !fields[0].isEmpty,
                let uid = UInt32(String(decoding: fields[2], as: UTF8.self))
            else { continue }
            if users[uid] == nil { users[uid] = UntrustedText.escape(fields[0]) }
        }
        return users
    }

    /// Home directories of ordinary users (uid 1000 and above, not nobody)
    /// from /etc/passwd, for judging where a root process runs from.
    public static func userHomes(passwd b: [UInt8]) -> [String] {
        var homes: [String] = []
        for line in b.split(separator: 0x0a) where line.first != 0x23 {
            let fields = line.split(separator: 0x3a, omittingEmptySubsequences: false)
            guard fields.count >= 6, let uid = UInt32(String(decoding: fields[2], as: UTF8.self)),
                uid >= 1000, uid != 65534
            else { continue }
            let home = String(decoding: fields[5], as: UTF8.self)
            if home.count > 1 && home.hasPrefix("/") && home != "/nonexistent" && !homes.contains(home) { homes.append(home) }
        }
        return homes
    }

    /// uid → home directory from /etc/passwd (first entry wins), as raw
    /// text for building paths (not escaped: do not print it unescaped).
    public static func homeDirectories(passwd b: [UInt8]) -> [UInt32: String] {
        var homes: [UInt32: String] = [:]
        for line in b.split(separator: 0x0a) where line.first != 0x23 {
            let fields = line.split(separator: 0x3a, omittingEmptySubsequences: false)
            guard fields.count >= 6, let uid = UInt32(String(decoding: fields[2], as: UTF8.self)), fields[5].first == 0x2f,
                homes[uid] == nil
            else { continue }
            homes[uid] = String(decoding: fields[5], as: UTF8.self)
        }
        return homes
    }

    /// The value of one variable in a NUL-separated environment block
    /// (/proc/PID/environ), escaped.
    public static func environmentValue(_ b: [UInt8], name: String) -> String? {
        let prefix = Array((name + "=").utf8)
        for item in b.split(separator: 0) where item.starts(with: prefix) {
            return UntrustedText.escape(item.dropFirst(prefix.count))
        }
        return nil
    }

    /// `/proc/sys/net/ipv4/ip_local_port_range`: "32768\t60999".
    public static func parsePortRange(_ b: [UInt8]) -> ClosedRange<UInt16>? {
        let parts = b.split(whereSeparator: { $0 == 0x09 || $0 == 0x20 || $0 == 0x0a })
        guard parts.count == 2,
            let low = UInt16(String(decoding: parts[0], as: UTF8.self)),
            let high = UInt16(String(decoding: parts[1], as: UTF8.self)), low <= high
        else { return nil }
        return low...high
    }

    /// The `hidepid=` option of the proc mount at `mountPoint`, from
    /// /proc/self/mountinfo, when it hides processes (anything but 0/off).
    /// Of several proc mounts stacked there (a namespace that mounted its own
    /// over the host's), the last one listed is on top and is the one read.
    public static func hidePID(mountinfo b: [UInt8], mountPoint: String) -> String? {
        var found: String?
        lines: for line in String(decoding: b, as: UTF8.self).split(separator: "\n") {
            // id parent major:minor root mountpoint options [optional...] - fstype source superoptions
            let halves = line.split(separator: " - ", maxSplits: 1)
            guard halves.count == 2 else { continue }
            let left = halves[0].split(separator: " ")
            let right = halves[1].split(separator: " ")
            guard left.count >= 5, left[4] == mountPoint, right.first == "proc", right.count >= 3 else { continue }
            for option in right[2].split(separator: ",") where option.hasPrefix("hidepid=") {
                let value = option.dropFirst("hidepid=".count)
                found = value == "0" || value == "off" ? nil : String(value)
                continue lines
            }
            found = nil
        }
        return found
    }

    /// Network namespaces bind-mounted somewhere (`ip netns add`, Docker's
    /// sandboxes, or by hand): each nsfs mount of a `net:[INODE]` in
    /// /proc/self/mountinfo, with its mount point (octal escapes such as
    /// `\040` decoded). A namespace mounted twice is listed twice.
    public static func networkNamespaceMounts(mountinfo b: [UInt8]) -> [(inode: UInt64, mountPoint: String)] {
        var found: [(inode: UInt64, mountPoint: String)] = []
        for line in b.split(separator: 0x0a) {
            // id parent major:minor root mountpoint options [optional...] - fstype source superoptions
            let fields = line.split(separator: 0x20)
            guard fields.count >= 8, let dash = fields.firstIndex(where: { $0.elementsEqual([0x2d]) }),
                dash + 1 < fields.endIndex, fields[dash + 1].elementsEqual("nsfs".utf8),
                let inode = namespaceInode(link: ArraySlice(fields[3]), kind: "net")
            else { continue }
            found.append((inode, String(decoding: unescapeOctal(fields[4]), as: UTF8.self)))
        }
        return found
    }

    /// Decodes the kernel's `\NNN` octal escapes (space, tab, newline, backslash) in mountinfo paths.
    static func unescapeOctal(_ b: ArraySlice<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(b.count)
        var i = b.startIndex
        while i < b.endIndex {
            if b[i] == 0x5c, i + 3 < b.endIndex,
                let value = UInt8(String(decoding: b[(i + 1)...(i + 3)], as: UTF8.self), radix: 8)
            {
                out.append(value)
                i += 4
            } else {
                out.append(b[i])
                i += 1
            }
        }
        return out
    }

    /// `btime` (boot time, seconds since the epoch) from /proc/stat.
    public static func bootTime(procStat b: [UInt8]) -> Int64? {
        for line in b.split(separator: 0x0a) where line.starts(with: Array("btime ".utf8)) {
            return Int64(String(decoding: line.dropFirst(6), as: UTF8.self).trimmingWhitespace)
        }
        return nil
    }
}

extension String {
    /// Without leading and trailing spaces, tabs and newlines (kernel files
    /// end in a newline).
    public var trimmingWhitespace: String {
        var s = Substring(self)
        while let c = s.first, c == " " || c == "\t" || c == "\n" { s = s.dropFirst() }
        while let c = s.last, c == " " || c == "\t" || c == "\n" { s = s.dropLast() }
        return String(s)
    }
}
