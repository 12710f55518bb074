import Foundation
import Testing

@testable import PortcullisLinux

let hasSchedStat = FileManager.default.fileExists(atPath: "/proc/self/task/\(getpid())/schedstat")
let hasPython = FileManager.default.isExecutableFile(atPath: "/usr/bin/python3")

/// The owner walk's cache against a real process: tables of processes that
/// did not run are reused, and any process that ran is read again.
@Suite(.enabled(if: hasLiveProc && hasSchedStat && hasPython, "needs a live /proc with schedstat, and python3"))
struct SocketTableCacheTests {
    /// A python3 child that opens one TCP listener on 127.0.0.1 per line it
    /// reads on stdin (and one at start), printing each port, and otherwise
    /// sleeps in readline.
    final class ListeningChild {
        let process = Process()
        let input = Pipe()
        let output = Pipe()

        init() throws {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            process.arguments = [
                "-c",
                """
                import socket, sys
                held = []
                while True:
                    s = socket.socket()
                    s.bind(("127.0.0.1", 0))
                    s.listen(8)
                    held.append(s)
                    print(s.getsockname()[1], flush=True)
                    if not sys.stdin.readline():
                        break
                """,
            ]
            process.standardInput = input
            process.standardOutput = output
            try process.run()
            _ = try readLine()
            try waitUntilIdle()
        }

        var pid: Int32 { process.processIdentifier }

        func readLine() throws -> String {
            var line = Data()
            while true {
                let byte = output.fileHandleForReading.readData(ofLength: 1)
                try #require(!byte.isEmpty, "the python child exited")
                if byte == Data([0x0a]) { return String(decoding: line, as: UTF8.self) }
                line += byte
            }
        }

        /// Opens one more listener and waits until it is open and the child
        /// is asleep again.
        func openAnother() throws {
            input.fileHandleForWriting.write(Data("more\n".utf8))
            _ = try readLine()
            try waitUntilIdle()
        }

        /// Waits until the child has stopped running (it prints a port and
        /// only then goes to sleep in readline): two stamps 50 ms apart agree.
        func waitUntilIdle() throws {
            let process = try ProcFS().process(pid)
            var previous = process.activityStamp()
            for _ in 0..<200 {
                usleep(50_000)
                let now = process.activityStamp()
                if now != nil && now == previous { return }
                previous = now
            }
            Issue.record("the python child never went idle")
        }

        deinit {
            try? input.fileHandleForWriting.close()
            process.waitUntilExit()
        }
    }

    func inodes(_ holders: OwnerResolver.Holders) -> Set<UInt64> { Set(holders.byInode.keys) }

    @Test func idleProcessIsNotReadAgainAndActiveOneIs() throws {
        let child = try ListeningChild()
        let resolver = OwnerResolver(procfs: try ProcFS(), parallelism: 1)
        let truth = { () throws -> Set<UInt64> in self.inodes(try resolver.holders(pids: [child.pid])) }
        let cache = SocketTableCache()

        // First walk, asking for nothing: the whole table is cached all the same.
        let first = try resolver.holders(pids: [child.pid], wanted: [], cache: cache)
        #expect(first.byInode.isEmpty && first.walkedPIDs == 1 && first.reusedPIDs == 0)
        #expect(cache.processCount == 1)
        let before = try truth()  // its listener, and any socket it inherited from this test process
        #expect(!before.isEmpty)

        // The child sleeps in readline: its table comes from the cache, whole.
        let second = try resolver.holders(pids: [child.pid], cache: cache)
        #expect(second.reusedPIDs == 1)
        #expect(inodes(second) == before)
        #expect(second.byInode.values.allSatisfy { $0.allSatisfy { $0.pid == child.pid } })

        // It runs and opens another listener: read again, and the new socket is there.
        try child.openAnother()
        let third = try resolver.holders(pids: [child.pid], cache: cache)
        #expect(third.reusedPIDs == 0)
        let after = try truth()
        #expect(after.count == before.count + 1 && after.isSuperset(of: before))
        #expect(inodes(third) == after)

        // A wanted filter applies to cached tables too.
        let newInode = try #require(after.subtracting(before).first)
        let fourth = try resolver.holders(pids: [child.pid], wanted: [newInode], cache: cache)
        #expect(fourth.reusedPIDs == 1)
        #expect(inodes(fourth) == [newInode])
    }

    @Test func processesThatAreGoneLeaveTheCache() throws {
        let cache = SocketTableCache()
        let resolver = OwnerResolver(procfs: try ProcFS(), parallelism: 1)
        do {
            let child = try ListeningChild()
            _ = try resolver.holders(pids: [child.pid], cache: cache)
            #expect(cache.processCount == 1)
        }
        _ = try resolver.holders(pids: [getpid()], cache: cache)
        #expect(cache.processCount == 1)  // ourselves only: the child exited
    }
}
