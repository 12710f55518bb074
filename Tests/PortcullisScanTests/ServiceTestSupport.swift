import Foundation
import PortcullisCore
import PortcullisTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Fixtures and live servers for the service-detection tests.
enum ServiceFixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func url(_ name: String) -> URL { directory.appendingPathComponent(name) }

    static func text(_ name: String) throws -> String { try String(contentsOf: url(name), encoding: .utf8) }

    /// A commented hex dump: `#` starts a comment, whitespace is ignored.
    static func hex(_ name: String) throws -> [UInt8] {
        let digits = try text(name).split(separator: "\n").map { line in
            line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        }.joined().filter { !$0.isWhitespace }
        return try parseHex(String(digits))
    }

    /// Checks that the request fixture `name` (what capture.py sends with
    /// `--send-hex` when replies are re-recorded) holds exactly `bytes`, 16
    /// a line; RECORD_SNAPSHOTS=1 writes it instead.
    static func assertRequest(_ bytes: [UInt8], named name: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let text = stride(from: 0, to: bytes.count, by: 16).map { DER.hex(bytes[$0..<min($0 + 16, bytes.count)]) + "\n" }.joined()
        let file = url("requests/" + name)
        if ProcessInfo.processInfo.environment["RECORD_SNAPSHOTS"] != nil {
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: file, atomically: true, encoding: .utf8)
            return
        }
        let recorded = try #require(
            try? hex("requests/" + name), "missing Fixtures/requests/\(name); run with RECORD_SNAPSHOTS=1 to record it",
            sourceLocation: sourceLocation)
        #expect(
            recorded == bytes, "Fixtures/requests/\(name) is not what is sent now: re-record it and the replies captured with it",
            sourceLocation: sourceLocation)
    }

    static func parseHex(_ digits: String) throws -> [UInt8] {
        let chars = Array(digits.utf8)
        guard chars.count % 2 == 0 else { throw FixtureProblem("odd number of hex digits") }
        func nibble(_ c: UInt8) throws -> UInt8 {
            switch c {
            case 0x30...0x39: return c - 0x30
            case 0x61...0x66: return c - 0x61 + 10
            case 0x41...0x46: return c - 0x41 + 10
            default: throw FixtureProblem("bad hex digit \(c)")
            }
        }
        return try stride(from: 0, to: chars.count, by: 2).map { try nibble(chars[$0]) << 4 | nibble(chars[$0 + 1]) }
    }

    /// The DER inside the first PEM block of a file.
    static func pem(_ url: URL) throws -> [UInt8] {
        let text = try String(contentsOf: url, encoding: .utf8)
        let body = text.split(separator: "\n").drop { !$0.hasPrefix("-----BEGIN") }.dropFirst()
            .prefix { !$0.hasPrefix("-----END") }.joined()
        guard let data = Data(base64Encoded: body) else { throw FixtureProblem("\(url.lastPathComponent): not PEM") }
        return Array(data)
    }

    static func pem(_ name: String) throws -> [UInt8] { try pem(url(name)) }

    /// Parses `openssl x509 -noout -dates` dates ("Jan  1 00:00:00 2020 GMT") to epoch seconds.
    static func opensslDate(_ text: String) -> Int64? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "MMM d HH:mm:ss yyyy zzz"
        let squeezed = text.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
        return formatter.date(from: squeezed).map { Int64($0.timeIntervalSince1970) }
    }
}

struct FixtureProblem: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Tools on this machine, for `.enabled(if:)` gates.
enum ServiceTools {
    static func find(_ name: String, also paths: [String] = []) -> String? {
        let fm = FileManager.default
        for path in paths where fm.isExecutableFile(atPath: path) { return path }
        let searchPath = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"
        for dir in searchPath.split(separator: ":") + ["/usr/sbin", "/sbin"] {
            let candidate = "\(dir)/\(name)"
            if fm.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// The system python first (a pyenv shim adds a bash hop in front).
    static let python3 = find("python3", also: ["/usr/bin/python3", "/usr/local/bin/python3"])
    static let openssl = find("openssl", also: ["/usr/bin/openssl"])
    static let redisServer = find("redis-server", also: ["/usr/bin/redis-server"])
    static let nginx = find("nginx", also: ["/usr/sbin/nginx"])

    static let canRunTLS = python3 != nil && openssl != nil
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
func freeLoopbackPort() throws -> UInt16 {
    guard let port = currentlyFreePort() else { throw FixtureProblem("no free port") }
    return port
}

/// A fresh directory under the system temp dir, removed by `remove()`.
final class ServiceScratch {
    let path: String

    init() throws {
        var template = Array((NSTemporaryDirectory() + "/portcullis-service.XXXXXX").utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw FixtureProblem("mkdtemp: errno \(errno)")
        }
        path = String(cString: made)
    }

    func file(_ name: String) -> String { path + "/" + name }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// A server started for one test: a python launcher Popens the command
/// (Foundation's Process would wait for every holder of its pipes), prints a
/// ready line once the port accepts connections, and kills the server's
/// process group when its stdin closes. `stop()` in a `defer`.
final class ServiceServer {
    let port: UInt16
    private let process = Process()
    private let stdinPipe = Pipe()
    private let logPath: String
    private var stopped = false

    static let launcher = """
        import json, os, signal, socket, subprocess, sys, time
        spec = json.loads(sys.argv[1])
        log = open(spec["log"], "ab")
        child = subprocess.Popen(spec["command"], stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                 cwd=spec.get("cwd"), start_new_session=True)
        def stop(*_):
            try:
                os.killpg(child.pid, signal.SIGTERM)
                child.wait(timeout=3)
            except Exception:
                try: os.killpg(child.pid, signal.SIGKILL)
                except Exception: pass
            sys.exit(0)
        signal.signal(signal.SIGTERM, stop)
        deadline = time.time() + spec.get("timeout", 30)
        while True:
            if child.poll() is not None:
                print(json.dumps({"ready": False, "status": child.returncode}), flush=True)
                sys.exit(1)
            try:
                socket.create_connection(("127.0.0.1", spec["port"]), timeout=0.5).close()
                break
            except OSError:
                if time.time() > deadline:
                    print(json.dumps({"ready": False, "status": "timeout"}), flush=True)
                    stop()
                time.sleep(0.05)
        print(json.dumps({"ready": True, "pid": child.pid}), flush=True)
        sys.stdin.read()
        stop()
        """

    /// Starts `command` and waits until 127.0.0.1:`port` accepts a connection.
    init(_ command: [String], port: UInt16, in scratch: ServiceScratch, name: String) throws {
        let python = try #require(ServiceTools.python3, "python3 is not installed")
        self.port = port
        logPath = scratch.file("\(name).log")
        let launcherPath = scratch.file("launch-\(name).py")
        try ServiceServer.launcher.write(toFile: launcherPath, atomically: true, encoding: .utf8)
        let spec: [String: Any] = ["command": command, "port": Int(port), "log": logPath, "cwd": scratch.path]
        let specText = String(decoding: try JSONSerialization.data(withJSONObject: spec), as: UTF8.self)
        let readyPath = scratch.file("\(name).ready")
        FileManager.default.createFile(atPath: readyPath, contents: nil)
        let readyHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: readyPath))
        defer { try? readyHandle.close() }
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-u", launcherPath, specText]
        process.standardInput = stdinPipe
        process.standardOutput = readyHandle
        process.standardError = readyHandle
        try process.run()
        let deadline = Date().addingTimeInterval(40)
        while true {
            let text = (try? String(contentsOfFile: readyPath, encoding: .utf8)) ?? ""
            if text.contains("\"ready\": true") { break }
            if text.contains("\"ready\": false") || !process.isRunning || Date() > deadline {
                stop()
                let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
                throw FixtureProblem("\(name) did not start: \(text)\n\(log.suffix(2000))")
            }
            usleep(20_000)
        }
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    func stop() {
        guard !stopped else { return }
        stopped = true
        try? stdinPipe.fileHandleForWriting.close()
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }

    deinit { stop() }
}

/// A python one-file server: `script` gets the port as argv[1].
func pythonServer(_ script: String, in scratch: ServiceScratch, name: String) throws -> ServiceServer {
    let python = try #require(ServiceTools.python3, "python3 is not installed")
    let path = scratch.file("\(name).py")
    try script.write(toFile: path, atomically: true, encoding: .utf8)
    let port = try freeLoopbackPort()
    return try ServiceServer([python, "-u", path, String(port)], port: port, in: scratch, name: name)
}

/// Runs a tool to completion (make-certs.sh, openssl); throws on a non-zero exit.
func runTool(_ executable: String, _ arguments: [String], in scratch: ServiceScratch) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let outputPath = scratch.file("tool-output")
    FileManager.default.createFile(atPath: outputPath, contents: nil)
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
    process.standardOutput = handle
    process.standardError = handle
    process.standardInput = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    try? handle.close()
    guard process.terminationStatus == 0 else {
        let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        throw FixtureProblem("\(executable) \(arguments.joined(separator: " ")) exited \(process.terminationStatus): \(output)")
    }
}
