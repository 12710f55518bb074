import Foundation
import PortcullisTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Every CLI test lives under this suite. The tests start listeners and then
/// compare whole-host socket tables, so they run one at a time: a fixture of
/// one test must not show up as churn in another test's comparison.
@Suite("portcullis CLI (subprocess)", .serialized)
struct CLITests {}

// MARK: - Tools and privileges

/// What the host offers; used by `.enabled(if:)` gates.
enum Host {
    static let isRoot = geteuid() == 0

    /// An executable file by absolute path, or found on PATH.
    static func executable(_ name: String, preferring paths: [String] = []) -> String? {
        let fm = FileManager.default
        for path in paths where fm.isExecutableFile(atPath: path) { return path }
        let searchPath = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"
        for dir in searchPath.split(separator: ":") {
            let candidate = "\(dir)/\(name)"
            if fm.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// The system python first: a pyenv shim under /root is not usable by
    /// other users and adds a bash hop in front of the interpreter.
    static let python3 = executable("python3", preferring: ["/usr/bin/python3", "/usr/local/bin/python3", "/bin/python3"])
    static let ss = executable("ss", preferring: ["/usr/bin/ss", "/bin/ss", "/usr/sbin/ss", "/sbin/ss"])
    static let setpriv = executable("setpriv", preferring: ["/usr/bin/setpriv", "/bin/setpriv"])

    /// IPv6 is built in and ::1 can be bound (the oracle fixture binds ::1 and ::).
    static let hasIPv6Loopback = IPv6Loopback.available

    static let rootWithPython = isRoot && python3 != nil

    /// Network namespaces can be made here (`ip netns add`, `unshare -n`):
    /// a test that makes one is gated on this and skips where they cannot.
    static let canMakeNamespaces = NetworkNamespaces.available
}

// MARK: - Finding the portcullis binary

enum CLI {
    /// PORTCULLIS_BIN, else `portcullis` beside the test bundle
    /// (`<scratch>/debug/portcullisPackageTests.xctest` → `<scratch>/debug/portcullis`).
    static let lookup: Result<String, BinaryNotFound> = {
        let fm = FileManager.default
        var tried: [String] = []
        if let explicit = ProcessInfo.processInfo.environment["PORTCULLIS_BIN"], !explicit.isEmpty {
            if fm.isExecutableFile(atPath: explicit) { return .success(explicit) }
            return .failure(BinaryNotFound(tried: ["PORTCULLIS_BIN=\(explicit) (not an executable file)"]))
        }
        var directories: [URL] = []
        // The running test executable: most reliable on Linux.
        directories.append(URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent())
        if let first = CommandLine.arguments.first, first.contains("/") {
            directories.append(URL(fileURLWithPath: first).resolvingSymlinksInPath().deletingLastPathComponent())
        }
        directories.append(Bundle.main.bundleURL.resolvingSymlinksInPath())
        directories.append(Bundle.main.bundleURL.resolvingSymlinksInPath().deletingLastPathComponent())
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            directories.append(bundle.bundleURL.resolvingSymlinksInPath().deletingLastPathComponent())
        }
        for directory in directories {
            let candidate = directory.appendingPathComponent("portcullis").path
            if tried.contains(candidate) { continue }
            tried.append(candidate)
            var isDirectory: ObjCBool = false
            if fm.fileExists(atPath: candidate, isDirectory: &isDirectory), !isDirectory.boolValue,
                fm.isExecutableFile(atPath: candidate)
            {
                return .success(candidate)
            }
        }
        return .failure(BinaryNotFound(tried: tried))
    }()

    struct BinaryNotFound: Error, CustomStringConvertible {
        var tried: [String]
        var description: String {
            "the portcullis executable was not found (tried: \(tried.joined(separator: ", "))). "
                + "Build it first with `swift build --product portcullis` (same --scratch-path as `swift test`), "
                + "or point PORTCULLIS_BIN at it."
        }
    }

    static func binary() throws -> String {
        switch lookup {
        case .success(let path): return path
        case .failure(let error): throw error
        }
    }

    /// Runs `portcullis ARGS` with stdout a pipe (a file), stdin /dev/null.
    static func run(
        _ arguments: [String], environment: [String: String?] = [:], timeout: TimeInterval = 120
    ) throws -> CommandResult {
        try Subprocess.run(try binary(), arguments, environment: environment, timeout: timeout)
    }
}

// MARK: - Running subprocesses

struct CommandResult: CustomStringConvertible {
    var command: [String]
    var status: Int32
    /// The process was killed by a signal (a crash or our timeout).
    var signaled: Bool
    var timedOut: Bool
    var stdout: [UInt8]
    var stderr: [UInt8]

    var out: String { String(decoding: stdout, as: UTF8.self) }
    var err: String { String(decoding: stderr, as: UTF8.self) }

    var description: String {
        let shown = command.map { $0.contains(" ") || $0.isEmpty ? "'\($0)'" : $0 }.joined(separator: " ")
        return "`\(shown)` exited \(status)\(signaled ? " (signal)" : "")\(timedOut ? " (TIMED OUT)" : "")\n"
            + "--- stdout (\(stdout.count) bytes) ---\n\(String(out.prefix(4000)))\n"
            + "--- stderr ---\n\(String(err.prefix(4000)))"
    }
}

enum Subprocess {
    /// Runs a program to completion. stdout/stderr go to temporary files (so
    /// neither pipe can fill up and deadlock), stdin is /dev/null. The
    /// child is killed when `timeout` passes.
    static func run(
        _ executable: String, _ arguments: [String], environment: [String: String?] = [:],
        timeout: TimeInterval = 120
    ) throws -> CommandResult {
        let scratch = try TemporaryDirectory(prefix: "portcullis-run")
        defer { scratch.remove() }
        let outURL = scratch.url.appendingPathComponent("stdout")
        let errURL = scratch.url.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let outHandle = try FileHandle(forWritingTo: outURL)
        let errHandle = try FileHandle(forWritingTo: errURL)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = mergedEnvironment(environment)
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = outHandle
        process.standardError = errHandle
        try process.run()
        let timedOut = !waitForExit(process, timeout: timeout)
        try? outHandle.close()
        try? errHandle.close()
        return CommandResult(
            command: [executable] + arguments,
            status: process.terminationStatus,
            signaled: process.terminationReason == .uncaughtSignal,
            timedOut: timedOut,
            stdout: Array((try? Data(contentsOf: outURL)) ?? Data()),
            stderr: Array((try? Data(contentsOf: errURL)) ?? Data()))
    }

    static func mergedEnvironment(_ overrides: [String: String?]) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        for (key, value) in overrides { environment[key] = value }
        return environment
    }

    /// Waits up to `timeout`; on expiry sends SIGTERM, then SIGKILL. Returns
    /// false when the process had to be killed.
    @discardableResult
    static func waitForExit(_ process: Process, timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(5_000) }
        if !process.isRunning {
            process.waitUntilExit()
            return true
        }
        process.terminate()
        let grace = Date().addingTimeInterval(3)
        while process.isRunning && Date() < grace { usleep(10_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        return false
    }
}

/// A fresh directory under the system temp dir, removed by `remove()`.
final class TemporaryDirectory {
    let url: URL
    var path: String { url.path }

    init(prefix: String) throws {
        var template = Array((NSTemporaryDirectory() + "/\(prefix).XXXXXX").utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
        }
        url = URL(fileURLWithPath: String(cString: made), isDirectory: true)
    }

    func remove() { try? FileManager.default.removeItem(at: url) }
}

// MARK: - Python fixtures

/// A python3 helper started from an embedded script. It must print one JSON
/// line to stdout when ready and exit when stdin closes or on SIGTERM. The
/// launcher waits for that line; `stop()` (call it in a `defer`) closes
/// stdin, sends SIGTERM, and reaps the process.
final class PythonFixture {
    let process = Process()
    let directory: TemporaryDirectory
    let stdinPipe = Pipe()
    let stdoutURL: URL
    let stderrURL: URL
    /// The parsed ready line.
    private(set) var ready: [String: Any] = [:]
    private(set) var readyLine = Data()
    private var stopped = false

    /// - Parameters:
    ///   - asUser: run the script through `setpriv` as this uid/gid (e.g. nobody).
    ///   - namespace: run it inside this network namespace (`ip netns exec`, which execs python in place).
    init(
        script: String, name: String = "fixture.py", arguments: [String] = [],
        asUser: (uid: UInt32, gid: UInt32)? = nil, namespace: String? = nil, readyTimeout: TimeInterval = 60
    ) throws {
        let python = try #require(Host.python3, "python3 is not installed")
        directory = try TemporaryDirectory(prefix: "portcullis-fixture")
        // Readable by an unprivileged fixture user too.
        chmod(directory.path, 0o755)
        let scriptURL = directory.url.appendingPathComponent(name)
        try Data(script.utf8).write(to: scriptURL)
        chmod(scriptURL.path, 0o644)
        stdoutURL = directory.url.appendingPathComponent("stdout")
        stderrURL = directory.url.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: stdoutURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrURL.path, contents: nil)
        let outHandle = try FileHandle(forWritingTo: stdoutURL)
        let errHandle = try FileHandle(forWritingTo: stderrURL)
        defer {
            try? outHandle.close()
            try? errHandle.close()
        }

        if let asUser {
            let setpriv = try #require(Host.setpriv, "setpriv is not installed")
            process.executableURL = URL(fileURLWithPath: setpriv)
            process.arguments =
                [
                    "--reuid=\(asUser.uid)", "--regid=\(asUser.gid)", "--clear-groups", "--",
                    python, "-u", scriptURL.path,
                ] + arguments
        } else if let namespace {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["ip", "netns", "exec", namespace, python, "-u", scriptURL.path] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: python)
            process.arguments = ["-u", scriptURL.path] + arguments
        }
        process.currentDirectoryURL = directory.url
        process.standardInput = stdinPipe
        process.standardOutput = outHandle
        process.standardError = errHandle
        try process.run()

        let deadline = Date().addingTimeInterval(readyTimeout)
        while true {
            let data = (try? Data(contentsOf: stdoutURL)) ?? Data()
            if let newline = data.firstIndex(of: 0x0a) {
                readyLine = data[data.startIndex..<newline]
                break
            }
            if !process.isRunning || Date() > deadline {
                let reason = process.isRunning ? "did not print its ready line within \(Int(readyTimeout))s" : "exited before it was ready"
                stop()
                let stderr = (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? ""
                throw FixtureError("python fixture \(name) \(reason); stderr:\n\(stderr)")
            }
            usleep(20_000)
        }
        guard let object = try JSONSerialization.jsonObject(with: readyLine) as? [String: Any] else {
            stop()
            throw FixtureError("python fixture \(name): ready line is not a JSON object: \(String(decoding: readyLine, as: UTF8.self))")
        }
        ready = object
    }

    var pid: Int32 { (ready["pid"] as? NSNumber)?.int32Value ?? process.processIdentifier }

    func int(_ key: String) -> Int? { (ready[key] as? NSNumber)?.intValue }

    var stderrText: String { (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? "" }

    /// Closes stdin (the fixture exits on EOF), then SIGTERM, then SIGKILL.
    func stop() {
        guard !stopped else { return }
        stopped = true
        try? stdinPipe.fileHandleForWriting.close()
        if process.isRunning {
            let grace = Date().addingTimeInterval(2)
            while process.isRunning && Date() < grace { usleep(10_000) }
        }
        if process.isRunning { Subprocess.waitForExit(process, timeout: 0) }
        directory.remove()
    }

    deinit { stop() }
}

struct FixtureError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

// MARK: - In-process listeners (no python needed)

// MARK: - The documented JSON contract, decoded strictly

func decodeJSON<T: Decodable>(_ type: T.Type, _ bytes: [UInt8]) throws -> T {
    let decoder = JSONDecoder()
    decoder.keyDecodingStrategy = .convertFromSnakeCase
    return try decoder.decode(type, from: Data(bytes))
}

struct ListDocument: Decodable {
    var source: String
    var sockets: [SocketJSON]
    var diagnostics: [DiagnosticJSON]
}

struct DiagnosticJSON: Decodable {
    var severity: String
    var message: String
}

struct SocketJSON: Decodable {
    var role: String?
    var proto: String
    var family: String
    var localAddress: String
    var localPort: Int
    var remoteAddress: String
    var remotePort: Int
    var state: String
    var listening: Bool
    var v6only: Bool?
    var inode: UInt64
    var uid: UInt32
    var user: String?
    var portClass: String
    var inEphemeralRange: Bool
    var service: String?
    var exposure: String
    var interfaceIndex: Int
    var owners: [OwnerJSON]
    var unownedReason: String?
}

struct OwnerJSON: Decodable {
    var pid: Int32
    var ppid: Int32
    var name: String
    var cmdline: String
    var exe: String?
    var uid: UInt32?
    var user: String?
    var fds: [Int32]
    var ancestors: [AncestorJSON]?
}

struct AncestorJSON: Decodable {
    var pid: Int32
    var ppid: Int32
    var name: String
    var cmdline: String
}

struct WhoDocument: Decodable {
    var port: Int
    var proto: String?
    var held: Bool
    var sockets: [SocketJSON]
}

func decodeList(_ result: CommandResult, sourceLocation: SourceLocation = #_sourceLocation) throws -> ListDocument {
    do {
        return try decodeJSON(ListDocument.self, result.stdout)
    } catch {
        Issue.record("list --format json did not decode: \(error)\n\(result)", sourceLocation: sourceLocation)
        throw error
    }
}

// MARK: - Small helpers

/// Non-overlapping occurrences of `needle`.
func occurrences(of needle: String, in haystack: String) -> Int {
    haystack.components(separatedBy: needle).count - 1
}

let escapeByte: UInt8 = 0x1b
