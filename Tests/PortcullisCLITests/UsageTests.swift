import Foundation
import PortcullisTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A bad command line and what must come of it.
struct BadInput: CustomTestStringConvertible, Sendable {
    var arguments: [String]
    var status: Int32
    /// Every one of these must appear on stderr (the bad value, and words saying what is wrong).
    var mentions: [String]

    init(_ arguments: [String], status: Int32 = 2, mentions: [String]) {
        self.arguments = arguments
        self.status = status
        self.mentions = mentions
    }

    var testDescription: String { arguments.map { $0.isEmpty ? "''" : $0 }.joined(separator: " ") }
}

let badInputs: [BadInput] = [
    // scan: every bad target and port list is refused with what was wrong.
    BadInput(["scan", "127.1"], mentions: ["\"127.1\"", "inet_aton", "127.0.0.1"]),
    BadInput(["scan", "0x7f.0.0.1"], mentions: ["\"0x7f.0.0.1\"", "not a valid IPv4 address"]),
    BadInput(["scan", "10.0.0.0/33"], mentions: ["\"10.0.0.0/33\"", "/33", "/0 to /32"]),
    BadInput(["scan", "fd00::/129"], mentions: ["\"fd00::/129\""]),
    BadInput(["scan", "10.0.0.20-1"], mentions: ["\"10.0.0.20-1\"", "reversed", "10.0.0.1-20"]),
    BadInput(["scan", "-p", "0", "127.0.0.1"], mentions: ["-p \"0\"", "port 0"]),
    BadInput(["scan", "-p", "65536", "127.0.0.1"], mentions: ["-p \"65536\"", "out of range", "1-65535"]),
    BadInput(["scan", "-p", "5-1", "127.0.0.1"], mentions: ["-p \"5-1\"", "reversed"]),
    BadInput(["scan", "-p", "22,,80", "127.0.0.1"], mentions: ["-p \"22,,80\"", "empty item"]),
    BadInput(["scan"], mentions: ["no target"]),
    BadInput(["scan", "10.0.0.0/8", "-p", "80"], mentions: ["16777216", "--allow-large"]),
    BadInput(["scan", "--exclude", "1.2.3", "127.0.0.1"], mentions: ["--exclude \"1.2.3\""]),
    BadInput(["scan", "--max-retries", "11", "127.0.0.1"], mentions: ["--max-retries", "0 and 10"]),
    BadInput(["scan", "--top-ports", "0", "127.0.0.1"], mentions: ["--top-ports", "1 and 65535"]),
    BadInput(["scan", "-iL", "/nonexistent/targets", "-p", "80"], mentions: ["/nonexistent/targets", "cannot read"]),
    BadInput(["scan", "127.0.0.1", "--format", "csv"], mentions: ["json, ndjson or junit", "not csv"]),
    BadInput(["list", "--port", "70000"], mentions: ["'70000'", "--port", "out of range"]),
    BadInput(["list", "--port", "90-80"], mentions: ["'90-80'", "--port", "reversed", "80-90"]),
    BadInput(["list", "--port", "abc"], mentions: ["'abc'", "--port"]),
    BadInput(["list", "--port", ""], mentions: ["--port", "empty"]),
    BadInput(["list", "--port", "22,,80"], mentions: ["'22,,80'", "--port"]),
    BadInput(["list", "--class", "bogus"], mentions: ["'bogus'", "--class", "system"]),
    BadInput(["list", "--format", "xml"], mentions: ["'xml'", "--format", "json"]),
    BadInput(["list", "--pid", "0"], mentions: ["'0'", "--pid"]),
    BadInput(["list", "--pid", "abc"], mentions: ["abc", "--pid"]),
    BadInput(["list", "-a", "-l"], mentions: ["-a/--all", "-l/--listening"]),
    BadInput(["list", "--user", ""], mentions: ["--user"]),
    BadInput(["list", "--source", "carrier-pigeon"], mentions: ["'carrier-pigeon'", "--source"]),
    BadInput(["list", "--proc-root", "/nonexistent", "--source", "netlink"], mentions: ["--proc-root", "--source netlink"]),
    BadInput(["list", "--docker-root", ""], mentions: ["--docker-root", "needs a directory"]),
    BadInput(["who", "22", "--podman-root", ""], mentions: ["--podman-root", "needs a directory"]),
    BadInput(["watch", "--pods-log-root", ""], mentions: ["--pods-log-root", "needs a directory"]),
    BadInput(["who", "0"], mentions: ["'0'", "out of range"]),
    BadInput(["who", "65536"], mentions: ["'65536'", "out of range"]),
    BadInput(["who", "22/sctp"], mentions: ["'22/sctp'", "sctp"]),
    BadInput(["who", "abc"], mentions: ["'abc'", "not a port number"]),
    BadInput(["who", "22/tcp/udp"], mentions: ["'22/tcp/udp'"]),
    BadInput(["who"], mentions: ["PORT"]),
    BadInput(["who", "22", "--format", "csv"], mentions: ["who", "json"]),
    BadInput(["explain", "70000"], mentions: ["70000", "out of range"]),
    BadInput(["explain", ""], mentions: ["nothing to explain"]),
    BadInput(["explain", "nosuchservicename"], mentions: ["'nosuchservicename'"]),
    BadInput(["explain", "22", "--format", "ndjson"], mentions: ["explain", "json"]),
    BadInput(["list", "--proc-root", "/nonexistent"], status: 3, mentions: ["/nonexistent"]),
    BadInput(["frobnicate"], mentions: ["'frobnicate'"]),
    BadInput(["list", "--frobnicate"], mentions: ["'--frobnicate'"]),
    BadInput(["--frobnicate"], mentions: ["'--frobnicate'"]),
]

/// The CSV header as README.md documents it.
let documentedCSVHeader =
    "proto,family,local_address,local_port,remote_address,remote_port,state,v6only,inode,uid,user,"
    + "port_class,in_ephemeral_range,service,exposure,unowned_reason,owner_pids,owner_names,owner_users,owner_exes,"
    + "owner_units,owner_containers,owner_cmdlines,netns_inode,netns_name"

/// Runs ARGS with stdout on a pseudo-terminal (which colour output needs),
/// prints what the terminal received, exits with the child's status.
let ptyScript = #"""
    import os, pty, subprocess, sys
    master, slave = pty.openpty()
    child = subprocess.Popen(sys.argv[1:], stdin=subprocess.DEVNULL, stdout=slave, stderr=subprocess.DEVNULL)
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:   # EIO: the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    child.wait()
    sys.stdout.buffer.write(out)
    sys.exit(child.returncode)
    """#

/// Splits one RFC 4180 CSV record list into rows of cells.
func parseCSV(_ text: String) -> [[String]] {
    var rows: [[String]] = []
    var row: [String] = []
    var cell = ""
    var quoted = false
    var chars = text.unicodeScalars.makeIterator()
    var pending: Unicode.Scalar? = nil
    while let c = pending ?? chars.next() {
        pending = nil
        if quoted {
            if c == "\"" {
                if let next = chars.next() {
                    if next == "\"" {
                        cell.unicodeScalars.append("\"")
                    } else {
                        quoted = false
                        pending = next
                    }
                } else {
                    quoted = false
                }
            } else {
                cell.unicodeScalars.append(c)
            }
            continue
        }
        switch c {
        case "\"": quoted = true
        case ",":
            row.append(cell)
            cell = ""
        case "\r": break
        case "\n":
            row.append(cell)
            rows.append(row)
            row = []
            cell = ""
        default: cell.unicodeScalars.append(c)
        }
    }
    if !cell.isEmpty || !row.isEmpty {
        row.append(cell)
        rows.append(row)
    }
    return rows
}

extension CLITests {
    @Suite("Usage errors, exit codes and output formats")
    struct Usage {
        @Test("Bad input exits with its documented code and names the bad value", arguments: badInputs)
        func badInput(_ input: BadInput) throws {
            let result = try CLI.run(input.arguments)
            #expect(!result.signaled && !result.timedOut, "crashed or hung\n\(result)")
            #expect(result.status == input.status, "\(result)")
            let quiet = result.stdout.isEmpty
            #expect(quiet, "usage errors print nothing on stdout\n\(result)")
            let err = result.err
            #expect(!err.isEmpty)
            for word in input.mentions {
                #expect(err.contains(word), "stderr does not mention \(word)\n\(result)")
            }
            for crash in ["Fatal error", "Stack dump", "Illegal instruction", "Segmentation fault"] {
                #expect(!err.contains(crash), "\(result)")
            }
            if input.status == 3 {
                #expect(err.hasPrefix("portcullis: error:"), "\(result)")
            }
        }

        @Test("--help and --version exit 0 on stdout")
        func helpAndVersion() throws {
            for arguments in [["--help"], ["list", "--help"], ["who", "--help"], ["explain", "--help"], ["help", "list"]] {
                let result = try CLI.run(arguments)
                #expect(result.status == 0, "\(result)")
                #expect(result.out.contains("USAGE:"), "\(result)")
            }
            let version = try CLI.run(["--version"])
            #expect(version.status == 0, "\(version)")
            #expect(version.out.hasPrefix("portcullis "), "\(version)")
        }

        @Test("ss muscle memory: list -tulpn works and lists TCP and UDP")
        func ssStyleFlags() throws {
            let listener = try LocalListener()
            let result = try CLI.run(["list", "-tulpn", "--format", "json"])
            try #require(result.status == 0, "\(result)")
            let document = try decodeList(result)
            #expect(document.sockets.allSatisfy { $0.listening && ($0.proto == "tcp" || $0.proto == "udp") })
            #expect(document.sockets.contains { $0.proto == "tcp" && $0.localPort == Int(listener.port) })
            let four = try CLI.run(["list", "-4", "-t", "--format", "json"])
            try #require(four.status == 0, "\(four)")
            #expect(try decodeList(four).sockets.allSatisfy { $0.family == "ipv4" && $0.proto == "tcp" })
        }

        @Test("who PORT exits 1 and says \"Nothing holds\" for a free port")
        func whoFreePort() throws {
            let port = try #require(currentlyFreePort(), "could not find a free port")
            let result = try CLI.run(["who", "\(port)"])
            #expect(result.status == 1, "\(result)")
            #expect(result.out.contains("Nothing holds port \(port)"), "\(result)")
            let tcp = try CLI.run(["who", "\(port)/tcp", "--format", "json"])
            #expect(tcp.status == 1, "\(tcp)")
            let document = try decodeJSON(WhoDocument.self, tcp.stdout)
            #expect(document.held == false)
            #expect(document.port == Int(port))
            #expect(document.proto == "tcp")
            #expect(document.sockets.isEmpty)
        }

        @Test("who PORT/tcp names the holder and its parent chain up to PID 1")
        func whoHeldPort() throws {
            let listener = try LocalListener()
            let me = getpid()
            let parent = getppid()
            let result = try CLI.run(["who", "\(listener.port)/tcp", "--format", "json"])
            try #require(result.status == 0, "\(result)")
            let document = try decodeJSON(WhoDocument.self, result.stdout)
            #expect(document.held)
            #expect(document.port == Int(listener.port))
            let local = document.sockets.filter { $0.role == "local" && $0.state == "listen" }
            try #require(local.count == 1, "\(result)")
            let socket = local[0]
            #expect(socket.localAddress == "127.0.0.1")
            #expect(socket.localPort == Int(listener.port))
            if !Host.isRoot {
                // Without root only our own processes can be walked; ours is one.
                #expect(socket.owners.contains { $0.pid == me } || socket.unownedReason != nil)
                return
            }
            let owner = try #require(socket.owners.first { $0.pid == me }, "the test process \(me) is not listed as owner\n\(result)")
            #expect(owner.fds.contains(listener.fd), "fds \(owner.fds), listener fd \(listener.fd)")
            #expect(owner.ppid == parent)
            let chain = try #require(owner.ancestors, "no ancestors field")
            try #require(!chain.isEmpty, "empty parent chain\n\(result)")
            #expect(chain.first?.pid == parent, "nearest parent should be \(parent): \(chain.map(\.pid))")
            #expect(chain.last?.pid == 1, "the chain should end at PID 1: \(chain.map(\.pid))")
            for (child, next) in zip(chain, chain.dropFirst()) {
                #expect(child.ppid == next.pid, "broken chain at \(child.pid): ppid \(child.ppid), next \(next.pid)")
            }
            #expect(Set(chain.map(\.pid)).count == chain.count, "a pid repeats in \(chain.map(\.pid))")

            let text = try CLI.run(["who", "\(listener.port)/tcp"])
            #expect(text.status == 0, "\(text)")
            #expect(text.out.contains("parents:"), "\(text)")
            #expect(text.out.contains("pid \(me) "), "\(text)")
            #expect(text.out.contains("127.0.0.1:\(listener.port)"), "\(text)")
            #expect(!text.out.contains("Nothing holds"), "\(text)")

            // A held TCP port is free for UDP.
            let udp = try CLI.run(["who", "\(listener.port)/udp"])
            #expect(udp.status == 1, "\(udp)")
            #expect(udp.out.contains("Nothing holds port \(listener.port)/udp"), "\(udp)")
        }

        @Test("explain 22 mentions ssh; explain redis --format json is port 6379")
        func explain() throws {
            let ssh = try CLI.run(["explain", "22"])
            #expect(ssh.status == 0, "\(ssh)")
            #expect(ssh.out.lowercased().contains("ssh"), "\(ssh)")
            #expect(ssh.out.contains("22"), "\(ssh)")

            let redis = try CLI.run(["explain", "redis", "--format", "json"])
            #expect(redis.status == 0, "\(redis)")
            let parsed = try JSONSerialization.jsonObject(with: Data(redis.stdout))
            let reports = try #require(parsed as? [[String: Any]], "explain --format json is not an array of objects\n\(redis)")
            try #require(!reports.isEmpty)
            #expect(reports.contains { ($0["port"] as? NSNumber)?.intValue == 6379 }, "\(redis)")
            #expect(reports.allSatisfy { ($0["port"] as? NSNumber)?.intValue == 6379 }, "redis is one port\n\(redis)")
        }

        @Test("CSV starts with the documented header and every row has its columns")
        func csv() throws {
            let listener = try LocalListener()
            let result = try CLI.run(["list", "--format", "csv"])
            try #require(result.status == 0, "\(result)")
            let text = result.out
            #expect(text.hasPrefix("proto,family,local_address,"), "\(result)")
            let firstLine = text.components(separatedBy: "\r\n").first ?? ""
            #expect(firstLine == documentedCSVHeader, "CSV header differs from the README")
            let rows = parseCSV(text)
            let header = try #require(rows.first)
            for row in rows.dropFirst() {
                #expect(row.count == header.count, "row has \(row.count) cells, header \(header.count): \(row)")
            }
            // Records end in CRLF (RFC 4180).
            #expect(text.hasSuffix("\r\n"))
            let portColumn = try #require(header.firstIndex(of: "local_port"))
            #expect(
                rows.dropFirst().contains { $0[portColumn] == "\(listener.port)" }, "our listener \(listener.port) is missing\n\(result)")

            // The overview adds its verdict columns to the same header.
            let overview = try CLI.run(["--format", "csv"])
            try #require(overview.status == 0, "\(overview)")
            let overviewRows = parseCSV(overview.out)
            let overviewHeader = try #require(overviewRows.first)
            #expect(Array(overviewHeader.prefix(header.count)) == header)
            #expect(overviewHeader.suffix(2) == ["verdict", "verdict_reason"])
            for row in overviewRows.dropFirst() { #expect(row.count == overviewHeader.count, "\(row)") }
        }

        @Test("NDJSON: every line is one JSON object")
        func ndjson() throws {
            let listener = try LocalListener()
            for arguments in [["list", "--format", "ndjson"], ["list", "-a", "--format", "ndjson"], ["--format", "ndjson"]] {
                let result = try CLI.run(arguments)
                try #require(result.status == 0, "\(result)")
                #expect(result.out.hasSuffix("\n"), "\(result)")
                var ports: [Int] = []
                for line in result.out.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
                    let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
                    #expect(object != nil, "not a JSON object: \(line)")
                    #expect(object?["proto"] is String, "\(line)")
                    if let port = (object?["local_port"] as? NSNumber)?.intValue { ports.append(port) }
                }
                #expect(ports.contains(Int(listener.port)), "\(arguments): listener \(listener.port) missing")
            }
        }

        @Test("Through a pipe, output carries no escape byte")
        func noColourInPipes() throws {
            let listener = try LocalListener()
            for arguments in [
                [], ["list"], ["list", "-a"], ["who", "\(listener.port)"], ["explain", "22"], ["explain", "6379"], ["--help"],
            ] {
                for environment: [String: String?] in [["NO_COLOR": nil, "TERM": "xterm-256color"], ["NO_COLOR": "1"]] {
                    let result = try CLI.run(arguments, environment: environment)
                    #expect(result.status == 0, "\(result)")
                    let empty = result.stdout.isEmpty
                    let outESC = result.stdout.contains(escapeByte)
                    let errESC = result.stderr.contains(escapeByte)
                    #expect(!empty, "\(result)")
                    #expect(!outESC, "ESC on a pipe: \(arguments) \(environment)\n\(result)")
                    #expect(!errESC, "ESC on stderr: \(arguments)\n\(result)")
                }
            }
        }

        @Test(
            "On a terminal: colour by default, none with NO_COLOR or TERM=dumb",
            .enabled(if: Host.python3 != nil, "python3 is not installed: it provides the pseudo-terminal"))
        func colourOnTerminal() throws {
            let python = try #require(Host.python3)
            let binary = try CLI.binary()
            func onTerminal(_ arguments: [String], _ environment: [String: String?]) throws -> CommandResult {
                try Subprocess.run(python, ["-c", ptyScript, binary] + arguments, environment: environment)
            }
            var colouredSomewhere = false
            for arguments in [["list"], []] {
                let coloured = try onTerminal(arguments, ["NO_COLOR": nil, "TERM": "xterm-256color"])
                #expect(coloured.status == 0, "\(coloured)")
                if coloured.stdout.contains(escapeByte) { colouredSomewhere = true }
                let noColor = try onTerminal(arguments, ["NO_COLOR": "1", "TERM": "xterm-256color"])
                #expect(noColor.status == 0, "\(noColor)")
                let noColorEmpty = noColor.stdout.isEmpty
                let noColorESC = noColor.stdout.contains(escapeByte)
                #expect(!noColorEmpty, "\(noColor)")
                #expect(!noColorESC, "NO_COLOR=1 ignored\n\(noColor)")
                let dumb = try onTerminal(arguments, ["NO_COLOR": nil, "TERM": "dumb"])
                #expect(dumb.status == 0, "\(dumb)")
                let dumbESC = dumb.stdout.contains(escapeByte)
                #expect(!dumbESC, "TERM=dumb ignored\n\(dumb)")
            }
            // Without this the no-ESC checks above and in noColourInPipes would prove nothing.
            #expect(colouredSomewhere, "neither list nor the overview uses colour on a terminal")
        }
    }
}
