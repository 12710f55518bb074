import Foundation
import Glibc
import PortcullisCore
import PortcullisTestSupport
import Testing

@testable import PortcullisLinux

/// Asking a socket for its own port through a duplicate of a descriptor,
/// reads that bypass libc, and the brute-force look for hidden processes.
@Suite(.enabled(if: FileManager.default.fileExists(atPath: "/proc/net/tcp"), "needs a live Linux /proc"))
struct SocketInspectorTests {
    private func inode(_ fd: Int32) throws -> UInt64 {
        var st = stat()
        try #require(fstat(fd, &st) == 0)
        return UInt64(st.st_ino)
    }

    @Test(.enabled(if: IPv6Loopback.available, "no IPv6 loopback: ::1 cannot be bound"))
    func aSocketTellsItsDomainProtocolPortAndState() throws {
        let own = TestSockets()
        let tcpPort = try own.open(.tcp, ipv6: false, address: "127.0.0.1")
        let tcp = try #require(own.fds.last)
        let udpPort = try own.open(.udp, ipv6: true, address: "::1")
        let udp = try #require(own.fds.last)
        let unbound = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        defer { close(unbound) }
        let me = getpid()

        let a = try SocketInspector.identify(inode: try inode(tcp), holders: [(pid: me, fd: tcp)]).get()
        #expect(a.key == PortKey(.tcp, .ipv4, tcpPort) && a.tcpState == .listen && a.belongsInTables && a.pid == me)
        #expect(a.kind == SocketKind(domain: .inet, inetProtocol: .tcp) && a.kind.description == "AF_INET TCP socket")
        let b = try SocketInspector.identify(inode: try inode(udp), holders: [(pid: me, fd: udp)]).get()
        #expect(b.key == PortKey(.udp, .ipv6, udpPort) && b.tcpState == nil && b.belongsInTables)
        let c = try SocketInspector.identify(inode: try inode(unbound), holders: [(pid: me, fd: unbound)]).get()
        #expect(c.key == nil && c.localPort == 0 && c.tcpState == .close && !c.belongsInTables)
    }

    @Test func aReusedDescriptorNumberIsNotTakenForTheSocket() throws {
        let own = TestSockets()
        _ = try own.open(.tcp, ipv6: false, address: "127.0.0.1")
        let fd = try #require(own.fds.last)
        // The right fd but a different inode: the holder no longer has that socket.
        let result = SocketInspector.identify(inode: try inode(fd) + 1_000_000, holders: [(pid: getpid(), fd: fd)])
        #expect(throws: Errno.self) { try result.get() }
        // A pid that does not exist.
        #expect(throws: Errno.self) { try SocketInspector.identify(inode: 1, holders: [(pid: Int32.max, fd: 0)]).get() }
    }

    @Test func rawReadsAndLibcReadsAgreeWithoutAnInterposer() throws {
        let own = TestSockets()
        let port = try own.open(.tcp, ipv6: false, address: "127.0.0.1")
        let procfs = try ProcFS()
        let raw = ProcNetParser.parse(try procfs.readBypassingLibc("net/tcp"), proto: .tcp, family: .ipv4, name: "tcp").records
        #expect(raw.contains { $0.localPort == port && $0.state == .listen })
        var options = HiddenPortCheck.Options()
        options.families = [.ipv4]
        #expect(HiddenPortCheck.libcDifferences(procfs, options).isEmpty)
    }

    /// This test process has several threads: their /proc/TID answers but is
    /// not listed, and they must not be taken for hidden processes.
    @Test func threadsAreNotHiddenProcesses() throws {
        let procfs = try ProcFS()
        let tasks = try procfs.process(getpid()).read("status")
        let threads = String(decoding: tasks, as: UTF8.self).split(separator: "\n").first { $0.hasPrefix("Threads:") }
        print("this test process: \(threads ?? "Threads: ?")")
        var diagnostics: [Diagnostic] = []
        let pidMax = HiddenPortCheck.pidMax(procfs, &diagnostics)
        #expect(pidMax == Int32(String(decoding: try procfs.read("sys/kernel/pid_max"), as: UTF8.self).trimmingWhitespace))
        #expect(diagnostics.isEmpty)
        let unlisted = HiddenPortCheck.unlistedProcesses(
            procfs, listed: HiddenPortCheck.PIDBitmap(try procfs.listedPIDs(), below: pidMax), in: 1...pidMax)
        // Processes started between the listing and the look-up are possible on
        // a busy machine; re-verification drops them. None may be a thread of ours.
        // (One may also have exited since the look-up: other tests start short-lived children.)
        #expect(unlisted.allSatisfy { HiddenPortCheck.isProcessLeader(procfs, $0) || !procfs.exists(pid: $0) })
        #expect(!unlisted.contains(getpid()))
        #expect(HiddenPortCheck.unlistedStill(procfs, Set(unlisted)).isEmpty, "a listed process was reported hidden")
    }

    /// The listing with the census: our own process is in it, and a proof,
    /// when there is one, counts at least one task per listed process.
    @Test func listingWithTheTaskCensus() throws {
        let procfs = try ProcFS()
        let (pids, tasks) = try HiddenPortCheck.listProcesses(procfs)
        #expect(pids.contains(getpid()))
        if let tasks { #expect(tasks >= pids.count) } else { print("task count moved during every try: no proof (busy host)") }
        // A procfs without the counters (a copy from another machine, say) proves nothing.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "portcullis-census-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.createDirectory(atPath: directory.path + "/42", withIntermediateDirectories: true)
        try Data("42 (x) S 1 42 42 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 1 1\n".utf8).write(to: directory.appendingPathComponent("42/stat"))
        let copy = try HiddenPortCheck.listProcesses(try ProcFS(root: directory.path))
        #expect(copy.pids == [42] && copy.tasks == nil)
        try Data("0.00 0.00 0.00 1/1 42\n".utf8).write(to: directory.appendingPathComponent("loadavg"))
        try Data("processes 7\n".utf8).write(to: directory.appendingPathComponent("stat"))
        #expect(try HiddenPortCheck.listProcesses(try ProcFS(root: directory.path)).tasks == 1)
        try Data("0.00 0.00 0.00 1/2 42\n".utf8).write(to: directory.appendingPathComponent("loadavg"))
        #expect(try HiddenPortCheck.listProcesses(try ProcFS(root: directory.path)).tasks == nil, "a task the listing lacks")
    }

    @Test func pidBitmap() {
        let bitmap = HiddenPortCheck.PIDBitmap([1, 63, 64, 32768, 99], below: 32768)
        #expect([1, 63, 64, 32768, 99].allSatisfy(bitmap.contains))
        #expect(![0, 2, 62, 65, 98, 100, 32767, 32769, 4_194_304, -1].contains(where: bitmap.contains))
        #expect(!HiddenPortCheck.PIDBitmap([5_000_000], below: 32768).contains(5_000_000), "beyond pid_max: not stored")
    }
}
