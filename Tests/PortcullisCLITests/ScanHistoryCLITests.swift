import Foundation
import PortcullisCore
import PortcullisTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `scan --record`, `history --scans`, `diff --scans` and `scan --diff-last`
/// end to end on 127.0.0.1, each test with its own database file.
extension CLITests {
    @Suite("scan history on loopback")
    struct ScanHistoryLoopback {
        struct ScanList: Decodable {
            struct Scan: Decodable {
                var id: Int
                var targets: String
                var ports: String
                var protocols: [String]
                var hosts: Int
                var hostsUp: Int
                var openPorts: Int
            }
            var scans: [Scan]
        }

        struct DiffDocument: Decodable {
            struct Side: Decodable { var id: Int? }
            struct Host: Decodable {
                var address: String
                var change: String
                var ports: [Port]
            }
            struct Port: Decodable {
                var proto: String
                var port: Int
                var change: String
                var fromState: String?
                var toState: String?
            }
            var from: Side
            var to: Side
            var differs: Bool
            var notes: [String]
            var hosts: [Host]
        }

        /// Two listeners and a free port; one listener closes and the free port opens;
        /// each change is seen by `diff --scans` and `scan --diff-last`, and an unchanged rescan is not a difference.
        @Test(.timeLimit(.minutes(3)))
        func recordedScansAreComparedAndExitOneOnADifference() throws {
            let scratch = try TemporaryDirectory(prefix: "portcullis-scanhistory")
            defer { scratch.remove() }
            let db = scratch.path + "/history.db"
            let stays = try LocalListener()
            var goes: LocalListener? = try LocalListener()
            let goesPort = try #require(goes?.port)
            let comes = try #require(currentlyFreePort())
            let ports = "\(stays.port),\(goesPort),\(comes)"
            func scan(_ extra: [String], ports: String = ports) throws -> CommandResult {
                try CLI.run(["scan", "--db", db, "-p", ports] + extra + ["127.0.0.1"])
            }

            let first = try scan(["--record"])
            #expect(first.status == 0, "\(first)")
            #expect(first.err.contains("recorded as scan 1 in \(db)"), "\(first)")
            #expect(first.out.contains("\(goesPort)/tcp"), "the scan itself is printed as usual\n\(first)")

            goes = nil
            let later = TestSockets()
            try later.open(.tcp, ipv6: false, address: "127.0.0.1", port: comes)
            let second = try scan(["--record"])
            #expect(second.status == 0 && second.err.contains("recorded as scan 2"), "\(second)")

            let text = try CLI.run(["diff", "--scans", "1", "2", "--db", db])
            #expect(text.status == 1, "\(text)")
            #expect(text.out.contains("-   \(goesPort)/tcp open -> closed"), "\(text)")
            #expect(text.out.contains("+   \(comes)/tcp closed -> open"), "\(text)")
            #expect(!text.out.contains("\(stays.port)/tcp"), "an unchanged port is not listed\n\(text)")

            let json = try CLI.run(["diff", "--scans", "1", "2", "--db", db, "--format", "json"])
            #expect(json.status == 1, "\(json)")
            let document = try decodeJSON(DiffDocument.self, json.stdout)
            #expect(document.from.id == 1 && document.to.id == 2 && document.differs && document.notes.isEmpty)
            let host = try #require(document.hosts.first)
            #expect(host.address == "127.0.0.1" && host.change == "changed")
            let changes = Dictionary(uniqueKeysWithValues: host.ports.map { ($0.port, $0) })
            #expect(changes[Int(goesPort)]?.change == "closed" && changes[Int(goesPort)]?.toState == "closed")
            #expect(changes[Int(comes)]?.change == "opened" && changes[Int(comes)]?.fromState == "closed")
            #expect(host.ports.count == 2)

            // Nothing changed: exit 0.
            let third = try scan(["--record"])
            #expect(third.status == 0, "\(third)")
            let same = try CLI.run(["diff", "--scans", "2", "3", "--db", db])
            #expect(same.status == 0 && same.out.contains("no differences"), "\(same)")
            let diffLastSame = try scan(["--diff-last"])
            #expect(diffLastSame.status == 0, "\(diffLastSame)")
            #expect(diffLastSame.out.contains("scan 3 at") && diffLastSame.out.contains("no differences"), "\(diffLastSame)")
            #expect(!diffLastSame.err.contains("recorded as"), "--diff-last alone stores nothing\n\(diffLastSame)")

            // The newcomer closes again; the same ports written in another order still find scan 3.
            try #require(close(later.fds[0]) == 0)
            let reordered = "\(comes),\(goesPort),\(stays.port)"
            let diffLast = try scan(["--diff-last", "--format", "json"], ports: reordered)
            #expect(diffLast.status == 1, "\(diffLast)")
            let changed = try decodeJSON(DiffDocument.self, diffLast.stdout)
            #expect(changed.from.id == 3 && changed.to.id == nil)
            #expect(changed.hosts.first?.ports.map(\.port) == [Int(comes)])
            #expect(changed.hosts.first?.ports.first?.change == "closed")
            #expect(diffLast.err.contains("1 host scanned"), "the scan's summary goes to stderr\n\(diffLast)")

            // --diff-last --record compares with scan 3, then stores scan 4.
            let both = try scan(["--diff-last", "--record"], ports: reordered)
            #expect(both.status == 1 && both.err.contains("recorded as scan 4"), "\(both)")
            #expect(both.out.contains("scan 3 at") && both.out.contains("scan 4 at"), "\(both)")
            let again = try scan(["--diff-last"])
            #expect(again.status == 0 && again.out.contains("scan 4 at"), "\(again)")

            let listed = try CLI.run(["history", "--scans", "--db", db, "--format", "json"])
            #expect(listed.status == 0, "\(listed)")
            let scans = try decodeJSON(ScanList.self, listed.stdout).scans
            #expect(scans.map(\.id) == [1, 2, 3, 4])
            #expect(scans.map(\.openPorts) == [2, 2, 2, 1])
            #expect(scans.allSatisfy { $0.targets == "127.0.0.1" && $0.hosts == 1 && $0.hostsUp == 1 && $0.protocols == ["tcp"] })
            #expect(scans[0].ports == ports && scans[3].ports == reordered)
            let table = try CLI.run(["history", "--scans", "--db", db, "--limit", "2"])
            #expect(table.status == 0, "\(table)")
            #expect(table.out.hasPrefix("ID"), "\(table)")
            #expect(table.out.split(separator: "\n").count == 3, "a header and the last two scans\n\(table)")
            #expect(table.out.contains("1/1"), "\(table)")
        }

        @Test func withoutAnEarlierScanDiffLastSaysSo() throws {
            let scratch = try TemporaryDirectory(prefix: "portcullis-scanhistory")
            defer { scratch.remove() }
            let db = scratch.path + "/history.db"
            let listener = try LocalListener()

            for command in [
                ["history", "--scans", "--db", db], ["diff", "--scans", "1", "2", "--db", db],
                ["scan", "--diff-last", "--db", db, "-p", "\(listener.port)", "127.0.0.1"],
            ] {
                let result = try CLI.run(command)
                #expect(result.status == 3, "\(result)")
                #expect(
                    result.err.contains(
                        "no history database at \(db): nothing has been stored yet; record a scan first (portcullis scan --record)"),
                    "\(result)")
            }
            #expect(!FileManager.default.fileExists(atPath: db), "a command that only reads created the file")

            // The cron idiom's first run: nothing to compare with, this scan stored, exit 0.
            let first = try CLI.run(["scan", "--diff-last", "--record", "--db", db, "-p", "\(listener.port)", "127.0.0.1"])
            #expect(first.status == 0, "\(first)")
            #expect(first.err.contains("no earlier recorded scan of these targets and ports"), "\(first)")
            #expect(first.err.contains("recorded as scan 1"), "\(first)")
            #expect(first.out.isEmpty, "\(first)")

            // Other ports: nothing to compare with, and without --record that is exit 3, before scanning.
            let other = try CLI.run(["scan", "--diff-last", "--db", db, "-p", "\(listener.port),1", "127.0.0.1"])
            #expect(other.status == 3, "\(other)")
            #expect(other.err.contains("no earlier recorded scan of these targets and ports in \(db)"), "\(other)")
            #expect(other.err.contains("Add --record"), "\(other)")
            #expect(!other.err.contains("scanned"), "the scan did not run\n\(other)")
        }

        @Test func badScanIdsAndFlagsAreUsageErrors() throws {
            let scratch = try TemporaryDirectory(prefix: "portcullis-scanhistory")
            defer { scratch.remove() }
            let db = scratch.path + "/history.db"
            let listener = try LocalListener()
            let recorded = try CLI.run(["scan", "--record", "--db", db, "-p", "\(listener.port)", "127.0.0.1"])
            try #require(recorded.status == 0, "\(recorded)")

            let cases: [([String], String)] = [
                (["diff", "--scans", "1", "9", "--db", db], "no recorded scan 9 in \(db) (portcullis history --scans lists them)"),
                (["diff", "--scans", "1", "x", "--db", db], "invalid scan 'x' for TO: a scan id is a positive number"),
                (["diff", "--scans", "1", "--db", db], "diff --scans needs two scan ids"),
                (["scan", "--db", db, "-p", "\(listener.port)", "127.0.0.1"], "--db applies to --record and --diff-last"),
                (
                    ["scan", "--diff-last", "--db", db, "--format", "ndjson", "-p", "\(listener.port)", "127.0.0.1"],
                    "--diff-last prints the difference as text or --format json, not ndjson"
                ),
                (["history", "--scans", "--events", "--db", db], "--events and --scans list different things"),
            ]
            for (arguments, message) in cases {
                let result = try CLI.run(arguments)
                #expect(result.status == 2, "\(result)")
                #expect(result.err.contains(message), "\(result)")
            }
        }

        @Test func scansOfDifferentTargetsAreComparedWithANote() throws {
            let scratch = try TemporaryDirectory(prefix: "portcullis-scanhistory")
            defer { scratch.remove() }
            let db = scratch.path + "/history.db"
            let listener = try LocalListener()
            for targets in ["127.0.0.1", "127.0.0.1-2"] {
                let result = try CLI.run(["scan", "--record", "--db", db, "-p", "\(listener.port)", targets])
                try #require(result.status == 0, "\(result)")
            }
            let result = try CLI.run(["diff", "--scans", "1", "2", "--db", db, "--format", "json"])
            let document = try decodeJSON(DiffDocument.self, result.stdout)
            #expect(document.notes.count == 1 && document.notes[0].contains("the scans cover different targets"), "\(result)")
            #expect(result.err.contains("notice: the scans cover different targets"), "\(result)")
            // 127.0.0.2 answers (refused: it is loopback too) only in scan 2: it appeared.
            #expect(result.status == 1 && document.hosts.map(\.address) == ["127.0.0.2"], "\(result)")
            #expect(document.hosts.first?.change == "appeared")
            let text = try CLI.run(["diff", "--scans", "1", "2", "--db", db])
            #expect(text.out.contains("note: the scans cover different targets (scan 1: 127.0.0.1; scan 2: 127.0.0.1-2)"), "\(text)")
        }

        @Test(
            "A database another user owns: reading and recording fail with exit 3 and say it is a permission problem",
            .enabled(if: Host.isRoot && Host.setpriv != nil, "needs root and setpriv to run as nobody"))
        func permissionProblemsAreNamed() throws {
            let scratch = try TemporaryDirectory(prefix: "portcullis-scanhistory")
            defer { scratch.remove() }
            chmod(scratch.path, 0o755)
            let db = scratch.path + "/history.db"
            let listener = try LocalListener()
            let recorded = try CLI.run(["scan", "--record", "--db", db, "-p", "\(listener.port)", "127.0.0.1"])
            try #require(recorded.status == 0, "\(recorded)")
            let binary = try Unprivileged.copyBinaryForEveryone(into: scratch)
            let read = try Unprivileged.runAsNobody(binary, ["history", "--scans", "--db", db])
            #expect(read.status == 3, "\(read)")
            #expect(read.err.contains("cannot read the history database \(db): Permission denied"), "\(read)")
            #expect(read.err.contains("a permission problem"), "\(read)")
            let write = try Unprivileged.runAsNobody(binary, ["scan", "--record", "--db", db, "-p", "\(listener.port)", "127.0.0.1"])
            #expect(write.status == 3, "\(write)")
            #expect(write.err.contains("cannot write the history database \(db)") && write.err.contains("a permission problem"), "\(write)")
            #expect(!write.err.contains("scanned"), "the database is checked before scanning\n\(write)")
        }
    }
}
