import Foundation
import PortcullisCore
import Testing

@testable import PortcullisLinux

@Suite("Reading a program's configuration through its root")
struct ServiceConfigReaderTests {
    @Test("A file reads as text; a missing one is missing; a directory or an oversized file is unreadable, with the reason")
    func capped() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pc-config-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let small = directory.appendingPathComponent("exports").path
        try Data("/srv 10.0.0.0/8(ro)\n".utf8).write(to: URL(fileURLWithPath: small))
        #expect(ServiceConfigReader.readCapped(small) == .text("/srv 10.0.0.0/8(ro)\n"))
        #expect(ServiceConfigReader.readCapped(directory.appendingPathComponent("absent").path) == .missing)
        #expect(ServiceConfigReader.readCapped(small + "/below-a-file") == .missing)
        #expect(ServiceConfigReader.readCapped(directory.path) == .unreadable("is a directory"))
        let big = directory.appendingPathComponent("big.conf").path
        try Data(repeating: 0x23, count: ServiceConfigReader.maxFileBytes + 1).write(to: URL(fileURLWithPath: big))
        #expect(ServiceConfigReader.readCapped(big) == .unreadable("larger than 1024 KiB, not judged"))
        let link = directory.appendingPathComponent("link").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: small)
        #expect(ServiceConfigReader.readCapped(link) == .unreadable("it is a symbolic link (not followed)"))
        // Inside a root, a link is followed there: an absolute target is the root's path, not ours.
        let root = directory.appendingPathComponent("root").path
        try FileManager.default.createDirectory(atPath: root + "/etc/samba", withIntermediateDirectories: true)
        try Data("[global]\n".utf8).write(to: URL(fileURLWithPath: root + "/etc/samba/real.conf"))
        try FileManager.default.createSymbolicLink(atPath: root + "/etc/samba/smb.conf", withDestinationPath: "/etc/samba/real.conf")
        try FileManager.default.createSymbolicLink(atPath: root + "/etc/exports", withDestinationPath: "samba/real.conf")
        try FileManager.default.createSymbolicLink(atPath: root + "/etc/loop", withDestinationPath: "loop")
        #expect(ServiceConfigReader.readInRoot(root: root, "/etc/samba/smb.conf") == .text("[global]\n"))
        #expect(ServiceConfigReader.readInRoot(root: root, "/etc/exports") == .text("[global]\n"))
        #expect(ServiceConfigReader.readInRoot(root: root, "/etc/loop") == .unreadable("more than 8 symbolic links"))
    }

    @Test(
        "Our own process, read through /proc/self's root: every file of the program is answered, and the same mount namespace is not stated"
    )
    func throughOwnRoot() {
        let set = ServiceConfigReader.read(.rpcbind, pid: getpid())
        #expect(Set(set.files.keys).isSuperset(of: NeedProgram.rpcbind.files))
        if case .text(let mounts) = set.files["/proc/self/mounts"] {
            #expect(mounts.contains(" / "))
        } else {
            Issue.record("no mount table")
        }
        #expect(set.readThrough == nil)
    }
}
