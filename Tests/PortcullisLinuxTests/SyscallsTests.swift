import Foundation
import Glibc
import PortcullisCore
import Testing

@testable import PortcullisLinux

/// The one wrapper of each system call family that every target uses:
/// sockaddr building and reading, poll, the clocks, spawn.
@Suite struct SyscallsTests {
    // MARK: sockaddr

    /// Builds the sockaddr for `endpoint`, hands it to `inspect`, and reads it back.
    private func roundTrip(_ endpoint: InetEndpoint, _ inspect: (UnsafePointer<sockaddr>, socklen_t) -> Void) -> InetEndpoint? {
        Sys.withSocketAddress(endpoint) { address, length in
            inspect(address, length)
            return Sys.inetEndpoint(address, length: length)
        }
    }

    @Test func anIPv4AddressAndPortMakeASockaddrInAndComeBack() {
        let endpoint = InetEndpoint(IPAddress(v4: 192, 0, 2, 7), port: 8080)
        let back = roundTrip(endpoint) { address, length in
            #expect(Int(length) == MemoryLayout<sockaddr_in>.size)
            address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { inet in
                #expect(Int32(inet.pointee.sin_family) == AF_INET)
                #expect(inet.pointee.sin_port == UInt16(8080).bigEndian)
                #expect(withUnsafeBytes(of: inet.pointee.sin_addr) { Array($0) } == [192, 0, 2, 7])
            }
        }
        #expect(back == endpoint)
    }

    @Test func anIPv6AddressAndPortMakeASockaddrIn6AndComeBack() throws {
        let address = try #require(IPAddress(bytes: [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [1]))
        let endpoint = InetEndpoint(address, port: 443)
        let back = roundTrip(endpoint) { raw, length in
            #expect(Int(length) == MemoryLayout<sockaddr_in6>.size)
            raw.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { inet in
                #expect(Int32(inet.pointee.sin6_family) == AF_INET6)
                #expect(inet.pointee.sin6_port == UInt16(443).bigEndian)
                #expect(inet.pointee.sin6_scope_id == 0 && inet.pointee.sin6_flowinfo == 0)
                #expect(withUnsafeBytes(of: inet.pointee.sin6_addr) { Array($0) } == address.bytes)
            }
        }
        #expect(back == endpoint)
    }

    @Test func aLinkLocalIPv6AddressKeepsItsScopeID() throws {
        let linkLocal = try #require(IPAddress(bytes: [0xfe, 0x80] + [UInt8](repeating: 0, count: 13) + [1]))
        let endpoint = InetEndpoint(linkLocal, port: 53, scopeID: 3)
        let back = roundTrip(endpoint) { raw, _ in
            raw.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { #expect($0.pointee.sin6_scope_id == 3) }
        }
        #expect(back == endpoint)
    }

    @Test func otherFamiliesAndShortLengthsAreNotReadAsInetAddresses() {
        var unix = sockaddr_un()
        unix.sun_family = sa_family_t(AF_UNIX)
        let fromUnix = withUnsafePointer(to: &unix) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Sys.inetEndpoint($0, length: socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        #expect(fromUnix == nil)
        let truncated = Sys.withSocketAddress(InetEndpoint(.anyV6, port: 1)) { address, _ in
            Sys.inetEndpoint(address, length: socklen_t(MemoryLayout<sockaddr_in>.size))
        }
        #expect(truncated == nil)
    }

    @Test(arguments: [false, true])
    func aDatagramOverLoopbackNamesItsSenderAsGetsocknameDoes(ipv6: Bool) throws {
        let loopback = ipv6 ? IPAddress(v6High: 0, low: 1) : IPAddress(v4: 127, 0, 0, 1)
        let receiver = try Sys.probeSocket(ipv6: ipv6, udp: true, nonBlocking: true)
        defer { Sys.close(receiver) }
        try Sys.bind(receiver, to: InetEndpoint(loopback, port: 0))
        let bound = try #require(try Sys.localEndpoint(receiver))
        #expect(bound.address == loopback && bound.port != 0)

        let sender = try Sys.probeSocket(ipv6: ipv6, udp: true)
        defer { Sys.close(sender) }
        try Sys.connect(sender, to: bound)
        #expect(try Sys.send(sender, [1, 2, 3]) == 3)
        let from = try #require(try Sys.localEndpoint(sender))

        #expect(try Sys.poll(receiver, for: .readable, timeoutMilliseconds: 5000) == .readable)
        var buffer = [UInt8](repeating: 0, count: 16)
        let received = try Sys.receiveDatagram(receiver, into: &buffer)
        #expect(received.count == 3 && buffer.prefix(3) == [1, 2, 3])
        #expect(received.sender == from)
        #expect(throws: Errno(EAGAIN)) { try Sys.receiveDatagram(receiver, into: &buffer) }
    }

    // MARK: poll

    @Test func pollReportsReadinessPerDescriptorAndSkipsNegativeOnes() throws {
        let ends = try Sys.pipe()
        defer {
            Sys.close(ends.read)
            Sys.close(ends.write)
        }
        #expect(try Sys.poll([ends.read, -1], for: .readable, timeoutMilliseconds: 0) == [[], []])
        Sys.writeAll(ends.write, [0x2a])
        #expect(try Sys.poll([ends.read, -1], for: .readable, timeoutMilliseconds: 0) == [.readable, []])
        #expect(try Sys.poll(ends.write, for: .writable, timeoutMilliseconds: 0) == .writable)
        Sys.close(ends.write)
        var buffer: [UInt8] = []
        #expect(try Sys.readChunk(ends.read, into: &buffer, count: 16) == 1)
        // With the writer gone, the read end reports a hang-up, asked for or not.
        #expect(try Sys.poll(ends.read, for: .readable, timeoutMilliseconds: 0).contains(.hangUp))
    }

    @Test func aSignalDuringPollNeitherEndsTheWaitNorLengthensIt() throws {
        let ends = try Sys.pipe()
        defer {
            Sys.close(ends.read)
            Sys.close(ends.write)
        }
        // A handler that does nothing: poll(2) itself then fails with EINTR.
        signal(SIGUSR1) { _ in }
        // Test threads (dispatch workers) block signals: let this one take SIGUSR1 while it waits.
        var usr1 = sigset_t()
        sigemptyset(&usr1)
        sigaddset(&usr1, SIGUSR1)
        var previousMask = sigset_t()
        pthread_sigmask(SIG_UNBLOCK, &usr1, &previousMask)
        defer { pthread_sigmask(SIG_SETMASK, &previousMask, nil) }
        let waiter = pthread_self()
        let interrupter = Thread {
            usleep(300_000)
            pthread_kill(waiter, SIGUSR1)
        }
        let started = Sys.monotonicMilliseconds()
        interrupter.start()
        let events = try Sys.poll(ends.read, for: .readable, timeoutMilliseconds: 600)
        let waited = Sys.monotonicMilliseconds() - started
        #expect(events.isEmpty)
        // Cut short, it would end near 300 ms; restarted with a fresh timeout, near 900.
        #expect(waited >= 590 && waited < 850, "waited \(waited) ms")
    }

    // MARK: clocks

    @Test func theClockUnitsAgree() {
        let before = Sys.monotonicMilliseconds()
        let micro = Sys.monotonicMicroseconds()
        let after = Sys.monotonicMilliseconds()
        #expect(before <= micro / 1000 && micro / 1000 <= after)
        let seconds = Sys.realtimeSeconds()
        let milliseconds = Sys.realtimeMilliseconds()
        #expect(milliseconds / 1000 - seconds <= 1 && milliseconds / 1000 >= seconds)
        #expect(seconds > 1_700_000_000)
    }

    // MARK: spawn

    @Test func spawnReportsTheExitCodeOrSignalAndKeepsOrDropsTheEnvironment() throws {
        let quiet = Sys.ChildSetup(stdin: .nullDevice, stdout: .nullDevice, stderr: .nullDevice)
        let exited = try Sys.spawn("/bin/sh", arguments: ["sh", "-c", "exit 3"], quiet)
        #expect(try Sys.wait(exited, noHang: false) == .exited(3))
        let killed = try Sys.spawn("/bin/sh", arguments: ["sh", "-c", "kill -TERM $$"], quiet)
        #expect(Sys.reap(killed, block: true) == 128 + SIGTERM)

        setenv("PORTCULLIS_SPAWN_TEST", "1", 1)
        defer { unsetenv("PORTCULLIS_SPAWN_TEST") }
        let withoutEnvironment = try Sys.spawn("/bin/sh", arguments: ["sh", "-c", "[ -z \"$PORTCULLIS_SPAWN_TEST\" ]"], quiet)
        #expect(try Sys.wait(withoutEnvironment, noHang: false) == .exited(0))
        var inheriting = quiet
        inheriting.inheritsEnvironment = true
        let withEnvironment = try Sys.spawn("/bin/sh", arguments: ["sh", "-c", "[ \"$PORTCULLIS_SPAWN_TEST\" = 1 ]"], inheriting)
        #expect(try Sys.wait(withEnvironment, noHang: false) == .exited(0))

        #expect(throws: Errno.noSuchFile) { try Sys.spawn("/nonexistent/program", arguments: ["program"], quiet) }
    }

    @Test func aChildStartsWithNoSignalIgnoredEvenIfWeIgnoreSIGPIPE() throws {
        // The CLI ignores SIGPIPE; nft must not inherit that.
        let previous = signal(SIGPIPE, SIG_IGN)
        defer { signal(SIGPIPE, previous) }
        let result = try ChildProcess.run(
            path: "/bin/sh", arguments: ["sh", "-c", "grep '^SigIgn:' /proc/$$/status"],
            timeoutMilliseconds: 5000, stdoutLimit: 1024)
        let line = String(decoding: result.stdout, as: UTF8.self)
        let hex = line.split(separator: "\t").last?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        let mask = try #require(UInt64(hex, radix: 16), "\(line)")
        #expect(mask & (1 << (UInt64(SIGPIPE) - 1)) == 0, "\(line)")
    }

    @Test func aWatchHandlerReadsThePipeInAProcessGroupOfItsOwn() throws {
        // The shell checks what it read and that its process group id is its own pid.
        let script = "read line && [ \"$line\" = hello ] && set -- $(cat /proc/$$/stat) && [ \"$5\" = \"$$\" ]"
        let child = try Sys.spawnWithInputPipe("/bin/sh", arguments: ["-c", script])
        #expect(Sys.writeAll(child.stdin, Array("hello\n".utf8), deadlineMilliseconds: 5000))
        Sys.close(child.stdin)
        #expect(Sys.reap(child.pid, block: true) == 0)
    }

    // MARK: directories

    /// Enough entries to fill readdir's buffer (32 KiB) several times: the
    /// last entry of each fill ends within a few bytes of the buffer's end.
    /// Copying a whole struct dirent there read past it; under
    /// `bench/sanitize.sh address` that was a heap-buffer-overflow.
    @Test func listDirectoryReadsEveryNameOfALargeDirectory() throws {
        var template = Array("\(NSTemporaryDirectory())/portcullis-dir.XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        let path = String(cString: try #require(made))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let expected = Set((0..<3000).map { String(format: "entry-%05d", $0) })
        for name in expected { #expect(FileManager.default.createFile(atPath: "\(path)/\(name)", contents: nil)) }

        var names: [String] = []
        try Sys.listDirectory(consuming: try Sys.openAt(Sys.currentDirectory, path, directory: true)) { _, name in
            names.append(String(cString: name))
        }
        #expect(names.count == expected.count)
        #expect(Set(names) == expected)
    }

    // MARK: the lock

    /// Threads that change one value under `Locked` lose no update. Under
    /// `bench/sanitize.sh thread` this is also the check that ThreadSanitizer
    /// sees the lock: with the Synchronization module's Mutex (futex(2),
    /// which it does not intercept) every such access was reported as a race.
    @Test func lockedKeepsEveryUpdateOfManyThreads() {
        let counts = Locked<[Int: Int]>([:])
        Sys.onThreads(8) { thread in
            for _ in 0..<500 { counts.withLock { $0[thread, default: 0] += 1 } }
        }
        #expect(counts.withLock { $0 } == Dictionary(uniqueKeysWithValues: (0..<8).map { ($0, 500) }))
    }
}
