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
        let out = try Sys.pipe()
        let err: (read: Int32, write: Int32)
        do {
            err = try Sys.pipe()
        } catch {
            Sys.close(out.read)
            Sys.close(out.write)
            throw error
        }
        let pid: Int32
        do {
            // Every signal back to its default action: the CLI ignores SIGPIPE, which nft would otherwise inherit.
            pid = try Sys.spawn(
                path, arguments: arguments,
                Sys.ChildSetup(stdin: .nullDevice, stdout: .descriptor(out.write), stderr: .descriptor(err.write)))
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
            Sys.kill(pid, signal: Sys.killSignal)
            // Reaping may fail only if something else already reaped it.
            status = try? Sys.wait(pid, noHang: false)
        }
        if let failure { throw failure }
        return ChildProcessResult(
            status: status ?? .signalled(Sys.killSignal), stdout: stdout, stderr: stderr,
            timedOut: timedOut, exceededOutputLimit: tooLarge)
    }
}
