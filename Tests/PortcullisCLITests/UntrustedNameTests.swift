import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A listener whose process name (comm, via PR_SET_NAME) and command line
/// (an argument passed as raw bytes through execv) hold a newline, an ANSI
/// colour sequence, invalid UTF-8, a C1 control (U+009B, the 8-bit CSI) and
/// a backslash. Prints `{"pid": P, "port": TCP, "udp": UDP}`.
let hostileNameScript = #"""
    import ctypes, json, os, signal, socket, sys
    ARG = b"arg\n\x1b[31mred\xff\xc2\x9bC1\\end"
    COMM = b"ev\n\x1b[31mil\xff"   # 11 bytes: comm holds at most 15
    if len(sys.argv) < 2:
        os.execv(sys.executable, [os.fsencode(sys.executable), b"-u", os.fsencode(os.path.abspath(__file__)), ARG])
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(15, ctypes.c_char_p(COMM), 0, 0, 0) != 0:   # PR_SET_NAME
        sys.exit("prctl(PR_SET_NAME) failed")
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t.bind(("127.0.0.1", 0))
    t.listen(4)
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", 0))
    print(json.dumps({"pid": os.getpid(), "port": t.getsockname()[1], "udp": u.getsockname()[1]}), flush=True)
    while sys.stdin.buffer.read(4096):
        pass
    os._exit(0)
    """#

/// How portcullis must show them: every hostile byte as a visible escape.
let escapedComm = #"ev\n\x1b[31mil\xff"#
let escapedArgument = #"arg\n\x1b[31mred\xff\u{9b}C1\\end"#

extension CLITests {
    @Suite("Untrusted process names and command lines")
    struct UntrustedNames {
        static func assertNoRawControls(
            _ result: CommandResult, _ what: String, allowCRLF: Bool = false,
            sourceLocation: SourceLocation = #_sourceLocation
        ) {
            let hasESC = result.stdout.contains(escapeByte)
            let hasFF = result.stdout.contains(0xff)
            let hasCR = result.stdout.contains(0x0d)
            #expect(!hasESC, "raw ESC in \(what):\n\(result)", sourceLocation: sourceLocation)
            #expect(!hasFF, "raw 0xff in \(what):\n\(result)", sourceLocation: sourceLocation)
            #expect(
                String(validating: result.stdout, as: UTF8.self) != nil,
                "\(what) is not valid UTF-8", sourceLocation: sourceLocation)
            #expect(
                !result.out.unicodeScalars.contains { $0.value >= 0x80 && $0.value < 0xa0 },
                "raw C1 control in \(what)", sourceLocation: sourceLocation)
            #expect(!hasCR || allowCRLF, "raw CR in \(what)", sourceLocation: sourceLocation)
        }

        @Test(
            "Table, JSON, NDJSON, CSV and who show hostile names escaped, never raw",
            .enabled(if: Host.python3 != nil, "python3 is not installed: it runs the hostile listener"))
        func hostileNames() throws {
            let fixture = try PythonFixture(script: hostileNameScript, name: "hostile.py")
            defer { fixture.stop() }
            let pid = fixture.pid
            let port = try #require(fixture.int("port"))
            let udpPort = try #require(fixture.int("udp"))

            // The kernel really holds the hostile bytes (else the test proves nothing).
            let comm = try Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/comm"))
            #expect(Array(comm) == Array("ev\n\u{1b}[31mil".utf8) + [0xff, 0x0a], "comm is \(Array(comm))")
            let rawCmdline = Array(try Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline")))
            #expect(rawCmdline.contains(0x1b) && rawCmdline.contains(0xff))

            // Table: the row stays one line, the owner column shows the escapes.
            let table = try CLI.run(["list", "--port", "\(port),\(udpPort)"])
            try #require(table.status == 0, "\(table)")
            Self.assertNoRawControls(table, "the table")
            let lines = table.out.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
            #expect(lines.count == 3, "header + 2 rows expected; a raw newline would add lines\n\(table)")
            for (proto, p) in [("tcp", port), ("udp", udpPort)] {
                let row = lines.first { $0.hasPrefix(proto) && $0.contains("127.0.0.1:\(p) ") }
                #expect(row?.contains("\(escapedComm)[\(pid)]") == true, "\(proto) row: \(String(describing: row))\n\(table)")
            }
            // The overview table as well.
            let overview = try CLI.run(["--port", "\(port)"])
            try #require(overview.status == 0, "\(overview)")
            Self.assertNoRawControls(overview, "the overview")
            #expect(overview.out.contains("\(escapedComm)[\(pid)]"), "\(overview)")

            // JSON: parses, and the decoded strings are the escaped text.
            let json = try CLI.run(["list", "--format", "json", "--port", "\(port)"])
            try #require(json.status == 0, "\(json)")
            Self.assertNoRawControls(json, "JSON")
            let document = try decodeList(json)
            let entry = try #require(document.sockets.first { $0.localPort == port && $0.proto == "tcp" })
            let owner = try #require(entry.owners.first { $0.pid == pid }, "owner \(pid) missing\n\(json)")
            #expect(owner.name == escapedComm, "name: \(owner.name)")
            #expect(owner.cmdline.hasSuffix(" " + escapedArgument), "cmdline: \(owner.cmdline)")
            #expect(owner.cmdline.contains("hostile.py"), "cmdline: \(owner.cmdline)")
            #expect(!owner.cmdline.contains("\n") && !owner.cmdline.contains("\u{1b}"))

            // NDJSON: still one object per line.
            let ndjson = try CLI.run(["list", "--format", "ndjson", "--port", "\(port),\(udpPort)"])
            try #require(ndjson.status == 0, "\(ndjson)")
            Self.assertNoRawControls(ndjson, "NDJSON")
            let objects = ndjson.out.split(separator: "\n")
            #expect(objects.count == 2, "\(ndjson)")
            for line in objects {
                let socket = try decodeJSON(SocketJSON.self, Array(line.utf8))
                #expect(socket.owners.first?.name == escapedComm)
                #expect(socket.owners.first?.cmdline.hasSuffix(escapedArgument) == true)
            }

            // CSV: exactly one CRLF-terminated record per socket, no bare LF.
            let csv = try CLI.run(["list", "--format", "csv", "--port", "\(port),\(udpPort)"])
            try #require(csv.status == 0, "\(csv)")
            Self.assertNoRawControls(csv, "CSV", allowCRLF: true)
            let bytes = csv.stdout
            for (i, byte) in bytes.enumerated() where byte == 0x0a {
                #expect(i > 0 && bytes[i - 1] == 0x0d, "bare LF at byte \(i) of the CSV")
            }
            let records = csv.out.components(separatedBy: "\r\n").dropLast()
            #expect(records.count == 3, "header + 2 records\n\(csv)")
            let rows = parseCSV(csv.out)
            let header = try #require(rows.first)
            let names = try #require(header.firstIndex(of: "owner_names"))
            let cmdlines = try #require(header.firstIndex(of: "owner_cmdlines"))
            for row in rows.dropFirst() {
                #expect(row.count == header.count)
                #expect(row[names] == escapedComm, "owner_names cell: \(row[names])")
                #expect(row[cmdlines].hasSuffix(escapedArgument), "owner_cmdlines cell: \(row[cmdlines])")
            }

            // who: text and JSON.
            let who = try CLI.run(["who", "\(port)/tcp"])
            try #require(who.status == 0, "\(who)")
            Self.assertNoRawControls(who, "who")
            #expect(who.out.contains("pid \(pid) \(escapedComm) "), "\(who)")
            #expect(who.out.contains("cmdline: ") && who.out.contains(escapedArgument), "\(who)")
            let whoJSON = try CLI.run(["who", "\(port)/tcp", "--format", "json"])
            try #require(whoJSON.status == 0, "\(whoJSON)")
            Self.assertNoRawControls(whoJSON, "who JSON")
            let report = try decodeJSON(WhoDocument.self, whoJSON.stdout)
            #expect(report.sockets.flatMap(\.owners).contains { $0.name == escapedComm && $0.cmdline.hasSuffix(escapedArgument) })

            // --process matches the escaped name exactly as shown.
            let byName = try CLI.run(["list", "--format", "json", "--process", escapedComm])
            try #require(byName.status == 0, "\(byName)")
            let matched = try decodeList(byName).sockets.map(\.localPort).sorted()
            #expect(matched == [port, udpPort].sorted(), "list --process '\(escapedComm)' found \(matched)")
        }
    }
}

/// Runs a listener from a copy of the python interpreter at a hostile path,
/// to check the deleted/replaced-executable judgement. argv[1] picks the path:
/// `nonutf8` → `<dir>/bad\xffdir/python3` (invalid UTF-8 in a directory name),
/// `forged` → `<dir>/forge/python3 (deleted)` (a file really named so, still on
/// disk). Prints `{"pid", "port", "exe_hex"}`; removes the copy when it exits.
let hostileExeScript = #"""
    import json, os, shutil, signal, socket, sys
    here = os.path.dirname(os.path.abspath(__file__)).encode()
    mode = sys.argv[1]
    target_dir = here + (b"/bad\xffdir" if mode == "nonutf8" else b"/forge")
    exe = target_dir + (b"/python3" if mode == "nonutf8" else b"/python3 (deleted)")
    if len(sys.argv) < 3:
        os.mkdir(target_dir)
        shutil.copy2(os.path.realpath(sys.executable), exe)
        os.execv(exe, [exe, b"-u", os.fsencode(os.path.abspath(__file__)), mode.encode(), b"stage2"])
    def cleanup(*_):
        shutil.rmtree(target_dir, ignore_errors=True)
        os._exit(0)
    signal.signal(signal.SIGTERM, cleanup)
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t.bind(("127.0.0.1", 0))
    t.listen(4)
    print(json.dumps({"pid": os.getpid(), "port": t.getsockname()[1], "exe_hex": os.readlink(b"/proc/self/exe").hex()}), flush=True)
    while sys.stdin.buffer.read(4096):
        pass
    cleanup()
    """#

/// A listener of the overview's JSON (the audit document), with its verdict.
struct VerdictSocketJSON: Decodable {
    var localPort: Int
    var proto: String
    var owners: [ExeOwnerJSON]
    var verdict: String
    var verdictReason: String
    /// Rule ids of the audit findings about this socket.
    var findings: [String]
}

struct ExeOwnerJSON: Decodable {
    var pid: Int32
    var exe: String?
    var exeDeleted: Bool
    var exeReplaced: Bool
}

struct OverviewDocument: Decodable {
    var listeners: [VerdictSocketJSON]
}

extension CLITests.UntrustedNames {
    @Test(
        "An executable at a hostile path that is still on disk is neither 'deleted' nor 'replaced'",
        .enabled(if: Host.python3 != nil, "python3 is not installed: the test runs a copy of it"),
        arguments: ["nonutf8", "forged"])
    func hostileExecutablePath(mode: String) throws {
        let fixture = try PythonFixture(script: hostileExeScript, name: "hostile_exe.py", arguments: [mode])
        defer { fixture.stop() }
        let pid = fixture.pid
        let port = try #require(fixture.int("port"))
        let expectedSuffix = mode == "nonutf8" ? #"/bad\xffdir/python3"# : "/forge/python3 (deleted)"

        let result = try CLI.run(["--format", "json", "--port", "\(port)"])
        try #require(result.status == 0, "\(result)")
        let document = try decodeJSON(OverviewDocument.self, result.stdout)
        let socket = try #require(document.listeners.first { $0.proto == "tcp" && $0.localPort == port }, "\(result)")
        let owner = try #require(socket.owners.first { $0.pid == pid }, "\(result)")
        // The running file is the one at that path (exe_hex is the raw link).
        #expect(owner.exe?.hasSuffix(expectedSuffix) == true, "exe \(String(describing: owner.exe))")
        #expect(!owner.exeDeleted, "exe_deleted for a file still on disk: \(String(describing: owner.exe))")
        #expect(!owner.exeReplaced, "exe_replaced for an unchanged file: \(String(describing: owner.exe))")
        // It runs from a temporary directory, which is a finding of its own; deleted or replaced it is not.
        #expect(
            !socket.findings.contains("deleted-executable") && !socket.findings.contains("replaced-executable"),
            "findings \(socket.findings): \(socket.verdictReason)")
    }
}
