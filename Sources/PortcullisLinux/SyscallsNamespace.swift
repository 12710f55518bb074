import CPortcullisSys

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

extension Sys {
    /// CLONE_NEWNET: setns(2) joins a network namespace.
    static let cloneNewNet: Int32 = 0x4000_0000

    /// Opens a namespace file (/proc/PID/ns/net or an nsfs bind mount) for setns(2).
    static func openNamespace(_ path: String) throws(Errno) -> Int32 {
        try retrying { open(path, O_RDONLY | O_CLOEXEC) }
    }

    /// Moves the calling thread (only it) into the network namespace open at `fd`.
    static func enterNetworkNamespace(_ fd: Int32) throws(Errno) {
        _ = try retrying { portcullis_setns(fd, cloneNewNet) }
    }

    /// Opens one netlink socket inside each namespace in `paths`, on a
    /// thread of its own made for this: a netlink socket belongs to the
    /// namespace it was created in, wherever it is used afterwards, so only
    /// that thread ever changes namespace, and it returns to its own after
    /// each socket. If it cannot return, it stops: the thread ends, and the
    /// rest are reported as failed. Results are in the order of `paths`.
    static func netlinkSockets(protocol proto: Int32, inNamespaces paths: [String]) -> [Result<Int32, Errno>] {
        let results = Locked<[Result<Int32, Errno>]>([])
        onThreads(1) { _ in
            var out: [Result<Int32, Errno>] = []
            defer { results.withLock { $0 = out } }
            let home: Int32
            switch Result(catching: { () throws(Errno) in try openNamespace("/proc/thread-self/ns/net") }) {
            case .success(let fd): home = fd
            case .failure(let error):
                out = paths.map { _ in .failure(error) }
                return
            }
            defer { close(home) }
            for (index, path) in paths.enumerated() {
                let target: Int32
                do throws(Errno) { target = try openNamespace(path) } catch {
                    out.append(.failure(error))
                    continue
                }
                defer { close(target) }
                do throws(Errno) { try enterNetworkNamespace(target) } catch {
                    out.append(.failure(error))
                    continue
                }
                out.append(Result { () throws(Errno) in try netlinkSocket(protocol: proto) })
                do throws(Errno) { try enterNetworkNamespace(home) } catch {
                    // Stranded in another namespace: open nothing more here.
                    if case .success(let fd) = out.removeLast() { close(fd) }
                    out += paths[index...].map { _ in .failure(error) }
                    return
                }
            }
        }
        return results.withLock { $0 }
    }
}

extension Sys {
    /// Runs `body` on a thread made for it that first enters the network
    /// namespace at `path`; the thread ends with `body`, so it never carries
    /// that namespace back into any pool. Threads `body` starts are in the
    /// namespace too (a new thread takes its creator's namespaces).
    package static func inNetworkNamespace<T: Sendable>(_ path: String, _ body: @escaping @Sendable () -> T) -> Result<T, Errno> {
        let result = Locked<Result<T, Errno>?>(nil)
        onThreads(1) { _ in
            let outcome: Result<T, Errno>
            do throws(Errno) {
                let fd = try openNamespace(path)
                defer { close(fd) }
                try enterNetworkNamespace(fd)
                outcome = .success(body())
            } catch {
                outcome = .failure(error)
            }
            result.withLock { $0 = outcome }
        }
        return result.withLock { $0 } ?? .failure(Errno(EAGAIN))
    }
}
