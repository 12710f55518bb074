import Foundation
import PortcullisLinux
import Testing

@testable import PortcullisStore

/// The file checks made before SQLite opens the database: each failure is
/// the `Errno` of the call, and the store's message says it in words.
@Suite struct StoreFilesTests {
    @Test func anExistingFileOrDirectoryIsNoError() throws {
        let scratch = try Scratch()
        try StoreFiles.createPrivate(scratch.db)
        try StoreFiles.createPrivate(scratch.db)  // EEXIST: someone else made it meanwhile, which is fine
        try StoreFiles.makeDirectories(scratch.path + "/a/b")
        try StoreFiles.makeDirectories(scratch.path + "/a/b")
        #expect(StoreFiles.kind(scratch.db) == .regular)
        #expect(StoreFiles.kind(scratch.path + "/a") == .other)
        #expect(StoreFiles.kind(scratch.path + "/none") == .missing)
        // The wrappers underneath do say EEXIST.
        #expect(throws: Errno.fileExists) { try Sys.makeDirectory(scratch.path + "/a", mode: 0o700) }
        #expect(throws: Errno.fileExists) { _ = try Sys.createExclusive(scratch.db, mode: 0o600) }
    }

    @Test func aSymlinkIsNotTakenForTheFileItNames() throws {
        let scratch = try Scratch()
        try StoreFiles.createPrivate(scratch.db)
        try FileManager.default.createSymbolicLink(atPath: scratch.path + "/link.db", withDestinationPath: scratch.db)
        #expect(StoreFiles.kind(scratch.path + "/link.db") == .other)
    }

    @Test func aPathThroughAFileThrowsENOTDIR() throws {
        let scratch = try Scratch()
        try StoreFiles.createPrivate(scratch.db)
        #expect(throws: Errno.notDirectory) { try StoreFiles.makeDirectories(scratch.db + "/state") }
        #expect(throws: Errno.notDirectory) { try StoreFiles.createPrivate(scratch.db + "/history.db") }
        #expect(throws: Errno.notDirectory) { try StoreFiles.checkWritable(scratch.db + "/history.db") }
        #expect(throws: Errno.noSuchFile) { try StoreFiles.checkWritable(scratch.path + "/none/history.db") }
    }

    @Test func aPlaceNoOneMayCreateFilesInThrowsEACCES() {
        // sysfs refuses new files with EACCES, even to root.
        let path = "/sys/portcullis-test-\(UUID().uuidString).db"
        #expect(throws: Errno.permissionDenied) { try StoreFiles.createPrivate(path) }
        do {
            _ = try HistoryStore(path: path)
            Issue.record("created a database in /sys")
        } catch {
            #expect(error.underlying == .permissionDenied)
            #expect(
                error.description
                    == "cannot write the history database \(path): Permission denied (a permission problem: this user may not write it). "
                    + "Run as the user who owns it (root for the system database), or give another file with --db")
        }
    }

    @Test func aDirectoryThatCannotBeCreatedIsNamedWithItsErrno() throws {
        let scratch = try Scratch()
        try StoreFiles.createPrivate(scratch.db)
        var options = HistoryStore.Options()
        options.createDirectories = true
        let path = scratch.db + "/state/portcullis.db"
        do {
            _ = try HistoryStore(path: path, options: options)
            Issue.record("created a database below a regular file")
        } catch {
            #expect(error.code == .notWritable)
            #expect(error.underlying == .notDirectory)
            #expect(
                error.description == "cannot write the history database \(path): cannot create \(scratch.db)/state: Not a directory. "
                    + "Run as the user who owns it (root for the system database), or give another file with --db")
        }
    }

    @Test(
        "A file the user may not write: EACCES from access(2)",
        .enabled(if: geteuid() != 0, "root passes access(2) W_OK on any file; the sysfs case covers EACCES as root"))
    func aReadOnlyFileThrowsEACCES() throws {
        let scratch = try Scratch()
        try StoreFiles.createPrivate(scratch.db)
        chmod(scratch.db, 0o400)
        #expect(throws: Errno.permissionDenied) { try StoreFiles.checkWritable(scratch.db) }
    }
}
