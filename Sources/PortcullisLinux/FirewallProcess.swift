#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Thin wrappers for running a helper program (nft) and reading what it
/// prints. Same rules as Syscalls.swift: errno is read straight after a
/// failing call, EINTR is retried, failures throw `Errno`.
extension Sys {
    /// A one-way channel for a child's output: a socketpair(2) created
    /// close-on-exec atomically, so no other child spawned meanwhile by
    /// another thread inherits either end (pipe2, which would do the same,
    /// is not visible to Swift through Glibc).
    static func channel() throws(Errno) -> (read: Int32, write: Int32) {
        var fds: [Int32] = [-1, -1]
        _ = try retrying {
            fds.withUnsafeMutableBufferPointer {
                socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, $0.baseAddress)
            }
        }
        return (fds[0], fds[1])
    }

    /// posix_spawn(3) of `path` with `arguments` (argv[0] first) and an
    /// empty environment: stdin is /dev/null, stdout and stderr go to the
    /// given descriptors. Every signal disposition is reset to its default
    /// and the mask cleared (the CLI ignores SIGPIPE, which a child would
    /// otherwise inherit). No shell is involved.
    static func spawn(path: String, arguments: [String], stdout: Int32, stderr: Int32) throws(Errno) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        guard posix_spawn_file_actions_init(&actions) == 0 else { throw Errno(ENOMEM) }
        defer { posix_spawn_file_actions_destroy(&actions) }
        var attributes = posix_spawnattr_t()
        guard posix_spawnattr_init(&attributes) == 0 else { throw Errno(ENOMEM) }
        defer { posix_spawnattr_destroy(&attributes) }

        var code = posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        if code == 0 { code = posix_spawn_file_actions_adddup2(&actions, stdout, 1) }
        if code == 0 { code = posix_spawn_file_actions_adddup2(&actions, stderr, 2) }
        var defaults = sigset_t()
        var mask = sigset_t()
        sigfillset(&defaults)
        sigemptyset(&mask)
        if code == 0 { code = posix_spawnattr_setsigdefault(&attributes, &defaults) }
        if code == 0 { code = posix_spawnattr_setsigmask(&attributes, &mask) }
        if code == 0 { code = posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK)) }
        guard code == 0 else { throw Errno(code) }

        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) }
        defer { for pointer in argv { free(pointer) } }
        guard !argv.contains(where: { $0 == nil }) else { throw Errno(ENOMEM) }
        argv.append(nil)
        var environment: [UnsafeMutablePointer<CChar>?] = [nil]
        var pid = pid_t()
        // posix_spawn returns the error number rather than setting errno.
        let result = argv.withUnsafeMutableBufferPointer { args in
            environment.withUnsafeMutableBufferPointer { env in
                guard let argvBase = args.baseAddress, let envBase = env.baseAddress else { return EINVAL }
                return posix_spawn(&pid, path, &actions, &attributes, argvBase, envBase)
            }
        }
        guard result == 0 else { throw Errno(result) }
        return pid
    }

    /// One read(2) of up to `count` bytes, appended to `buffer`; the number
    /// read, 0 at end of file.
    static func readChunk(_ fd: Int32, into buffer: inout [UInt8], count: Int) throws(Errno) -> Int {
        var chunk = [UInt8](repeating: 0, count: count)
        let n = try retrying { chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) } }
        buffer.append(contentsOf: chunk[0..<n])
        return n
    }

    /// How a child ended: its exit code, or the signal that killed it.
    enum ChildStatus: Hashable, Sendable {
        case exited(Int32)
        case signalled(Int32)
    }

    /// waitpid(2); nil when `noHang` and the child is still running.
    static func wait(_ pid: pid_t, noHang: Bool) throws(Errno) -> ChildStatus? {
        var status: Int32 = 0
        let reaped = try retrying { waitpid(pid, &status, noHang ? WNOHANG : 0) }
        if reaped == 0 { return nil }
        // WIFEXITED / WEXITSTATUS / WTERMSIG, which Swift does not import as macros.
        let termination = status & 0x7f
        if termination == 0 { return .exited((status >> 8) & 0xff) }
        return .signalled(termination)
    }

    static func kill(_ pid: pid_t, signal: Int32) { _ = Glibc.kill(pid, signal) }


    /// Owner, permission bits and whether a path (following symlinks, as
    /// exec does) is a regular file.
    static func fileOwnership(_ path: String) throws(Errno) -> (uid: UInt32, mode: UInt32, isRegular: Bool) {
        var st = stat()
        _ = try retrying { stat(path, &st) }
        return (st.st_uid, UInt32(st.st_mode), (st.st_mode & S_IFMT) == S_IFREG)
    }

    static func realUserID() -> UInt32 { getuid() }
}

/// A helper program's output, collected with a time limit and a size cap.
struct ChildProcessResult: Sendable {
    var status: Sys.ChildStatus
    var stdout: [UInt8]
    var stderr: [UInt8]
    /// Killed because it ran past the deadline.
    var timedOut: Bool
    /// Killed because stdout passed the cap.
    var exceededOutputLimit: Bool
}

enum ChildProcess {
    /// Runs `path` with `arguments` (argv[0] first), no shell, an empty
    /// environment; reads stdout (at most `stdoutLimit` bytes) and stderr
    /// (the first `stderrLimit` bytes kept) until both close or `timeoutMilliseconds`
    /// pass, then reaps the child, killing it (SIGKILL) if it is still
    /// running at the deadline or printed too much.
    static func run(
        path: String, arguments: [String], timeoutMilliseconds: Int64, stdoutLimit: Int, stderrLimit: Int = 64 * 1024
    ) throws(Errno) -> ChildProcessResult {
        let out = try Sys.channel()
        let err: (read: Int32, write: Int32)
        do {
            err = try Sys.channel()
        } catch {
            Sys.close(out.read)
            Sys.close(out.write)
            throw error
        }
        let pid: pid_t
        do {
            pid = try Sys.spawn(path: path, arguments: arguments, stdout: out.write, stderr: err.write)
        } catch {
            for fd in [out.read, out.write, err.read, err.write] { Sys.close(fd) }
            throw error
        }
        // Only the child writes now: our copies must close, or EOF never comes.
        Sys.close(out.write)
        Sys.close(err.write)
        defer {
            Sys.close(out.read)
            Sys.close(err.read)
        }

        let deadline = Sys.monotonicMilliseconds() + timeoutMilliseconds
        var stdout: [UInt8] = []
        var stderr: [UInt8] = []
        var open = [true, true]
        var timedOut = false
        var tooLarge = false
        var failure: Errno?
        reading: while open.contains(true) {
            let remaining = deadline - Sys.monotonicMilliseconds()
            if remaining <= 0 {
                timedOut = true
                break
            }
            let fds = [open[0] ? out.read : -1, open[1] ? err.read : -1]
            do {
                // POLLHUP and POLLERR also mean "read now": the read returns 0 or the error.
                let ready = try Sys.poll(fds, for: .readable, timeoutMilliseconds: Int32(min(remaining, 1000))).map { !$0.isEmpty }
                if ready[0] && open[0] {
                    if try Sys.readChunk(out.read, into: &stdout, count: 65536) == 0 { open[0] = false }
                    if stdout.count > stdoutLimit {
                        tooLarge = true
                        break reading
                    }
                }
                if ready[1] && open[1] {
                    var chunk: [UInt8] = []
                    if try Sys.readChunk(err.read, into: &chunk, count: 4096) == 0 { open[1] = false }
                    // Keep reading past the cap, so a chatty child never blocks on a full buffer.
                    stderr += chunk.prefix(max(0, stderrLimit - stderr.count))
                }
            } catch {
                failure = error
                break
            }
        }

        // Reap: wait for a child that closed its output but has not exited,
        // up to the deadline; kill it if it overstays or misbehaved.
        var status: Sys.ChildStatus?
        if !timedOut && !tooLarge && failure == nil {
            do {
                while status == nil {
                    status = try Sys.wait(pid, noHang: true)
                    if status != nil { break }
                    if Sys.monotonicMilliseconds() >= deadline {
                        timedOut = true
                        break
                    }
                    Sys.sleep(milliseconds: 10)
                }
            } catch {
                failure = error
            }
        }
        if status == nil {
            Sys.kill(pid, signal: SIGKILL)
            // Reaping may fail only if something else already reaped it.
            status = try? Sys.wait(pid, noHang: false)
        }
        if let failure { throw failure }
        return ChildProcessResult(
            status: status ?? .signalled(SIGKILL), stdout: stdout, stderr: stderr,
            timedOut: timedOut, exceededOutputLimit: tooLarge)
    }
}
