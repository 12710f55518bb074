import CPortcullisSys

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Child processes (the nft reader, `watch --exec` handlers), threads and
/// resource limits, in the style of Syscalls.swift: errno read
/// immediately, EINTR retried, `Errno` thrown.
extension Sys {
    /// What a child's stdin, stdout or stderr is.
    enum ChildStream {
        /// The same as ours.
        case inherited
        /// /dev/null (read-only for stdin, write-only otherwise).
        case nullDevice
        /// A copy of this descriptor of ours (it may be close-on-exec).
        case descriptor(Int32)
    }

    /// How `spawn` starts a child.
    struct ChildSetup {
        var stdin = ChildStream.inherited
        var stdout = ChildStream.inherited
        var stderr = ChildStream.inherited
        /// Our environment, or none at all.
        var inheritsEnvironment = false
        /// Signals whose action goes back to the default (ignored ones are
        /// otherwise inherited, such as the CLI's SIGPIPE); nil for every signal.
        var defaultSignals: [Int32]?
        /// A process group of its own, so a Ctrl-C at the terminal does not reach it.
        var ownProcessGroup = false
    }

    /// posix_spawn(3), the one way portcullis starts a program: `path` as
    /// given (no PATH lookup, no shell) with `arguments` (argv[0] first),
    /// the signal mask cleared, the rest as `setup` says. posix_spawn
    /// returns its error rather than setting errno.
    static func spawn(_ path: String, arguments: [String], _ setup: ChildSetup) throws(Errno) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        guard posix_spawn_file_actions_init(&actions) == 0 else { throw Errno(ENOMEM) }
        defer { posix_spawn_file_actions_destroy(&actions) }
        var attributes = posix_spawnattr_t()
        guard posix_spawnattr_init(&attributes) == 0 else { throw Errno(ENOMEM) }
        defer { posix_spawnattr_destroy(&attributes) }

        var code: Int32 = 0
        for (stream, target) in [(setup.stdin, Int32(0)), (setup.stdout, 1), (setup.stderr, 2)] where code == 0 {
            switch stream {
            case .inherited: break
            case .nullDevice: code = posix_spawn_file_actions_addopen(&actions, target, "/dev/null", target == 0 ? O_RDONLY : O_WRONLY, 0)
            // dup2 clears close-on-exec on the copy; the original closes at exec.
            case .descriptor(let fd): code = posix_spawn_file_actions_adddup2(&actions, fd, target)
            }
        }
        var defaults = sigset_t()
        if let signals = setup.defaultSignals {
            sigemptyset(&defaults)
            for signal in signals { sigaddset(&defaults, signal) }
        } else {
            sigfillset(&defaults)
        }
        var mask = sigset_t()
        sigemptyset(&mask)
        var flags = POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK
        if code == 0 { code = posix_spawnattr_setsigdefault(&attributes, &defaults) }
        if code == 0 { code = posix_spawnattr_setsigmask(&attributes, &mask) }
        if setup.ownProcessGroup {
            flags |= POSIX_SPAWN_SETPGROUP
            if code == 0 { code = posix_spawnattr_setpgroup(&attributes, 0) }
        }
        if code == 0 { code = posix_spawnattr_setflags(&attributes, Int16(flags)) }
        guard code == 0 else { throw Errno(code) }

        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) }
        defer { for pointer in argv { free(pointer) } }
        guard !argv.contains(where: { $0 == nil }) else { throw Errno(ENOMEM) }
        argv.append(nil)
        var noEnvironment: [UnsafeMutablePointer<CChar>?] = [nil]
        var pid = pid_t()
        let result = argv.withUnsafeMutableBufferPointer { args in
            noEnvironment.withUnsafeMutableBufferPointer { empty in
                guard let argvBase = args.baseAddress, let emptyBase = empty.baseAddress else { return EINVAL }
                return posix_spawn(&pid, path, &actions, &attributes, argvBase, setup.inheritsEnvironment ? environ : emptyBase)
            }
        }
        guard result == 0 else { throw Errno(result) }
        return pid
    }

    /// pipe2(2) with O_CLOEXEC: both ends close-on-exec from the start, so
    /// no child spawned meanwhile by another thread inherits either.
    static func pipe() throws(Errno) -> (read: Int32, write: Int32) {
        var fds: [Int32] = [-1, -1]
        _ = try retrying { fds.withUnsafeMutableBufferPointer { portcullis_pipe_cloexec($0.baseAddress) } }
        return (fds[0], fds[1])
    }

    /// One read(2) of up to `count` bytes, appended to `buffer`; the number
    /// read, 0 at end of file.
    static func readChunk(_ fd: Int32, into buffer: inout [UInt8], count: Int) throws(Errno) -> Int {
        var chunk = [UInt8](repeating: 0, count: count)
        let n = try retrying { chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) } }
        buffer.append(contentsOf: chunk[0..<n])
        return n
    }

    /// How a child ended: its exit code, or the signal that killed it.
    enum ChildStatus: Hashable, Sendable {
        case exited(Int32)
        case signalled(Int32)
    }

    /// waitpid(2), the one wrapper; nil when `noHang` and the child is still running.
    static func wait(_ pid: pid_t, noHang: Bool) throws(Errno) -> ChildStatus? {
        var status: Int32 = 0
        let reaped = try retrying { waitpid(pid, &status, noHang ? WNOHANG : 0) }
        if reaped == 0 { return nil }
        // WIFEXITED / WEXITSTATUS / WTERMSIG, which Swift does not import as macros.
        let termination = status & 0x7f
        if termination == 0 { return .exited((status >> 8) & 0xff) }
        return .signalled(termination)
    }

    static func kill(_ pid: pid_t, signal: Int32) { _ = sendSignal(pid, signal) }

    /// SIGKILL, for callers that do not import libc.
    static let killSignal = SIGKILL

    // MARK: threads and limits

    /// Runs `body(i)` for each i in 0..<count, each on a thread of its own,
    /// and returns when all are done. For work that mostly waits (service
    /// conversations): the dispatch pool runs no more at once than there are
    /// CPUs. A thread that cannot be created runs its part on this one.
    package static func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
        var threads: [pthread_t] = []
        for index in 0..<count {
            if let thread = spawnThread({ body(index) }) {
                threads.append(thread)
            } else {
                body(index)
            }
        }
        for thread in threads { pthread_join(thread, nil) }
    }

    /// Runs `body` on a new detached thread; false when no thread could be created.
    static func startDetachedThread(_ body: @escaping @Sendable () -> Void) -> Bool {
        guard let thread = spawnThread(body) else { return false }
        pthread_detach(thread)
        return true
    }

    /// Starts a thread running `body`; nil when none could be created (`body` has not run).
    private static func spawnThread(_ body: @escaping () -> Void) -> pthread_t? {
        final class Job {
            let run: () -> Void
            init(_ run: @escaping () -> Void) { self.run = run }
        }
        let job = Unmanaged.passRetained(Job(body))
        var thread = pthread_t()
        let rc = pthread_create(
            &thread, nil,
            { raw in
                guard let raw else { return nil }
                Unmanaged<Job>.fromOpaque(raw).takeRetainedValue().run()
                return nil
            }, job.toOpaque())
        guard rc == 0 else {
            job.release()
            return nil
        }
        return thread
    }

    /// Gives the pages of freed heap memory back to the kernel, in every
    /// malloc arena (glibc's malloc_trim); nothing to do on musl, whose
    /// allocator returns them itself.
    static func releaseFreedHeap() { portcullis_heap_trim() }

    /// Caps glibc's malloc arenas at `count`. By default glibc gives new
    /// threads new arenas, up to eight per core, and each keeps its own
    /// freed pages: a server whose checks run on fresh threads grows in steps.
    static func limitHeapArenas(_ count: Int32) { portcullis_heap_limit_arenas(count) }

    /// Raises the soft RLIMIT_NOFILE to the hard limit; returns the soft limit now in force.
    package static func raiseDescriptorLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(CConstant.rlimitNofile, &limit) == 0 else { return 1024 }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(CConstant.rlimitNofile, &raised) == 0 { limit = raised }
        }
        return Int(clamping: limit.rlim_cur)
    }
}

// kill(2) itself: inside Sys an unqualified `kill` means Sys.kill, and the
// Glibc module name would not build against musl.
private func sendSignal(_ pid: pid_t, _ signal: Int32) -> Int32 { kill(pid, signal) }
