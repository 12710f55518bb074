import Dispatch
import PortcullisCore
import Synchronization

/// Finds which processes hold which sockets by walking /proc/PID/fd, and
/// describes those processes.
public struct OwnerResolver: Sendable {
    /// One descriptor of one process referring to a socket.
    public struct Holding: Sendable, Hashable {
        /// The process holding the descriptor.
        public var pid: Int32
        /// The descriptor number in that process's fd table.
        public var fd: Int32
    }

    /// Every (pid, fd) holding each socket inode.
    public struct Holders: Sendable {
        /// Socket inode → every (pid, fd) referring to it, in walk order; only wanted inodes when the walk had a filter.
        public var byInode: [UInt64: [Holding]] = [:]
        /// PIDs whose fd table could not be read for lack of privilege.
        public var deniedPIDs: [Int32] = []
        /// PIDs that exited during the walk.
        public var vanishedPIDs = 0
        /// PIDs whose fd table was read, or taken from the cache.
        public var walkedPIDs = 0
        /// PIDs whose sockets came from a `SocketTableCache` (also counted in walkedPIDs).
        public var reusedPIDs = 0

        /// Adds the holdings and counts of another walk (of other pids).
        public mutating func merge(_ other: Holders) {
            if byInode.isEmpty {
                byInode = other.byInode
            } else {
                byInode.merge(other.byInode) { $0 + $1 }
            }
            deniedPIDs += other.deniedPIDs
            vanishedPIDs += other.vanishedPIDs
            walkedPIDs += other.walkedPIDs
            reusedPIDs += other.reusedPIDs
        }
    }

    let procfs: ProcFS
    /// Number of threads walking fd tables in parallel.
    public var parallelism: Int

    /// A resolver over `procfs`; `parallelism` is clamped to at least 1.
    public init(procfs: ProcFS, parallelism: Int = 2) {
        self.procfs = procfs
        self.parallelism = max(1, parallelism)
    }

    /// Walks the fd tables of `pids` (default: every listed process). When
    /// `wanted` is given, only those inodes are recorded. With a `cache`, a
    /// process whose threads have not run since its table was last read
    /// (same `activityStamp`) is not read again: its sockets come from the
    /// cache, which is then updated to hold exactly the processes walked now.
    public func holders(pids: [Int32]? = nil, wanted: Set<UInt64>? = nil, cache: SocketTableCache? = nil) throws(Errno) -> Holders {
        let targets: [Int32]
        if let pids { targets = pids } else { targets = try procfs.listedPIDs() }
        let known = cache?.tables ?? [:]
        let workers = min(parallelism, max(1, targets.count / 8))
        let next = Atomic<Int>(0)
        let partials = Locked<[(holders: Holders, tables: [Int32: SocketTableCache.Table])]>([])
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            var local = Holders()
            var tables: [Int32: SocketTableCache.Table] = [:]
            while true {
                let index = next.add(1, ordering: .relaxed).oldValue
                guard index < targets.count else { break }
                let pid = targets[index]
                do throws(Errno) {
                    let process = try procfs.process(pid)
                    // The stamp is taken before the walk: whatever changes after it changes the stamp too.
                    let stamp = cache == nil ? nil : process.activityStamp()
                    if let stamp, let table = known[pid], table.stamp == stamp {
                        for (fd, inode) in table.sockets where wanted?.contains(inode) ?? true {
                            local.byInode[inode, default: []].append(Holding(pid: pid, fd: fd))
                        }
                        tables[pid] = table
                        local.reusedPIDs += 1
                    } else {
                        var sockets: [(fd: Int32, inode: UInt64)] = []
                        try process.forEachSocket { fd, inode in
                            if stamp != nil { sockets.append((fd, inode)) }
                            if let wanted, !wanted.contains(inode) { return }
                            local.byInode[inode, default: []].append(Holding(pid: pid, fd: fd))
                        }
                        if let stamp { tables[pid] = SocketTableCache.Table(stamp: stamp, sockets: sockets) }
                    }
                    local.walkedPIDs += 1
                } catch {
                    if error.meansDenied { local.deniedPIDs.append(pid) } else { local.vanishedPIDs += 1 }
                }
            }
            let result = (local, tables)
            partials.withLock { $0.append(result) }
        }
        var merged = Holders()
        var tables: [Int32: SocketTableCache.Table] = [:]
        for part in partials.withLock({ $0 }) {
            merged.merge(part.holders)
            tables.merge(part.tables) { first, _ in first }
        }
        merged.deniedPIDs.sort()
        cache?.tables = tables
        return merged
    }
}

/// The socket descriptors each process held when its fd table was last
/// read, with the process's `activityStamp` then. `watch` keeps one across
/// polls, so a new listener's owner is found by reading only the fd tables
/// of processes that ran since: on a host whose big servers sit idle that
/// is a few tables instead of every descriptor on the machine.
///
/// What it cannot see: two processes sharing one fd table without being
/// threads of each other (clone with CLONE_FILES but not CLONE_THREAD,
/// rare outside old threading libraries): a descriptor one opens appears
/// in the other's table while the other has not run.
public final class SocketTableCache: Sendable {
    /// One process's socket descriptors as read at one moment.
    public struct Table: Sendable {
        /// The process's `activityStamp` when its table was read: equal stamps mean the table is unchanged.
        public var stamp: [UInt8]
        /// Each socket descriptor then: its number and the socket's inode.
        public var sockets: [(fd: Int32, inode: UInt64)]
    }

    /// A `holders` call reads the tables once before its walk and replaces
    /// them after it; the lock makes two calls at once safe (the later
    /// replacement wins, and either is a complete walk).
    private let lockedTables = Locked<[Int32: Table]>([:])

    var tables: [Int32: Table] {
        get { lockedTables.withLock { $0 } }
        set { lockedTables.withLock { $0 = newValue } }
    }

    /// An empty cache: the first walk reads every table.
    public init() {}

    /// Processes whose tables the cache holds (those of the last walk that used it).
    public var processCount: Int { lockedTables.withLock { $0.count } }
}

/// Reads what portcullis shows about one process. Each piece is optional:
/// a process that exits half-way yields what was read before it went.
public struct ProcessDescriber {
    let procfs: ProcFS
    let users: [UInt32: String]
    let bootTime: Int64?
    let ticksPerSecond: Int64
    /// The replaced-executable check compares with the live filesystem, which
    /// only makes sense for the live /proc, not a copy from another host.
    let isLive: Bool
    /// Names containers from the runtimes' state; nil leaves them as the cgroup path shows them.
    let containers: ContainerStateReader?
    private var cache: [Int32: SocketOwner?] = [:]

    /// A describer over `procfs`, naming uids with `users`; `isLive` says `procfs` is this host's /proc,
    /// which the replaced-executable check needs. With `containers`, an owner in a container gets the
    /// name, image, pod and published ports the runtime's state on disk records (see `ContainerStateReader`).
    public init(procfs: ProcFS, users: [UInt32: String], isLive: Bool, containers: ContainerStateReader? = nil) {
        self.procfs = procfs
        self.users = users
        self.isLive = isLive
        self.containers = containers
        bootTime = (try? procfs.read("stat", sizeHint: 8192)).flatMap(ProcessFiles.bootTime(procStat:))
        ticksPerSecond = max(1, Sys.clockTicksPerSecond())
    }

    /// The owners of each socket inode in `holders`: one per process (with
    /// all its fds on the socket), in pid order.
    public mutating func owners(of holders: OwnerResolver.Holders) -> [UInt64: [SocketOwner]] {
        var ownersByInode: [UInt64: [SocketOwner]] = [:]
        for (inode, holding) in holders.byInode {
            var owners: [SocketOwner] = []
            for held in holding {
                if let index = owners.firstIndex(where: { $0.pid == held.pid }) {
                    owners[index].fds.append(held.fd)
                } else if var owner = describe(held.pid) {
                    owner.fds = [held.fd]
                    owners.append(owner)
                }
            }
            owners.sort { $0.pid < $1.pid }
            ownersByInode[inode] = owners
        }
        return ownersByInode
    }

    /// Describes `pid` (once per describer), or nil when it no longer exists.
    public mutating func describe(_ pid: Int32) -> SocketOwner? {
        if let cached = cache[pid] { return cached }
        let owner = read(pid)
        cache[pid] = owner
        return owner
    }

    /// Parents of `pid`, nearest first, up to PID 1 (bounded against loops).
    public mutating func ancestors(of pid: Int32) -> [SocketOwner] {
        var chain: [SocketOwner] = []
        var current = describe(pid)?.ppid ?? 0
        var seen: Set<Int32> = [pid]
        while current > 0 && !seen.contains(current) && chain.count < 64 {
            seen.insert(current)
            guard let parent = describe(current) else { break }
            chain.append(parent)
            current = parent.ppid
        }
        return chain
    }

    private func read(_ pid: Int32) -> SocketOwner? {
        guard let process = try? procfs.process(pid) else { return nil }
        var owner = SocketOwner(pid: pid)
        if let stat = (try? process.read("stat")).flatMap(ProcessFiles.parseStat) {
            owner.name = stat.name
            owner.ppid = stat.ppid
            if let bootTime { owner.startTime = bootTime + Int64(stat.startTicks) / ticksPerSecond }
        } else if (try? process.read("status")) == nil {
            return nil  // gone
        }
        if let cmdline = try? process.read("cmdline", sizeHint: 4096) {
            owner.cmdline = ProcessFiles.commandLine(cmdline)
        }
        if let uid = (try? process.read("status", sizeHint: 2048)).flatMap(ProcessFiles.effectiveUID) {
            owner.uid = uid
            owner.user = users[uid]
        }
        if let link = try? process.readLink("exe") {
            // Only the live /proc can be compared with the filesystem beside it.
            let running = isLive ? try? process.executableIdentity() : nil
            let judged = ExecutableCheck.judge(link: link, running: running) { path in try? process.identityInRoot(of: path) }
            owner.exe = judged.exe
            owner.exeDeleted = judged.deleted
            owner.exeReplaced = judged.replaced
            if isLive, let slash = link.lastIndex(of: 0x2f), slash > 0,
                let directory = try? process.identityInRoot(of: Array(link[..<slash]))
            {
                owner.exeDirectoryWorldWritable = directory.isWorldWritable
            }
        }
        if let cgroup = try? process.read("cgroup") {
            let info = ProcessFiles.parseCgroup(cgroup)
            owner.unit = info.unit
            owner.container = info.container
            owner.containerReference = info.containerReference.map { containers?.resolve($0) ?? $0 }
        }
        if let link = try? process.readLink("ns/net") {
            owner.netnsInode = ProcessFiles.namespaceInode(link: link[...], kind: "net")
        }
        return owner
    }
}
